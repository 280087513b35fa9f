"""``python -m vecloss``."""

from vecloss.cli import console

if __name__ == "__main__":  # (the process pool's workers import this module again)
    console()
