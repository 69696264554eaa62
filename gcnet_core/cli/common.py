"""What several ``gcnet`` sub-commands share: the download bar and loading the model they were given."""

from __future__ import annotations

import sys


class DownloadBar:
    """A tqdm byte bar, opened only when a download really starts (callback ``(done, total)``)."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.bar = None

    def __call__(self, done: int, total: int | None) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(desc=self.description, unit="B", unit_scale=True, unit_divisor=1024, leave=False)
        if total and self.bar.total != total:
            self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def load_model(args) -> "object":
    from ..api import init_model
    from ..predict.distributed import device_for_this_process

    bar = DownloadBar(f"downloading {args.model or 'checkpoint'}")
    try:
        model = init_model(args.model, args.checkpoint, device=device_for_this_process(args.device),
                           precision=getattr(args, "precision", "auto"), progress=bar,
                           fast=False if getattr(args, "exact", False) else None)
    finally:
        bar.close()
    from ..predict.fast import options_from_flags

    options = options_from_flags(args)  # --compile, --cuda-graphs, --pinned-upload
    if options is not None:
        model.fast_options = options
    if getattr(model, "engine", None):  # the CPU engine: say so when its one-off export runs
        from ..predict.running import predictor_for

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "export":
                print(f"exporting {model.entry.name} for onnxruntime (once per checkpoint)…", file=sys.stderr,
                      flush=True)

        predictor_for(model, progress=progress)
    return model


__all__ = ["DownloadBar", "load_model"]
