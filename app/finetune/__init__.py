"""In-app fine-tuning: the dock, the training worker, runs and published model versions."""

from .controller import FinetuneController

__all__ = ["FinetuneController"]
