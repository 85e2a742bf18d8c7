"""Building configs and tasks: data of the wrong kind is refused with one sentence."""

from __future__ import annotations

import pytest
import torch

from app.engine.data.bundle import DataBundle
from app.engine.errors import ConfigError, GenplayError
from app.engine.setup import build_configs

IDS = torch.zeros(50, dtype=torch.int64)
TEXT = DataBundle("python-docs", "text", IDS, IDS[:9])
POINTS = DataBundle("8gaussians", "points", torch.zeros(50, 2), torch.zeros(9, 2))
IMAGES = DataBundle("shapes", "images", torch.zeros(50, 1, 8, 8), torch.zeros(9, 1, 8, 8))


@pytest.mark.parametrize(
    ("family", "data", "sentence"),
    [
        ("wgan", TEXT, "the WGAN-GP trains on 2-D points or images; 'python-docs' is text."),
        ("gpt", IMAGES, "the GPT trains on text; 'shapes' is images."),
        ("vae", POINTS, "the VAE trains on images; '8gaussians' is 2-D points."),
        ("vae", TEXT, "the VAE trains on images; 'python-docs' is text."),
    ],
)
def test_wrong_kind_of_data_is_one_readable_sentence(family, data, sentence):
    with pytest.raises(ConfigError) as caught:
        build_configs(family, data)
    assert str(caught.value) == sentence
    assert isinstance(caught.value, GenplayError)  # the GUI shows these as they are


def test_the_kind_check_also_guards_a_resumed_config(small_shapes):
    model_config, hparams, train = build_configs("vae", small_shapes)
    with pytest.raises(ConfigError, match="'python-docs' is text"):
        build_configs("vae", TEXT, {}, model_config, hparams, train)
