"""Batched GPT generation: each row writes what ``generate`` writes for its prompt alone."""

from __future__ import annotations

import pytest
import torch

from app.engine.inference import load_model
from app.engine.inference.batched_text import TextRequest, generate_rows
from models.text_sampling import SamplingSettings, generate
from models.transformer import GPT, GPTConfig, allowed_keys
from weights import shipped_checkpoint

VOCAB = 12
SETTINGS = (
    SamplingSettings(),
    SamplingSettings(temperature=0.7, top_k=4),
    SamplingSettings(temperature=1.5, top_p=0.6),
    SamplingSettings(temperature=0.0),
)


def tiny(**overrides) -> GPT:
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=VOCAB, block_size=8, n_layer=2, n_head=2, d_model=16, **overrides)
    return GPT(config).eval()


def alone(model: GPT, request: TextRequest) -> list[int]:
    """What ``genplay sample --seed`` writes: ``generate`` on the prompt alone with the seed's generator."""
    prompt = torch.tensor([list(request.prompt_ids)])
    generator = torch.Generator().manual_seed(request.seed)
    out = generate(model, prompt, request.max_new, request.settings, generator)
    return out[0, len(request.prompt_ids) :].tolist()


def requests(count: int) -> list[TextRequest]:
    """Prompts of 1 to 11 tokens (longer than the block of 8), lengths 0 to 29 (several shifts)."""
    return [
        TextRequest(
            prompt_ids=tuple((3 * i + j) % VOCAB for j in range(1 + (5 * i) % 11)),
            max_new=(7 * i + 3) % 30,
            settings=SETTINGS[i % len(SETTINGS)],
            seed=100 + i,
        )
        for i in range(count)
    ]


def test_allowed_keys_per_row_by_hand():
    config = GPTConfig(mask="sliding", window=2)
    allowed = allowed_keys(config, torch.tensor([[0], [3]]), 5)  # two rows, one query each
    assert allowed.tolist() == [[[True, False, False, False, False]], [[False, False, True, True, False]]]
    prefix = allowed_keys(GPTConfig(mask="prefix", prefix_len=3), torch.tensor([1]), 5)
    assert prefix.tolist() == [[True, True, True, False, False]]


@pytest.mark.parametrize("mask", ["causal", "sliding", "prefix"])
def test_each_row_equals_generate_alone(mask):
    model = tiny(mask=mask, window=3, prefix_len=3)
    batch = requests(9)
    written = generate_rows(model, batch)
    for request, tokens in zip(batch, written, strict=True):
        assert len(tokens) == request.max_new
        assert tokens == alone(model, request)


def test_a_row_writes_the_same_whatever_shares_its_batch():
    model = tiny()
    batch = requests(12)
    together = generate_rows(model, batch)
    reordered = generate_rows(model, batch[::-1])[::-1]
    in_pairs = [row for i in range(0, 12, 2) for row in generate_rows(model, batch[i : i + 2])]
    assert together == reordered == in_pairs
    assert len({tuple(row) for row in together if row}) > 5  # the rows really differ


def test_steps_stream_each_rows_tokens_in_order():
    model = tiny()
    batch = requests(6)
    streamed: dict[int, list[int]] = {i: [] for i in range(6)}

    def on_step(step: dict[int, int]) -> None:
        for index, token in step.items():
            streamed[index].append(token)

    written = generate_rows(model, batch, on_step)
    assert [streamed[i] for i in range(6)] == written


def test_shipped_gpt_rows_equal_generate_alone():
    ready = load_model(shipped_checkpoint("gpt"))
    encode = ready.tokenizer.encode
    batch = [
        TextRequest(tuple(encode("def f(x):")), 70, SamplingSettings(), seed=1),  # shifts past 64
        TextRequest(tuple(encode("import os\n")), 12, SamplingSettings(temperature=0.8, top_k=10), seed=2),
        TextRequest(tuple(encode("The ")), 40, SamplingSettings(top_p=0.9), seed=3),
    ]
    written = generate_rows(ready.model, batch)
    assert written == [alone(ready.model, request) for request in batch]


def test_rows_asking_for_nothing_get_nothing():
    model = tiny()
    request = TextRequest((1, 2), 0, SamplingSettings(), seed=0)
    assert generate_rows(model, [request, request]) == [[], []]
