"""The ``gcnet`` command: the parser of every sub-command (one module each) and the dispatch.

Exit codes shared by every command: 2 for a failure the command did not handle itself (a
model or checkpoint that cannot be used, an unreadable image, a bad value; the message names
it, ``gcnet --debug`` adds the traceback) and 130 for Ctrl-C; the rest is each command's own.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback

from .. import __version__
from ..files.images import ImageReadError
from ..weights.download import CheckpointError
from ..weights.zoo import UnknownModelError
from .adapt import add_adapt_command
from .benchmark import add_benchmark_command
from .download import add_download_command
from .eval import add_eval_command
from .formats import add_format_commands
from .models import add_models_command
from .predict import add_predict_command
from .train import add_train_command

# In the order ``gcnet --help`` lists them.
COMMANDS = (add_models_command, add_download_command, add_predict_command, add_format_commands,
            add_benchmark_command, add_eval_command, add_train_command, add_adapt_command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gcnet", description="GCNet semantic segmentation (mmsegmentation zoo).")
    parser.add_argument("--version", action="version", version=f"gcnet {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="print the full traceback of every failure (each image's too)")
    commands = parser.add_subparsers(dest="command", required=True)
    for add_command in COMMANDS:
        add_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.debug:  # every failure logged with exc_info (each image's too) is printed in full
        _debug_logging()
    try:
        return args.func(args)
    except (CheckpointError, UnknownModelError, ImageReadError, ValueError, RuntimeError) as error:
        if args.debug:
            traceback.print_exc()
        print(f"error: {error}" + ("" if args.debug else "  (gcnet --debug ... shows the traceback)"),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _debug_logging() -> None:
    """gcnet_core's log records, debug ones and their tracebacks included, on stderr."""
    logger = logging.getLogger("gcnet_core")
    logger.setLevel(logging.DEBUG)
    for handler in list(logger.handlers):
        if getattr(handler, "gcnet_debug", False):
            logger.removeHandler(handler)  # a previous main() in this process: its stream may be gone
    handler = logging.StreamHandler(sys.stderr)
    handler.gcnet_debug = True
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)


if __name__ == "__main__":
    sys.exit(main())
