"""``python -m vecloss``."""

from vecloss.cli import console

console()
