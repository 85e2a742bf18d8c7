"""The GPT views' maths against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from app.engine.inference.gpt_views import (
    attention_stats,
    head_gates,
    highlight_strengths,
    strongest_keys,
    surprisal_series,
    token_weights,
    top_candidates,
    window_attention_stats,
)
from models.text_sampling import TokenStep
from models.transformer import GPTConfig

LOG2, LOG3 = math.log(2), math.log(3)
# one head over three characters, causal: row i reads keys 0…i
ALPHA = torch.tensor([[[[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.25, 0.25, 0.5]]]])  # (1, 1, 3, 3)
CAUSAL = torch.tensor([[True, False, False], [True, True, False], [True, True, True]])


def test_entropy_per_query_its_mean_and_the_uniform_ceiling():
    stats = attention_stats(ALPHA, CAUSAL)
    # H(row 0) is undefined (one key); H(½, ½) = log 2; H(¼, ¼, ½) = ½ log 4 + ½ log 2 = 1.5 log 2
    np.testing.assert_allclose(stats.entropy[0, 0], [np.nan, LOG2, 1.5 * LOG2], rtol=1e-6)
    np.testing.assert_allclose(stats.mean_entropy, [[1.25 * LOG2]], rtol=1e-6)
    np.testing.assert_allclose(stats.uniform, [np.nan, LOG2, LOG3], rtol=1e-6)  # log n_i
    np.testing.assert_array_equal(stats.allowed, CAUSAL.numpy())


def test_normalised_entropy_divides_by_log_n():
    stats = attention_stats(ALPHA, CAUSAL, normalised=True)
    np.testing.assert_allclose(stats.entropy[0, 0], [np.nan, 1.0, 1.5 * LOG2 / LOG3], rtol=1e-6)


def test_a_single_character_has_no_mean_entropy():
    stats = attention_stats(torch.ones(2, 3, 1, 1), torch.ones(1, 1, dtype=torch.bool))
    assert stats.mean_entropy.shape == (2, 3) and np.isnan(stats.mean_entropy).all()


def test_the_window_mask_comes_from_the_config():
    config = GPTConfig(vocab_size=8, block_size=8, n_layer=1, n_head=1, d_model=8, mask="sliding", window=2)
    alpha = torch.tensor([[[[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.5, 0.5]]]])
    stats = window_attention_stats(config, alpha)
    # sliding w = 2: query 2 reads keys 1 and 2 only
    np.testing.assert_array_equal(stats.allowed, [[1, 0, 0], [1, 1, 0], [0, 1, 1]])
    np.testing.assert_allclose(stats.uniform, [np.nan, LOG2, LOG2], rtol=1e-6)
    np.testing.assert_allclose(stats.entropy[0, 0], [np.nan, LOG2, LOG2], rtol=1e-6)


def test_head_gates_are_none_when_every_head_is_on():
    assert head_gates(np.ones((2, 2), np.float32)) is None
    assert head_gates(np.zeros((0, 0), np.float32)) is None
    gates = head_gates(np.array([[1.0, 0.0], [1.0, 1.0]], np.float32))
    assert torch.equal(gates, torch.tensor([[1.0, 0.0], [1.0, 1.0]]))


def test_top_candidates_most_likely_first_ties_in_vocabulary_order():
    p = np.array([0.1, 0.3, 0.05, 0.3, 0.25])
    assert top_candidates(p, 3).tolist() == [1, 3, 4]
    assert top_candidates(p, 10).tolist() == [1, 3, 4, 0, 2]


def test_what_a_token_reads_by_position_in_the_text():
    assert token_weights(np.array([0.0, 0.7, 0.3]), window_start=5) == {
        6: pytest.approx(0.7),
        7: pytest.approx(0.3),
    }
    assert strongest_keys(np.array([0.1, 0.0, 0.6, 0.3])) == [2, 3, 0]
    assert strongest_keys(np.array([1.0, 0.0, 0.0])) == [0]  # keys it never reads are left out


def test_highlight_strengths_are_relative_to_the_strongest():
    assert highlight_strengths({3: 0.4, 4: 0.2, 5: 0.005}) == {3: 1.0, 4: 0.5}  # 0.005 < 2 % of 0.4
    assert highlight_strengths({}) == {} and highlight_strengths({1: 0.0}) == {}


def test_surprisal_series_by_position():
    steps = [TokenStep(1, 0.5, LOG2, 0.9, 0.5), TokenStep(2, 0.25, 2 * LOG2, 1.1, 0.3)]
    positions, surprisal, entropy = surprisal_series(steps, prompt_length=4)
    assert positions.tolist() == [4, 5]
    np.testing.assert_allclose(surprisal, [LOG2, 2 * LOG2])
    np.testing.assert_allclose(entropy, [0.9, 1.1])
