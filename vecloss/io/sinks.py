"""The three sinks: a file (parts in turn into one staged file; staged parts concatenated),
a folder of part files (swapped in whole), a database table (one transaction)."""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from vecloss.exceptions import UsageError
from vecloss.io.atomic import exchange, folder_mode, stage_prefix, sweep
from vecloss.io.database import DatabaseOutput, safe_uri
from vecloss.io.formats import format_of
from vecloss.io.output import Output, PartWriter, unless_done


def _staging_folder(beside: Path) -> Path:
    """A fresh hidden folder beside ``beside`` (same file system, so publishing is a rename),
    named after this process; those of killed runs are swept first."""
    beside.parent.mkdir(parents=True, exist_ok=True)
    sweep(beside)
    return Path(tempfile.mkdtemp(prefix=stage_prefix(beside), dir=beside.parent))


class _Staging:
    """Staged part files in a hidden folder beside the target, made on first use."""

    def __init__(self, beside: Path) -> None:
        self.beside = beside
        self.folder: Path | None = None

    def path(self, index: int) -> Path:
        if self.folder is None:
            self.folder = _staging_folder(self.beside)
        return self.folder / f"part-{index:05d}.parquet"

    def discard(self) -> None:
        if self.folder is not None:
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(self.folder)
            self.folder = None


class FileSink:
    """One file: parts in turn write into one staged file; staged parts are concatenated."""

    stages = True

    def __init__(self, target: str | Path) -> None:
        self.target = str(target)
        format_of(target, output=True)
        self._output: Output | None = None
        self._staging = _Staging(Path(target).absolute())  # absolute: workers run elsewhere

    def part(self, index: int, *, staged: bool) -> PartWriter:
        if staged:
            return PartWriter(path=self._staging.path(index), shown=self.target)
        if self._output is None:
            self._output = Output(self.target)  # known to discard() before it is entered
            self._output.__enter__()
        return PartWriter(shared=self._output)

    def finish(self, staged: Sequence[Path]) -> None:
        """The whole file written (the shared one closed, or the staged parts joined), not
        yet in place: :meth:`publish` renames it."""
        if staged:
            import pyarrow.parquet as pq

            if self._output is not None:  # (parts run in turn and staged: not both)
                self._output.__exit__(RuntimeError, None, None)
            self._output = Output(self.target)
            with unless_done(self._output) as out:
                out.header(pl.DataFrame(pl.from_arrow(pq.read_schema(staged[0]).empty_table())))
                for path in staged:
                    for batch in pq.ParquetFile(path).iter_batches(batch_size=1_000_000):
                        out.write(pl.DataFrame(pl.from_arrow(batch)))
            self._staging.discard()
        if self._output is not None:
            self._output.finish()

    def publish(self) -> None:
        if self._output is not None:
            output, self._output = self._output, None
            output.__exit__(None, None, None)
        self._staging.discard()

    def discard(self) -> None:
        if self._output is not None:
            output, self._output = self._output, None
            output.__exit__(RuntimeError, None, None)
        self._staging.discard()


_PART_FILE = re.compile(r"part-\d{5}\.parquet")


class FolderSink:
    """A folder of Parquet part files, ``part-00000.parquet``, ...: every part is staged."""

    stages = True

    def __init__(self, target: str | Path) -> None:
        self.target = str(target)
        self.folder = Path(str(target).rstrip("/")).absolute()
        if self.folder.is_symlink():  # replace the folder it points to, keep the link
            self.folder = self.folder.resolve()
        if self.folder.is_dir():
            foreign = [p.name for p in self.folder.iterdir() if not _PART_FILE.fullmatch(p.name)]
            if foreign:
                msg = (
                    f"{self.folder}/ holds files vecloss did not write ({', '.join(foreign[:3])}"
                    f"{', ...' if len(foreign) > 3 else ''}); a folder output replaces the whole "
                    "folder; hint: give a new or empty folder"
                )
                raise UsageError(msg)
        self._staging = _Staging(self.folder)
        self._staged: list[Path] = []

    def part(self, index: int, *, staged: bool) -> PartWriter:
        del staged  # a folder's parts are always files of their own
        return PartWriter(path=self._staging.path(index), shown=self.target)

    def finish(self, staged: Sequence[Path]) -> None:
        self._staged = list(staged)

    def publish(self) -> None:
        """The staged parts, renamed in order, replace the folder."""
        staged, self._staged = self._staged, []
        fresh = _staging_folder(self.folder)
        for index, part in enumerate(staged):
            part.replace(fresh / f"part-{index:05d}.parquet")
        fresh.chmod(folder_mode())
        if self.folder.exists():  # one atomic swap: at no moment is there no folder (D8)
            exchange(fresh, self.folder)
            shutil.rmtree(fresh, ignore_errors=True)  # (the old folder, under the staged name)
        else:
            fresh.replace(self.folder)
        self._staging.discard()

    def discard(self) -> None:
        self._staging.discard()


class TableSink:
    """A database table, replaced in one transaction: parts write in turn, in this process."""

    stages = False

    def __init__(self, uri: str, table: str) -> None:
        self.target = f"{safe_uri(uri)} table {table}"
        self._output = DatabaseOutput(uri, table)
        self._open = False

    def part(self, index: int, *, staged: bool) -> PartWriter:
        if staged:
            msg = "a table cannot take staged parts (the runner checks Sink.stages first)"
            raise ValueError(msg)
        if not self._open:
            self._output.__enter__()
            self._open = True
        return PartWriter(shared=self._output)

    def finish(self, staged: Sequence[Path]) -> None:
        del staged  # (the rows are in the transaction, committed by publish)

    def publish(self) -> None:
        if self._open:
            self._open = False
            self._output.__exit__(None, None, None)

    def discard(self) -> None:
        if self._open:
            self._open = False
            self._output.__exit__(RuntimeError, None, None)
