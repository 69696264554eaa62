"""``gcnet download``: official checkpoints into the cache, downloaded or imported from a file."""

from __future__ import annotations

import sys

from ..weights.download import CheckpointError, cached_checkpoint, ensure_checkpoint, import_checkpoint
from ..weights.zoo import get_entry
from .common import DownloadBar


def add_download_command(subparsers) -> None:
    """Register ``gcnet download`` on the ``gcnet`` sub-command parser."""
    sub = subparsers.add_parser("download", help="download (or import) official checkpoints into the cache")
    sub.add_argument("names", nargs="+", metavar="NAME")
    sub.add_argument("--from", dest="source", metavar="PATH",
                     help="import a checkpoint file downloaded elsewhere (its hash is checked)")
    sub.set_defaults(func=run)


def run(args) -> int:
    status = 0
    for name in args.names:
        entry = get_entry(name)
        try:
            if args.source:
                path = import_checkpoint(entry.checkpoint_filename, args.source, entry.sha256_prefix)
            elif cached_checkpoint(entry):
                path = cached_checkpoint(entry)
            else:
                bar = DownloadBar(entry.name)
                try:
                    path = ensure_checkpoint(entry, progress=bar)
                finally:
                    bar.close()
        except CheckpointError as error:
            print(f"error: {error}", file=sys.stderr)
            status = 1
            continue
        print(f"{entry.name}: {path}")
    return status


__all__ = ["add_download_command", "run"]
