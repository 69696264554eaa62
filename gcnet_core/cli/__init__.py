"""The ``gcnet`` command: one module per group of sub-commands, a thin layer over the library."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
