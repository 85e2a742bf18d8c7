"""Drawing from a ready model: the one path that `genplay sample` and the server's workers take."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from app.engine.errors import ConfigError
from app.engine.inference import load_model
from app.engine.inference.sampling import continue_prompt, decode_codes, draw_samples, sample_model
from models.text_sampling import SamplingSettings

WEIGHTS = Path(__file__).resolve().parents[3] / "weights"


@pytest.fixture(scope="module")
def vae():
    return load_model(WEIGHTS / "vae-shapes.safetensors")


@pytest.fixture(scope="module")
def gpt():
    return load_model(WEIGHTS / "gpt-python-docs.safetensors")


def test_vae_samples_decode_standard_normal_codes_drawn_from_the_seed(vae):
    z = torch.randn(5, vae.config.latent_dim, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = vae.model.decode(z).numpy()
    drawn = draw_samples(vae, 5, seed=7).images
    np.testing.assert_array_equal(drawn, expected)
    np.testing.assert_array_equal(decode_codes(vae, z.numpy()), expected)
    assert drawn.min() >= 0.0 and drawn.max() <= 1.0


def test_wgan_points_are_the_generator_of_the_seeded_codes():
    wgan = load_model(WEIGHTS / "wgan-8gaussians.safetensors")
    z = torch.randn(4, wgan.config.latent_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = wgan.model.sample(z).numpy()
    samples = draw_samples(wgan, 4, seed=1)
    assert samples.images is None
    np.testing.assert_array_equal(samples.points, expected)


def test_each_family_refuses_what_it_cannot_do(vae, gpt):
    with pytest.raises(ConfigError, match="needs a VAE"):
        decode_codes(gpt, np.zeros((1, 4)))
    with pytest.raises(ConfigError, match="needs a VAE or a WGAN-GP"):
        draw_samples(gpt, 1, seed=0)
    with pytest.raises(ConfigError, match="needs a GPT"):
        continue_prompt(vae, "x", 1, 5, SamplingSettings(), seed=0)


def test_text_keeps_the_prompt_and_adds_max_new_characters(gpt):
    (text,) = continue_prompt(gpt, "def ", 1, 12, SamplingSettings(temperature=0.8), seed=3)
    assert text.startswith("def ") and len(text) == 4 + 12
    again = sample_model(gpt, 1, 3, prompt="def ", max_new=12, temperature=0.8).text
    assert again == text  # same seed, same text


def test_greedy_text_follows_the_most_likely_character(gpt):
    (text,) = continue_prompt(gpt, "import ", 1, 1, SamplingSettings(top_k=1), seed=0)
    ids = torch.tensor([gpt.tokenizer.encode("import ")])
    with torch.no_grad():
        logits = gpt.model(ids).logits[0, -1]
    assert text[-1] == gpt.tokenizer.decode([int(logits.argmax())])


def test_characters_outside_the_vocabulary_are_named_in_one_sentence(gpt):
    with pytest.raises(ConfigError, match="characters of its training text"):
        continue_prompt(gpt, "naïve ☃", 1, 3, SamplingSettings(), seed=0)


def test_the_shipped_gpt_saved_before_the_variants_opens_as_pre_ln_with_learned_positions(gpt):
    with safe_open(str(WEIGHTS / "gpt-python-docs.safetensors"), "pt") as f:
        stored = json.loads(f.metadata()["config"])
    assert "norm_position" not in stored and "position_encoding" not in stored  # an older file
    assert gpt.config.norm_position == "pre" and gpt.config.position_encoding == "learned"
    assert continue_prompt(gpt, "def", 1, 5, SamplingSettings(), seed=0)[0].startswith("def")
