"""``python -m vecloss``."""

import sys

from vecloss.cli import main

sys.exit(main())
