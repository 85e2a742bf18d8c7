"""Cold start: seconds from launching genplay until its main window is shown.

    python bench/cold_start.py [--runs 3] [--command "dist/genplay/genplay"]

Runs the app (default: ``python -m app``) with GENPLAY_REPORT_STARTUP=1, which makes it print
the time from process start to ``window.show()``; also measures the wall time until that line
appears (which includes interpreter start-up and imports). Needs a display: run it under
``xvfb-run`` or with QT_QPA_PLATFORM=offscreen. Target: ≤ 3 s.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_launch(command: list[str]) -> float:
    env = {**os.environ, "GENPLAY_REPORT_STARTUP": "1", "GENPLAY_HOME": tempfile.mkdtemp()}
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if "window shown" in line:
                return time.perf_counter() - started
        raise RuntimeError("the app exited before showing its window")
    finally:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--command", default=f"{sys.executable} -m app")
    args = parser.parse_args()
    command = shlex.split(args.command)
    one_launch(command)  # warm the file cache once; the measured launches follow
    times = [one_launch(command) for _ in range(args.runs)]
    print(f"{args.command}: window shown after " + ", ".join(f"{t:.2f}" for t in times)
          + f" s (median {statistics.median(times):.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
