"""The direction of imports, checked by import-linter (the contracts live in pyproject.toml).

import-linter sees every import a module makes, at the top, inside a function or under
``if TYPE_CHECKING:``. What it cannot see is checked here with the ast: imports spelled as
strings (``importlib.import_module``), private names of the core used by the app, and imports
inside functions that do not say why they are lazy. Each check is also run on a copy of the
tree with a violation planted, so none of them can pass by seeing nothing.
"""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gcnet_core", "app")
LAZY_MARK = "# lazy:"  # an import inside a function must say why on its line


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    command = Path(sys.executable).with_name("lint-imports")
    env = {"PYTHONPATH": str(root), "PATH": str(command.parent)}
    return subprocess.run([str(command), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True)


def python_files(root: Path):
    for package in PACKAGES:
        yield from sorted((root / package).rglob("*.py"))


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(root: Path, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module_name(root, path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def string_imports(root: Path) -> list[str]:
    """Our modules imported by name at run time, out of import-linter's sight."""
    found = []
    for path in python_files(root):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                    "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
                target = str(node.args[0].value)
                if target.split(".")[0] in PACKAGES or target.startswith("."):
                    found.append(f"{path.relative_to(root)}:{node.lineno} imports {target!r} as a string")
    return found


def private_core_names_in_app(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and resolve(root, path, node).startswith("gcnet_core"):
                module = resolve(root, path, node)
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.endswith("__")]
                private += [part for part in module.split(".") if part.startswith("_")]
                if private:
                    found.append(f"{path.relative_to(root)}:{node.lineno} uses {module}.{private[0]}")
    return found


def unexplained_lazy_imports(root: Path) -> list[str]:
    """Imports of our own modules inside a function without a ``# lazy: why`` on their line."""
    found = []
    for path in python_files(root):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for function in ast.walk(ast.parse(source)):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom):
                    target = resolve(root, path, node)
                elif isinstance(node, ast.Import):
                    target = node.names[0].name
                else:
                    continue
                if target.split(".")[0] in PACKAGES and LAZY_MARK not in lines[node.lineno - 1]:
                    found.append(f"{path.relative_to(root)}:{node.lineno} imports {target} inside a function")
    return found


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " 0 broken" in result.stdout


def test_no_module_is_imported_through_a_string():
    assert not string_imports(ROOT)


def test_the_app_uses_only_public_names_of_the_core():
    assert not private_core_names_in_app(ROOT)


def test_every_import_inside_a_function_says_why_it_is_lazy():
    assert not unexplained_lazy_imports(ROOT)


def test_importing_the_core_does_not_load_qt():
    code = ("import sys, gcnet_core, gcnet_core.cli, gcnet_core.predict.running; "
            "print(any(m.startswith('PySide6') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- planted violations

@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def plant(root: Path, relative: str, text: str):
    path = root / relative
    original = path.read_text(encoding="utf-8")
    path.write_text(original + "\n" + text + "\n", encoding="utf-8")
    return lambda: path.write_text(original, encoding="utf-8")


@pytest.mark.parametrize("relative, text", [
    ("gcnet_core/model/build.py", "from ..weights import zoo  # an upward import"),
    ("gcnet_core/files/atomic.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..project import store"),
    ("gcnet_core/model/classes.py", "def later():\n    from ..predict import running  # lazy: planted"),
    ("gcnet_core/files/atomic.py", "import PySide6"),
    ("gcnet_core/project/overwrite.py", "from . import session  # a circle inside the room"),
    ("app/workers/tasks.py", "from .. import window  # an upward import inside the app"),
])
def test_lint_imports_catches_a_planted_violation(tree_copy, relative, text):
    assert lint_imports(tree_copy).returncode == 0, "the copy must start clean"
    undo = plant(tree_copy, relative, text)
    try:
        assert lint_imports(tree_copy).returncode != 0
    finally:
        undo()


def test_the_ast_checks_catch_planted_violations(tree_copy):
    undo = [plant(tree_copy, "gcnet_core/files/atomic.py",
                  "import importlib\nimportlib.import_module('gcnet_core.project.store')"),
            plant(tree_copy, "app/dialogs/about.py", "from gcnet_core.project.store import _private_helper"),
            plant(tree_copy, "app/shell/theme.py", "def later():\n    from gcnet_core.project import store")]
    try:
        assert string_imports(tree_copy) and private_core_names_in_app(tree_copy)
        assert unexplained_lazy_imports(tree_copy)
    finally:
        for step in undo:
            step()
