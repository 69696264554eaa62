"""gcnet_core is a library for servers too: it must never import Qt."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "gcnet_core"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_under_gcnet_core_imports_qt():
    offenders = {
        str(path.relative_to(CORE)): sorted(n for n in imported_modules(path) if n.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6"))
        for path in CORE.rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"gcnet_core must not import Qt: {offenders}"
    assert len(list(CORE.rglob("*.py"))) > 10  # the walk really saw the package


def test_importing_the_core_does_not_load_qt():
    import subprocess
    import sys

    code = "import sys, gcnet_core, gcnet_core.cli.main, gcnet_core.predict.exact; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
