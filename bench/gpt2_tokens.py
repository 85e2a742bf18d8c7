"""GPT-2 small (124 M weights) writing token by token on the CPU: ms per token with and without
the KV cache, as the Generate tab does it (attention captured, residuals kept for the logit lens)
and bare, plus the logit lens' own cost per new token and the time to open the folder. The
compared paths take turns token by token within one run (each median over ``--new`` tokens ×
``--rounds``), so a busy machine slows them alike.

No internet here, so the model is GPT-2 small's shape with random weights: transformers'
``GPT2Config()`` defaults (12 layers, 12 heads, 768 wide, 1,024 positions, 50,257 tokens) saved
with ``save_pretrained`` into a temporary folder, with a byte-level BPE trained on a few lines
of 50,257 tokens built from byte pairs. Speed does not depend on the weights' values. A folder of the real
``gpt2`` can be given instead with ``--folder``.

    python bench/gpt2_tokens.py [--folder PATH] [--threads 2] [--prompt-tokens 32] [--new 32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from tokenizers.pre_tokenizers import ByteLevel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.checkpoint import read_checkpoint  # noqa: E402
from app.engine.inference import model_from_checkpoint  # noqa: E402
from app.engine.inference.logit_lens import LensTrack, chosen_after  # noqa: E402
from models.text_sampling import GenerationSession, SamplingSettings  # noqa: E402


def make_gpt2_small(folder: Path) -> None:
    """GPT-2 small's shape with random weights, and a byte-level BPE of its vocabulary size: the
    256 byte symbols, 50,000 merges of two of them, and <|endoftext|> (vocab.json + merges.txt)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config()  # GPT-2 small's defaults
    symbols = sorted(ByteLevel.alphabet())
    vocab = {symbol: i for i, symbol in enumerate(symbols)}
    merges = []
    for a in symbols:
        for b in symbols:
            if len(vocab) == config.vocab_size - 1:
                break
            merges.append(f"{a} {b}")
            vocab[a + b] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    GPT2LMHeadModel(config).save_pretrained(folder)


class Writer:
    """One way of writing (cache or not, views or not, lens or not), stepped one token at a time."""

    def __init__(self, model, prompt: list[int], *, cache: bool, views: bool, lens: bool) -> None:
        self.model, self.lens = model, lens
        self.session = GenerationSession(
            model, prompt, settings=SamplingSettings(temperature=1.0), use_cache=cache,
            capture_attention=views, capture_residuals=views, seed=0,
        )  # fmt: skip
        self.track = LensTrack()
        self.times: list[float] = []

    def step(self) -> None:
        started = time.perf_counter()
        session = self.session
        session.step()
        if self.lens:  # the lens tab shows the last 10 positions
            window = session.window
            count = min(10, window.length)
            first = len(session.ids) - count
            self.track.grid(self.model, window.residuals[:, -count:], list(range(first, len(session.ids))),
                            chosen_after(session.ids, first), (id(session), window.full_reads))  # fmt: skip
        self.times.append(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--new", type=int, default=24)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder
        if folder is None:
            folder = Path(tmp) / "gpt2-small-random"
            folder.mkdir()
            print("building a random GPT-2 small (transformers' GPT2Config defaults) in a temporary folder…")
            make_gpt2_small(folder)
        started = time.perf_counter()
        ready = model_from_checkpoint(read_checkpoint(folder))
        opened = time.perf_counter() - started
        model = ready.model
        count = sum(p.numel() for p in model.parameters())
        print(f"opened {folder.name} in {opened:.2f} s: {count / 1e6:.1f} M weights, {args.threads} threads")
        prompt = [
            int(i)
            for i in torch.randint(
                0, 50000, (args.prompt_tokens,), generator=torch.Generator().manual_seed(0)
            )
        ]
        rows = {
            "KV cache, bare": dict(cache=True, views=False, lens=False),
            "no cache, bare": dict(cache=False, views=False, lens=False),
            "KV cache, Generate tab views": dict(cache=True, views=True, lens=False),
            "no cache, Generate tab views": dict(cache=False, views=True, lens=False),
            "KV cache, views + logit lens": dict(cache=True, views=True, lens=True),
        }
        writers = {name: Writer(model, prompt, **options) for name, options in rows.items()}
        for _ in range(args.new):  # token by token, every way in turn
            for writer in writers.values():
                writer.step()
        ms = {name: 1000 * statistics.median(w.times) for name, w in writers.items()}
        for name, value in ms.items():
            print(f"{name:<30} {value:8.1f} ms/token  ({1000 / value:6.1f} tokens/s)")
        end = args.prompt_tokens + args.new
        print(f"KV cache speed-up over reading {args.prompt_tokens}–{end} tokens again: "
              f"{ms['no cache, bare'] / ms['KV cache, bare']:.1f}×")  # fmt: skip
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
