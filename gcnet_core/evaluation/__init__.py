"""Scoring predictions: the streaming mIoU of docs/metrics.md and ``gcnet eval``."""
