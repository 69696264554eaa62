"""gcnet_core.files.images: images must reach the model exactly as mmsegmentation's cv2.imread gives them."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from gcnet_core.files import images as imageio
from gcnet_core.files.images import IMAGE_EXTENSIONS, ImageReadError, find_images, read_image_rgb

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "images"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="shared sample images are not available")


def cv2_reference(path: Path) -> np.ndarray:
    """What mmsegmentation feeds its model (cv2.imread IMREAD_COLOR, converted to RGB)."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def quadrants(h: int = 40, w: int = 64) -> np.ndarray:
    """An RGB image whose orientation is unambiguous: four differently coloured quadrants."""
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2, : w // 2] = (255, 0, 0)
    img[: h // 2, w // 2 :] = (0, 255, 0)
    img[h // 2 :, : w // 2] = (0, 0, 255)
    img[h // 2 :, w // 2 :] = (255, 255, 0)
    return img


# --------------------------------------------------------------------------- real photos


@needs_data
@pytest.mark.parametrize("name", ["astronaut.png", "rocket.jpg", "chelsea.png"])
def test_bit_identical_to_cv2_for_real_photos(name):
    path = DATA / name
    out = read_image_rgb(path)
    ref = cv2_reference(path)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, ref)


@needs_data
def test_astronaut_is_rgb_not_bgr():
    out = read_image_rgb(DATA / "astronaut.png")
    assert out.shape == (512, 512, 3)
    np.testing.assert_array_equal(out, np.asarray(Image.open(DATA / "astronaut.png").convert("RGB")))


@needs_data
def test_camera_grayscale_is_replicated():
    out = read_image_rgb(DATA / "camera.png")
    gray = np.asarray(Image.open(DATA / "camera.png"))
    assert gray.shape == (512, 512)
    assert out.shape == (512, 512, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)
    np.testing.assert_array_equal(out, cv2_reference(DATA / "camera.png"))


# --------------------------------------------------------------------------- generated files


def test_gray8(tmp_path, rng):
    gray = rng.integers(0, 256, (13, 17), dtype=np.uint8)
    p = tmp_path / "g.png"
    Image.fromarray(gray).save(p)
    out = read_image_rgb(p)
    np.testing.assert_array_equal(out, np.repeat(gray[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(out, cv2_reference(p))


def test_rgba_drops_alpha_without_compositing(tmp_path, rng):
    rgba = rng.integers(0, 256, (11, 9, 4), dtype=np.uint8)
    rgba[..., 3] = 0  # fully transparent: compositing would change every pixel
    p = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(p)
    out = read_image_rgb(p)
    np.testing.assert_array_equal(out, rgba[..., :3])
    np.testing.assert_array_equal(out, cv2_reference(p))


def test_gray_alpha_drops_alpha(tmp_path, rng):
    la = rng.integers(0, 256, (11, 9, 2), dtype=np.uint8)
    la[..., 1] = 0
    p = tmp_path / "la.png"
    Image.fromarray(la, "LA").save(p)
    out = read_image_rgb(p)
    np.testing.assert_array_equal(out, np.repeat(la[..., :1], 3, axis=2))
    np.testing.assert_array_equal(out, cv2_reference(p))


def test_gray16_is_shifted_to_8bit(tmp_path, rng):
    g16 = rng.integers(0, 65536, (10, 14), dtype=np.uint16)
    g16[0, :4] = (0, 255, 256, 65535)
    p = tmp_path / "g16.png"
    assert cv2.imwrite(str(p), g16)
    assert Image.open(p).mode.startswith("I")  # really a 16-bit file
    out = read_image_rgb(p)
    expected = (g16 >> 8).astype(np.uint8)
    np.testing.assert_array_equal(out, np.repeat(expected[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(out, cv2_reference(p))
    assert tuple(out[0, :4, 0]) == (0, 0, 1, 255)


def test_rgb16_is_shifted_to_8bit(tmp_path, rng):
    rgb16 = rng.integers(0, 65536, (10, 14, 3), dtype=np.uint16)
    p = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(p), rgb16[..., ::-1])  # cv2 writes BGR
    out = read_image_rgb(p)
    np.testing.assert_array_equal(out, (rgb16 >> 8).astype(np.uint8))
    np.testing.assert_array_equal(out, cv2_reference(p))


def test_palette_png_is_expanded(tmp_path, rng):
    idx = rng.integers(0, 4, (12, 8), dtype=np.uint8)
    im = Image.fromarray(idx).convert("P")
    im.putpalette([10, 20, 30, 40, 50, 60, 70, 80, 90, 200, 100, 0])
    p = tmp_path / "pal.png"
    im.save(p, transparency=0)
    out = read_image_rgb(p)
    colours = np.array([(10, 20, 30), (40, 50, 60), (70, 80, 90), (200, 100, 0)], np.uint8)
    np.testing.assert_array_equal(out, colours[idx])
    np.testing.assert_array_equal(out, cv2_reference(p))


@pytest.mark.parametrize(
    ("orientation", "rotate"),
    [(6, lambda a: np.rot90(a, -1)), (8, lambda a: np.rot90(a, 1)), (3, lambda a: np.rot90(a, 2))],
)
def test_jpeg_exif_orientation_is_applied(tmp_path, orientation, rotate):
    base = quadrants(40, 64)
    exif = Image.Exif()
    exif[0x0112] = orientation
    p = tmp_path / f"o{orientation}.jpg"
    Image.fromarray(base).save(p, quality=95, subsampling=0, exif=exif)
    out = read_image_rgb(p)
    expected = rotate(base)
    assert out.shape == expected.shape
    if orientation in (6, 8):
        assert out.shape[:2] == (64, 40)  # transposed
    # JPEG is lossy: compare with the rotated original loosely (every other rotation is far
    # off), and with cv2 exactly.
    err = lambda a: np.abs(out.astype(int) - a.astype(int)).mean()  # noqa: E731
    assert err(expected) < 3
    for k in range(4):
        wrong = np.rot90(base, k)
        if wrong.shape == out.shape and not np.array_equal(wrong, expected):
            assert err(wrong) > 50
    np.testing.assert_array_equal(out, cv2_reference(p))


def test_exif_fallback_when_cv2_ignores_orientation(tmp_path, monkeypatch):
    """Older OpenCV builds: orientation applied by hand gives the same pixels as cv2 5 does."""
    base = quadrants(40, 64)
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "o6.jpg"
    Image.fromarray(base).save(p, quality=95, exif=exif)
    expected = read_image_rgb(p)

    real_imdecode = cv2.imdecode
    monkeypatch.setattr(imageio, "_cv2_applies_exif_orientation", lambda: False)
    monkeypatch.setattr(
        imageio.cv2, "imdecode", lambda buf, flags: real_imdecode(buf, flags | cv2.IMREAD_IGNORE_ORIENTATION)
    )
    np.testing.assert_array_equal(read_image_rgb(p), expected)


def test_cv2_probe_agrees_with_cv2_on_a_rotated_photo(tmp_path):
    """The probe says whether this OpenCV's imdecode turns an EXIF-rotated JPEG upright."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise
    p = tmp_path / "o6.jpg"
    Image.fromarray(quadrants(40, 64)).save(p, quality=95, exif=exif)
    decoded = cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[:2] in ((40, 64), (64, 40))
    assert imageio._cv2_applies_exif_orientation() == (decoded.shape[:2] == (64, 40))


def test_non_ascii_path(tmp_path, rng):
    rgb = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    folder = tmp_path / "Bilder ä 画像"
    folder.mkdir()
    p = folder / "straße_写真.png"
    Image.fromarray(rgb).save(p)
    np.testing.assert_array_equal(read_image_rgb(p), rgb)
    np.testing.assert_array_equal(read_image_rgb(str(p)), rgb)


def test_bmp_tiff_webp(tmp_path, rng):
    rgb = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    for ext in (".bmp", ".tif", ".webp"):
        p = tmp_path / f"img{ext}"
        Image.fromarray(rgb).save(p, **({"lossless": True} if ext == ".webp" else {}))
        np.testing.assert_array_equal(read_image_rgb(p), rgb, err_msg=ext)


def test_pillow_fallback_for_formats_cv2_cannot_decode(tmp_path, monkeypatch, rng):
    rgba = rng.integers(0, 256, (9, 7, 4), dtype=np.uint8)
    p = tmp_path / "x.png"
    Image.fromarray(rgba, "RGBA").save(p)
    monkeypatch.setattr(imageio.cv2, "imdecode", lambda buf, flags: None)
    np.testing.assert_array_equal(read_image_rgb(p), rgba[..., :3])

    g16 = rng.integers(0, 65536, (6, 5), dtype=np.uint16)
    p16 = tmp_path / "g16.png"
    Image.fromarray(g16).save(p16)
    out = read_image_rgb(p16)
    np.testing.assert_array_equal(out, np.repeat((g16 >> 8).astype(np.uint8)[:, :, None], 3, axis=2))


def test_pillow_fallback_applies_exif(tmp_path, monkeypatch):
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "o6.png"  # lossless, so the comparison can be exact
    Image.fromarray(quadrants()).save(p, exif=exif)
    monkeypatch.setattr(imageio.cv2, "imdecode", lambda buf, flags: None)
    np.testing.assert_array_equal(read_image_rgb(p), np.rot90(quadrants(), -1))


# --------------------------------------------------------------------------- errors


def _assert_error(path: Path, *words: str) -> ImageReadError:
    with pytest.raises(ImageReadError) as info:
        read_image_rgb(path)
    msg = str(info.value)
    assert path.name in msg
    for w in words:
        assert w in msg.lower()
    assert info.value.path == path
    return info.value


def test_missing_file(tmp_path):
    _assert_error(tmp_path / "nope.png", "no such file")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    _assert_error(p, "empty")


def test_random_bytes(tmp_path, rng):
    p = tmp_path / "noise.png"
    p.write_bytes(rng.integers(0, 256, 2000, dtype=np.uint8).tobytes())
    _assert_error(p, "not an image")


def test_text_file_with_image_name(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("hello, not a picture\n")
    _assert_error(p)


def test_truncated_png(tmp_path, rng):
    p = tmp_path / "trunc.png"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    _assert_error(p, "truncated")


@needs_data
def test_truncated_jpeg(tmp_path):
    data = (DATA / "rocket.jpg").read_bytes()
    p = tmp_path / "trunc.jpg"
    p.write_bytes(data[: int(len(data) * 0.7)])
    _assert_error(p, "truncated")


def test_jpeg_truncation_check_accepts_complete_files(tmp_path):
    p = tmp_path / "ok.jpg"
    exif = Image.Exif()
    exif[0x0112] = 1
    Image.fromarray(quadrants()).save(p, exif=exif, progressive=True)
    data = p.read_bytes()
    assert not imageio._jpeg_is_truncated(data)
    assert not imageio._jpeg_is_truncated(data + b"trailing data after EOI")
    assert imageio._jpeg_is_truncated(data[:-2])
    assert not imageio._jpeg_is_truncated(b"\x89PNG not a jpeg")


def test_folder_is_not_an_image(tmp_path):
    d = tmp_path / "dir.png"
    d.mkdir()
    _assert_error(d)


# --------------------------------------------------------------------------- find_images


def _touch(p: Path) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x")
    return p


def test_folder_scan_finds_a_readable_image_of_each_extension_and_no_other(tmp_path, rng):
    rgb = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    images = []
    for i, ext in enumerate(sorted(IMAGE_EXTENSIONS)):
        images.append(tmp_path / f"img{i}{ext.upper() if i % 2 else ext}")
        Image.fromarray(rgb).save(images[-1])
    for ext in (".gif", ".ico", ".txt"):  # real image data under extensions the scan does not list
        Image.fromarray(rgb).save(tmp_path / f"other{ext}", format="PNG")
    found = find_images([tmp_path])
    assert found == sorted(images, key=lambda p: p.parts)
    for p in found:  # everything the scan offers can be read
        assert read_image_rgb(p).shape == rgb.shape


def test_find_images_recursive(tmp_path):
    root = tmp_path / "photos"
    expected = [
        _touch(root / "a.JPG"),
        _touch(root / "b.png"),
        _touch(root / "sub" / "c.TIFF"),
        _touch(root / "sub" / "deeper" / "d.WebP"),
        _touch(root / "z.jpeg"),
    ]
    _touch(root / "notes.txt")
    _touch(root / "mask.png.json")
    _touch(root / ".hidden" / "e.png")
    _touch(root / "sub" / ".cache" / "f.jpg")
    _touch(root / ".g.png")  # hidden file (e.g. macOS ._ resource fork)
    got = find_images([root])
    assert got == sorted(expected, key=lambda p: p.parts)
    assert all(isinstance(p, Path) for p in got)


def test_find_images_files_kept_and_deduplicated(tmp_path):
    root = tmp_path / "in"
    a = _touch(root / "a.png")
    b = _touch(root / "b.jpg")
    odd = _touch(tmp_path / "scan.xyz")  # given directly: kept even with an unknown extension
    missing = tmp_path / "missing.png"  # kept too, so reading it reports the problem
    got = find_images([root, a, str(b), odd, missing, root, tmp_path / "in" / ".." / "in" / "a.png"])
    assert sorted(got) == sorted([a, b, odd, missing])
    assert len(got) == 4
    assert got == sorted(got, key=lambda p: p.parts)


def test_find_images_hidden_root_given_directly_is_walked(tmp_path):
    root = tmp_path / ".data"
    a = _touch(root / "a.png")
    assert find_images([root]) == [a]


def test_find_images_empty(tmp_path):
    assert find_images([]) == []
    assert find_images([tmp_path]) == []


@needs_data
def test_find_images_then_read(tmp_path):
    dst = tmp_path / "imgs"
    dst.mkdir()
    for name in ("camera.png", "rocket.jpg"):
        shutil.copy(DATA / name, dst / name.upper())
    paths = find_images([dst])
    assert [p.name for p in paths] == ["CAMERA.PNG", "ROCKET.JPG"]
    shapes = [read_image_rgb(p).shape for p in paths]
    assert shapes == [(512, 512, 3), (427, 640, 3)]
