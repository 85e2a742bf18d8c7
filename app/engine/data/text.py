"""Text datasets for the GPT: two built-in corpora, the user's UTF-8 ``.txt`` files, one download.

    python-docs        the documentation topics that ship with Python (``pydoc_data.topics``)
    python-source      Python's own standard-library source, about 2 million characters of it
    tiny-shakespeare   Karpathy's 1.1 MB Shakespeare text, downloaded once into the cache

Every text becomes a ``DataBundle`` of kind "text": the characters are the vocabulary, the
last 10% of the text (contiguous) is validation and the rest is training.
"""

from __future__ import annotations

import functools
import os
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from app.engine.data.bundle import DataBundle
from app.engine.data.download import Progress, fetch_verified
from app.engine.data.info import DataKind
from app.engine.errors import DatasetError
from app.engine.paths import cache_dir
from models.tokenizer import CharTokenizer

TEXT_VAL_FRACTION = 0.1  # the last 10% of the text is validation, in one piece
MAX_TEXT_BYTES = 32 * 1024 * 1024
PYTHON_SOURCE_CHARS = 2_000_000
# parts of the standard library that are tests, tools or data tables rather than ordinary code
SKIPPED_SOURCE_DIRS = {
    "test", "tests", "idlelib", "turtledemo", "lib2to3", "ensurepip", "encodings", "site-packages",
    "dist-packages", "__pycache__",
}  # fmt: skip
CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\f\v\x1b")


@dataclass(frozen=True)
class TextDownload:
    url: str
    sha256: str
    file_name: str


TEXT_DOWNLOADS: dict[str, TextDownload] = {
    "tiny-shakespeare": TextDownload(
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
        "input.txt",
    ),
}


def text_bundle(text: str, name: str, source: str) -> DataBundle:
    """Characters → token ids; the last 10% (contiguous) becomes validation."""
    tokenizer = CharTokenizer.from_text(text)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # one code point per character
    vocab_codes = np.array([ord(c) for c in tokenizer.chars], dtype=np.uint32)  # sorted, like chars
    ids = torch.from_numpy(np.searchsorted(vocab_codes, codes).astype(np.int64))  # (T,)
    n_val = max(1, int(len(ids) * TEXT_VAL_FRACTION))
    return DataBundle(
        name=name,
        kind=DataKind.TEXT,
        train=ids[: len(ids) - n_val],
        val=ids[len(ids) - n_val :],
        tokenizer=tokenizer,
        source=source,
    )


def decode_text(data: bytes, name: str) -> str:
    """Bytes of a text file → str, or DatasetError saying why it is not usable UTF-8 text."""
    if not data.strip():
        raise DatasetError(f"{name} is empty; a text dataset needs some text to learn from.")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DatasetError(f"{name} is UTF-16 text; save it as UTF-8 and choose it again.")
    if b"\x00" in data:
        raise DatasetError(f"{name} looks like a binary file (it contains NUL bytes), not UTF-8 text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02X} at offset {exc.start:,} cannot be "
            "decoded); save it as UTF-8 and choose it again."
        ) from None
    sample = data[:65536]
    if sum(sample.count(bytes([b])) for b in CONTROL_BYTES) > 0.01 * len(sample):
        raise DatasetError(f"{name} looks like a binary file (many control bytes), not text.")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(set(text)) < 2:
        raise DatasetError(f"{name} uses only one distinct character; a language model needs at least two.")
    return text


def load_text_file(path: Path, seed: int = 0, name: str | None = None) -> DataBundle:
    """A UTF-8 ``.txt`` file → DataBundle, refusing empty, binary and non-UTF-8 files."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise DatasetError(
                f"{path.name} is {size / 2**20:.0f} MB; genplay reads text files up to "
                f"{MAX_TEXT_BYTES // 2**20} MB."
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"Cannot read {path.name}: {exc.strerror or exc}.") from None
    text = decode_text(data, path.name)
    return text_bundle(text, name or path.stem, source=name or str(path))


@functools.lru_cache(maxsize=1)
def python_docs_text() -> str:
    try:
        from pydoc_data.topics import topics
    except ImportError:
        raise DatasetError(
            "this Python installation has no documentation text (pydoc_data); choose another dataset."
        ) from None
    return "\n\n".join(topics[key].strip("\n") for key in sorted(topics)) + "\n"


def load_python_docs(seed: int = 0) -> DataBundle:
    return text_bundle(python_docs_text(), "python-docs", "python-docs")


def stdlib_source_files() -> list[Path]:
    """The standard library's ``.py`` files in path order, without tests, tools and data tables."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED_SOURCE_DIRS)
        found += [Path(folder) / f for f in sorted(files) if f.endswith(".py")]
    return found


def bundled_corpus(name: str) -> Path | None:
    """A corpus packed into the app bundle (a frozen app has no standard-library sources)."""
    from resources import RESOURCES

    path = RESOURCES / "corpora" / f"{name}.txt"
    return path if path.is_file() else None


@functools.lru_cache(maxsize=1)
def python_source_text(limit: int = PYTHON_SOURCE_CHARS) -> str:
    """About ``limit`` characters of standard-library source, files spread evenly across it."""
    bundled = bundled_corpus("python-source")
    if bundled is not None:
        return bundled.read_text(encoding="utf-8")
    files = stdlib_source_files()
    if not files:
        raise DatasetError(
            "this Python installation ships no standard-library source files; choose another dataset."
        )
    root = Path(sysconfig.get_paths()["stdlib"])
    total = sum(f.stat().st_size for f in files)
    stride = max(1, round(total / limit))  # every stride-th file keeps all parts of the library
    parts, length = [], 0
    for path in files[::stride]:
        try:
            code = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if sum(not c.isascii() for c in code) > 0.01 * len(code):
            continue  # data tables of Unicode characters would swell the vocabulary
        parts.append(f"# ---- {path.relative_to(root).as_posix()} ----\n{code.rstrip()}\n")
        length += len(parts[-1])
        if length >= limit:
            break
    return "\n".join(parts)


def load_python_source(seed: int = 0) -> DataBundle:
    return text_bundle(python_source_text(), "python-source", "python-source")


def text_download_path(name: str) -> Path:
    return cache_dir() / "datasets" / name / TEXT_DOWNLOADS[name].file_name


def download_text(name: str, url: str | None = None, progress: Progress | None = None) -> Path:
    """Fetch corpus ``name`` into the cache unless it is there; checked against its SHA-256."""
    spec = TEXT_DOWNLOADS[name]
    target = text_download_path(name)
    if not target.is_file():
        base = os.environ.get("GENPLAY_DOWNLOAD_BASE")
        url = url or (base.rstrip("/") + "/" + spec.file_name if base else spec.url)
        fetch_verified(url, target, spec.sha256, progress, algorithm="sha256")
    return target


def downloadable_text(name: str):
    def load(seed: int = 0) -> DataBundle:
        return load_text_file(download_text(name), seed, name=name)

    return load
