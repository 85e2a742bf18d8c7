"""Before Qt opens a window on Linux: is there a display, and can Qt's X11 plugin load?

When a system library of Qt's xcb plugin is missing, Qt aborts the process with a page of
text that never names the package to install. ``ldd`` on the plugin says exactly which
libraries are missing, so genplay can print the one-line fix instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames that ``ldd`` could not find, each once, in the order it listed them."""
    return list(dict.fromkeys(NOT_FOUND.findall(ldd_output)))


def debian_package(soname: str) -> str:
    """Debian's package for a library: libxcb-cursor.so.0 → libxcb-cursor0,
    libxkbcommon-x11.so.0 → libxkbcommon-x11-0, libEGL.so.1 → libegl1."""
    name, _, version = soname.partition(".so.")
    major = version.split(".")[0]
    joiner = "-" if name[-1:].isdigit() else ""
    return f"{name}{joiner}{major}".lower()


def _xcb_plugin() -> Path | None:
    import PySide6  # the package only: no Qt library is loaded yet

    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.exists() else None


def _ldd(path: Path) -> str:
    try:
        return subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def display_problem(environ: dict[str, str] | None = None) -> str | None:
    """One sentence saying why Qt cannot open a window here, or None when it should work."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return None  # offscreen, wayland, vnc …: Qt's own plugins, nothing of the system's to check
    if not env.get("DISPLAY"):
        if env.get("WAYLAND_DISPLAY") and not platform:
            return None
        return (
            "there is no display to open the window on (DISPLAY is not set): run genplay on a "
            "desktop, or under xvfb-run; `genplay --self-test` and the commands need none."
        )
    plugin = _xcb_plugin()
    if plugin is None or shutil.which("ldd") is None:
        return None
    missing = missing_libraries(_ldd(plugin))
    if not missing:
        return None
    packages = " ".join(dict.fromkeys(debian_package(name) for name in missing))
    return (
        f"Qt's window needs system libraries this machine lacks ({', '.join(missing)}); "
        f"on Debian or Ubuntu: sudo apt-get install {packages}"
    )
