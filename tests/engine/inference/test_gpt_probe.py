"""The GPT probe: capturing a prompt's attention, the mask it is read under, a bounded history."""

from __future__ import annotations

import numpy as np
import torch

from app.engine.inference.gpt_probe import merge_captures, probe_attention, probe_captures, thin_older_half
from models.tokenizer import CharTokenizer
from models.transformer import GPT, GPTConfig

CONFIG = GPTConfig(vocab_size=6, block_size=8, n_layer=2, n_head=2, d_model=8)


def test_thinning_keeps_the_newest_half_dense():
    assert thin_older_half(list(range(10))) == [0, 2, 4, 5, 6, 7, 8, 9]


def test_merging_drops_known_steps_sorts_and_thins_to_the_limit():
    a = np.zeros(1)
    merged = merge_captures([(0, a), (10, a)], [(10, a), (5, a), (20, a)], limit=10)
    assert [step for step, _ in merged] == [0, 5, 10, 20]
    many = merge_captures([], [(step, a) for step in range(9, -1, -1)], limit=6)
    # ten → [0, 2, 4, 5, 6, 7, 8, 9] → eight is over six: [0, 4] + [6, 7, 8, 9], in step order
    assert [step for step, _ in many] == [0, 4, 6, 7, 8, 9]


def test_probe_attention_reads_the_prompt_cut_to_the_context():
    torch.manual_seed(0)
    model = GPT(CONFIG).train()
    tokenizer = CharTokenizer.from_text("abcde ")
    text, replaced, alpha = probe_attention(model, tokenizer, "abc?edcba ab")
    assert text == "abc" + tokenizer.replacement + "edcb" and replaced == [3]  # 8 characters
    assert alpha.shape == (2, 2, 8, 8) and alpha.dtype == np.float16
    np.testing.assert_allclose(alpha.astype(np.float32).sum(-1), 1.0, atol=2e-3)  # each row a distribution
    assert np.all(np.triu(alpha.astype(np.float32), k=1) == 0)  # causal: nothing from the future
    assert model.training  # left in the mode it was in


def test_probe_captures_carry_the_mask():
    captures = probe_captures(CONFIG, "abc", [1], [(7, np.zeros((2, 2, 3, 3), np.float16))])
    np.testing.assert_array_equal(captures.allowed, [[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    assert captures.text == "abc" and captures.replaced == [1] and captures.captures[0][0] == 7
