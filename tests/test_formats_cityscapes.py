"""Cityscapes trees an import cannot read are refused with the reason, never "imported 0" with
exit 0 (issue 23): only ``*_instanceIds.png`` (or colour) files, or datumaro's own class table."""

from __future__ import annotations

import numpy as np
from PIL import Image

from gcnet_core.cli.main import main


def _tree(tmp_path, kind):
    root = tmp_path / "p"
    (root / "frankfurt").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(root / "frankfurt" / "frankfurt_000000_000001_leftImg8bit.png")
    labels = tmp_path / "cs" / "gtFine" / "train" / "frankfurt"
    labels.mkdir(parents=True)
    Image.fromarray(np.full((8, 10), 7, np.uint8)).save(labels / f"frankfurt_000000_000001_gtFine_{kind}.png")
    return root, tmp_path / "cs"


def test_an_instance_ids_only_tree_is_refused_with_the_reason(tmp_path, capsys):
    root, source = _tree(tmp_path, "instanceIds")
    assert main(["import", "--project", str(root), "--format", "cityscapes", "--quiet", str(source)]) == 2
    err = capsys.readouterr().err
    assert "only instanceIds files" in err and "labelTrainIds" in err


def test_a_tree_with_its_own_class_table_is_refused_naming_it(tmp_path, capsys):
    root, source = _tree(tmp_path, "labelIds")
    (source / "label_colors.txt").write_text("0 0 0 background\n128 64 128 road\n")
    assert main(["import", "--project", str(root), "--format", "cityscapes", "--quiet", str(source)]) == 2
    err = capsys.readouterr().err
    assert "label_colors.txt" in err and "own class table" in err
    (source / "label_colors.txt").unlink()
    assert main(["import", "--project", str(root), "--format", "cityscapes", "--quiet", str(source)]) == 0
