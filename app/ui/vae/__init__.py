"""The VAE page's views: latent sliders, latent map, traversals, interpolation, KL bars,
the ELBO readout and the reparameterization step, each with a short explanation."""
