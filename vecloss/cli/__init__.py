"""The ``vecloss`` command line: results to stdout, diagnostics to stderr.

Exit codes: 0 success; 1 bad input data or unreadable source; 2 bad usage.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Sequence

from vecloss.cli.bench import _bench
from vecloss.cli.commands import _convert, _generate, _risk, _run, _stdout_gone, _validate
from vecloss.cli.options import build_parser
from vecloss.exceptions import Terminated, VeclossError, interruptions_raised

__all__ = ["console", "main", "os_error_message"]


COMMANDS = {
    "run": _run,
    "risk": _risk,
    "validate": _validate,
    "generate": _generate,
    "convert": _convert,
    "bench": _bench,
}


_OS_HINTS = {
    errno.ENOSPC: "free some space, or write somewhere else",
    errno.EDQUOT: "free some space, or write somewhere else",
    errno.EROFS: "the file system is read-only: write somewhere else",
    errno.EACCES: "you may not write (or read) there: check the permissions",
    errno.EPERM: "you may not write (or read) there: check the permissions",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "the path is a folder: name a file",
    errno.ENAMETOOLONG: "the name is too long: use a shorter one",
    errno.ENOENT: "check the path",
    errno.EEXIST: "a part of the path is a file, not a folder",
    errno.EFBIG: "the file passes a size limit (ulimit -f, or the file system's): write a "
    "smaller output (a grid in several runs, a folder output/) or somewhere else",
}


def os_error_message(exc: OSError) -> str:
    """An operating-system error in one line: the path, what the system said, a hint."""
    where = exc.filename if exc.filename is not None else ""
    said = exc.strerror or str(exc)
    hint = _OS_HINTS.get(exc.errno or -1, "check the path and the disk")
    return f"{where}{': ' if where else ''}{said}; hint: {hint}"


@contextlib.contextmanager
def _sigterm_ends_the_run() -> Iterator[None]:
    def stop(signum: int, frame: object) -> None:
        del signum, frame
        raise Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _show_warning(message: Warning | str, *_: object, **__: object) -> None:
    print(f"vecloss: warning: {message}", file=sys.stderr)


def console() -> None:
    """The ``vecloss`` command: :func:`main`, then exit. After Ctrl-C or SIGTERM the cleanup
    has run (staging removed) and the process leaves at once: waiting for helper threads
    still decoding or writing could stall the exit."""
    try:
        code = main()
    except KeyboardInterrupt:  # before main's own handling (building the parser): C1
        print("vecloss: interrupted", file=sys.stderr)
        code = 130
    if code in (130, 143):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings(), _sigterm_ends_the_run(), interruptions_raised():
            warnings.showwarning = _show_warning
            return COMMANDS[args.command](args)
    except Terminated:
        print("vecloss: terminated", file=sys.stderr)
        return 143
    except VeclossError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"vecloss: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vecloss: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if not _stdout_gone():
            raise
        # the reader of standard output stopped early (| head), as other tools: quietly, 0
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # the file system said no: a user's problem, not a bug
        if args.verbose:
            traceback.print_exc()
        print(f"vecloss: error: {os_error_message(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.verbose:
            traceback.print_exc()
        print(
            f"vecloss: internal error: {type(exc).__name__}: {exc}; "
            "hint: rerun with --verbose and report it",
            file=sys.stderr,
        )
        return 1
