"""The lecture's formulas against numbers worked out by hand, not against the code under test.

Each test builds its expectation from first principles (small tensors, closed forms, or
PyTorch's reference modules) so that a wrong factor, a shared bug or a silent broadcast in
the implementation cannot also be in the expectation.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from models.text_sampling import SamplingSettings, sampling_probs
from models.transformer import GPT, Block, GPTConfig, SelfAttention, sinusoidal_table
from models.vae import VAE
from models.wgan import gradient_penalty


class HalfSquaredNorm(nn.Module):
    """D(x) = ½‖x‖², so ∇ₓD = x and ‖∇ₓD‖ = ‖x‖: the penalty is computable by hand."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x.pow(2).flatten(1).sum(dim=1)


def test_gradient_penalty_takes_one_alpha_per_example():
    real = torch.tensor([[2.0, 0.0], [0.0, 4.0]])
    fake = torch.zeros(2, 2)
    # α = (½, ¼): x̂ = ((1, 0), (0, 1)), both norms 1, so GP = 0
    per_example = gradient_penalty(HalfSquaredNorm(), real, fake, torch.tensor([0.5, 0.25]))
    assert per_example.penalty.item() == pytest.approx(0.0, abs=1e-9)
    assert per_example.norms.tolist() == pytest.approx([1.0, 1.0])
    # one α = ½ for the batch would give x̂ = ((1, 0), (0, 2)): GP = (0² + 1²)/2 = ½
    per_batch = gradient_penalty(HalfSquaredNorm(), real, fake, torch.tensor([0.5, 0.5]))
    assert per_batch.penalty.item() == pytest.approx(0.5)


def _attention_config(**changes) -> GPTConfig:
    base = dict(vocab_size=7, block_size=8, n_layer=1, n_head=2, d_model=8, dropout=0.0)
    return GPTConfig(**{**base, **changes})


def test_attention_divides_scores_by_the_square_root_of_d_k():
    torch.manual_seed(0)
    config = _attention_config()
    attention = SelfAttention(config, 0).eval()
    x = torch.randn(1, 5, 8)
    allowed = torch.tril(torch.ones(5, 5, dtype=torch.bool))  # M = 0 on and below the diagonal
    _, weights = attention(x, allowed, None, need_weights=True)
    q, k, _ = attention.qkv(x).split(8, dim=2)
    d_k = 4  # 8 channels over 2 heads
    q0, k0 = q[0, :, :d_k], k[0, :, :d_k]  # head 0
    scores = (q0 @ k0.T) / 2.0  # √4 = 2, written out rather than taken from the model
    scores = scores.masked_fill(torch.triu(torch.ones(5, 5, dtype=torch.bool), 1), float("-inf"))
    torch.testing.assert_close(weights[0, 0], torch.softmax(scores, dim=-1))


def test_multi_head_attention_matches_pytorchs_reference_module():
    torch.manual_seed(1)
    config = _attention_config(d_model=12, n_head=3)
    ours = SelfAttention(config, 0).eval()
    reference = nn.MultiheadAttention(12, 3, batch_first=True).eval()
    with torch.no_grad():
        reference.in_proj_weight.copy_(ours.qkv.weight)
        reference.in_proj_bias.copy_(ours.qkv.bias)
        reference.out_proj.weight.copy_(ours.proj.weight)
        reference.out_proj.bias.copy_(ours.proj.bias)
    x = torch.randn(2, 6, 12)
    causal = torch.triu(torch.ones(6, 6, dtype=torch.bool), 1)  # True = not allowed
    expected, expected_weights = reference(x, x, x, attn_mask=causal, average_attn_weights=False)
    out, weights = ours(x, ~causal, None, need_weights=True)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(weights, expected_weights, atol=1e-6, rtol=1e-5)


def test_a_dot_product_of_unit_variance_vectors_has_variance_d_k():
    generator = torch.Generator().manual_seed(2)
    for d_k in (4, 64):
        q = torch.randn(200_000, d_k, generator=generator)
        k = torch.randn(200_000, d_k, generator=generator)
        variance = (q * k).sum(dim=1).var().item()  # Var(Σ qᵢkᵢ) = Σ Var(qᵢ)Var(kᵢ) = d_k
        assert variance == pytest.approx(d_k, rel=0.03)
        assert ((q * k).sum(dim=1) / math.sqrt(d_k)).var().item() == pytest.approx(1.0, rel=0.03)


def _layer_norm(h, ln):  # (h − mean) / √(var + ε) · γ + β, variance without Bessel's correction
    mean = h.mean(dim=-1, keepdim=True)
    var = h.var(dim=-1, unbiased=False, keepdim=True)
    return (h - mean) / torch.sqrt(var + ln.eps) * ln.weight + ln.bias


def _attend(block, h):  # two heads of d_k = 4 over 4 causal positions, written out
    att = block.attn
    q, k, v = (h @ att.qkv.weight.T + att.qkv.bias).split(8, dim=-1)
    heads = []
    for head in range(2):
        cols = slice(4 * head, 4 * head + 4)
        scores = q[0, :, cols] @ k[0, :, cols].T / 2.0
        scores = scores.masked_fill(torch.triu(torch.ones(4, 4, dtype=torch.bool), 1), float("-inf"))
        heads.append(torch.softmax(scores, dim=-1) @ v[0, :, cols])
    return (torch.cat(heads, dim=-1) @ att.proj.weight.T + att.proj.bias)[None]


def _feed_forward(block, h):
    hidden = h @ block.mlp.fc.weight.T + block.mlp.fc.bias
    gelu = 0.5 * hidden * (1.0 + torch.erf(hidden / math.sqrt(2.0)))  # exact GELU
    return gelu @ block.mlp.proj.weight.T + block.mlp.proj.bias


def _block_with_distinct_norms(config: GPTConfig) -> Block:
    torch.manual_seed(3)
    block = Block(config, 0).eval()
    with torch.no_grad():  # γ ≠ 1, β ≠ 0, so LN₁ and LN₂ and their places are told apart
        for ln in (block.ln_1, block.ln_2):
            ln.weight.uniform_(0.5, 1.5)
            ln.bias.uniform_(-0.5, 0.5)
    return block


def test_pre_layernorm_block_matches_a_hand_written_forward_pass():
    block = _block_with_distinct_norms(_attention_config())
    x = torch.randn(1, 4, 8)
    h = x + _attend(block, _layer_norm(x, block.ln_1))  # h + Attn(LN(h))
    expected = h + _feed_forward(block, _layer_norm(h, block.ln_2))  # + MLP(LN(·))
    out, _ = block(x, None, None, need_weights=False)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_post_layernorm_block_matches_a_hand_written_forward_pass():
    block = _block_with_distinct_norms(_attention_config(norm_position="post"))
    x = torch.randn(1, 4, 8)
    h = _layer_norm(x + _attend(block, x), block.ln_1)  # h' = LN₁(h + Attn(h))
    expected = _layer_norm(h + _feed_forward(block, h), block.ln_2)  # h'' = LN₂(h' + MLP(h'))
    out, _ = block(x, None, None, need_weights=False)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    pre = Block(_attention_config(), 0).eval()
    pre.load_state_dict(block.state_dict())  # the same weights in the other order differ
    assert not torch.allclose(pre(x, None, None, need_weights=False)[0], out, atol=1e-3)


def test_sinusoidal_positions_match_hand_values():
    # d = 4: PE(t, 0) = sin t, PE(t, 1) = cos t, PE(t, 2) = sin(t / 100), PE(t, 3) = cos(t / 100)
    table = sinusoidal_table(8, 4)
    for t in (1, 5):
        expected = [math.sin(t), math.cos(t), math.sin(t / 100), math.cos(t / 100)]
        assert table[t].tolist() == pytest.approx(expected, abs=1e-6)
    assert table[0].tolist() == [0.0, 1.0, 0.0, 1.0]
    # d = 5 (odd): one more sine than cosines, the last at frequency 1 / 10000^(4/5)
    assert sinusoidal_table(4, 5)[3, 4].item() == pytest.approx(math.sin(3 / 10000**0.8), abs=1e-6)


def test_sinusoidal_model_adds_the_fixed_table_to_scaled_token_vectors():
    config = _attention_config(position_encoding="sinusoidal")
    model = GPT(config)
    assert "pe" not in model.state_dict() and not any("pos" in n for n, _ in model.named_parameters())
    ids = torch.tensor([[3, 1, 4]])
    expected = model.tok_emb.weight[ids] * math.sqrt(8) + torch.tensor(
        [
            [math.sin(t / 10000 ** (2 * (c // 2) / 8) + (math.pi / 2) * (c % 2)) for c in range(8)]
            for t in range(3)
        ]
    )  # cos x = sin(x + π/2)
    torch.testing.assert_close(model.embed(ids, torch.arange(3)), expected, atol=1e-5, rtol=1e-5)


def test_reparameterization_gradients_are_one_for_mu_and_epsilon_for_sigma():
    mu = torch.tensor([0.3, -1.2], requires_grad=True)
    log_sigma = torch.tensor([0.1, -0.5], requires_grad=True)
    eps = torch.tensor([1.5, -0.7])
    z = VAE.reparameterize(mu, 2.0 * log_sigma, eps)  # logvar = 2 log σ
    z.sum().backward()
    assert mu.grad.tolist() == pytest.approx([1.0, 1.0])  # ∂z/∂μ = 1
    sigma = torch.exp(log_sigma.detach())
    assert log_sigma.grad.tolist() == pytest.approx((eps * sigma).tolist())  # ∂z/∂log σ = ε σ, i.e. ∂z/∂σ = ε


def test_gradient_clipping_rescales_to_the_limit_and_leaves_small_gradients():
    from app.engine.optim_step import guarded_update

    weight = nn.Parameter(torch.tensor([0.0, 0.0]))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    loss = (weight * torch.tensor([3.0, 4.0])).sum()  # ∇ = (3, 4), ‖∇‖ = 5
    norm = guarded_update(loss, optimizer, [weight], step=1, grad_clip=1.0)
    assert norm == pytest.approx(5.0)  # reported before clipping
    assert weight.detach().tolist() == pytest.approx([-0.6, -0.8])  # w − lr·∇·(1/5)
    small = (weight * torch.tensor([0.3, 0.4])).sum()  # ‖∇‖ = 0.5 < 1: untouched
    guarded_update(small, optimizer, [weight], step=2, grad_clip=1.0)
    assert weight.detach().tolist() == pytest.approx([-0.9, -1.2])


def test_temperature_top_k_and_top_p_combined_by_hand():
    logits = torch.log(torch.tensor([0.5, 0.2, 0.2, 0.1]))  # two tied in the middle
    # T = 1, top-k = 3: the three most likely, 0.5, 0.2 and 0.2, renormalised
    probs = sampling_probs(logits, SamplingSettings(temperature=1.0, top_k=3))
    assert probs.tolist() == pytest.approx([0.5 / 0.9, 0.2 / 0.9, 0.2 / 0.9, 0.0])
    # + top-p = 0.6: mass before each sorted candidate 0, 0.556, 0.778 → keep the first two
    probs = sampling_probs(logits, SamplingSettings(temperature=1.0, top_k=3, top_p=0.6))
    kept = probs[probs > 0]
    assert len(kept) == 2 and probs[0].item() == pytest.approx(0.5 / 0.7)
    # top-k = 2 with the tie at the 2nd place: exactly two, the lower token id of the tie wins
    probs = sampling_probs(logits, SamplingSettings(temperature=1.0, top_k=2))
    assert probs.tolist() == pytest.approx([0.5 / 0.7, 0.2 / 0.7, 0.0, 0.0])
    batch = sampling_probs(logits.repeat(3, 1), SamplingSettings(temperature=1.0, top_k=2))
    assert (batch > 0).sum(dim=-1).tolist() == [2, 2, 2]
    # T = 2 flattens: p ∝ √p_i over all four
    roots = torch.tensor([0.5, 0.2, 0.2, 0.1]).sqrt()
    probs = sampling_probs(logits, SamplingSettings(temperature=2.0))
    assert probs.tolist() == pytest.approx((roots / roots.sum()).tolist())


def test_the_whole_model_reads_only_the_past():
    torch.manual_seed(4)
    model = GPT(_attention_config(n_layer=2)).eval()
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    changed = torch.tensor([[1, 2, 3, 6, 0]])  # the last two tokens differ
    with torch.no_grad():
        a, b = model(ids).logits, model(changed).logits
    torch.testing.assert_close(a[:, :3], b[:, :3])  # positions 0..2 cannot see positions 3..4
    assert not torch.allclose(a[:, 3], b[:, 3])
