"""The prefix LM at every prompt length, Post-LN and sinusoidal positions through every path the views use."""

from __future__ import annotations

import pytest
import torch

from models.text_sampling import ContextWindow, SamplingSettings, generate
from models.transformer import (
    GPT,
    GPTConfig,
    allowed_keys,
    prompt_prefix_length,
    random_prefix_lengths,
    spread_prefix_lengths,
)

VOCAB = 11
P = 5


def tiny(**changes) -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=VOCAB, block_size=12, n_layer=2, n_head=2, d_model=16, **changes)
    model = GPT(config).eval()
    with torch.no_grad():  # larger weights than the init, so attention is far from uniform
        for param in model.parameters():
            param.mul_(6.0 if param.dim() > 1 else 1.0)
    return model


def text(length: int = 12, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, VOCAB, (1, length), generator=torch.Generator().manual_seed(seed))


def test_prefix_mask_per_row_by_hand():
    config = GPTConfig(mask="prefix", prefix_len=4)
    rows = allowed_keys(config, torch.arange(4), 4, torch.tensor([1, 3]))  # (2, 4, 4)
    for b, p in enumerate((1, 3)):
        for i in range(4):
            assert rows[b, i].tolist() == [j <= i or j < p for j in range(4)]
    assert torch.equal(rows[0], allowed_keys(GPTConfig(), torch.arange(4), 4))  # p = 1 is causal


def test_prefix_loss_scores_each_row_from_its_own_p_minus_one():
    model = tiny(mask="prefix", prefix_len=P)
    x, y = text(12, seed=1).repeat(3, 1), text(12, seed=2).repeat(3, 1)
    p = torch.tensor([1, 3, 5])
    logits = model(x, prefix_lengths=p).logits
    log_probs = torch.log_softmax(logits, dim=-1)
    terms = [-log_probs[b, t, y[b, t]] for b in range(3) for t in range(int(p[b]) - 1, 12)]
    torch.testing.assert_close(model.loss(x, y, p), torch.stack(terms).mean())


def test_training_draws_every_prefix_length_and_validation_spreads_them():
    config = GPTConfig(mask="prefix", prefix_len=P)
    drawn = random_prefix_lengths(config, 500, torch.Generator().manual_seed(0))
    assert set(drawn.tolist()) == set(range(1, P + 1))
    assert spread_prefix_lengths(config, 3, 7).tolist() == [4, 5, 1, 2, 3, 4, 5]
    assert [prompt_prefix_length(config, k) for k in (1, 4, 9)] == [1, 4, P]
    assert prompt_prefix_length(GPTConfig(), 9) == 0  # no prefix without the prefix mask


@pytest.mark.parametrize("use_cache", [True, False])
def test_generation_predicts_what_training_scored_at_every_prompt_length(use_cache):
    """After a k-token prompt generation reads p = min(k, P); training with that p scores position
    k − 1 and every later one, and its logits there are exactly what generation sees."""
    model = tiny(mask="prefix", prefix_len=P)
    x = text(12)
    for k in range(1, 9):
        p = min(k, P)
        trained = model(x, prefix_lengths=p).logits[0]  # (T, V): the training forward with this p
        assert model.scored_targets((1, 12), p)[0, k - 1 :].all()  # a scored case, not a skipped one
        window = ContextWindow(model, x[:, :k], use_cache=use_cache)
        torch.testing.assert_close(window.logits[0], trained[k - 1], atol=1e-5, rtol=1e-5)
        for t in range(k, 11):  # written tokens read causally: the same rows of the same forward
            window.push(x[:, t])
            torch.testing.assert_close(window.logits[0], trained[t], atol=1e-5, rtol=1e-5)
    # before: training read every text with p = P and never scored positions 0 … P − 2, and
    # generation re-read the written tokens inside the first P positions both ways
    assert not model.scored_targets((1, 12))[0, : P - 1].any()
    old = model(x[:, :4]).logits[0, -1]  # a 2-token prompt and two written tokens, all inside P
    assert not torch.allclose(old, model(x, prefix_lengths=2).logits[0, 3], atol=1e-3)


def test_a_shift_keeps_what_is_left_of_the_prompt_as_the_prefix():
    model = tiny(mask="prefix", prefix_len=P)
    window = ContextWindow(model, text(12)[:, :4], use_cache=True, shift=3)
    assert window.prefix_length == 4
    for token in range(9):
        window.push(torch.tensor([token]))
    assert window.prefix_length == 1  # the window shifted once: 4 − 3 prompt tokens remain
    expected = model(window.tokens, prefix_lengths=1).logits[:, -1]
    torch.testing.assert_close(window.logits, expected, atol=1e-5, rtol=1e-5)


VARIANTS = [
    {"norm_position": "post"},
    {"position_encoding": "sinusoidal"},
    {"norm_position": "post", "position_encoding": "sinusoidal", "mask": "prefix", "prefix_len": P},
]


@pytest.mark.parametrize("changes", VARIANTS)
def test_variants_count_their_weights_and_agree_on_every_path(changes):
    model = tiny(**changes)
    assert sum(p.numel() for p in model.parameters()) == model.config.parameter_count()
    x = text(12, seed=3).repeat(2, 1)
    fused = model(x).logits
    written_out = model(x, need_weights=True)
    torch.testing.assert_close(written_out.logits, fused, atol=1e-5, rtol=1e-5)  # the inspection path
    greedy = SamplingSettings(temperature=0.0)
    prompt = x[:, :3]  # 20 new tokens: the 12-token window fills and shifts
    assert torch.equal(
        generate(model, prompt, 20, greedy), generate(model, prompt, 20, greedy, use_cache=False)
    )
    gates = torch.ones(2, 2)
    gates[1, 0] = 0.0
    model.set_head_gates(gates)  # ablation
    assert not torch.allclose(model(x).logits, fused, atol=1e-4)
    model.set_head_gates(None)
    torch.testing.assert_close(model(x).logits, fused)


def test_post_ln_has_no_final_norm_and_sinusoidal_no_position_table():
    post = tiny(norm_position="post", position_encoding="sinusoidal")
    names = set(post.state_dict())
    assert not any(n.startswith(("ln_f", "pos_emb", "pe")) for n in names)
    assert any(n.startswith("ln_f") for n in tiny().state_dict())
