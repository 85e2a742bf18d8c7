"""genplay: train VAEs, WGAN-GPs and small GPTs live and look inside them."""

__version__ = "0.1.0"
