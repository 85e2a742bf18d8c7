"""The layering contract: models/ never imports app; app/engine never imports Qt."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for name in imported_modules(path):
            if name.split(".")[0] in forbidden:
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_models_never_import_app_or_qt():
    assert offenders("models", ("app", *QT_MODULES)) == []


def test_engine_never_imports_qt_or_ui():
    assert offenders("app/engine", QT_MODULES) == []
    ui_imports = [
        f"{p.relative_to(ROOT)}"
        for p in (ROOT / "app/engine").rglob("*.py")
        if any(n.startswith("app.ui") for n in imported_modules(p))
    ]
    assert ui_imports == []


def test_only_ui_imports_qt():
    outside_ui = [line for line in offenders("app", QT_MODULES) if not line.startswith("app/ui/")]
    assert outside_ui == []


def test_nothing_unpickles_user_files():
    """No torch.load, pickle, or eval anywhere in the shipped code."""
    bad = []
    for folder in ("app", "models"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr == "load"
                    and getattr(node.value, "id", "") == "torch"
                ):
                    bad.append(f"{path.relative_to(ROOT)}: torch.load")
                if isinstance(node, ast.Name) and node.id in ("eval", "exec"):
                    bad.append(f"{path.relative_to(ROOT)}: {node.id}")
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    mods = (
                        [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                    )
                    if any(m.split(".")[0] in ("pickle", "cPickle", "dill", "joblib") for m in mods):
                        bad.append(f"{path.relative_to(ROOT)}: imports pickle")
                if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                    if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                        bad.append(f"{path.relative_to(ROOT)}: allow_pickle not False")
    assert bad == []
