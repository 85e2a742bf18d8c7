"""Generation speed of the GPT: KV cache vs full recompute, the cost of capturing attention,
and one generation step of the GUI including its drawing.

Repetitions of the compared paths are interleaved in one run; medians are printed.
Targets: KV cache ≥ 3× faster than recomputing at 256 tokens; capturing attention costs
≤ 20% of generation speed; one GUI generation step (model + every view) ≤ 30 ms.

    python bench/gpt_generation.py [--checkpoint FILE.safetensors] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.checkpoint import read_checkpoint  # noqa: E402
from app.engine.data import load_dataset  # noqa: E402
from app.engine.events import ModelSnapshot  # noqa: E402
from models.text_sampling import GenerationSession, SamplingSettings, generate  # noqa: E402
from models.tokenizer import CharTokenizer  # noqa: E402
from models.transformer import GPT, GPTConfig  # noqa: E402

NEW_TOKENS = 255  # after a 1-character prompt: 256 tokens of context


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def interleaved(paths: dict, repeats: int) -> dict[str, float]:
    """Median seconds of each path; one warm-up round is dropped."""
    runs = {name: [] for name in paths}
    for repeat in range(repeats + 1):
        for name, fn in paths.items():
            seconds = timed(fn)
            if repeat:
                runs[name].append(seconds)
    return {name: statistics.median(values) for name, values in runs.items()}


def model_with_block(base: GPT | None, config: GPTConfig, block: int) -> GPT:
    """The model with a position table of ``block`` (copied from ``base`` where it has them)."""
    torch.manual_seed(0)
    model = GPT(replace(config, block_size=block)).eval()
    if base is not None:
        state = dict(base.state_dict())
        n = min(block, config.block_size)
        positions = model.pos_emb.weight.detach().clone()
        positions[:n] = state["pos_emb.weight"][:n]
        state["pos_emb.weight"] = positions
        model.load_state_dict(state)
    return model


def kv_speedup(model: GPT, repeats: int, label: str) -> None:
    prompt = torch.tensor([[0]])
    settings = SamplingSettings(temperature=0.0)
    paths = {
        "kv": lambda: generate(model, prompt, NEW_TOKENS, settings, use_cache=True),
        "full": lambda: generate(model, prompt, NEW_TOKENS, settings, use_cache=False),
    }
    same = torch.equal(paths["kv"](), paths["full"]())
    median = interleaved(paths, repeats)
    per = {k: 1000 * v / NEW_TOKENS for k, v in median.items()}
    print(
        f"{label}: KV cache {per['kv']:.2f} ms/token, full recompute {per['full']:.2f} ms/token "
        f"→ speed-up {median['full'] / median['kv']:.2f}× (same tokens: {same})"
    )


def capture_cost(model: GPT, repeats: int) -> None:
    def run(capture: bool):
        session = GenerationSession(model, [0], capture_attention=capture, seed=1)
        for _ in range(NEW_TOKENS):
            session.step()

    median = interleaved({"plain": lambda: run(False), "capture": lambda: run(True)}, repeats)
    cost = median["capture"] / median["plain"] - 1
    print(
        f"attention capture during generation (KV cache, {NEW_TOKENS} tokens): "
        f"{1000 * median['plain'] / NEW_TOKENS:.2f} → {1000 * median['capture'] / NEW_TOKENS:.2f} ms/token, "
        f"cost {100 * cost:.1f}% (target ≤ 20%)"
    )


def gui_step(model: GPT, tokenizer: CharTokenizer, steps: int) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.ui.gpt.generation_panel import GenerationPanel
    from app.ui.launch import create_app

    app = create_app()
    panel = GenerationPanel()
    panel.resize(1400, 820)
    panel.show()
    snapshot = ModelSnapshot("gpt", model.config, model.state_dict(), 0)
    panel.set_model(snapshot, tokenizer)
    panel.prompt.setPlainText("The ")
    app.processEvents()
    durations = []
    for _ in range(steps):
        started = time.perf_counter()
        panel.step_once()
        app.processEvents()  # the views draw here
        durations.append(1000 * (time.perf_counter() - started))
    durations = durations[5:]
    durations.sort()
    p95 = durations[int(0.95 * (len(durations) - 1))]
    print(
        f"GUI generation step (model + text, heat map, head grid, entropy, top-k, surprisal, drawn), "
        f"{len(durations)} steps: median {statistics.median(durations):.1f} ms, p95 {p95:.1f} ms, "
        f"max {durations[-1]:.1f} ms (target ≤ 30 ms)"
    )
    panel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="a GPT checkpoint (default: the baby GPT, untrained)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gui-steps", type=int, default=120)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.checkpoint:
        checkpoint = read_checkpoint(args.checkpoint)
        base = checkpoint.build_model()
        tokenizer = CharTokenizer.from_metadata(checkpoint.tokenizer)
    else:
        tokenizer = load_dataset("python-docs").tokenizer
        torch.manual_seed(0)
        base = None
    config = base.config if base is not None else GPTConfig(vocab_size=tokenizer.vocab_size)
    default = base if base is not None else model_with_block(None, config, config.block_size)
    print(
        f"GPT {config.n_layer}x{config.n_head}x{config.d_model}, vocab {config.vocab_size}, "
        f"{torch.get_num_threads()} thread(s), {args.repeats} interleaved repeats"
    )
    with torch.no_grad():
        kv_speedup(
            model_with_block(base, config, NEW_TOKENS + 1),
            args.repeats,
            f"256 tokens in a 256-token context (block_size {NEW_TOKENS + 1})",
        )
        kv_speedup(
            default,
            args.repeats,
            f"256 tokens with block_size {config.block_size} (window shifts by {config.block_size // 4})",
        )
        capture_cost(default, args.repeats)
    gui_step(default, tokenizer, args.gui_steps)


if __name__ == "__main__":
    main()
