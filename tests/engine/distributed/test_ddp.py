"""Two CPU processes (gloo) against one: DDP through ``genplay train`` (issue 15).

The two ranks are spawned once for the module (see ``workers``); each test reads what they
left. A 2-process run with batch b per rank must match a 1-process run with batch 2b and the
same seed, to float tolerance, for every family.
"""

from __future__ import annotations

import json
import multiprocessing
import socket
import time

import pytest
import torch
from safetensors.torch import load_file

from app.engine.checkpoint import read_checkpoint
from app.entry import main
from tests.engine.distributed import workers

SPAWN_TIMEOUT_S = 150.0
TEXT = "Ask not what your model can do for you; ask what you can do for your model. " * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The 2-rank runs (spawned) and the 1-process references (here), in one folder."""
    out = tmp_path_factory.mktemp("ddp")
    text = out / "text.txt"
    text.write_text(TEXT, encoding="utf-8")
    context = multiprocessing.get_context("spawn")
    port = free_port()
    ranks = [context.Process(target=workers.rank_main, args=(r, port, str(out), str(text))) for r in (0, 1)]
    for process in ranks:
        process.start()
    try:
        # the 1-process references meanwhile: batch 2b, the same seed
        original = workers.small_builtin_shapes()
        for family in workers.TINY:
            args = workers.train_args(family, out, f"{family}-1p", 2 * workers.PER_RANK_BATCH, text)
            assert main(args) == 0
        assert (
            main(
                workers.resume_args(out / "vae-1p.safetensors", out / "vae-1to1", 2 * workers.PER_RANK_BATCH)
            )
            == 0
        )
        deadline = time.monotonic() + SPAWN_TIMEOUT_S
        for process in ranks:
            process.join(max(0.1, deadline - time.monotonic()))
        if (out / "vae-2p-rank0.safetensors").exists():  # the 2-process run continued by one process
            resumed = workers.resume_args(
                out / "vae-2p-rank0.safetensors", out / "vae-2to1", 2 * workers.PER_RANK_BATCH
            )
            assert main(resumed) == 0
    finally:
        workers.restore_builtin_shapes(original)
        alive = [p for p in ranks if p.is_alive()]
        for process in alive:
            process.kill()
            process.join(5)
    logs = {r: (out / f"rank{r}.log").read_text() for r in (0, 1) if (out / f"rank{r}.log").exists()}
    assert not alive, f"a rank did not finish in {SPAWN_TIMEOUT_S:.0f} s: {logs}"
    return out, [p.exitcode for p in ranks], logs


@pytest.mark.parametrize("family", list(workers.TINY))
def test_two_ranks_of_b_match_one_process_of_2b(runs, family):
    out, _codes, logs = runs
    assert json.loads((out / "codes-rank0.json").read_text())[family] == 0, logs
    two = read_checkpoint(out / f"{family}-2p-rank0.safetensors")
    one = read_checkpoint(out / f"{family}-1p.safetensors")
    assert two.step == one.step == workers.STEPS
    largest = max(float((two.tensors[k] - one.tensors[k]).abs().max()) for k in one.tensors)
    assert largest <= 1e-4, f"{family}: weights differ by up to {largest:.3g} after {workers.STEPS} steps"
    # the logged losses (averaged over the ranks) follow the 1-process curve
    curve = {json.loads(line)["step"]: json.loads(line) for line in (out / f"{family}-2p-rank0.jsonl").open()}
    reference = {json.loads(line)["step"]: json.loads(line) for line in (out / f"{family}-1p.jsonl").open()}
    key = "critic_loss" if family == "wgan" else "loss"
    for step in (1, 5, 10):
        assert curve[step][key] == pytest.approx(reference[step][key], rel=1e-4, abs=1e-5)
    assert curve[10]["val_loss" if family != "wgan" else "val_wasserstein"] == pytest.approx(
        reference[10]["val_loss" if family != "wgan" else "val_wasserstein"], rel=1e-4, abs=1e-5
    )
    # the checkpoint is an ordinary genplay file, resumable with either number of processes
    assert two.state_file and (out / two.state_file).is_file()


def test_resume_with_the_same_or_another_number_of_processes(runs):
    """1→1, 2→2 and 2→1 processes continue the 10-step VAE to the same weights at step 15."""
    out, _codes, logs = runs
    assert json.loads((out / "codes-rank0.json").read_text())["resumed"] == 0, logs
    reference = read_checkpoint(out / "vae-1to1.safetensors")
    assert reference.step == workers.STEPS + 5
    for name in ("vae-2to2-rank0", "vae-2to1"):
        resumed = read_checkpoint(out / f"{name}.safetensors")
        assert resumed.step == reference.step
        largest = max(float((resumed.tensors[k] - v).abs().max()) for k, v in reference.tensors.items())
        assert largest <= 1e-4, f"{name}: weights differ by up to {largest:.3g}"
    assert not (out / "vae-2to2-rank1.safetensors").exists()


def test_only_rank_0_writes(runs):
    out, _codes, logs = runs
    assert json.loads((out / "codes-rank1.json").read_text()) == {
        **{f: 0 for f in workers.TINY},
        "resumed": 0,
    }, logs
    for family in workers.TINY:
        assert (out / f"{family}-2p-rank0.safetensors").is_file()
        assert (out / f"{family}-2p-rank0.jsonl").is_file()
        assert not list(out.glob(f"{family}-2p-rank1*")), "rank 1 wrote a file"
    assert "Finished 10 steps" in logs[0] and "Finished" not in logs[1]


@pytest.mark.parametrize("family", list(workers.TINY))
def test_gradients_are_equal_across_ranks_after_a_step(runs, family):
    out, _codes, _logs = runs
    rank0 = load_file(out / f"grads-{family}-rank0.safetensors")
    rank1 = load_file(out / f"grads-{family}-rank1.safetensors")
    assert not torch.equal(rank0.pop("batch"), rank1.pop("batch")), "the ranks trained on the same examples"
    assert rank0.keys() == rank1.keys() and rank0
    for name in rank0:
        torch.testing.assert_close(rank0[name], rank1[name], rtol=0, atol=1e-7, msg=name)


def test_a_killed_rank_stops_the_others_with_a_clear_message(runs):
    out, codes, logs = runs
    assert codes[1] != 0 and not (out / "killed-code-rank1.json").exists()  # rank 1 was killed
    assert json.loads((out / "killed-code-rank0.json").read_text()) == 2, logs[0]
    assert "rank 0 of 2:" in logs[0] and "the others stop too" in logs[0]
    assert not (out / "killed-rank0.safetensors").exists()  # a failed run saves nothing
