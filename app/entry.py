"""``genplay`` and ``python -m app``: a subcommand runs headless, otherwise the app opens."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    # in the PyInstaller bundle a spawned serve worker re-runs this executable: let it be the worker
    multiprocessing.freeze_support()
    from app.engine.cli.commands import COMMANDS
    from app.engine.cli.parser import build_parser

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # `train --nproc N` hands the same command line to torchrun
    if args.command:
        try:
            return COMMANDS[args.command](args)
        except BrokenPipeError:  # e.g. `genplay inspect FILE | head`
            sys.stderr.close()
            return 0
    from app.ui.launch import run_app  # Qt is imported only when the window is wanted

    return run_app(open_path=args.open, self_test=args.self_test)


if __name__ == "__main__":
    sys.exit(main())
