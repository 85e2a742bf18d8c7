"""Temperature, top-k and top-p reshape the next-token distribution as their definitions say."""

from __future__ import annotations

import math

import pytest
import torch

from models.text_sampling import ContextWindow, GenerationSession, SamplingSettings, sampling_probs
from models.transformer import GPT, GPTConfig

LOGITS = torch.log(torch.tensor([0.5, 0.25, 0.15, 0.1]))


def test_temperature_one_is_the_model_distribution():
    expected = torch.tensor([0.5, 0.25, 0.15, 0.1])
    torch.testing.assert_close(sampling_probs(LOGITS, SamplingSettings()), expected)


def test_temperature_sharpens_and_flattens():
    cold = sampling_probs(LOGITS, SamplingSettings(temperature=0.5))
    hot = sampling_probs(LOGITS, SamplingSettings(temperature=2.0))
    expected_cold = torch.tensor([0.25, 0.0625, 0.0225, 0.01])
    torch.testing.assert_close(cold, expected_cold / expected_cold.sum())  # p_i^(1/T), renormalised
    assert cold[0] > 0.5 > hot[0]
    greedy = sampling_probs(LOGITS, SamplingSettings(temperature=0.0))
    assert greedy.tolist() == [1.0, 0.0, 0.0, 0.0]


def test_top_k_keeps_the_k_most_likely():
    probs = sampling_probs(LOGITS, SamplingSettings(top_k=2))
    torch.testing.assert_close(probs, torch.tensor([2 / 3, 1 / 3, 0.0, 0.0]))


@pytest.mark.parametrize(
    "top_p, kept", [(0.5, 1), (0.6, 2), (0.75, 2), (0.76, 3), (0.9, 3), (0.95, 4), (1.0, 4)]
)
def test_top_p_keeps_the_smallest_set_reaching_p(top_p, kept):
    probs = sampling_probs(LOGITS, SamplingSettings(top_p=top_p))
    assert int((probs > 0).sum()) == kept
    assert float(probs.sum()) == pytest.approx(1.0)


def test_bad_settings_are_refused():
    for settings in (SamplingSettings(temperature=-1), SamplingSettings(top_k=-2), SamplingSettings(top_p=0)):
        with pytest.raises(ValueError):
            settings.validate()


def test_session_records_probability_surprisal_and_entropy():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=7, block_size=8, n_layer=2, n_head=2, d_model=8))
    session = GenerationSession(model, [1, 2, 3], seed=4)
    p = session.next_distribution()
    step = session.step()
    assert step.prob == pytest.approx(float(p[step.token]))
    assert step.surprisal == pytest.approx(-math.log(step.prob))
    assert step.entropy == pytest.approx(float(-(p * p.log()).sum()), rel=1e-5)
    assert session.ids == [1, 2, 3, step.token]
    assert session.window.attention.shape == (2, 2, 4, 4)
    for _ in range(10):  # past the 8-token window: it shifts, the text keeps growing
        session.step()
    assert len(session.ids) == 14 and session.window_start == 14 - session.window.length
    assert session.window.tokens[0].tolist() == session.ids[session.window_start :]


def test_same_seed_same_text():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=7, block_size=8, n_layer=1, n_head=1, d_model=8))
    texts = []
    for _ in range(2):
        session = GenerationSession(model, [1], seed=9)
        for _ in range(12):
            session.step()
        texts.append(session.ids)
    assert texts[0] == texts[1]


def test_the_window_keeps_attention_and_residuals_as_its_buffers_grow_past_64_tokens():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=7, block_size=160, n_layer=2, n_head=2, d_model=8)).eval()
    ids = torch.randint(0, 7, (1, 100))
    window = ContextWindow(model, ids[:, :3], use_cache=True, need_weights=True, need_residuals=True)
    assert window._attention.shape[-1] == 64  # sized by the text, not by the 160-token context
    for token in ids[0, 3:]:
        window.push(token.view(1))  # grows to 128 slots, then 160, copying what it holds
    with torch.no_grad():
        full = model(ids, need_weights=True, capture_residuals=True)
    torch.testing.assert_close(
        window.attention, torch.stack([a[0] for a in full.attentions]), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        window.residuals, torch.stack([h[0] for h in full.residuals]), atol=1e-5, rtol=0
    )
