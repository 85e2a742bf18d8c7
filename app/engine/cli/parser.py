"""The argument parser of ``genplay`` (shared by the GUI launcher and the subcommands)."""

from __future__ import annotations

import argparse
import json

from app import __version__
from app.engine.devices import DEVICE_CHOICES
from app.engine.precision import PRECISIONS


def parse_setting(text: str) -> tuple[str, object]:
    """``key=value`` → (key, value); the value is read as JSON, a comma list, or text."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"'{text}' is not of the form key=value")
    raw = raw.strip()
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        pass
    if "," in raw:
        parts = [p.strip() for p in raw.split(",")]
        if not all(parts):
            raise argparse.ArgumentTypeError(f"'{text}' has an empty entry in its list")
        try:
            return key, [json.loads(p) for p in parts]
        except json.JSONDecodeError:
            return key, parts
    return key, raw


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {value}")
    return value


def _finite_float(text: str, zero_ok: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not (value >= 0 if zero_ok else value > 0) or value == float("inf"):  # NaN fails both
        kind = "zero or a positive number" if zero_ok else "a positive number"
        raise argparse.ArgumentTypeError(f"must be {kind}, not {text}")
    return value


def _positive_float(text: str) -> float:
    return _finite_float(text, zero_ok=False)


def _non_negative_float(text: str) -> float:
    return _finite_float(text, zero_ok=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genplay",
        description="Train VAEs, WGAN-GPs and small GPTs live and look inside them. "
        "With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"genplay {__version__}")
    parser.add_argument(
        "--open",
        metavar="FILE",
        help="open the app with this checkpoint (or Hugging Face GPT-2 folder) loaded",
    )
    parser.add_argument(
        "--self-test", action="store_true", help="check every family and shipped checkpoint, then exit"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train a model headless, with a progress bar")
    train.add_argument("family", choices=["vae", "wgan", "gpt"])
    train.add_argument("--dataset", metavar="NAME|PATH", help="built-in name or a path")
    train.add_argument("--steps", type=_positive_int, help="total steps of the run")
    train.add_argument("--batch-size", type=_positive_int)
    train.add_argument("--lr", type=_positive_float, help="base learning rate")
    train.add_argument("--device", choices=DEVICE_CHOICES)
    train.add_argument("--seed", type=int)
    train.add_argument(
        "--out",
        metavar="FILE.safetensors",
        help="where to save the checkpoint, in an existing folder "
        "(default: FAMILY-DATASET.safetensors here; with --resume, the resumed file)",
    )
    train.add_argument(
        "--resume",
        metavar="FILE",
        help="continue the run saved in this checkpoint, updating it in place unless --out is given; "
        "a checkpoint shipped with genplay is never overwritten, so it needs --out",
    )
    train.add_argument("--metrics", metavar="FILE.jsonl", help="write one JSON line per step")
    train.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        type=parse_setting,
        metavar="KEY=VALUE",
        help="any model, training or family setting, e.g. latent_dim=10 or beta=4",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="forward passes in float32 (default), bfloat16 or float16 (with loss scaling) under autocast",
    )
    train.add_argument("--compile", action="store_true", default=None, help="torch.compile the model")
    train.add_argument(
        "--nproc",
        type=_positive_int,
        help="train with N processes on this machine (starts torchrun; --batch-size is per process)",
    )

    inspect = commands.add_parser("inspect", help="print what a checkpoint holds")
    inspect.add_argument("file")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")

    sample = commands.add_parser("sample", help="sample from a checkpoint without the app")
    sample.add_argument("file")
    sample.add_argument(
        "--n", type=_positive_int, help="number of samples (default: 64 images or points, 1 text)"
    )
    sample.add_argument("--out", metavar="PATH", help=".png grid or .npy array; text: a file")
    sample.add_argument("--seed", type=int, default=0)
    # GPT-only options default to None, so that giving one for another family is an error
    sample.add_argument("--prompt", help="text to start from (gpt)")
    sample.add_argument("--max-new", type=_positive_int, help="characters to write (gpt; default 200)")
    sample.add_argument(
        "--temperature", type=_non_negative_float, help="T (gpt; default 1; 0 = greedy, always the likeliest)"
    )
    sample.add_argument("--top-k", type=int, help="keep the k likeliest characters (gpt; default 0 = all)")
    sample.add_argument("--top-p", type=float, help="keep the likeliest mass p (gpt; default 1 = all)")

    export = commands.add_parser("export", help="write a checkpoint's network for inference engines (ONNX)")
    export.add_argument("file")
    export.add_argument(
        "--onnx",
        metavar="OUT.onnx",
        required=True,
        help="the GPT (dynamic batch and sequence length), the VAE's decoder or the WGAN's generator",
    )

    from app.engine.cli.serve_commands import add_serve_parsers  # here: it reads this module's types

    add_serve_parsers(commands, _positive_int, _positive_float, _non_negative_float)
    return parser
