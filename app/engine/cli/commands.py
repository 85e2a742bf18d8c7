"""``genplay train | inspect | sample``: each returns a process exit code."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import numpy as np
import torch.distributed as dist

from app.engine.checkpoint import Checkpoint, read_checkpoint
from app.engine.checkpoint.history import history_line, history_nbytes
from app.engine.cli.outputs import check_writable, checkpoint_target
from app.engine.cli.progress import ProgressPrinter, read_with_progress
from app.engine.cli.serve_commands import loadtest_command, serve_command
from app.engine.data.download import percent_steps
from app.engine.distributed import RankInfo
from app.engine.distributed.group import (
    RankFailed,
    lost_peer_message,
    process_group,
    rank_from_env,
    world_size_from_env,
)
from app.engine.distributed.launch import launch
from app.engine.distributed.writers import WriterPolicy
from app.engine.errors import ConfigError, GenplayError
from app.engine.events import NoticeEvent
from app.engine.images import save_png_grid
from app.engine.inference import model_from_checkpoint
from app.engine.inference.loading import tokenizer_from_metadata
from app.engine.inference.sampling import sample_model
from app.engine.session import RunRequest, RunSession
from app.engine.setup import configs_from_checkpoint, split_overrides
from app.engine.tasks import families, get_task_class
from app.engine.tasks.base import Task
from models.config_fields import config_to_dict


def fail(message: str) -> int:
    print(f"genplay: error: {message}", file=sys.stderr)
    return 2


def _discard(event: object) -> None:
    """A rank other than 0 prints nothing: rank 0 speaks for the run."""


def print_notice(event: object) -> None:
    if isinstance(event, NoticeEvent):
        print(f"{event.level}: {event.message}", file=sys.stderr)


def _cli_overrides(args) -> dict:
    overrides = dict(args.settings)
    for key, value in (
        ("steps", args.steps),
        ("batch_size", args.batch_size),
        ("lr", args.lr),
        ("device", args.device),
        ("seed", args.seed),
        ("precision", args.precision),
        ("compile", args.compile),
    ):
        if value is not None:
            overrides[key] = value
    return overrides


def _resumed_request(args, overrides: dict, checkpoint: Checkpoint) -> RunRequest:
    """The run that continues ``checkpoint``'s: its own model, to the total --steps."""
    family = args.family
    if checkpoint.family != family:
        raise ConfigError(f"{args.resume} holds a {checkpoint.family} model, not a {family}.")
    _train, model_changes, _h = split_overrides(family, overrides)
    if model_changes:
        raise ConfigError("the model's shape cannot change when resuming; drop " + ", ".join(model_changes))
    _hparams, train = configs_from_checkpoint(checkpoint)
    total = int(overrides.get("steps", train.steps))
    if total <= checkpoint.step:
        raise ConfigError(
            f"{args.resume} is already at step {checkpoint.step} and --steps is the run's total, "
            f"not more steps; pass --steps above {checkpoint.step} to train further."
        )
    # the checkpoint's model exactly, so the session restores it (its training state too)
    settings = {**config_to_dict(checkpoint.config), **overrides}
    return RunRequest(total - checkpoint.step, args.dataset, settings)


def train_command(args) -> int:
    """``genplay train``; under torchrun, this rank's share of a distributed run."""
    if args.nproc is not None:
        return launch(args.nproc, getattr(args, "argv", None) or sys.argv[1:])
    try:
        with process_group(args.device or "auto") as rank:
            code = _train(args, rank)
            if code != 0 and rank.distributed:
                raise RankFailed(code)
            return code
    except RankFailed as failed:
        return failed.exit_code
    except (RuntimeError, dist.DistError) as exc:  # a collective failed outside a step (setup, teardown)
        if not dist.is_available() or world_size_from_env() <= 1:
            raise
        return fail(lost_peer_message(rank_from_env(), f"{type(exc).__name__}: {exc}."))


def _train(args, rank: RankInfo) -> int:
    family = args.family
    overrides = _cli_overrides(args)
    writes = WriterPolicy(rank)
    say = print_notice if rank.is_writer else _discard
    try:
        checkpoint = read_checkpoint(args.resume) if args.resume else None
        # the outputs are checked before data is loaded or a step is trained
        if args.metrics:
            check_writable(Path(args.metrics), "the metrics log")
        out = checkpoint_target(args.out, args.resume) if args.out or args.resume else None
        if checkpoint is not None:
            request = _resumed_request(args, overrides, checkpoint)
        else:
            steps = overrides.get("steps", get_task_class(family).default_train_config().steps)
            request = RunRequest(int(steps), args.dataset, overrides)
        if rank.is_writer:
            autosave = lambda data: out or checkpoint_target(None, None, f"{family}-{data.name}.safetensors")  # noqa: E731
        else:
            autosave = None  # only rank 0 writes; the ranks hold the same weights
        session = RunSession(family, autosave=autosave, metrics_path=writes.path(args.metrics))
        if checkpoint is not None:
            session.open(checkpoint)
        control = session.begin(request)
        printer: ProgressPrinter | None = None  # the bar starts once the run knows where it stands

        def sink(event: object) -> None:
            (printer if printer is not None and rank.is_writer else say)(event)

        def download_line(text: str) -> None:
            if rank.is_writer:
                print(text, file=sys.stderr)

        trainer = session.build(sink, downloads=percent_steps(download_line, step=10))
        # the bar starts where the run stands, so its rate and ETA count only this session's steps
        printer = ProgressPrinter(trainer.config.steps, trainer.step, quiet=writes.quiet(args.quiet))
    except GenplayError as exc:
        return fail(str(exc))
    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    try:
        finished = trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        printer.close()
        session.end()
    if rank.distributed and finished.failed:
        return fail(lost_peer_message(rank, finished.message))
    if not rank.is_writer:
        return 0
    print(finished.message, file=sys.stderr)
    if trainer.save_error:
        return fail(f"the run's checkpoint was not saved: {trainer.save_error}")
    if trainer.last_checkpoint:
        print(f"saved {trainer.last_checkpoint} (step {trainer.step})", file=sys.stderr)
    return 1 if finished.failed else 0


def inspect_command(args) -> int:
    try:
        checkpoint = read_with_progress(args.file)
    except GenplayError as exc:
        return fail(str(exc))
    tensors = {
        name: {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
        for name, t in sorted(checkpoint.tensors.items())
    }
    parameters = sum(int(t.numel()) for t in {id(t): t for t in checkpoint.tensors.values()}.values())
    report = {
        "file": str(args.file),
        "origin": checkpoint.origin,
        "family": checkpoint.family,
        "step": checkpoint.step,
        "config": config_to_dict(checkpoint.config),
        "metrics": checkpoint.metrics,
        "data": checkpoint.data.to_json(),
        "parameters": parameters,
        "resumable": bool(checkpoint.state_file),
        "tensors": tensors,
    }
    if checkpoint.history is not None:
        report["history"] = {**checkpoint.history.summary(), "bytes": history_nbytes(checkpoint.history)}
    tokenizer = tokenizer_from_metadata(checkpoint.tokenizer)
    if tokenizer is not None:
        report["vocabulary_size"] = tokenizer.vocab_size
        report["tokenizer"] = tokenizer.kind
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    origin = f" ({checkpoint.origin})" if checkpoint.origin != "genplay" else ""
    print(f"{args.file}: {checkpoint.family}{origin} at step {checkpoint.step}, {parameters:,} parameters")
    if tokenizer is not None:
        print(f"tokens:  {tokenizer.vocab_size:,} ({tokenizer.kind}s)")
    print("config:  " + json.dumps(report["config"]))
    if checkpoint.data.to_json():
        print("data:    " + json.dumps(checkpoint.data.to_json()))
    if checkpoint.metrics:
        print("metrics: " + ", ".join(f"{k}={v:.5g}" for k, v in checkpoint.metrics.items()))
    print(f"resumable training state: {'yes' if checkpoint.state_file else 'no'}")
    print("history: " + history_line(checkpoint.history))
    print("tensors:")
    width = max((len(n) for n in tensors), default=0)
    for name, info in tensors.items():
        print(f"  {name:<{width}}  {info['dtype']:<8} {info['shape']}")
    return 0


def _sample_options(args, task_cls: type[Task]) -> dict:
    """The family options given on the command line; one the family does not read is an error."""
    readers: dict[str, list[str]] = {}  # option → titles of the families that read it
    for family in families():
        reader = get_task_class(family)
        for name in reader.sample_options:
            readers.setdefault(name, []).append(reader.title)
    given = {name: getattr(args, name) for name in readers if getattr(args, name) is not None}
    for name in given:
        if name not in task_cls.sample_options:
            raise ConfigError(
                f"--{name.replace('_', '-')} only applies to {' and '.join(readers[name])} checkpoints, "
                f"and {args.file} holds a {task_cls.title}."
            )
    return given


def sample_command(args) -> int:
    try:
        checkpoint = read_with_progress(args.file)
        task_cls = get_task_class(checkpoint.family)
        options = _sample_options(args, task_cls)
        count = args.n if args.n is not None else task_cls.default_sample_count
        samples = sample_model(model_from_checkpoint(checkpoint), count, args.seed, **options)
        out = Path(args.out) if args.out else None
        if samples.text is not None:
            if out is None:
                print(samples.text)
            else:
                out.write_text(samples.text, encoding="utf-8")
            return 0
        array = samples.images if samples.images is not None else samples.points
        if out is None:
            out = Path(f"{Path(args.file).stem}-samples.{'png' if samples.images is not None else 'npy'}")
        if out.suffix.lower() == ".npy":
            np.save(out, array.astype(np.float32), allow_pickle=False)
        elif out.suffix.lower() == ".png" and samples.images is not None:
            save_png_grid(samples.images, out)
        elif samples.images is not None:
            raise ConfigError(f"images are written as a .png grid or a .npy array, not as {out.name}.")
        else:
            raise ConfigError(
                f"a 2-D model's samples are points, written as a .npy array of shape (N, 2), "
                f"not as {out.name}; use e.g. --out points.npy."
            )
        print(f"wrote {len(array)} samples to {out}", file=sys.stderr)
        return 0
    except GenplayError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"could not write the output: {exc.strerror or exc}.")


EXPORTED = {"gpt": "the GPT's logits", "vae": "the VAE's decoder", "wgan": "the WGAN's generator"}


def export_command(args) -> int:
    """``genplay export CKPT --onnx OUT.onnx``, checked with onnxruntime when it is installed."""
    from app.engine.onnx_export import export_onnx, onnxruntime_difference  # torch.onnx loads slowly

    out = Path(args.onnx)
    try:
        checkpoint = read_checkpoint(args.file)
        check_writable(out, "the ONNX file")
        plan = export_onnx(checkpoint, out)
        difference = onnxruntime_difference(plan, out)
    except GenplayError as exc:
        return fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - the exporter's own failures, said in one line
        return fail(f"the ONNX export failed: {type(exc).__name__}: {exc}")
    dims = ", ".join(f"{d}: {dim.__name__}" for d, dim in plan.dynamic.items())
    shape = list(plan.example.shape)
    print(f"wrote {out}: {EXPORTED[checkpoint.family]}, input '{plan.input_name}' {shape} "
          f"(dynamic {dims}), output '{plan.output_name}'", file=sys.stderr)  # fmt: skip
    if difference is not None:
        print(f"onnxruntime matches PyTorch to {difference:.2g}", file=sys.stderr)
    return 0


COMMANDS = {
    "export": export_command,
    "train": train_command,
    "inspect": inspect_command,
    "sample": sample_command,
    "serve": serve_command,
    "loadtest": loadtest_command,
}
