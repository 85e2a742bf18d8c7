"""Text datasets: built-in corpora, the .txt loader's refusals, the contiguous split, the download."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest
import torch

from app.engine.data import BUILTIN_DATASETS, builtin_names, load_dataset
from app.engine.data import text as text_module
from app.engine.errors import DatasetError

TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 20


def test_python_docs_is_built_in_and_split_contiguously():
    bundle = load_dataset("python-docs")
    assert bundle.kind == "text" and bundle.train.dtype == torch.int64
    text = text_module.python_docs_text()
    ids = torch.cat([bundle.train, bundle.val])
    assert bundle.tokenizer.decode(ids.tolist()) == text
    assert len(bundle.val) == int(len(text) * 0.1)  # the last 10%, in one piece
    assert bundle.tokenizer.decode(bundle.val[:50].tolist()) == text[len(bundle.train) :][:50]
    assert "python-docs" in builtin_names("text") and "python-source" in builtin_names("text")


def test_python_source_is_standard_library_code():
    bundle = load_dataset("python-source")
    start = bundle.tokenizer.decode(bundle.train[:20000].tolist())
    assert start.startswith("# ---- ") and "def " in start
    assert 1_500_000 < len(bundle.train) + len(bundle.val) < 2_500_000
    assert bundle.tokenizer.vocab_size < 200


def test_txt_file_loads_with_crlf_normalised_and_bom_dropped(tmp_path):
    path = tmp_path / "play.txt"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.replace("\n", "\r\n").encode("utf-8"))
    bundle = load_dataset(str(path))
    assert bundle.name == "play" and bundle.source == str(path)
    assert "\r" not in bundle.tokenizer.chars and "\ufeff" not in bundle.tokenizer.chars
    assert bundle.tokenizer.decode(torch.cat([bundle.train, bundle.val]).tolist()) == TEXT


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty"),
        (b"  \n\n\t ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
        ("café au lait".encode("latin-1") * 10, "not UTF-8"),
        ("hello".encode("utf-16"), "UTF-16"),
        (b"\x01\x02\x03abc\x04\x05" * 50, "binary"),
        (b"aaaaaaaa", "one distinct character"),
    ],
)
def test_bad_text_files_are_refused_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=reason) as info:
        load_dataset(str(path))
    assert "bad.txt" in str(info.value)


class _OneFile(http.server.BaseHTTPRequestHandler):
    body = b""
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server API
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server(monkeypatch):
    """An HTTP server on 127.0.0.1 that serves ``_OneFile.body`` at any path."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OneFile)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    _OneFile.requests = []
    monkeypatch.setenv("GENPLAY_DOWNLOAD_BASE", f"http://127.0.0.1:{server.server_port}/corpus")
    yield server
    server.shutdown()
    server.server_close()


def test_download_is_verified_then_cached(local_server, monkeypatch):
    body = TEXT.encode("utf-8")
    _OneFile.body = body
    spec = text_module.TEXT_DOWNLOADS["tiny-shakespeare"]
    local = text_module.TextDownload(spec.url, hashlib.sha256(body).hexdigest(), spec.file_name)
    monkeypatch.setitem(text_module.TEXT_DOWNLOADS, "tiny-shakespeare", local)
    bundle = BUILTIN_DATASETS["tiny-shakespeare"].load(0)
    assert bundle.name == "tiny-shakespeare" and bundle.source == "tiny-shakespeare"
    assert _OneFile.requests == ["/corpus/input.txt"]
    load_dataset("tiny-shakespeare")  # the second time comes from the cache
    assert len(_OneFile.requests) == 1


def test_corrupted_download_is_discarded(local_server):
    _OneFile.body = b"this is not Shakespeare"
    with pytest.raises(DatasetError, match="checksum"):
        load_dataset("tiny-shakespeare")
    folder = text_module.text_download_path("tiny-shakespeare").parent
    assert not any(Path(folder).iterdir())
