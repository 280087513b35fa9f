"""The examples under each command's help (``vecloss run --help``); a test runs every one."""

from __future__ import annotations

import argparse
from typing import Any

#: Each command's examples, shown under its --help and run as written by the tests
#: (tests/test_shell.py), in a folder holding the five-building data.json.
EXAMPLES = {
    "run": [
        "vecloss run data.json",
        "vecloss run data.json -o losses.parquet --years 10,30 --discount-rate 0.03,0.05",
        "vecloss run data.json -o - --format ndjson --top 3",
        "vecloss run data.json -o losses.csv --keep floor_area --json",
    ],
    "risk": [
        "vecloss risk data.json --periods 1000 --return-periods 10,100",
        "vecloss risk data.json --exact -o ep.csv --aal aal.csv",
        "vecloss risk data.json --periods 1000 --return-periods 10,100 --ord ord/",
    ],
    "validate": ["vecloss validate data.json --json"],
    "generate": ["vecloss generate 1000 -o portfolio.parquet --ids shuffled --seed 1"],
    "convert": ["vecloss convert data.json data.csv"],
}


def help_examples(command: str) -> dict[str, Any]:
    """The ``epilog`` (and formatter) that shows ``command``'s examples under its help."""
    lines = "\n".join(f"  {line}" for line in EXAMPLES[command])
    return {
        "epilog": f"examples:\n{lines}",
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }
