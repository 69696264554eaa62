"""Write an official-layout checkpoint with random weights for a zoo entry (for benchmarks
on machines that cannot download the real files): python benchmarks/random_checkpoint.py NAME OUT."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from helpers import random_checkpoint  # noqa: E402

from gcnet_core.weights.zoo import get_entry  # noqa: E402

if __name__ == "__main__":
    print(random_checkpoint(get_entry(sys.argv[1]), Path(sys.argv[2])))
