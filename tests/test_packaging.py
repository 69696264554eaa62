"""The desktop packaging, checked without building it: the PyInstaller spec's data files
and entry points, the .desktop entry, the icon sizes, and what git must not track."""

from __future__ import annotations

import ast
import configparser
import importlib
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest

from helpers import REPO

PACKAGING = REPO / "packaging"
PYINSTALLER_FILE = PACKAGING / "gcnet-annotator.spec"
DESKTOP = PACKAGING / "gcnet-annotator.desktop"
HICOLOR = REPO / "resources" / "icons" / "hicolor"
ICON = "gcnet-annotator"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def spec_literal(name: str):
    """The value of a top-level ``NAME = <literal>`` assignment in the spec."""
    tree = ast.parse(PYINSTALLER_FILE.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned in {PYINSTALLER_FILE.name}")


def console_scripts() -> dict[str, str]:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]


def test_spec_entry_points_are_the_console_scripts():
    entry_points = spec_literal("ENTRY_POINTS")
    assert entry_points == console_scripts()
    for target in entry_points.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))
    assert set(spec_literal("GUI_PROGRAMS")) <= set(entry_points)


def test_spec_data_files_exist_and_carry_the_resources():
    datas = spec_literal("DATAS")
    for source, target in datas:
        path = REPO / source
        assert path.exists(), f"{source} is listed in the spec but missing"
        assert not target.startswith("/") and ".." not in target
        assert any(path.rglob("*")) if path.is_dir() else path.stat().st_size > 0
    targets = {target for _, target in datas}
    assert {"resources/icons", "resources/samples"} <= targets  # where app/shell/runtime.py and app/main.py look
    assert not any("screenshots" in source for source, _ in datas)


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_keys():
    entry = desktop_entry()
    assert entry["Type"] == "Application" and entry["Name"] == "GCNet Annotator"
    program, *codes = entry["Exec"].split()
    assert program in console_scripts() and codes in ([], ["%f"], ["%F"])
    assert entry["TryExec"] == program
    assert entry["Icon"] == ICON
    categories = entry["Categories"]
    assert categories.endswith(";") and "Graphics" in categories.split(";")
    types = [t for t in entry["MimeType"].split(";") if t]
    assert entry["MimeType"].endswith(";") and {"image/png", "image/jpeg"} <= set(types)
    assert all(t.startswith("image/") for t in types)
    assert entry["Terminal"] == "false"


def png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_icon_source_and_every_size():
    svg = HICOLOR / "scalable" / "apps" / f"{ICON}.svg"
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 256 256"
    for size in SIZES:
        png = HICOLOR / f"{size}x{size}" / "apps" / f"{ICON}.png"
        assert png_size(png) == (size, size)
        assert png.stat().st_size < 64 * 1024  # small files in the repository


def test_runtime_finds_the_icons():
    from app.shell.runtime import ICON_SIZES, icon_files

    assert ICON_SIZES == SIZES and len(icon_files()) == len(SIZES)


def test_build_outputs_are_ignored_and_make_package_builds_the_spec():
    for path in ("dist/gcnet-annotator/gcnet", "build/pyinstaller/x"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO)
        assert ignored.returncode == 0, f"{path} is not git-ignored"
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "package:" in makefile and "packaging/gcnet-annotator.spec" in makefile
    assert "pyinstaller==" in makefile  # pinned
