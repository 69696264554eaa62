"""Running a model on images: the exact path (docs/inference.md), the fast path, folder runs, timing."""
