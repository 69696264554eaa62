"""Scoring predictions: the streaming mIoU of SPEC §5 and ``gcnet eval``."""
