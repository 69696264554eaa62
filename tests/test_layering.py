"""The direction of imports (ARCHITECTURE.md): gcnet_core never imports Qt, and each of its
rooms imports only the rooms below it, so a change in one room never needs another above it."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "gcnet_core"
APP = ROOT / "app"
QT = ("PySide6", "PyQt5", "PyQt6", "shiboken6")

# room -> the rooms it may import (modules at the top of gcnet_core count as rooms too).
# Keep in step with the drawing in ARCHITECTURE.md.
ALLOWED = {
    "version": set(),
    "paths": set(),
    "model": set(),
    "files": {"model"},
    "weights": {"model", "files", "paths"},
    "predict": {"model", "files", "weights", "paths"},
    "project": {"model", "files", "predict", "paths"},
    "data": {"model", "files", "project", "predict", "paths"},
    "adapt": {"model", "files", "weights", "predict", "project", "data", "version"},
    "evaluation": {"model", "files", "data", "predict", "paths"},
    "formats": {"model", "files", "project", "data", "weights", "paths"},
    "train": {"model", "files", "weights", "predict", "data", "evaluation", "version", "paths"},
    "api": {"model", "files", "weights", "predict", "paths"},
    "cli": {"model", "files", "weights", "predict", "project", "data", "evaluation", "formats", "train",
            "api", "version", "paths", "adapt"},
    "__init__": {"api", "model", "predict", "version", "weights"},
}


def _under_type_checking(tree: ast.AST) -> set[int]:
    """Line numbers of imports inside ``if TYPE_CHECKING:`` (annotations only, never run)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            for child in ast.walk(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    lines.add(child.lineno)
    return lines


def imports_of(path: Path, package_root: Path, package: str):
    """(absolute module names, gcnet_core rooms) that ``path`` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _under_type_checking(tree)
    own = [package, *path.relative_to(package_root).parts[:-1]]
    modules = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module.split(".")
            else:
                base = own[: len(own) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            if node.module is None and node.level:  # from . import name: name may be a module
                modules.update(".".join([*base, alias.name]) for alias in node.names)
            else:
                modules.add(".".join(base))
    return modules


def room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "gcnet_core":
        return None
    if len(parts) == 1:
        return "__init__"
    return "version" if parts[1] == "__version__" else parts[1]


def own_room(path: Path) -> str:
    rel = path.relative_to(CORE).parts
    return rel[0] if len(rel) > 1 else rel[0][:-3]


def test_no_module_under_gcnet_core_imports_qt():
    offenders = {
        str(path.relative_to(CORE)): sorted(m for m in imports_of(path, CORE, "gcnet_core") if m.split(".")[0] in QT)
        for path in CORE.rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"gcnet_core must not import Qt: {offenders}"
    assert len(list(CORE.rglob("*.py"))) > 10  # the walk really saw the package


def test_each_room_of_gcnet_core_imports_only_the_rooms_below_it():
    seen, offenders = set(), []
    for path in sorted(CORE.rglob("*.py")):
        room = own_room(path)
        seen.add(room)
        assert room in ALLOWED, f"{path.relative_to(ROOT)}: new room {room!r}: add it to ALLOWED and ARCHITECTURE.md"
        for module in imports_of(path, CORE, "gcnet_core"):
            target = room_of(module)
            if target is not None and target != room and target not in ALLOWED[room]:
                offenders.append(f"{path.relative_to(ROOT)} imports {module} ({room} -> {target})")
    assert not offenders, "imports against the direction in ARCHITECTURE.md:\n" + "\n".join(offenders)
    assert {"model", "predict", "project", "cli", "train"} <= seen


def test_the_allowed_imports_have_no_cycle():
    """The rooms form a ladder: following allowed imports never leads back to the start."""
    def reaches(start, goal, path=()):
        return any(nxt == goal or (nxt not in path and reaches(nxt, goal, (*path, nxt)))
                   for nxt in ALLOWED.get(start, ()))

    assert not [room for room in ALLOWED if reaches(room, room)]


def test_the_app_uses_the_core_and_the_core_never_the_app():
    core_users_of_app = [str(p.relative_to(ROOT)) for p in CORE.rglob("*.py")
                         if any(m.split(".")[0] == "app" for m in imports_of(p, CORE, "gcnet_core"))]
    assert not core_users_of_app
    # The app never reaches into the private helpers of a core module.
    private = [f"{p.relative_to(ROOT)}: {m}" for p in APP.rglob("*.py") for m in imports_of(p, APP, "app")
               if m.startswith("gcnet_core") and any(part.startswith("_") for part in m.split(".")[1:])]
    assert not private, private


def test_importing_the_core_does_not_load_qt():
    code = ("import sys, gcnet_core, gcnet_core.cli, gcnet_core.predict.running; "
            "print(any(m.startswith('PySide6') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
