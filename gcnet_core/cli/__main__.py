"""``python -m gcnet_core.cli`` (and ``torchrun -m gcnet_core.cli``) is the ``gcnet`` command."""

import sys

from .main import main

sys.exit(main())
