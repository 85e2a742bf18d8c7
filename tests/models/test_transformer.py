"""The GPT reads like its formula: masks, attention rows, fused = inspection, KV cache = recompute."""

from __future__ import annotations

import math

import pytest
import torch

from models.text_sampling import ContextWindow, SamplingSettings, generate
from models.transformer import GPT, GPTConfig, allowed_positions, attention_entropy

VOCAB = 13


def tiny(**changes) -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=VOCAB, block_size=16, n_layer=2, n_head=2, d_model=16, **changes)
    model = GPT(config).eval()
    # random init gives near-uniform attention; larger weights make every check meaningful
    with torch.no_grad():
        for param in model.parameters():
            param.mul_(8.0 if param.dim() > 1 else 1.0)
    return model


def tokens(batch: int = 2, length: int = 16, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))


def trained(mask: str) -> GPT:
    """A tiny model that learned a period-23 sequence, so greedy decoding writes varied tokens."""
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=VOCAB, block_size=16, n_layer=2, n_head=2, d_model=16, mask=mask,
                       window=4, prefix_len=5)  # fmt: skip
    model = GPT(config)
    generator = torch.Generator().manual_seed(3)
    data = torch.randint(0, VOCAB, (23,), generator=generator).repeat(10)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-2)
    for _ in range(100):
        offsets = torch.randint(0, len(data) - 17, (8,), generator=generator)
        windows = data[offsets[:, None] + torch.arange(17)]  # (8, 17)
        loss = model.loss(windows[:, :-1], windows[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


@pytest.mark.parametrize("mask", ["causal", "sliding"])
def test_changing_a_later_token_never_changes_earlier_logits(mask):
    model = tiny(mask=mask, window=4)
    x = tokens()
    before = model(x).logits
    changed = x.clone()
    changed[:, 9] = (changed[:, 9] + 1) % VOCAB
    after = model(changed).logits
    torch.testing.assert_close(after[:, :9], before[:, :9])
    assert not torch.allclose(after[:, 9:], before[:, 9:])


def test_mask_definitions():
    causal = allowed_positions(GPTConfig(mask="causal"), 6, 6)
    sliding = allowed_positions(GPTConfig(mask="sliding", window=3), 6, 6)
    prefix = allowed_positions(GPTConfig(mask="prefix", prefix_len=2), 6, 6)
    for i in range(6):
        for j in range(6):
            assert causal[i, j] == (j <= i)
            assert sliding[i, j] == (i - 3 < j <= i)
            assert prefix[i, j] == (j <= i or j < 2)
    # the last query row of a longer context is the bottom row of the square mask
    torch.testing.assert_close(allowed_positions(GPTConfig(mask="sliding", window=3), 1, 6), sliding[-1:])


@pytest.mark.parametrize("mask", ["causal", "sliding", "prefix"])
def test_attention_weights_follow_the_mask_and_rows_sum_to_one(mask):
    model = tiny(mask=mask, window=4, prefix_len=5)
    attentions = model(tokens(), need_weights=True).attentions
    allowed = allowed_positions(model.config, 16, 16)
    assert len(attentions) == 2
    for alpha in attentions:
        assert alpha.shape == (2, 2, 16, 16)
        torch.testing.assert_close(alpha.sum(-1), torch.ones(2, 2, 16))
        assert (alpha[..., ~allowed] == 0).all()
        assert (alpha[..., allowed] > 0).all()


def test_prefix_tokens_see_each_other_both_ways():
    model = tiny(mask="prefix", prefix_len=5)
    x = tokens()
    changed = x.clone()
    changed[:, 3] = (changed[:, 3] + 1) % VOCAB
    before, after = model(x).logits, model(changed).logits
    assert not torch.allclose(after[:, 0], before[:, 0])  # position 0 reads position 3 (inside P)
    changed = x.clone()
    changed[:, 8] = (changed[:, 8] + 1) % VOCAB
    torch.testing.assert_close(model(changed).logits[:, :8], before[:, :8])  # beyond P: causal


def test_prefix_loss_scores_only_targets_after_the_prefix():
    model = tiny(mask="prefix", prefix_len=5)
    x, y = tokens(), tokens(seed=2)
    logits = model(x).logits
    expected = torch.nn.functional.cross_entropy(logits[:, 4:].flatten(0, 1), y[:, 4:].flatten())
    torch.testing.assert_close(model.loss(x, y), expected)


@pytest.mark.parametrize("mask", ["causal", "sliding", "prefix"])
@pytest.mark.parametrize("scale", [True, False])
def test_inspection_path_equals_fused_path(mask, scale):
    model = tiny(mask=mask, window=4, prefix_len=5, scale_attention=scale)
    x = tokens()
    torch.testing.assert_close(model(x, need_weights=True).logits, model(x).logits, atol=1e-5, rtol=1e-5)


def test_scaling_off_saturates_the_softmax():
    x = tokens()
    scaled = tiny(scale_attention=True)(x, need_weights=True).attentions[0]
    unscaled = tiny(scale_attention=False)(x, need_weights=True).attentions[0]
    rows = slice(4, None)  # rows with several keys to choose from
    assert attention_entropy(unscaled[:, :, rows]).mean() < attention_entropy(scaled[:, :, rows]).mean()
    assert unscaled[:, :, rows].amax(-1).mean() > scaled[:, :, rows].amax(-1).mean()


def test_entropy_of_a_uniform_row_is_log_n():
    for n in (1, 2, 7, 64):
        row = torch.full((n,), 1.0 / n)
        assert attention_entropy(row).item() == pytest.approx(math.log(n), abs=1e-6)
    one_hot = torch.tensor([0.0, 1.0, 0.0])
    assert attention_entropy(one_hot).item() == 0.0


def test_weights_are_tied_and_counted_once():
    model = tiny()
    assert model.lm_head.weight is model.tok_emb.weight
    assert sum(p.numel() for p in model.parameters()) == model.config.parameter_count()
    config = GPTConfig(vocab_size=VOCAB, block_size=16, n_layer=1, n_head=2, d_model=16, tie_weights=False)
    untied = GPT(config)
    assert untied.lm_head.weight is not untied.tok_emb.weight
    assert sum(p.numel() for p in untied.parameters()) == untied.config.parameter_count()


@pytest.mark.parametrize("mask", ["causal", "sliding", "prefix"])
def test_kv_cache_generation_equals_full_recompute(mask):
    model = trained(mask)
    prompt = tokens(batch=2, length=3)
    greedy = SamplingSettings(temperature=0.0)
    # 40 new tokens: the 16-token window fills and shifts several times
    cached = generate(model, prompt, 40, greedy, use_cache=True)
    recomputed = generate(model, prompt, 40, greedy, use_cache=False)
    assert torch.equal(cached, recomputed)
    assert len(set(cached[0].tolist())) > 6  # a real sequence, not one repeated token
    # the logits and attention agree at every step too, not just the argmax
    fast = ContextWindow(model, prompt[:1], use_cache=True, need_weights=True)
    slow = ContextWindow(model, prompt[:1], use_cache=False, need_weights=True)
    for token in cached[0, 3:]:
        fast.push(token.view(1))
        slow.push(token.view(1))
        torch.testing.assert_close(fast.logits, slow.logits, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(fast.attention, slow.attention, atol=1e-5, rtol=1e-5)
    assert fast.full_reads < slow.full_reads


def test_context_window_shift_keeps_the_newest_tokens():
    model = tiny()
    window = ContextWindow(model, tokens(batch=1, length=16), shift=4)
    window.push(torch.tensor([5]))
    assert window.length == 13 and window.tokens[0, -1] == 5


def test_ablating_a_head_zeroes_its_output_and_changes_the_logits():
    model = tiny()
    x = tokens()
    before = model(x).logits
    gates = torch.ones(2, 2)
    gates[0, 1] = 0.0
    model.set_head_gates(gates)
    after = model(x, need_weights=True).logits
    assert not torch.allclose(after, before)
    # ablating the head equals zeroing its slice of W_O's input
    model.set_head_gates(None)
    with torch.no_grad():
        model.blocks[0].attn.proj.weight[:, 8:16] = 0.0
    torch.testing.assert_close(model(x).logits, after, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"d_model": 30, "n_head": 4}, "divisible"),
        ({"n_layer": 0}, "n_layer"),
        ({"mask": "prefix", "prefix_len": 64}, "prefix_len"),
        ({"d_model": 4096, "n_layer": 48}, "weights"),
    ],
)
def test_config_refuses_absurd_sizes(changes, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(**changes).validate()


def test_training_lowers_the_loss_on_a_repeating_text():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=VOCAB, block_size=8, n_layer=1, n_head=2, d_model=16))
    data = torch.arange(9).repeat(8)[None]  # 0 1 2 … 8 0 1 2 …
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        loss = model.loss(data[:, :8], data[:, 1:9])
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.2 * first
