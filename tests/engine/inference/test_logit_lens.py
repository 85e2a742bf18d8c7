"""The logit lens against a hand computation: LayerNorm written out, times the output matrix,
softmax, on a tiny GPT's residual stream; the last row is the model's own prediction."""

from __future__ import annotations

import math

import torch

from app.engine.inference.logit_lens import LensTrack, chosen_after, logit_lens
from models.text_sampling import GenerationSession
from models.transformer import GPT, GPTConfig

CONFIG = GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, d_model=8, activation="gelu_tanh")


def tiny_model() -> GPT:
    torch.manual_seed(3)
    model = GPT(CONFIG).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.3 * torch.randn_like(param))  # LayerNorm γ, β and biases far from 1 and 0
    return model


def hand_lens_row(model: GPT, h: list[float]) -> list[float]:
    """softmax(LN_f(h) W_outᵀ + b) with every sum written out."""
    d = len(h)
    mean = sum(h) / d
    var = sum((x - mean) ** 2 for x in h) / d
    gamma, beta = model.ln_f.weight.tolist(), model.ln_f.bias.tolist()
    eps = CONFIG.layer_norm_eps
    normed = [(x - mean) / math.sqrt(var + eps) * g + b for x, g, b in zip(h, gamma, beta, strict=True)]
    W, bias = model.lm_head.weight.tolist(), model.lm_head.bias.tolist()
    logits = [
        sum(w * x for w, x in zip(row, normed, strict=True)) + b for row, b in zip(W, bias, strict=True)
    ]
    top = max(logits)
    exps = [math.exp(z - top) for z in logits]
    return [e / sum(exps) for e in exps]


def test_each_cell_is_the_final_norm_and_unembedding_of_that_layer(tmp_path):
    model = tiny_model()
    ids = torch.tensor([[1, 4, 2, 7, 3]])
    with torch.no_grad():
        out = model(ids, capture_residuals=True)
    residuals = torch.stack([h[0] for h in out.residuals])  # (L + 1, T, d)
    assert residuals.shape == (3, 5, 8)
    embeddings = model.tok_emb.weight[ids[0]] + model.pos_emb.weight[:5]
    assert torch.allclose(residuals[0], embeddings)  # h_0 = E_tok[x] + E_pos[t]
    chosen = chosen_after(ids[0].tolist(), 0)
    assert chosen == [4, 2, 7, 3, None]
    grid = logit_lens(model, residuals, chosen)
    for layer in range(3):
        for t in range(5):
            p = hand_lens_row(model, residuals[layer, t].tolist())
            top = max(range(11), key=p.__getitem__)
            assert grid.top_ids[layer, t] == top
            assert math.isclose(grid.top_probs[layer, t], p[top], rel_tol=1e-5)
            want = chosen[t] if chosen[t] is not None else grid.top_ids[-1, t]
            assert grid.chosen_ranks[layer, t] == 1 + sum(q > p[want] for q in p)
            assert math.isclose(grid.chosen_probs[layer, t], p[want], rel_tol=1e-5)
    final = torch.softmax(out.logits[0], dim=-1)  # the last row is the model's own prediction
    assert torch.equal(torch.from_numpy(grid.top_ids[-1]), final.argmax(dim=-1))
    assert grid.chosen_ranks[-1, -1] == 1  # nothing chosen yet: the output's own top


def test_a_track_computes_each_column_once_while_the_model_writes():
    model = tiny_model()
    session = GenerationSession(model, [1, 4, 2], capture_residuals=True, seed=0)
    track = LensTrack()

    def show():
        window = session.window
        positions = list(range(session.window_start, len(session.ids)))
        chosen = chosen_after(session.ids, session.window_start)
        return track.grid(model, window.residuals, positions, chosen, (id(session), window.full_reads))

    show()
    assert track.computed == 3
    for _ in range(4):
        session.step()
        grid = show()
    # each step unembeds the new position only (the last one keeps its logits for its chosen token)
    assert track.computed == 3 + 4
    with torch.no_grad():
        out = model(torch.tensor([session.ids]), capture_residuals=True)
    fresh = logit_lens(model, torch.stack([h[0] for h in out.residuals]), chosen_after(session.ids, 0))
    assert (grid.top_ids == fresh.top_ids).all() and (grid.chosen_ranks == fresh.chosen_ranks).all()
    assert abs(grid.top_probs - fresh.top_probs).max() < 1e-5  # the cached residuals are the same
