"""Datasets: shapes, IDX parsing (also corrupt files), image folders, arrays, the loopback download."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from app.engine.data import load_dataset, load_path, load_shapes
from app.engine.data.batches import ShuffledBatches
from app.engine.data.download import DOWNLOADS, download_dataset
from app.engine.data.idx import parse_idx, write_idx
from app.engine.data.shapes import SHAPE_NAMES, make_shapes, render_shapes
from app.engine.errors import DatasetError


def test_shapes_are_binary_with_factor_labels():
    bundle = load_shapes(seed=0, count=600)
    assert bundle.kind == "images" and bundle.item_shape == (1, 32, 32)
    assert len(bundle.train) == 540 and len(bundle.val) == 60
    assert set(torch.unique(bundle.train).tolist()) == {0.0, 1.0}
    assert set(bundle.val_labels) == {"shape", "scale", "rotation", "x", "y"}
    assert bundle.label_names["shape"] == SHAPE_NAMES


def test_shape_factors_control_the_picture():
    base = dict(shape=np.array([0]), scale=np.array([1.0]), rotation=np.array([0.0]))
    left = render_shapes(x=np.array([0.0]), y=np.array([0.5]), **base)[0]
    right = render_shapes(x=np.array([1.0]), y=np.array([0.5]), **base)[0]
    cols = np.arange(32)
    assert (left.sum(0) * cols).sum() / left.sum() < (right.sum(0) * cols).sum() / right.sum() - 10
    small = render_shapes(shape=np.array([0]), scale=np.array([0.5]), rotation=np.array([0.0]),
                          x=np.array([0.5]), y=np.array([0.5]))[0]  # fmt: skip
    big = render_shapes(shape=np.array([0]), scale=np.array([1.0]), rotation=np.array([0.0]),
                        x=np.array([0.5]), y=np.array([0.5]))[0]  # fmt: skip
    assert big.sum() > 3 * small.sum()


def test_shapes_are_reproducible():
    a, _ = make_shapes(50, seed=5)
    b, _ = make_shapes(50, seed=5)
    assert torch.equal(a, b)


# --- IDX -----------------------------------------------------------------------------------
def _write_mnist(folder, n=20, size=28, gz=True, test=True):
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, size, size)))
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", rng.integers(0, 10, n))
    if test:
        write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", rng.integers(0, 256, (5, size, size)))
        write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", rng.integers(0, 10, 5))


@pytest.mark.parametrize("gz", [True, False])
def test_idx_folder_loads_gz_or_raw(tmp_path, gz):
    _write_mnist(tmp_path, gz=gz)
    bundle = load_dataset(str(tmp_path))
    assert bundle.train.shape == (20, 1, 28, 28) and bundle.val.shape == (5, 1, 28, 28)
    assert 0.0 <= float(bundle.train.min()) and float(bundle.train.max()) <= 1.0
    assert bundle.val_labels["label"].shape == (5,)


def test_idx_without_test_split_is_split_randomly(tmp_path):
    _write_mnist(tmp_path, n=30, test=False)
    bundle = load_path(tmp_path)
    assert len(bundle.train) + len(bundle.val) == 30 and len(bundle.val) == 3


def _idx_bytes(array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b"\x01\x02" + b[2:], "bad magic number"),
        (lambda b: b[:2] + b"\x07" + b[3:], "bad magic number"),
        (lambda b: b[:3] + b"\x09" + b[4:], "dimensions"),
        (lambda b: b[:-7], "truncated"),
        (lambda b: b + b"\0\0", "extra bytes"),
        (lambda b: b[:6], "truncated inside its header"),
        (lambda b: b[:2], "too short"),
    ],
)
def test_corrupt_idx_is_refused_with_a_reason(mangle, message):
    good = _idx_bytes(np.zeros((3, 4, 4)))
    with pytest.raises(DatasetError, match=message):
        parse_idx(mangle(good), "x.idx")


def test_idx_count_mismatch_and_truncated_gzip(tmp_path):
    _write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(7))
    with pytest.raises(DatasetError, match="7 labels"):
        load_path(tmp_path)
    data = (tmp_path / "train-images-idx3-ubyte.gz").read_bytes()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="gzip"):
        load_path(tmp_path)


def test_huge_dimension_claims_do_not_allocate():
    header = bytes([0, 0, 8, 3]) + (10**9).to_bytes(4, "big") * 3
    with pytest.raises(DatasetError, match="truncated"):
        parse_idx(header + b"\0" * 10)


# --- image folders and arrays -----------------------------------------------------------------
def test_image_folder(tmp_path):
    for i in range(6):
        Image.fromarray(np.full((12, 10), i * 40, np.uint8)).save(tmp_path / f"{i}.png")
    bundle = load_path(tmp_path)
    assert bundle.item_shape == (1, 12, 10)
    assert len(bundle.train) + len(bundle.val) == 6


def test_image_folder_with_mixed_sizes_or_junk(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((9, 8), np.uint8)).save(tmp_path / "b.png")
    with pytest.raises(DatasetError, match="one size"):
        load_path(tmp_path)
    (tmp_path / "b.png").write_bytes(b"not an image at all")
    with pytest.raises(DatasetError, match="not a readable image"):
        load_path(tmp_path)


def test_npy_images_points_and_refusals(tmp_path):
    np.save(tmp_path / "img.npy", np.random.default_rng(0).integers(0, 256, (10, 8, 8)).astype(np.uint8))
    assert load_path(tmp_path / "img.npy").item_shape == (1, 8, 8)
    np.save(tmp_path / "pts.npy", np.random.default_rng(0).normal(size=(50, 2)))
    assert load_path(tmp_path / "pts.npy").kind == "points"
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match="not a readable NumPy"):
        load_path(tmp_path / "obj.npy")
    np.save(tmp_path / "bad.npy", np.zeros((4, 5, 6, 7, 8)))
    with pytest.raises(DatasetError, match="shape"):
        load_path(tmp_path / "bad.npy")


def test_unknown_dataset_and_missing_path():
    with pytest.raises(DatasetError, match="neither a built-in"):
        load_dataset("no-such-dataset")
    with pytest.raises(DatasetError, match="no dataset"):
        load_dataset("  ")


# --- batches -----------------------------------------------------------------------------------
def test_shuffled_batches_cover_an_epoch_and_resume_exactly():
    data = torch.arange(10.0).unsqueeze(1)
    source = ShuffledBatches(data, 3, torch.device("cpu"), seed=1)
    epoch = torch.cat([source.next() for _ in range(3)]).flatten().tolist()
    assert len(set(epoch)) == 9
    state = source.state_dict()
    expected = [source.next() for _ in range(5)]
    again = ShuffledBatches(data, 3, torch.device("cpu"), seed=99)
    again.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(expected, [again.next() for _ in range(5)], strict=True))


# --- download from a local server ------------------------------------------------------------------
@pytest.fixture
def local_server(tmp_path):
    root = tmp_path / "srv"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def _serve_fake_mnist(root):
    _write_mnist(root, gz=True)
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in root.iterdir()}


def test_download_verifies_and_loads(local_server, monkeypatch):
    root, url = local_server
    sums = _serve_fake_mnist(root)
    monkeypatch.setitem(DOWNLOADS, "mnist", (url, sums))
    seen = []
    folder = download_dataset("mnist", progress=lambda name, done, total: seen.append(name))
    assert sorted(p.name for p in folder.iterdir()) == sorted(sums)
    assert seen
    bundle = load_dataset("mnist")
    assert bundle.train.shape == (20, 1, 28, 28)


def test_download_with_a_bad_checksum_saves_nothing(local_server, monkeypatch):
    root, url = local_server
    sums = _serve_fake_mnist(root)
    sums["train-images-idx3-ubyte.gz"] = "0" * 32
    monkeypatch.setitem(DOWNLOADS, "mnist", (url, sums))
    with pytest.raises(DatasetError, match="failed its checksum"):
        download_dataset("mnist")
    from app.engine.data.download import dataset_folder

    assert not (dataset_folder("mnist") / "train-images-idx3-ubyte.gz").exists()
    assert not list(dataset_folder("mnist").glob("*.tmp"))


def test_download_from_an_unreachable_server_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(DOWNLOADS, "mnist", ("http://127.0.0.1:9/", DOWNLOADS["mnist"][1]))
    with pytest.raises(DatasetError, match="Could not download"):
        download_dataset("mnist")


def test_gzip_bomb_is_refused(tmp_path, monkeypatch):
    from app.engine.data import idx

    monkeypatch.setattr(idx, "MAX_IDX_BYTES", 1000)
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    bomb.write_bytes(gzip.compress(_idx_bytes(np.zeros((100, 28, 28)))))
    with pytest.raises(DatasetError, match="inflates to more than"):
        idx.read_idx(bomb)


def test_download_progress_reaches_whoever_listens(local_server, monkeypatch):
    from app.engine.data.download import percent_steps, reporting_downloads

    root, url = local_server
    monkeypatch.setitem(DOWNLOADS, "mnist", (url, _serve_fake_mnist(root)))
    heard = []
    with reporting_downloads(percent_steps(heard.append)):
        load_dataset("mnist")
    assert any(line.startswith("Downloading train-images-idx3-ubyte.gz: 100%") for line in heard)
    heard.clear()
    load_dataset("mnist")  # outside the block, and already cached: nothing to hear
    assert heard == []
