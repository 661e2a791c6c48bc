"""``python -m sts_tools``: the development commands in sts_tools (never shipped)."""

import sys

from sts_tools.commands.cli import main

sys.exit(main())
