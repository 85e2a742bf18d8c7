"""Atomic file writes: temp file in the same folder, flush, fsync, ``os.replace``.

A reader sees either the old file or the complete new one, never a partial write,
even if the process is killed or the disk fills up mid-write.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from app.engine.checkpoint.errors import CheckpointError

TEMP_SUFFIX = ".tmp"
DEFAULT_MODE = 0o644


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open folders; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "the folder is read-only or not writable"
    return exc.strerror or str(exc)


def _remove_stale_temps(folder: Path, name: str) -> None:
    """Temp files of an earlier, interrupted write of the same file (a crash or SIGKILL)."""
    for stale in folder.glob(f".{name}.*{TEMP_SUFFIX}"):
        try:
            stale.unlink()
        except OSError:
            pass


def atomic_write_bytes(path: Path, data: bytes | memoryview, shown_name: str | None = None) -> None:
    """Write ``data`` to ``path`` atomically; raise CheckpointError and keep the old file on failure.

    Errors name ``shown_name`` (default: the file's name): a sidecar's failure names its checkpoint,
    the file the user asked for.
    """
    path = Path(path)
    shown_name = shown_name or path.name
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CheckpointError(f"Cannot save {shown_name}: the folder {folder} does not exist.")
    _remove_stale_temps(folder, path.name)
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
        # mkstemp makes the file private (0600); a checkpoint is an ordinary document
        os.chmod(tmp_name, path.stat().st_mode & 0o777 if path.exists() else DEFAULT_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
        _fsync_dir(folder)
    except OSError as exc:
        raise CheckpointError(f"Could not save {shown_name}: {_reason(exc)}.") from exc
    finally:
        if tmp_name is not None and os.path.exists(tmp_name):
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
