"""``python -m sts_core``: the development commands in sts_core/local (never shipped)."""

import sys

from .local.cli import main

sys.exit(main())
