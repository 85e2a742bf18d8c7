"""Which conv nets suit the WGAN for an image size: one rule for the task's default config and
the page's form."""

from __future__ import annotations


def default_conv_channels(height: int, width: int) -> tuple[int, ...] | None:
    """The conv nets' channels for images of this size: three halvings where the sides allow
    (32×32), else two (28×28); None when not even two fit (an MLP then)."""
    for channels in ((32, 64, 128), (32, 64)):
        factor = 2 ** len(channels)
        if height % factor == 0 and width % factor == 0:
            return channels
    return None
