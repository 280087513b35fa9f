"""Output that appears whole or not at all: write beside the target, then rename.

Temporary files and folders are named after the target and the writing
process (``.NAME.vecloss-PID-XXXX``): a run that is killed outright (kill -9)
leaves one behind, and the next run writing beside the same target removes
those whose process is gone (:func:`sweep`), never another live run's.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "AtomicPath",
    "exchange",
    "file_mode",
    "folder_mode",
    "scratch_folder",
    "signals_held",
    "stage_prefix",
    "sweep",
]


def _umask() -> int:
    """This process's umask (read without changing it where the system tells it)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new file gets from ``open``: 0o666 less the umask."""
    return 0o666 & ~_umask()


def folder_mode() -> int:
    """The mode a new folder gets from ``mkdir``: 0o777 less the umask."""
    return 0o777 & ~_umask()


#: Bytes of a target's name kept in its staged names: with the rest (``.``, ``.vecloss-PID-``,
#: 8 random characters, ``.tmp``) they stay within the 255 bytes a file name may have.
NAME_BYTES = 200


def _stem(target: Path) -> str:
    """``target``'s name, or for a long one (hardening C3) its first bytes and a digest."""
    name = target.name
    raw = name.encode()
    if len(raw) <= NAME_BYTES:
        return name
    digest = hashlib.blake2b(raw, digest_size=4).hexdigest()
    return raw[: NAME_BYTES - 9].decode(errors="ignore") + "~" + digest


def stage_prefix(target: Path) -> str:
    """The name prefix of this process's staged files and folders beside ``target``."""
    return f".{_stem(target)}.vecloss-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def sweep(target: Path) -> None:
    """Remove the staged files and folders beside ``target`` left by runs that were killed."""
    pattern = re.compile(rf"\.{re.escape(_stem(target))}\.vecloss-(\d+)-")
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            found = pattern.match(entry.name)
            if found is None or _alive(int(found.group(1))):
                continue
            with contextlib.suppress(OSError):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()


#: ``renameat2``'s flag that swaps two paths in one step (Linux 3.15; ext4, xfs, btrfs, tmpfs).
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2() -> Any:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.renameat2
        call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
        call.argtypes += [ctypes.c_uint]
        call.restype = ctypes.c_int
        return call
    return None


def exchange(new: Path, old: Path) -> None:
    """Swap ``new`` and ``old`` (two folders side by side): ``old``'s name then holds what was
    ``new``, and ``new``'s name the former ``old``. In one system call where the system has
    one (Linux's ``renameat2``), so that no moment, not even kill -9, leaves ``old``'s name
    empty (hardening D8). Elsewhere three renames, with SIGINT and SIGTERM held back until
    they are done.
    """
    call = _renameat2()
    if call is not None:
        done = call(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(old), _RENAME_EXCHANGE)
        if done == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):  # a real failure
            raise OSError(code, os.strerror(code), str(old))
    aside = Path(tempfile.mkdtemp(prefix=stage_prefix(old), dir=old.parent))
    with signals_held():
        old.replace(aside)
        new.replace(old)
        aside.replace(new)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM, then deliver them on leaving (the first, to the handler that
    was in place). Used where an interruption must not land between two steps (the renames
    of a publish) or inside a library's callback (a database driver's, where it would come
    out as the driver's own error). Python runs its handlers in the main thread only, so
    elsewhere nothing can interrupt, and nothing is needed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    wanted = (signal.SIGINT, signal.SIGTERM)
    before = {s: signal.signal(s, lambda signum, _frame: caught.append(signum)) for s in wanted}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
        for number in caught[:1]:
            again = before[signal.Signals(number)]
            if callable(again):
                again(number, None)
            elif again == signal.SIG_DFL:
                os.kill(os.getpid(), number)


#: Scratch folders of this package in the system's temporary folder: ``vecloss-KIND-PID-...``.
_SCRATCH = re.compile(r"vecloss-(?:stdout|ids)-(\d+)-")


def scratch_folder(kind: str) -> Path:
    """A new folder in the system's temporary folder for ``kind`` (``stdout``, ``ids``), named
    after this process; those of runs killed outright (kill -9) are removed first (C2)."""
    base = Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for entry in base.iterdir():
            found = _SCRATCH.match(entry.name)
            if found is not None and not _alive(int(found.group(1))):
                shutil.rmtree(entry, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"vecloss-{kind}-{os.getpid()}-", dir=base))


class AtomicPath:
    """A temporary path beside ``target``, renamed onto it by :meth:`commit`.

    A run that fails calls :meth:`abort` (or is stopped by a signal, which ends
    in the same): the target is left as it was, and the temporary file, whose
    name starts with a dot, is removed. The committed file gets the mode any
    new file gets (0o666 less the umask).
    """

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = Path(target)
        if self.target.is_symlink():  # write the file it points to; the link stays (C4)
            self.target = Path(os.path.realpath(self.target))
        folder = self.target.parent
        folder.mkdir(parents=True, exist_ok=True)
        sweep(self.target)
        fd, name = tempfile.mkstemp(prefix=stage_prefix(self.target), suffix=".tmp", dir=folder)
        os.close(fd)
        self.path = Path(name)

    def commit(self) -> None:
        """Move the finished file onto the target in one rename."""
        self.path.chmod(file_mode())
        self.path.replace(self.target)

    def abort(self) -> None:
        """Drop the temporary file; the target is untouched."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
