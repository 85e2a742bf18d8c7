"""``genplay train --nproc N``: torchrun started for this one machine, running the same command.

Equivalent to typing ``torchrun --standalone --nproc-per-node N -m app train …`` (the
``--nproc`` option itself dropped, so the ranks do not launch again). Several machines need
torchrun by hand, with a rendezvous endpoint: see the README's "Scaling out".
"""

from __future__ import annotations

import subprocess
import sys


def without_nproc(argv: list[str]) -> list[str]:
    """``argv`` less its ``--nproc N`` / ``--nproc=N``."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            out.append(arg)
    return out


def torchrun_command(nproc: int, argv: list[str]) -> list[str]:
    """The command line that starts ``nproc`` ranks of ``genplay argv`` on this machine."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "app", *without_nproc(argv)]  # fmt: skip


def launch(nproc: int, argv: list[str]) -> int:
    """Run torchrun in the foreground; its exit code (non-zero when any rank failed)."""
    try:
        return subprocess.call(torchrun_command(nproc, argv))
    except KeyboardInterrupt:  # torchrun forwards the interrupt to the ranks and stops them
        return 130
