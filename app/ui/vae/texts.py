"""What each VAE view shows and which formula it puts on screen (the in-app explanations)."""

from __future__ import annotations

ELBO = (
    "The VAE maximises the <b>evidence lower bound</b> for each image x:<br>"
    "&nbsp;&nbsp;ELBO(x) = E<sub>q(z|x)</sub>[log p(x|z)] − KL(q(z|x) ‖ p(z)) ≤ log p(x)<br>"
    "The first term rewards reconstructing x from a code z drawn from the encoder's "
    "q(z|x) = N(μ(x), σ²(x)); the second keeps q close to the prior p(z) = N(0, I). "
    "Training minimises the <b>negative ELBO</b> = reconstruction + KL, in nats per image. "
    "With β ≠ 1 or free bits the minimised <b>objective</b> is "
    "recon + β·Σ<sub>i</sub> max(λ, KL<sub>i</sub>); "
    "the ELBO shown is always the true bound (β = 1, no floor). The training row is one batch "
    "with one z per image, so it is noisy; the validation row averages held-out images."
)

LOSS_PLOT = (
    "Each curve is one term of the objective, per image in nats: the <b>negative ELBO</b> "
    "(reconstruction + KL), the <b>reconstruction</b> −log p(x|z), the <b>KL</b>(q(z|x) ‖ p(z)), "
    "the <b>objective</b> actually minimised, recon + β·Σ max(λ, KL<sub>i</sub>), and "
    "<b>β</b> on the right axis, which ramps up during KL warm-up. Dots: validation negative ELBO."
)

RECONSTRUCTIONS = (
    "Pairs of validation images (left) and their reconstructions (right): the decoder's mean "
    "image for z = μ(x), the centre of q(z|x). Blurry reconstructions mean the code carries "
    "little about x — the price the KL term charges for information."
)

KL_BARS = (
    "KL<sub>i</sub> = ½(μ<sub>i</sub>² + σ<sub>i</sub>² − log σ<sub>i</sub>² − 1), averaged over "
    "up to 512 validation images: how many nats dimension i carries about x. Bars at zero are "
    "<b>collapsed</b> dimensions: q(z<sub>i</sub>|x) equals the prior for every x, so the decoder "
    "ignores z<sub>i</sub>. Grey bars are below 0.1 nats. The dashed line is the free-bits floor λ: "
    "below it a dimension's KL costs nothing, so the optimiser has no reason to collapse it."
)

SLIDERS = (
    "One slider per latent dimension, from −3 to +3 prior standard deviations; the image is "
    "the decoder's mean E[x | z] for the code z you set. Each label shows that dimension's "
    "KL<sub>i</sub>: bold dimensions are in use, grey ones are collapsed and (almost) do nothing "
    "when you drag them. <i>Sample prior</i> draws z ~ N(0, I) — what generating a new image "
    "means; <i>Encode</i> sets z = μ(x) of a validation image, so the picture is its "
    "reconstruction."
)

DECODED = (
    "decoder(z): the mean of p(x|z) for the code set by the sliders (Bernoulli: the "
    "probability each pixel is on; Gaussian: the mean intensity)."
)

LATENT_MAP = (
    "Every point is one validation image placed at its code μ(x) = E[q(z|x)]: on two chosen "
    "dimensions, or on the first two <b>principal components</b> of all the μ's (the plane that "
    "keeps most of their variance). Colour it by a label, or on <i>shapes</i> by a true factor "
    "(shape, scale, rotation, x, y): a factor that changes smoothly along one axis is "
    "<b>disentangled</b>. The prior wants the cloud to fill N(0, I). Click a point to load its "
    "code into the sliders; click empty space to decode that spot. With two dimensions shown, "
    "<i>Manifold</i> draws the decoder's images on a grid behind the points (all other "
    "dimensions held at the sliders' values; with latent_dim = 2 this is the whole model)."
)

TRAVERSAL = (
    "Each row changes one latent dimension z<sub>i</sub> from −L to +L while all other "
    "dimensions stay at the base code; each picture is decoder(z). A dimension that is "
    "<b>disentangled</b> changes one thing — the x position, the y position, the size — and "
    "nothing else. Collapsed dimensions (KL<sub>i</sub> ≈ 0) give rows where nothing changes. "
    "Rows are labelled with their KL<sub>i</sub>."
)

INTERPOLATION = (
    "The codes μ(x<sub>A</sub>) and μ(x<sub>B</sub>) of two validation images, joined by a path; "
    "each picture decodes one point on it. <b>Linear</b>: z<sub>t</sub> = (1 − t)·z<sub>A</sub> + "
    "t·z<sub>B</sub>. <b>Spherical</b>: z<sub>t</sub> = sin((1 − t)θ)/sin θ·z<sub>A</sub> + "
    "sin(tθ)/sin θ·z<sub>B</sub>, with θ the angle between them. In many dimensions almost all of "
    "N(0, I)'s mass lies near the sphere of radius √d, and a straight line between two codes "
    "cuts inside it, through codes the decoder rarely saw; the plot shows ‖z<sub>t</sub>‖ along "
    "both paths against √d (collapsed dimensions keep μ<sub>i</sub> ≈ 0, so the codes of real "
    "images are shorter than that)."
)

REPARAMETERIZATION = (
    "How one code is drawn during training. The encoder gives μ and σ (learned, the same every "
    "time for this image); ε ~ N(0, I) is the only randomness; z = μ + σ ⊙ ε. Because the noise "
    "enters from outside, gradients reach μ and σ through an ordinary sum and product — the "
    "<b>reparameterization trick</b>. <i>Draw ε again</i> keeps μ and σ and draws new noise: the "
    "decoded image and the reconstruction term −log p(x|z) change, the KL term "
    "Σ½(μ<sub>i</sub>² + σ<sub>i</sub>² − log σ<sub>i</sub>² − 1) does not (it depends on μ and "
    "σ only). While training runs, ε stays fixed and you watch μ and σ learn. Plot: μ<sub>i</sub> ± "
    "σ<sub>i</sub> (blue bars), z<sub>i</sub> (red), the prior's ±1 band (grey)."
)

KL_HISTORY = (
    "Each row is one latent dimension i, each column a moment of training (left: the first step, "
    "right: the latest); the colour is KL<sub>i</sub> in nats, averaged over up to 512 validation "
    "images — the bars of the Training tab, recorded over the whole run. During <b>KL warm-up</b> "
    "(left of the dashed line) β is small, the KL is cheap, and dimensions <b>switch on</b> as the "
    "encoder puts information in them; once β reaches its full value the dimensions that do not "
    "pay for their nats fade back to dark: they <b>collapse to the prior</b>, q(z<sub>i</sub>|x) = "
    "N(0, 1) for every x. The labels on the right give each dimension's KL at the latest step; "
    "the mouse wheel zooms into the steps (most happens early). "
    "An opened checkpoint shows the history it kept; training appends to it."
)
