"""The ``vecloss`` command's entry point, kept outside the package so that Ctrl-C while the
package and its libraries load (the first ~0.3 s) is ``interrupted`` and exit 130, not a
traceback (hardening C1): the script imports only this module, and this module the rest.

(The interpreter's own start, before it runs the script, ~40 ms, is Python's, as for any
command written in Python.)
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def console() -> None:
    """Import :mod:`vecloss.cli` and run it; an interrupt while importing ends quietly.

    A library can turn the KeyboardInterrupt raised inside its import into an ImportError
    (NumPy does), so the interrupt is noted by a handler of this module's own while the
    imports run.
    """
    came: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        came.append(signum)
        signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt

    before = signal.signal(signal.SIGINT, note)
    try:
        from vecloss.cli import console as run
    except BaseException:
        if not came:
            raise
        print("vecloss: interrupted", file=sys.stderr)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGINT, before)
    run()
