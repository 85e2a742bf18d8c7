"""``genplay train | inspect | sample``: each returns a process exit code."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import numpy as np

from app.engine.checkpoint import Checkpoint, read_checkpoint
from app.engine.cli.outputs import check_writable, checkpoint_target
from app.engine.cli.progress import ProgressPrinter
from app.engine.cli.serve_commands import loadtest_command, serve_command
from app.engine.control import RunControl
from app.engine.data import load_dataset
from app.engine.data.download import percent_steps, reporting_downloads
from app.engine.errors import ConfigError, GenplayError
from app.engine.events import NoticeEvent
from app.engine.images import save_png_grid
from app.engine.inference import model_from_checkpoint
from app.engine.inference.sampling import sample_model
from app.engine.setup import (
    build_configs,
    configs_from_checkpoint,
    create_task,
    dataset_for_checkpoint,
    split_overrides,
)
from app.engine.tasks import families, get_task_class
from app.engine.tasks.base import Task
from app.engine.trainer import Trainer
from models.config_fields import config_to_dict


def fail(message: str) -> int:
    print(f"genplay: error: {message}", file=sys.stderr)
    return 2


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
    ):
        if value is not None:
            overrides[key] = value
    return overrides


def _resumed_run(args, overrides: dict, checkpoint: Checkpoint):
    """(data, model config, hparams, train config) to continue ``checkpoint``'s run."""
    family = args.family
    if checkpoint.family != family:
        raise ConfigError(f"{args.resume} holds a {checkpoint.family} model, not a {family}.")
    _train, model_changes, _h = split_overrides(family, overrides)
    if model_changes:
        raise ConfigError("the model's shape cannot change when resuming; drop " + ", ".join(model_changes))
    hparams, train = configs_from_checkpoint(checkpoint)
    seed = overrides.get("seed", train.seed)
    data = dataset_for_checkpoint(checkpoint, args.dataset, seed)
    model_config, hparams, train = build_configs(family, data, overrides, checkpoint.config, hparams, train)
    if train.steps <= checkpoint.step:
        raise ConfigError(
            f"{args.resume} is already at step {checkpoint.step} and --steps is the run's total, "
            f"not more steps; pass --steps above {checkpoint.step} to train further."
        )
    return data, model_config, hparams, train


def _fresh_run(args, overrides: dict):
    """(data, model config, hparams, train config) for a new run."""
    task_cls = get_task_class(args.family)
    seed = overrides.get("seed", task_cls.default_train_config().seed)
    with reporting_downloads(percent_steps(lambda text: print(text, file=sys.stderr), step=10)):
        data = load_dataset(args.dataset or task_cls.default_dataset, seed=seed)
    return data, *build_configs(args.family, data, overrides)


def train_command(args) -> int:
    family = args.family
    overrides = _cli_overrides(args)
    try:
        checkpoint = read_checkpoint(args.resume) if args.resume else None
        # the outputs are checked before data is loaded or a step is trained
        if args.metrics:
            check_writable(Path(args.metrics), "the metrics log")
        out = checkpoint_target(args.out, args.resume) if args.out or args.resume else None
        data, model_config, hparams, train = (
            _resumed_run(args, overrides, checkpoint) if checkpoint else _fresh_run(args, overrides)
        )
        out = out or checkpoint_target(None, None, f"{family}-{data.name}.safetensors")
        task = create_task(family, data, model_config, hparams, train)
        control = RunControl()
        trainer = Trainer(
            task, control=control, sink=print_notice, checkpoint_path=out, metrics_path=args.metrics
        )
        if checkpoint is not None:
            trainer.restore(checkpoint)
        # the bar starts where the run stands, so its rate and ETA count only this session's steps
        printer = ProgressPrinter(train.steps, trainer.step, quiet=args.quiet)
        trainer.sink = printer
    except GenplayError as exc:
        return fail(str(exc))
    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    try:
        finished = trainer.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        printer.close()
    print(finished.message, file=sys.stderr)
    if trainer.save_error:
        return fail(f"the run's checkpoint was not saved: {trainer.save_error}")
    if trainer.last_checkpoint:
        print(f"saved {trainer.last_checkpoint} (step {trainer.step})", file=sys.stderr)
    return 1 if finished.failed else 0


def inspect_command(args) -> int:
    try:
        checkpoint = read_checkpoint(args.file)
    except GenplayError as exc:
        return fail(str(exc))
    tensors = {
        name: {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
        for name, t in sorted(checkpoint.tensors.items())
    }
    parameters = sum(int(t.numel()) for t in {id(t): t for t in checkpoint.tensors.values()}.values())
    report = {
        "file": str(args.file),
        "family": checkpoint.family,
        "step": checkpoint.step,
        "config": config_to_dict(checkpoint.config),
        "metrics": checkpoint.metrics,
        "data": checkpoint.data,
        "parameters": parameters,
        "resumable": bool(checkpoint.state_file),
        "tensors": tensors,
    }
    if checkpoint.tokenizer is not None:
        report["vocabulary_size"] = len(checkpoint.tokenizer.get("chars", []))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.file}: {checkpoint.family} at step {checkpoint.step}, {parameters:,} parameters")
    print("config:  " + json.dumps(report["config"]))
    if checkpoint.data:
        print("data:    " + json.dumps(checkpoint.data))
    if checkpoint.metrics:
        print("metrics: " + ", ".join(f"{k}={v:.5g}" for k, v in checkpoint.metrics.items()))
    print(f"resumable training state: {'yes' if checkpoint.state_file else 'no'}")
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
        checkpoint = read_checkpoint(args.file)
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


COMMANDS = {
    "train": train_command,
    "inspect": inspect_command,
    "sample": sample_command,
    "serve": serve_command,
    "loadtest": loadtest_command,
}
