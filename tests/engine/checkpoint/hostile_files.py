"""A generated corpus of hostile checkpoint files, for every registered model family.

Each case is (name, bytes). They cover truncation at every region of the file, lying
header lengths, non-UTF-8 and invalid JSON headers, overlapping and out-of-range offsets,
wrong dtypes, shapes that do not match the config, missing and extra tensors, missing or
wrong metadata, configs that would allocate absurd memory, and foreign formats.
"""

from __future__ import annotations

import dataclasses
import json
import pickle  # noqa: TID251 - only to *write* a hostile pickle file; nothing here loads one
import struct
import typing

import torch
from safetensors.torch import save as st_save

from app.engine.checkpoint.format import checkpoint_bytes
from app.engine.tasks import TASKS, get_task_class
from models.config_fields import config_to_dict

Case = tuple[str, bytes]


def small_config(family: str):
    """A small valid config of ``family`` (defaults shrunk where a field is a size)."""
    cls = get_task_class(family).config_class
    config = cls()
    shrink = {
        "hidden_dims": (16,),
        "latent_dim": 3,
        "d_model": 16,
        "n_layer": 1,
        "n_head": 2,
        "block_size": 8,
        "vocab_size": 12,
        "hidden": 16,
        "z_dim": 4,
        "input_shape": (1, 8, 8),
    }
    names = {f.name for f in dataclasses.fields(cls)}
    for key, value in shrink.items():
        if key in names:
            try:
                candidate = dataclasses.replace(config, **{key: value})
                candidate.validate()
                config = candidate
            except (ValueError, TypeError):
                pass
    return config


def valid_bytes(family: str) -> tuple[bytes, dict[str, torch.Tensor], typing.Any]:
    torch.manual_seed(0)
    config = small_config(family)
    model = get_task_class(family).build_model(config)
    tensors = model.state_dict()
    tokenizer = None
    if family == "gpt":
        vocab = getattr(config, "vocab_size", 12)
        tokenizer = {"chars": [chr(ord("a") + i) for i in range(vocab)]}
    data = checkpoint_bytes(
        family=family, config=config, tensors=tensors, step=5, metrics={"loss": 1.0}, tokenizer=tokenizer
    )
    return data, tensors, config


def _split(data: bytes) -> tuple[dict, bytes]:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def _join(header: dict, body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def _truncations(family: str, data: bytes) -> list[Case]:
    header, body = _split(data)
    start = len(data) - len(body)
    cuts = {0, 1, 4, 7, 8, 9, start // 2, start - 1, start}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        if end > begin:
            cuts.update({start + begin + 1, start + (begin + end) // 2, start + end - 1})
    return [(f"{family}: truncated at byte {cut}", data[:cut]) for cut in sorted(cuts) if cut < len(data)]


def _header_lies(family: str, data: bytes) -> list[Case]:
    header, body = _split(data)
    text = json.dumps(header).encode()
    cases = [
        (f"{family}: header length beyond the file", struct.pack("<Q", len(data)) + data[8:]),
        (f"{family}: header length over 100 MB", struct.pack("<Q", 100 * 1024 * 1024 + 1) + data[8:]),
        (f"{family}: header length 2^63", struct.pack("<Q", 2**63) + data[8:]),
        (f"{family}: header length 0", struct.pack("<Q", 0) + data[8:]),
        (f"{family}: header length 1", struct.pack("<Q", 1) + data[8:]),
        (f"{family}: non-UTF-8 header", struct.pack("<Q", len(text)) + b"\xff\xfe" + text[2:] + body),
        (f"{family}: invalid JSON header", struct.pack("<Q", len(text)) + b"[" + text[1:] + body),
        (f"{family}: header is a JSON list", _join_raw(b"[1, 2, 3]", body)),
        (f"{family}: header is deeply nested", _join_raw(b"[" * 100000 + b"]" * 100000, body)),
        (f"{family}: metadata is a list", _join({**header, "__metadata__": [1]}, body)),
        (
            f"{family}: metadata value is a number",
            _join({**header, "__metadata__": {**header["__metadata__"], "step": 5}}, body),
        ),
    ]
    return cases


def _join_raw(text: bytes, body: bytes) -> bytes:
    return struct.pack("<Q", len(text)) + text + body


def _tensor_edits(family: str, data: bytes) -> list[Case]:
    header, body = _split(data)
    names = sorted(k for k in header if k != "__metadata__")
    cases: list[Case] = []
    for i, name in enumerate(names):
        entry = header[name]
        begin, end = entry["data_offsets"]
        for dtype in ("F16", "I32", "U8", "BOGUS"):
            edited = json.loads(json.dumps(header))
            edited[name]["dtype"] = dtype
            cases.append((f"{family}: {name} as {dtype}", _join(edited, body)))
        for label, offsets in (
            ("end past the data", [begin, len(body) + 8]),
            ("begin after end", [end, begin]),
            ("negative begin", [-8, end]),
            ("offsets not numbers", ["0", "8"]),
            ("one offset", [begin]),
        ):
            if label == "begin after end" and end == begin:
                continue
            edited = json.loads(json.dumps(header))
            edited[name]["data_offsets"] = offsets
            cases.append((f"{family}: {name} {label}", _join(edited, body)))
        edited = json.loads(json.dumps(header))
        edited[name]["shape"] = [-1]
        cases.append((f"{family}: {name} negative shape", _join(edited, body)))
        if i + 1 < len(names):
            other = names[i + 1]
            edited = json.loads(json.dumps(header))
            edited[other]["data_offsets"] = list(entry["data_offsets"])
            edited[other]["shape"], edited[other]["dtype"] = entry["shape"], entry["dtype"]
            if end > begin:
                cases.append((f"{family}: {other} overlaps {name}", _join(edited, body)))
    return cases


def _shape_and_set_edits(family: str, tensors: dict, config) -> list[Case]:
    cases: list[Case] = []
    common = {"family": family, "config": config, "step": 1}
    if family == "gpt":
        common["tokenizer"] = {"chars": [chr(ord("a") + i) for i in range(config.vocab_size)]}
    unique = {}
    seen = set()
    for name, tensor in tensors.items():
        if id(tensor) not in seen:
            unique[name] = tensor
            seen.add(id(tensor))
    for name, tensor in unique.items():
        wrong = torch.zeros(*(d + 1 for d in tensor.shape)) if tensor.dim() else torch.zeros(2)
        cases.append(
            (
                f"{family}: {name} has a shape the config does not build",
                checkpoint_bytes(tensors={**tensors, name: wrong.to(tensor.dtype)}, **common),
            )
        )
        missing = {k: v for k, v in tensors.items() if k != name}
        cases.append((f"{family}: {name} missing", checkpoint_bytes(tensors=missing, **common)))
    cases.append(
        (
            f"{family}: an extra tensor",
            checkpoint_bytes(tensors={**tensors, "extra.w": torch.ones(3)}, **common),
        )
    )
    cases.append((f"{family}: no tensors at all", checkpoint_bytes(tensors={}, **common)))
    nan = {
        k: (v.float() * float("nan")).to(v.dtype) if v.is_floating_point() else v for k, v in tensors.items()
    }
    cases.append((f"{family}: NaN weights", checkpoint_bytes(tensors=nan, **common)))
    return cases


def _metadata_edits(family: str, data: bytes) -> list[Case]:
    header, body = _split(data)
    meta = header["__metadata__"]
    cases: list[Case] = []
    for key in ("genplay.format", "family", "config"):
        edited = dict(meta)
        edited.pop(key)
        cases.append((f"{family}: metadata without {key}", _join({**header, "__metadata__": edited}, body)))
    wrong_values = {
        "genplay.format": ["2", "99", "one", ""],
        "family": ["", "diffusion", "VAE", "../vae"],
        "config": ["", "[]", "null", "{", '{"no_such_field": 1}', json.dumps({"__class__": "os.system"})],
        "step": ["", "-1", "1e5", "abc", "9" * 40],
        "metrics": ["[]", '{"loss": "low"}', "{", '{"loss": true}'],
        "data": ["[]", "{", '{"shape": "28x28"}', '{"train_size": -5}'],
        "train": ["[]", "{"],
        "aliases": ["[]", '{"a": 1}', '{"x.weight": "y.weight"}'],
        "state_file": ["../../etc/passwd", "/abs/path.safetensors", ""],
    }
    if family == "gpt":
        wrong_values["tokenizer"] = ["[]", "{", '{"chars": []}', '{"chars": ["a"]}', '{"chars": ["ab", "c"]}']
    for key, values in wrong_values.items():
        for value in values:
            cases.append(
                (
                    f"{family}: {key} = {value[:30]!r}",
                    _join({**header, "__metadata__": {**meta, key: value}}, body),
                )
            )
    return cases


def _absurd_configs(family: str, data: bytes, config) -> list[Case]:
    header, body = _split(data)
    meta = header["__metadata__"]
    cases: list[Case] = []
    hints = typing.get_type_hints(type(config))
    base = config_to_dict(config)
    for field in dataclasses.fields(config):
        hint = hints[field.name]
        if hint is int:
            bad_values = [10**9, 10**8, -5]
        elif hint is float:
            bad_values = [1e300, -1e300]
        elif typing.get_origin(hint) is tuple:
            bad_values = [[10**9] * max(1, len(base[field.name])), [], "x"]
        else:
            bad_values = [12345]
        for value in bad_values:
            config_json = json.dumps({**base, field.name: value})
            cases.append(
                (
                    f"{family}: config {field.name} = {str(value)[:20]}",
                    _join({**header, "__metadata__": {**meta, "config": config_json}}, body),
                )
            )
    return cases


def foreign_files() -> list[Case]:
    return [
        ("empty file", b""),
        ("seven bytes", b"1234567"),
        ("a pickle renamed .safetensors", pickle.dumps({"weights": [1, 2, 3]})),
        ("a torch.save zip renamed", b"PK\x03\x04" + bytes(200)),
        ("a PNG renamed", b"\x89PNG\r\n\x1a\n" + bytes(100)),
        ("plain text", b"hello, this is not a checkpoint\n" * 10),
        ("random bytes", bytes((i * 7919) % 256 for i in range(4096))),
        ("plain safetensors without genplay metadata", st_save({"w": torch.zeros(3)})),
        ("safetensors with only metadata", st_save({}, metadata={"genplay.format": "1"})),
    ]


def hostile_corpus() -> list[Case]:
    cases = foreign_files()
    for family in TASKS:
        data, tensors, config = valid_bytes(family)
        cases += _truncations(family, data)
        cases += _header_lies(family, data)
        cases += _tensor_edits(family, data)
        cases += _shape_and_set_edits(family, tensors, config)
        cases += _metadata_edits(family, data)
        cases += _absurd_configs(family, data, config)
    return cases
