"""A bounded cache of :class:`~gcnet_core.predict.features.FeatureMap` s: memory first, then a folder.

Keyed by the image's content (:func:`content_key`, a hash of the file's bytes: a renamed
image keeps its entry, an edited one gets a new one) and the feature version
(:attr:`FeatureExtractor.version <gcnet_core.predict.features.FeatureExtractor.version>`: the
weights the features came from). Entries come from the passes that ran anyway (the app's
pre-segmentations and work-ahead, ``gcnet predict --features`` behind Segment all: the
predictors' ``keep_features``); :class:`FeatureExtractor` computes only the missing ones.
Sizes per image, 512 channels in float16:

- ADE20K (whole image, test scale 2048x512): a 512x512 image has a 64x64 grid, 4.0 MiB; a
  770x512 one 97x64, 6.1 MiB (so ~500 images fill 3 GB);
- Cityscapes 769x769 (slide, 1024x2048 resized to 1025x2049): a 129x257 grid, 32.4 MiB;
  Cityscapes 512x1024 (whole, 1024x2048): 128x256, 32.0 MiB.

Both tiers are least-recently-used: past ``memory_mb`` the oldest entries leave memory (they
stay on disk), past ``disk_mb`` the oldest files are deleted (the corrected images' entries
are read by every fit, so they stay). A file is written atomically (``files/atomic``), starts
with a header naming its format, version and key, and ends its header with a CRC-32 of the
features (a file written before it carries a blake2b digest, still checked): a file that is
truncated, damaged, of another version or another image is deleted and reported missing, so
its features are computed again, never trusted. CRC-32 finds any burst of damage up to 32
bits and all but one in 2^32 others; it reads a 6 MiB entry in about 2 ms where blake2b took
9 (the first live round of a session reads every corrected image's entry). A write that fails
(a full disk) leaves no partial file; :meth:`FeatureCache.put` returns the reason for the
person instead of raising, and the entry stays in memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import threading
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import numpy as np

from ..files.atomic import atomic_write_bytes
from ..predict.features import FEATURE_FORMAT, FeatureMap

DEFAULT_MEMORY_MB = 512
DEFAULT_DISK_MB = 4096
SUFFIX = ".feat"
_MAGIC = b"GCNETFEAT\n"
_LENGTH = struct.Struct("<I")

log = logging.getLogger("gcnet_core.project")


def content_key(path: str | os.PathLike) -> str:
    """The cache key of an image file: sha256 of its bytes (32 hex digits)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:32]


class FeatureCache:
    """``get``/``put`` of feature maps by (image key, feature version); thread-safe."""

    def __init__(self, folder: str | os.PathLike | None, memory_mb: float = DEFAULT_MEMORY_MB,
                 disk_mb: float = DEFAULT_DISK_MB) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.memory_limit = int(memory_mb * 2**20)
        self.disk_limit = int(disk_mb * 2**20)
        self._memory: OrderedDict[tuple[str, str], FeatureMap] = OrderedDict()
        self._memory_bytes = 0
        self._disk_bytes: int | None = None  # counted on the first write
        self._lock = threading.Lock()

    # -- reading ------------------------------------------------------------------------
    def get(self, key: str, version: str, *, remember: bool = True) -> FeatureMap | None:
        """The entry, or None when there is none usable (a bad file is deleted on the way).
        ``remember=False``: an entry read from disk is not kept in memory (read once for its
        samples, it would push out the entries the re-labelling reads)."""
        with self._lock:
            found = self._memory.get((key, version))
            if found is not None:
                self._memory.move_to_end((key, version))
                return found
        path = self.path(key, version)
        if path is None or not path.is_file():
            return None
        try:
            found = decode(path.read_bytes(), key, version)
        except (OSError, ValueError) as error:
            log.warning("feature cache: %s is unusable (%s); its features will be computed again", path, error)
            self._delete(path)
            return None
        try:
            os.utime(path)  # most recently used
        except OSError:
            pass
        if remember:
            self._remember(key, version, found)
        return found

    def get_or_compute(self, key: str, version: str, compute: Callable[[], FeatureMap]) -> FeatureMap:
        """The cached entry, or ``compute()`` kept for next time (a disk problem is logged)."""
        found = self.get(key, version)
        if found is None:
            found = compute()
            problem = self.put(key, version, found)
            if problem:
                log.warning("%s", problem)
        return found

    def __contains__(self, item: tuple[str, str]) -> bool:
        key, version = item
        with self._lock:
            if (key, version) in self._memory:
                return True
        path = self.path(key, version)
        return path is not None and path.is_file()

    # -- writing ------------------------------------------------------------------------
    def put(self, key: str, version: str, feature_map: FeatureMap) -> str | None:
        """Keep an entry; returns what went wrong on disk, for the person (None: all kept)."""
        self._remember(key, version, feature_map)
        path = self.path(key, version)
        if path is None:
            return None
        data = encode(feature_map, key, version)
        try:
            previous = path.stat().st_size if path.exists() else 0
            atomic_write_bytes(path, data)
        except OSError as error:
            reason = os.strerror(error.errno) if error.errno else str(error)
            return (f"could not keep image features in {self.folder}: {reason}; they are kept in memory only "
                    "(free some disk space or lower the feature cache size in Preferences)")
        self._count_disk(len(data) - previous, keep=path)
        return None

    def path(self, key: str, version: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / _safe(version) / f"{_safe(key)}{SUFFIX}"

    def clear_memory(self) -> None:
        with self._lock:
            self._memory.clear()
            self._memory_bytes = 0

    @property
    def memory_bytes(self) -> int:
        return self._memory_bytes

    @property
    def disk_mb(self) -> float:
        """The limit on disk in MiB (Preferences' "feature cache"); a lower one applies from the next write."""
        return self.disk_limit / 2**20

    @disk_mb.setter
    def disk_mb(self, value: float) -> None:
        self.disk_limit = int(value * 2**20)

    def disk_bytes(self) -> int:
        """Bytes of feature files on disk now (all versions)."""
        return sum(size for _, size, _ in self._files())

    # -- bounds -------------------------------------------------------------------------
    def _remember(self, key: str, version: str, feature_map: FeatureMap) -> None:
        if feature_map.nbytes > self.memory_limit:
            return
        with self._lock:
            old = self._memory.pop((key, version), None)
            if old is not None:
                self._memory_bytes -= old.nbytes
            self._memory[(key, version)] = feature_map
            self._memory_bytes += feature_map.nbytes
            while self._memory_bytes > self.memory_limit:
                _, evicted = self._memory.popitem(last=False)
                self._memory_bytes -= evicted.nbytes

    def _count_disk(self, added: int, keep: Path) -> None:
        with self._lock:
            if self._disk_bytes is None:
                self._disk_bytes = self.disk_bytes()
            else:
                self._disk_bytes += added
            if self._disk_bytes <= self.disk_limit:
                return
            for path, size, _ in sorted(self._files(), key=lambda item: item[2]):  # oldest first
                if self._disk_bytes <= self.disk_limit:
                    break
                if path != keep and self._delete(path):
                    self._disk_bytes -= size

    def _files(self) -> list[tuple[Path, int, float]]:
        if self.folder is None or not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob(f"*/*{SUFFIX}"):
            try:
                stat = path.stat()
            except OSError:
                continue
            found.append((path, stat.st_size, stat.st_mtime))
        return found

    @staticmethod
    def _delete(path: Path) -> bool:
        try:
            path.unlink()
            return True
        except FileNotFoundError:
            return False
        except OSError as error:
            log.warning("feature cache: cannot delete %s: %s", path, error)
            return False


def encode(feature_map: FeatureMap, key: str, version: str) -> bytes:
    """The file's bytes: magic, header length, JSON header (with the payload's digest), payload."""
    features = np.ascontiguousarray(feature_map.features)
    payload = features.tobytes()
    header = {
        "format": FEATURE_FORMAT, "version": version, "key": key, "dtype": features.dtype.str,
        "shape": list(features.shape), "input_size": list(feature_map.input_size),
        "image_size": list(feature_map.image_size), "grid_corners": bool(feature_map.grid_corners),
        "align_corners": bool(feature_map.align_corners),
        "crc32": zlib.crc32(payload),
    }
    text = json.dumps(header, sort_keys=True).encode()
    return _MAGIC + _LENGTH.pack(len(text)) + text + payload


def decode(data: bytes, key: str, version: str) -> FeatureMap:
    """A file's :class:`FeatureMap`; ValueError saying why it cannot be trusted."""
    start = len(_MAGIC) + _LENGTH.size
    if len(data) < start or not data.startswith(_MAGIC):
        raise ValueError("not a feature file of ours")
    (length,) = _LENGTH.unpack_from(data, len(_MAGIC))
    try:
        header = json.loads(data[start:start + length])
        if header["format"] != FEATURE_FORMAT:
            raise ValueError(f"format {header['format']}, not {FEATURE_FORMAT}")
        if header["version"] != version or header["key"] != key:
            raise ValueError("it belongs to another model version or another image")
        dtype = np.dtype(header["dtype"])
        shape = tuple(int(v) for v in header["shape"])
        if dtype not in (np.float16, np.float32) or len(shape) != 3:
            raise ValueError(f"unexpected features {dtype} {shape}")
        payload = memoryview(data)[start + length:]  # no copy of the features
        if len(payload) != dtype.itemsize * int(np.prod(shape)):
            raise ValueError("truncated")
        if not _intact(payload, header):
            raise ValueError("its contents do not match their digest (damaged)")
        features = np.frombuffer(payload, dtype=dtype).reshape(shape)
        return FeatureMap(features, _pair(header["input_size"]), _pair(header["image_size"]),
                          bool(header["grid_corners"]), bool(header["align_corners"]))
    except (KeyError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"damaged header ({error})") from None


def _intact(payload: memoryview, header: dict) -> bool:
    """The payload matches the header's CRC-32 (or the blake2b digest of an older file)."""
    if "crc32" in header:
        return zlib.crc32(payload) == int(header["crc32"])
    return hashlib.blake2b(payload, digest_size=16).hexdigest() == header["digest"]


def _pair(values) -> tuple[int, int]:
    first, second = (int(v) for v in values)
    return first, second


def _safe(name: str) -> str:
    """A file-name-safe form of a key or version (they are hex digests; anything else is hashed)."""
    if name and all(c in "0123456789abcdefABCDEF-_" for c in name) and len(name) <= 64:
        return name
    return hashlib.sha256(name.encode()).hexdigest()[:32]


__all__ = ["DEFAULT_DISK_MB", "DEFAULT_MEMORY_MB", "FeatureCache", "content_key", "decode", "encode"]
