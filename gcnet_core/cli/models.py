"""``gcnet models``: the zoo, with what each entry scored and whether its checkpoint is downloaded."""

from __future__ import annotations

from ..weights.download import cached_checkpoint
from ..weights.zoo import ZOO


def add_models_command(subparsers) -> None:
    """Register ``gcnet models`` on the ``gcnet`` sub-command parser."""
    sub = subparsers.add_parser("models", help="list the 16 zoo models")
    sub.set_defaults(func=run)


def run(args) -> int:
    header = f"{'name':44} {'dataset':11} {'backbone':9} {'crop':8} {'sched':5} {'mIoU':>6} {'ms+flip':>7}  downloaded"
    print(header)
    print("-" * len(header))
    for entry in ZOO:
        crop = "x".join(str(v) for v in entry.crop_size)
        have = "yes" if cached_checkpoint(entry) else "no"
        print(f"{entry.name:44} {entry.dataset.title.split()[0]:11} {entry.backbone:9} {crop:8} "
              f"{entry.schedule:5} {entry.miou:6.2f} {entry.miou_ms_flip:7.2f}  {have}")
    return 0


__all__ = ["add_models_command", "run"]
