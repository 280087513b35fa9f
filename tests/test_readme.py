"""README's "Failure modes" table is checked against the tests: every row names tests, and every
test it names exists (a renamed or deleted test leaves a promise without proof)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _failure_rows() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Failure modes", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]


def _defined_tests() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        found.update(re.findall(r"^def (test_\w+)\(", path.read_text(), flags=re.MULTILINE))
    return found


def test_every_failure_mode_names_tests_that_exist() -> None:
    rows = _failure_rows()[1:]  # (the header)
    assert len(rows) >= 20
    defined = _defined_tests()
    for row in rows:
        named = re.findall(r"`(test_\w+)`", row.rsplit(" | ", 1)[-1])
        assert named, f"a promise without a test: {row[:80]}"
        missing = [name for name in named if name not in defined]
        assert not missing, f"{row[:60]}...: no such test {missing}"


def test_every_numbered_hardening_case_has_a_test() -> None:
    cases = [f"D{n}" for n in range(1, 9)] + ["H1", "U1", "U2", "U3", "U5", "U6", "U7", "U8"]
    cases += [f"C{n}" for n in range(1, 10)]
    defined = _defined_tests()
    for case in cases:
        assert any(name.startswith(f"test_{case.lower()}_") for name in defined), case
