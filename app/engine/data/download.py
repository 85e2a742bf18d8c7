"""Optional download of MNIST-format datasets into the user cache, checksum-verified.

Each file is fetched to a temporary name, its MD5 compared with the published one,
and only then renamed into place; a bad download leaves nothing behind.
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from app.engine.errors import DatasetError
from app.engine.paths import cache_dir

# name → (base URL, {file name: MD5 published with the dataset})
DOWNLOADS: dict[str, tuple[str, dict[str, str]]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024
Progress = Callable[[str, int, int], None]  # (file name, bytes so far, total or 0)
# who hears about downloads started deep inside a dataset loader (the CLI's bar, the GUI's status)
DOWNLOAD_PROGRESS: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "download_progress", default=None
)


def dataset_folder(name: str) -> Path:
    return cache_dir() / "datasets" / name


def is_downloaded(name: str) -> bool:
    folder = dataset_folder(name)
    return all((folder / file).is_file() for file in DOWNLOADS[name][1])


def fetch_verified(
    url: str,
    target: Path,
    md5: str,
    progress: Progress | None = None,
    timeout: float = 30.0,
    *,
    algorithm: str = "md5",
) -> Path:
    """Download ``url`` to ``target`` only if its digest (MD5, or ``algorithm``) matches ``md5``."""
    progress = progress or DOWNLOAD_PROGRESS.get()
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.new(algorithm, usedforsecurity=False)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(1 << 16):
                done += len(chunk)
                if done > MAX_DOWNLOAD_BYTES:
                    raise DatasetError(f"{target.name} is larger than expected; download stopped.")
                digest.update(chunk)
                out.write(chunk)
                if progress:
                    progress(target.name, done, total)
        if digest.hexdigest() != md5:
            raise DatasetError(
                f"{target.name} failed its checksum (got {digest.hexdigest()}, expected {md5}); "
                "the download was corrupted or altered and was discarded."
            )
        os.replace(tmp_name, target)
        return target
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DatasetError(f"Could not download {target.name}: {reason}.") from exc
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def download_dataset(name: str, base_url: str | None = None, progress: Progress | None = None) -> Path:
    """Fetch ``name`` ("mnist", "fashion-mnist") into the cache unless already there."""
    if name not in DOWNLOADS:
        raise DatasetError(f"'{name}' cannot be downloaded; choose {', '.join(DOWNLOADS)}.")
    default_base, files = DOWNLOADS[name]
    base = (base_url or os.environ.get("GENPLAY_DOWNLOAD_BASE") or default_base).rstrip("/") + "/"
    folder = dataset_folder(name)
    for file, md5 in files.items():
        if not (folder / file).is_file():
            fetch_verified(base + file, folder / file, md5, progress)
    return folder


class reporting_downloads:  # noqa: N801 - used as a context manager: `with reporting_downloads(fn):`
    """Send the progress of any download started inside the block to ``progress``."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._token = None

    def __enter__(self) -> None:
        self._token = DOWNLOAD_PROGRESS.set(self.progress)

    def __exit__(self, *exc) -> None:
        DOWNLOAD_PROGRESS.reset(self._token)


def percent_steps(report: Callable[[str], None], step: int = 5) -> Progress:
    """A Progress that calls ``report("Downloading NAME: N%")`` every ``step`` percent."""
    last: dict[str, int] = {}

    def progress(name: str, done: int, total: int) -> None:
        percent = int(100 * done / total) if total else 0
        if percent // step != last.get(name, -1):
            last[name] = percent // step
            report(f"Downloading {name}: {percent}%" if total else f"Downloading {name}: {done:,} bytes")

    return progress
