"""Fetch zoo checkpoints into a local cache, resumably and verified.

Checkpoints are a few hundred MB and the download server is often slow or out of
reach, so a download is written to ``<name>.part``, resumed with an HTTP Range
request after a failure, checked against the sha256 prefix in its file name, and
only then renamed into place. A file under its final name in the cache is
therefore always whole. Only the standard library is used (no ``requests``).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from ..paths import cache_folder

if TYPE_CHECKING:
    from .zoo import ZooEntry

CHUNK_SIZE = 1 << 20  # 1 MiB: progress granularity and memory per read
USER_AGENT = "gcnet-annotator"

Progress = Callable[[int, int | None], None]  # (bytes done, total or None)

_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)")


class CheckpointError(Exception):
    """Base class for every failure to obtain a checkpoint file."""


class DownloadError(CheckpointError):
    """The server could not be reached or the transfer broke off. Its text is the command
    line's (with the offline recipe); ``url``, ``reason`` and ``kept`` (bytes of a partial
    download kept for the next try) let a window say it in its own words."""

    def __init__(self, message: str, *, url: str = "", reason: str = "", kept: int = 0) -> None:
        super().__init__(message)
        self.url, self.reason, self.kept = url, reason, kept


class ChecksumError(CheckpointError):
    """The file's sha256 does not match the prefix it was published with."""


class _Incomplete(Exception):
    """The server closed the connection before sending everything it announced."""


# --------------------------------------------------------------------------- cache


def cached_checkpoint(entry: ZooEntry) -> Path | None:
    """The entry's checkpoint in the cache, or None; only verified files get their final name."""
    path = cache_folder() / entry.checkpoint_filename
    return path if path.is_file() else None


def ensure_checkpoint(entry: ZooEntry, progress: Progress | None = None,
                      timeout: float = 30) -> Path:
    """The entry's cached checkpoint, downloading (or resuming) it first if needed."""
    return cached_checkpoint(entry) or download_checkpoint(
        entry.checkpoint_url, entry.checkpoint_filename, entry.sha256_prefix,
        progress=progress, timeout=timeout, model_name=entry.name,
    )


# --------------------------------------------------------------------------- download


def download_checkpoint(url: str, filename: str, sha256_prefix: str | None,
                        dest_dir: Path | None = None, progress: Progress | None = None,
                        timeout: float = 30, *, model_name: str | None = None) -> Path:
    """Download ``url`` to ``dest_dir/filename``, resuming an earlier ``.part`` if any.

    Raises DownloadError on network trouble (the ``.part`` is kept for the next try)
    and ChecksumError on a hash mismatch (the ``.part`` is deleted, as it is useless).
    ``model_name`` only makes the offline hint in DownloadError concrete.
    """
    dest = Path(dest_dir) if dest_dir is not None else cache_folder()
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / filename
    part = _part_path(final)
    try:
        _fetch(url, part, progress, timeout)
    except (OSError, http.client.HTTPException, _Incomplete) as exc:  # URLError is an OSError
        kept = part.stat().st_size if part.exists() else 0
        raise DownloadError(_offline_hint(url, filename, part, exc, model_name), url=url,
                            reason=_reason(exc), kept=kept) from exc
    _verify_or_discard(part, sha256_prefix, filename)
    os.replace(part, final)
    return final


def _part_path(final: Path) -> Path:
    return final.with_name(final.name + ".part")


def _fetch(url: str, part: Path, progress: Progress | None, timeout: float,
           may_restart: bool = True) -> None:
    """Bring ``part`` up to the full length the server announces (or raise)."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        response = urlopen(Request(url, headers=headers), timeout=timeout)
    except HTTPError as err:
        if err.code != 416 or not have:
            raise
        # Range not satisfiable: we probably already have everything.
        total = _parse_content_range(err.headers.get("Content-Range"))[1]
        err.close()
        if total is not None and total != have:  # the part is longer than the file: junk
            if not may_restart:
                raise _Incomplete(f"server reports {total:,} bytes but {have:,} are on disk")
            part.unlink()
            _fetch(url, part, progress, timeout, may_restart=False)
        return  # the hash check decides whether the part is really whole

    with response:
        if response.status == 206:
            start, total = _parse_content_range(response.headers.get("Content-Range"))
            if start != have:  # not the range we asked for: start over rather than guess
                response.close()
                if not may_restart:
                    raise _Incomplete(f"server sent bytes from {start}, not from {have}")
                part.unlink()
                _fetch(url, part, progress, timeout, may_restart=False)
                return
        else:  # 200: the server ignored Range (or there was none), so the body is the whole file
            have = 0
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None and length.isdigit() else None
        _stream(response, part, have, total, progress)


def _stream(response, part: Path, offset: int, total: int | None,
            progress: Progress | None) -> None:
    """Append the response body to ``part`` from ``offset``; fail if it ends short."""
    done = offset
    with open(part, "ab" if offset else "wb") as out:
        if progress:
            progress(done, total)
        while chunk := response.read(CHUNK_SIZE):
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    # http.client does not complain about a short body, so a cut connection
    # looks like a normal end: compare against the announced size ourselves.
    if total is not None and done != total:
        raise _Incomplete(f"connection closed after {done:,} of {total:,} bytes")


def _parse_content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) from ``bytes a-b/total`` or ``bytes */total``."""
    match = _CONTENT_RANGE.match(value or "")
    if not match:
        return None, None
    start, total = match.groups()
    return (int(start) if start else None), (None if total == "*" else int(total))


def _reason(exc: BaseException) -> str:
    """Why a transfer failed, in one line ("HTTP 404 Not Found", "timed out")."""
    if isinstance(exc, HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    cause = exc.reason if isinstance(exc, URLError) else exc
    return str(getattr(cause, "strerror", None) or cause)  # "Temporary failure in name resolution", no errno


def _offline_hint(url: str, filename: str, part: Path, exc: BaseException,
                  model_name: str | None) -> str:
    """A message that says what failed, what was kept, and how to proceed offline."""
    lines = [f"Could not download checkpoint {filename} from {url}", f"  reason: {_reason(exc)}"]
    if part.exists() and part.stat().st_size:
        lines.append(f"The partial download ({part.stat().st_size:,} bytes, {part}) is kept "
                     "and will resume next time.")
    name = model_name or "NAME"
    lines += [
        "To work offline, download the file elsewhere from the URL above, then either",
        "  pass it directly:         --checkpoint PATH",
        "  or import it (the hash is checked, then it is copied into the cache):",
        f"                            gcnet download {name} --from PATH",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- verification


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so checkpoints never sit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_or_discard(path: Path, sha256_prefix: str | None, label: str) -> None:
    """Raise ChecksumError (after deleting ``path``) unless its hash has the prefix."""
    if not sha256_prefix:
        return
    actual = file_sha256(path)
    expected = sha256_prefix.lower()
    if actual.startswith(expected):
        return
    path.unlink(missing_ok=True)
    shown = actual[: max(len(expected), 8)]
    raise ChecksumError(
        f"Checksum mismatch for {label}: expected a sha256 starting with {expected}, "
        f"got {shown}. The file is corrupt or not this checkpoint; it was not kept."
    )


# --------------------------------------------------------------------------- import


def import_checkpoint(entry_like_filename: str, source_path: Path | str,
                      sha256_prefix: str | None, dest_dir: Path | None = None) -> Path:
    """Copy a checkpoint obtained elsewhere into the cache under ``entry_like_filename``.

    The copy goes to ``.part`` first and is hash-checked before it gets its final
    name, so a wrong or damaged file never enters the cache.
    """
    source = Path(source_path).expanduser()
    if not source.is_file():
        raise CheckpointError(f"Cannot import {source}: no such file.")
    dest = Path(dest_dir) if dest_dir is not None else cache_folder()
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / entry_like_filename
    part = _part_path(final)
    shutil.copyfile(source, part)
    _verify_or_discard(part, sha256_prefix, str(source))
    os.replace(part, final)
    return final
