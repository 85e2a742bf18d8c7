"""A Hugging Face GPT-2 folder opened as a genplay GPT checkpoint.

The folder holds ``config.json`` (model_type "gpt2"), ``model.safetensors`` and the tokenizer
(``tokenizer.json``, or ``vocab.json`` + ``merges.txt``). GPT-2 is a pre-LayerNorm decoder with
learned positions, so genplay's ``GPT`` expresses it with ``activation="gelu_tanh"`` (GPT-2's
``gelu_new``), ``output_bias=False`` and ``block_size`` = n_positions. The weights map one to one
except for the layout:

    HF name (GPT2LMHeadModel)          genplay name                 layout
    wte.weight            (V, d)       tok_emb.weight (= lm_head)   as is: the output layer is tied
    wpe.weight            (P, d)       pos_emb.weight               as is
    h.i.ln_1 / ln_2 / ln_f             blocks.i.ln_1 / ln_2, ln_f   as is
    h.i.attn.c_attn.weight (d, 3d)     blocks.i.attn.qkv.weight     transposed: Conv1D stores (in, out);
                                                                    columns Q | K | V, each d wide and
                                                                    split into heads of d/H, as genplay's
    h.i.attn.c_proj.weight (d, d)      blocks.i.attn.proj.weight    transposed
    h.i.mlp.c_fc / c_proj              blocks.i.mlp.fc / proj       transposed
    h.i.attn.bias, h.i.attn.masked_bias                             skipped: the causal mask, not weights

Some files prefix every name with ``transformer.`` (GPT2LMHeadModel saved whole); a separate
``lm_head.weight`` is the tied table again. The header is validated and every tensor's shape and
dtype checked against the config before anything is allocated; the tensors are then read one by
one from the memory-mapped file, converted to float32, and reported to ``progress``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from app.engine.bpe_tokenizer import BPETokenizer
from app.engine.checkpoint.errors import CheckpointError
from app.engine.checkpoint.header import TensorInfo, mapped_file, parse_header
from models.transformer import GPTConfig

FORMAT_KEY = "genplay.format"  # a file with it is genplay's own checkpoint (format.py)
WEIGHTS_FILE = "model.safetensors"
ORIGIN = "Hugging Face GPT-2"
SUPPORTED = (
    "genplay opens its own checkpoints and Hugging Face GPT-2 models "
    "(a folder with config.json, model.safetensors and tokenizer.json or vocab.json + merges.txt)"
)
FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")
ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu"}
MAX_CONFIG_BYTES = 1024**2
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
MASK_BUFFERS = ("attn.bias", "attn.masked_bias")
Progress = Callable[[int, int], None]  # (bytes read so far, bytes in all)


def hf_source(path: Path) -> tuple[Path, Path] | None:
    """(folder, weights file) when ``path`` is a Hugging Face model folder (or its config.json), or a
    safetensors file without genplay metadata that has a config.json beside it; else None."""
    if path.name == "config.json" and path.is_file():
        path = path.parent  # the dialog's way of choosing a folder
    if path.is_dir():
        return (path, path / WEIGHTS_FILE) if (path / "config.json").is_file() else None
    if path.suffix != ".safetensors" or not (path.parent / "config.json").is_file():
        return None
    try:
        with mapped_file(path) as data:
            header = parse_header(data, path.name)
    except CheckpointError:
        return None  # genplay's reader names what is wrong with it
    return None if FORMAT_KEY in header.metadata else (path.parent, path)


def is_openable(path: Path) -> bool:
    """Whether a dropped path can be opened: a .safetensors file, or a Hugging Face model folder
    or its config.json (what is inside is checked when it is read)."""
    if path.is_dir():
        return (path / "config.json").is_file()
    return path.suffix.lower() == ".safetensors" or path.name == "config.json"


def read_hf_gpt2(folder: Path, weights: Path, progress: Progress | None = None) -> Any:
    """The GPT-2 in ``folder`` as a validated genplay ``Checkpoint`` (family "gpt")."""
    from app.engine.checkpoint.format import Checkpoint  # format.py dispatches here

    config = gpt_config_from_hf(_read_config(folder), folder.name)
    try:
        tokenizer = BPETokenizer.from_folder(folder)
    except ValueError as exc:
        raise CheckpointError(f"{folder.name}: {exc}.") from None
    if tokenizer.vocab_size != config.vocab_size:
        raise CheckpointError(
            f"{folder.name}: its tokenizer has {tokenizer.vocab_size:,} tokens but config.json "
            f"says vocab_size {config.vocab_size:,}."
        )
    if not weights.is_file():
        bin_only = (folder / "pytorch_model.bin").is_file()
        hint = " (it has only pytorch_model.bin, a pickle, which genplay never opens)" if bin_only else ""
        raise CheckpointError(f"{folder.name} has no {WEIGHTS_FILE}{hint}.")
    with mapped_file(weights) as data:  # the header is checked before any tensor is read
        header = parse_header(data, weights.name)
    plan = _plan(config, header.tensors, weights.name)
    _check_memory(config, folder.name)
    tensors = _load(weights, plan, header.tensors, progress)
    return Checkpoint(
        family="gpt",
        config=config,
        tensors=tensors,
        tokenizer=tokenizer.to_metadata(),
        path=folder,
        origin=ORIGIN,
    )


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{folder.name}/config.json is too large to be a model config.")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise CheckpointError(f"{folder.name}/config.json is not readable JSON.") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{folder.name}/config.json is not a JSON object.")
    model_type = config.get("model_type")
    if model_type != "gpt2":
        kind = f"a {model_type} model" if isinstance(model_type, str) else "a model of unknown type"
        raise CheckpointError(f"{folder.name} holds {kind}; {SUPPORTED}.")
    return config


def _int(config: dict[str, Any], key: str, name: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise CheckpointError(f"{name}/config.json: '{key}' must be a whole number, not {value!r}.")
    return value


def gpt_config_from_hf(hf: dict[str, Any], name: str = "the model") -> GPTConfig:
    """GPT-2's config.json → the ``GPTConfig`` that builds the same network (validated)."""
    d_model = _int(hf, "n_embd", name)
    inner = hf.get("n_inner")
    if inner is not None and inner != 4 * d_model:
        raise CheckpointError(f"{name}: an MLP {inner} wide (n_inner) is not GPT-2's 4 × n_embd.")
    activation = ACTIVATIONS.get(hf.get("activation_function", "gelu_new"))
    if activation is None:
        named = hf.get("activation_function")
        raise CheckpointError(f"{name}: the activation {named!r} is not GPT-2's GELU.")
    if hf.get("scale_attn_by_inverse_layer_idx") or hf.get("add_cross_attention"):
        raise CheckpointError(f"{name}: layer-scaled or cross attention is not plain GPT-2.")
    eps = hf.get("layer_norm_epsilon", 1e-5)
    dropout = hf.get("resid_pdrop", 0.0)
    try:
        config = GPTConfig(
            vocab_size=_int(hf, "vocab_size", name),
            block_size=_int(hf, "n_positions", name, hf.get("n_ctx")),
            n_layer=_int(hf, "n_layer", name),
            n_head=_int(hf, "n_head", name),
            d_model=d_model,
            dropout=float(dropout) if isinstance(dropout, (int, float)) else 0.0,
            scale_attention=bool(hf.get("scale_attn_weights", True)),
            tie_weights=bool(hf.get("tie_word_embeddings", True)),
            activation=activation,
            layer_norm_eps=float(eps) if isinstance(eps, (int, float)) else float("nan"),
            output_bias=False,
        )
        config.validate()
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{name} is a GPT-2 genplay cannot build: {exc}.") from None
    return config


def _expected(config: GPTConfig) -> dict[str, tuple[str, tuple[int, ...], bool]]:
    """HF name (without prefix) → (genplay name, HF shape, stored transposed)."""
    d, V = config.d_model, config.vocab_size
    plan = {
        "wte.weight": ("tok_emb.weight", (V, d), False),
        "wpe.weight": ("pos_emb.weight", (config.block_size, d), False),
        "ln_f.weight": ("ln_f.weight", (d,), False),
        "ln_f.bias": ("ln_f.bias", (d,), False),
    }
    conv1d = {  # HF module → (genplay module, inputs, outputs)
        "attn.c_attn": ("attn.qkv", d, 3 * d),
        "attn.c_proj": ("attn.proj", d, d),
        "mlp.c_fc": ("mlp.fc", d, 4 * d),
        "mlp.c_proj": ("mlp.proj", 4 * d, d),
    }
    for i in range(config.n_layer):
        for ln in ("ln_1", "ln_2"):
            for part in ("weight", "bias"):
                plan[f"h.{i}.{ln}.{part}"] = (f"blocks.{i}.{ln}.{part}", (d,), False)
        for hf_name, (ours, n_in, n_out) in conv1d.items():
            plan[f"h.{i}.{hf_name}.weight"] = (f"blocks.{i}.{ours}.weight", (n_in, n_out), True)
            plan[f"h.{i}.{hf_name}.bias"] = (f"blocks.{i}.{ours}.bias", (n_out,), False)
    if not config.tie_weights:
        plan["lm_head.weight"] = ("lm_head.weight", (V, d), False)
    return plan


Plan = dict[str, tuple[str, str, bool]]  # stored name → (genplay name, HF name, transposed)


def _plan(config: GPTConfig, stored: dict[str, TensorInfo], name: str) -> Plan:
    """Stored name → (genplay name, HF name, transposed), every tensor checked before any is read."""
    prefix = "transformer." if any(k.startswith("transformer.") for k in stored) else ""
    expected = _expected(config)
    plan: Plan = {}
    for key in stored:
        bare = key.removeprefix(prefix)
        if bare.split(".", 2)[-1] in MASK_BUFFERS or (bare == "lm_head.weight" and config.tie_weights):
            continue  # the causal mask, and the tied output table stored a second time
        if bare not in expected:
            raise CheckpointError(f"{name} has tensor '{key}', which GPT-2 lacks; {SUPPORTED}.")
        plan[key] = (expected[bare][0], bare, expected[bare][2])
    found = {bare for _, bare, _ in plan.values()}
    missing = [bare for bare in expected if bare not in found]
    if missing:
        raise CheckpointError(f"{name} is missing tensor '{prefix}{missing[0]}' that its config.json needs.")
    for key, (_, bare, _) in plan.items():
        info, shape = stored[key], expected[bare][1]
        if info.shape != shape:
            raise CheckpointError(
                f"{name}: tensor '{key}' has shape {list(info.shape)} but config.json needs {list(shape)}."
            )
        if info.dtype not in FLOAT_DTYPES:
            raise CheckpointError(f"{name}: tensor '{key}' is stored as {info.dtype}, not floating point.")
    return plan


def _load(
    weights: Path, plan: Plan, stored: dict[str, TensorInfo], progress: Progress | None
) -> dict[str, torch.Tensor]:
    total = sum(stored[key].end - stored[key].begin for key in plan)
    done = 0
    tensors: dict[str, torch.Tensor] = {}
    if progress is not None:
        progress(0, total)
    with safe_open(str(weights), framework="pt") as file:  # memory-mapped: read tensor by tensor
        for key, (ours, _bare, transposed) in plan.items():
            tensor = file.get_tensor(key).to(torch.float32)
            if transposed:
                tensor = tensor.t()  # Conv1D (in, out) → Linear (out, in)
            tensor = tensor.contiguous()
            if not torch.isfinite(tensor).all():
                raise CheckpointError(f"{weights.name}: tensor '{key}' contains NaN or infinite values.")
            tensors[ours] = tensor
            done += stored[key].end - stored[key].begin
            if progress is not None:
                progress(done, total)
    if "lm_head.weight" not in tensors:
        tensors["lm_head.weight"] = tensors["tok_emb.weight"]  # tied: one table both ways
    return tensors


def available_memory() -> int | None:
    """Bytes the OS could give us now (Linux' MemAvailable), or None where it does not say."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _check_memory(config: GPTConfig, name: str) -> None:
    """Opening holds the weights twice at most (the checkpoint and the views' model), in float32."""
    needed = 2 * 4 * config.parameter_count()
    free = available_memory()
    if free is not None and needed > free:
        raise CheckpointError(
            f"{name} needs about {needed / 1024**3:.1f} GiB of memory to open and only "
            f"{free / 1024**3:.1f} GiB is free."
        )
