"""Small broken inputs for the data-safety tests, built in a few milliseconds each."""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from helpers import SHARED_IMAGES

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_header_png(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A PNG whose header claims width x height but holds almost no data (a few hundred bytes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\0" * 64)
    path.write_bytes(PNG_SIGNATURE + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b""))
    return path


def crc_damaged_png(path: Path, seed: int = 0) -> Path:
    """A valid 50x40 RGB PNG with one byte of its IDAT data flipped (the CRC no longer matches)."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    at = data.find(b"IDAT") + 4 + 20
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def thin_png(path: Path, width: int = 1, height: int = 5000) -> Path:
    """A 1-pixel-wide strip: its keep-ratio resize rounds the width to 0."""
    column = np.linspace(0, 255, height, dtype=np.uint8)[:, None, None]
    Image.fromarray(np.repeat(np.repeat(column, 3, axis=2), width, axis=1)).save(path)
    return path


def same_stem_pair(folder: Path) -> tuple[Path, Path]:
    """``a.png`` and ``a.jpg``: two different photos that share a stem."""
    png = folder / "a.png"
    jpg = folder / "a.jpg"
    shutil.copy(SHARED_IMAGES / "chelsea.png", png)
    Image.open(SHARED_IMAGES / "coffee.png").convert("RGB").save(jpg, quality=92)
    return png, jpg


def mixed_folder(root: Path) -> tuple[list[Path], dict[str, str]]:
    """The shared photos (one in a sub-folder) beside every bad file of issue 12.

    Returns the good images and, for each bad file name, a word its error must contain.
    """
    (root / "nested").mkdir(parents=True)
    good = []
    for i, name in enumerate(("astronaut.png", "camera.png", "rocket.jpg")):
        target = root / ("nested" if i == 1 else "") / name
        shutil.copy(SHARED_IMAGES / name, target)
        good.append(target)
    good.extend(same_stem_pair(root))
    good.append(thin_png(root / "thin.png"))
    huge_header_png(root / "huge.png")
    crc_damaged_png(root / "crc.png")
    (root / "cut.jpg").write_bytes((SHARED_IMAGES / "rocket.jpg").read_bytes()[:5000])
    (root / "notes.png").write_text("not a picture\n")
    bad = {"huge.png": "too large", "crc.png": "crc error", "cut.jpg": "truncated", "notes.png": "not an image"}
    return sorted(good), bad


def non_finite_checkpoint(source: Path, path: Path, value: float = float("nan"),
                          keys: tuple[str, ...] = ("decode_head.conv_seg.weight",)) -> Path:
    """A copy of a random official-layout checkpoint with some tensors' values made non-finite."""
    obj = torch.load(source, map_location="cpu", weights_only=True)
    for key in keys:
        tensor = obj["state_dict"][key].clone()
        tensor.view(-1)[::7] = value
        obj["state_dict"][key] = tensor
    torch.save(obj, path)
    return path
