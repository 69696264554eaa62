"""Running a model on images: the exact path (SPEC §4), the fast path, folder runs, timing."""
