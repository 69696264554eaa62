"""Model weights: the zoo catalogue, downloading into the cache, reading checkpoint files safely."""
