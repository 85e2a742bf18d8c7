"""The layering contract: models/ never imports app; app/engine never imports Qt or the UI; the UI
never imports a training task module.

An import here is any way a module names another: ``import a.b``, ``from a import b`` (and ``b``
itself when it is a submodule), relative imports resolved against the importing module's package,
``importlib.import_module("a.b")`` with a literal name, and the "module:Class" strings of the
registries (``TASKS``, ``PAGES``) that are imported by name when used.

The UI may import the task registry ``app.engine.tasks`` (``get_task_class``, ``families``) and
the task protocol ``app.engine.tasks.base``; what the views need from a family (constants, probe
and frame maths, the one path from weights to a model) lives in ``app.engine.inference``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")
UI_MAY_IMPORT_FROM_TASKS = ("app.engine.tasks", "app.engine.tasks.base")
REGISTRY_ENTRY = re.compile(r"^(?P<module>[A-Za-z_][\w.]*):(?P<name>[A-Za-z_]\w*)$")
OUR_PACKAGES = ("app", "models")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The file that holds module ``name`` under ``root``, or None."""
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _resolve(module: str | None, level: int, importer: str, is_package: bool) -> str:
    """The absolute name behind ``from <level dots><module> import …`` in module ``importer``."""
    if level == 0:
        return module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, module] if module else base)


def registry_entries(tree: ast.AST) -> list[tuple[str, str]]:
    """(module, name) of every "module:Class" string naming one of our modules."""
    entries = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = REGISTRY_ENTRY.match(node.value)
            if match and match["module"].split(".")[0] in OUR_PACKAGES:
                entries.append((match["module"], match["name"]))
    return entries


def imports_of(source: str, importer: str, is_package: bool = False, root: Path = ROOT) -> set[str]:
    """Every module that the module ``importer`` (whose text is ``source``) imports, by absolute name."""
    tree = ast.parse(source)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(node.module, node.level, importer, is_package)
            names.add(module)
            for alias in node.names:  # ``from package import submodule`` imports the submodule
                if module_file(f"{module}.{alias.name}", root) is not None:
                    names.add(f"{module}.{alias.name}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    names.update(module for module, _ in registry_entries(tree))
    return names


def imported_modules(path: Path) -> set[str]:
    return imports_of(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


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
        f"{p.relative_to(ROOT)} imports {n}"
        for p in sorted((ROOT / "app/engine").rglob("*.py"))
        for n in imported_modules(p)
        if n == "app.ui" or n.startswith("app.ui.")
    ]
    assert ui_imports == []


def test_only_ui_imports_qt():
    outside_ui = [line for line in offenders("app", QT_MODULES) if not line.startswith("app/ui/")]
    assert outside_ui == []


def test_ui_never_imports_a_training_task():
    task_imports = [
        f"{p.relative_to(ROOT)} imports {n}"
        for p in sorted((ROOT / "app/ui").rglob("*.py"))
        for n in imported_modules(p)
        if n.startswith("app.engine.tasks.") and n not in UI_MAY_IMPORT_FROM_TASKS
    ]
    assert task_imports == []


def test_every_registered_module_exists_and_defines_its_class():
    """The TASKS and PAGES registries (and any other "module:Class" string) name real classes."""
    registries = {"app/engine/tasks/__init__.py": "TASKS", "app/ui/pages/__init__.py": "PAGES"}
    missing = []
    for folder in ("app", "models"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            entries = registry_entries(ast.parse(path.read_text(encoding="utf-8")))
            rel = str(path.relative_to(ROOT))
            if rel in registries:
                assert entries, f"{rel} registers nothing in {registries[rel]}"
            for module, name in entries:
                target = module_file(module)
                defined = set()
                if target is not None:
                    body = ast.parse(target.read_text(encoding="utf-8")).body
                    defined = {n.name for n in body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
                if name not in defined:
                    missing.append(f"{rel} registers {module}:{name}, which does not exist")
    assert missing == []


def test_the_checker_reads_relative_imports_importlib_and_registries(tmp_path):
    """The contract above is only as good as its reading of imports: a hidden import is caught."""
    (tmp_path / "app/ui/pages").mkdir(parents=True)
    (tmp_path / "app/engine/tasks").mkdir(parents=True)
    for name in ("app/ui/pages/__init__.py", "app/ui/pages/page.py", "app/engine/tasks/vae_task.py"):
        (tmp_path / name).write_text("")
    source = (
        "import importlib\n"
        "from . import page\n"
        "from .page import Thing\n"
        "from ...engine.tasks import vae_task\n"
        "from ..widgets import layout\n"
        "importlib.import_module('PySide6.QtCore')\n"
        "PAGES = {'vae': 'app.engine.tasks.gpt_task:GPTTask'}\n"
    )
    names = imports_of(source, "app.ui.pages", is_package=True, root=tmp_path)
    assert names >= {
        "app.ui.pages",
        "app.ui.pages.page",
        "app.engine.tasks",
        "app.engine.tasks.vae_task",  # a submodule named after ``import``
        "app.ui.widgets",
        "PySide6.QtCore",
        "app.engine.tasks.gpt_task",  # a registry entry
    }
    in_module = imports_of(
        "from .sibling import x\nfrom .. import y\n", "app.engine.data.files", root=tmp_path
    )
    assert in_module == {"app.engine.data.sibling", "app.engine"}


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
