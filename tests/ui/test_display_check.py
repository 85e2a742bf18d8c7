"""The one-line fix printed instead of Qt's abort when the window cannot open."""

from __future__ import annotations

import sys

import pytest

from app.ui import display_check
from app.ui.display_check import debian_package, display_problem, missing_libraries

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /x/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => not found
"""

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check is for Linux")


def test_ldd_output_names_each_missing_library_once():
    assert missing_libraries(LDD) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxkbcommon-x11.so.0"]
    assert missing_libraries("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libEGL.so.1", "libegl1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
    ],
)
def test_debian_package_names(soname, package):
    assert debian_package(soname) == package


@linux_only
def test_offscreen_and_wayland_need_no_check():
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None


@linux_only
def test_no_display_is_said_in_one_sentence():
    problem = display_problem({})
    assert problem is not None and "DISPLAY is not set" in problem and "xvfb-run" in problem


@linux_only
def test_missing_libraries_become_one_apt_get_line(monkeypatch, tmp_path):
    monkeypatch.setattr(display_check, "_xcb_plugin", lambda: tmp_path / "libqxcb.so")
    monkeypatch.setattr(display_check, "_ldd", lambda path: LDD)
    monkeypatch.setattr(display_check.shutil, "which", lambda name: "/usr/bin/ldd")
    problem = display_problem({"DISPLAY": ":0"})
    assert problem is not None
    assert problem.endswith("sudo apt-get install libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0")
    monkeypatch.setattr(display_check, "_ldd", lambda path: "\tlibc.so.6 => /lib/libc.so.6 (0x1)\n")
    assert display_problem({"DISPLAY": ":0"}) is None
