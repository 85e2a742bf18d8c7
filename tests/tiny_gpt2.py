"""A tiny random GPT-2 in the Hugging Face layout, built with ``transformers`` (a dev-only
dependency; nothing is downloaded): a byte-level BPE trained on a few sentences with
``tokenizers``, and a 2-layer, 2-head, 32-wide GPT2LMHeadModel saved with ``save_pretrained``."""

from __future__ import annotations

from pathlib import Path

import torch

TEXT = [
    "The cat sat on the mat. The dog sat on the log.",
    "def add(a, b):\n    return a + b\n",
    "Attention is all you need; the cat needs a mat.",
] * 4
N_POSITIONS = 64


def make_tiny_gpt2(folder: Path, tokenizer_files: str = "json", seed: int = 0):
    """Write the model into ``folder``; return the transformers model (eval mode) for reference.

    ``tokenizer_files``: "json" writes tokenizer.json, "vocab" writes vocab.json + merges.txt."""
    from tokenizers.implementations import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel

    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(TEXT, vocab_size=300, min_frequency=1, special_tokens=["<|endoftext|>"])
    if tokenizer_files == "json":
        bpe.save(str(folder / "tokenizer.json"))
    else:
        bpe.save_model(str(folder))
    config = GPT2Config(
        vocab_size=bpe.get_vocab_size(), n_positions=N_POSITIONS, n_embd=32, n_layer=2, n_head=2,
        bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # random LayerNorm and bias values, so a mapping mistake cannot hide
        for name, param in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                param.add_(0.1 * torch.randn_like(param))
    model.save_pretrained(folder)
    return model
