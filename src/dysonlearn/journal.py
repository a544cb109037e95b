"""The journal of a results store: finished blocks committed atomically, one file each.

HDF5 files written in place can be left unreadable by a crash in the middle of a write
(kill -9, power loss, a full disk). A results store therefore never writes its HDF5 file in
place. Every finished block of replicas is committed to a file of its own in the journal,
a directory beside the store (``results.h5.journal/``), by the classic sequence

    write a temporary file -> fsync it -> rename it over its final name -> fsync the directory

so that after a crash a block file is either absent or complete, never half written. The
store's HDF5 file is a consolidated view rebuilt from the previous view and the journal by
the same sequence (see :mod:`dysonlearn.store`); it can always be rebuilt from what was
committed. The journal also holds the run's manifest (``run.json``: what the store's root
attributes hold) and the lock (``lock``) that keeps two runs out of one store.

Every operation that changes the file system goes through :func:`write_point` first, the
seam at which the fault-injection tests kill the writer, at each write point in turn.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:  # POSIX advisory locks; where they do not exist the store is simply not locked.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

from .errors import StoreError

JOURNAL_SUFFIX = ".journal"
MANIFEST = "run.json"
LOCK = "lock"
_BLOCK_NAME = re.compile(r"^(\d{9})-(\d{9})\.npz$")
_BLOCK_FIELDS = ("eigenvalues", "failed", "fail_step")
# errno values that mean "no room to write": a full disk, a quota, a file-size limit.
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def write_point(what: str) -> None:
    """A point at which the file system is about to change (a no-op).

    Parameters
    ----------
    what : str
        What happens next (for example ``"rename block"``).

    Notes
    -----
    The fault-injection tests replace this function to kill the process at the N-th write
    point, for every N, and check that nothing committed is lost.
    """


class NoSpaceError(StoreError):
    """The disk (or quota, or file-size limit) is full; what was committed is kept."""


def mentions_no_space(exc: BaseException) -> bool:
    """Whether an error means the disk, a quota or a file-size limit is full: an OSError
    with that errno, or an HDF5 error, which carries the errno only in its text."""
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
        return True
    found = re.search(r"errno\s*=\s*(\d+)", str(exc))
    return bool(found) and int(found[1]) in _NO_SPACE


def journal_dir(store: Path) -> Path:
    """The journal directory of a store: ``results.h5`` -> ``results.h5.journal``."""
    return store.with_name(store.name + JOURNAL_SUFFIX)


def _fsync_directory(path: Path) -> None:
    # A rename is durable only once the directory holding it is on disk.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], None], what: str) -> None:
    """Create ``path`` all at once: ``write`` fills a temporary file, which is then synced
    and renamed over ``path``.

    Parameters
    ----------
    path : pathlib.Path
        The final file; replaced if it exists.
    write : callable
        ``write(tmp_path)`` writes the whole content to ``tmp_path``.
    what : str
        Names the file in the write points (``"block"``, ``"view"``, ``"manifest"``).

    Raises
    ------
    NoSpaceError
        The disk is full; the temporary file is removed and ``path`` is unchanged.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write_point(f"write {what}")
        write(tmp)
        write_point(f"sync {what}")
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        write_point(f"rename {what}")
        os.replace(tmp, path)
        write_point(f"sync directory of {what}")
        _fsync_directory(path.parent)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if mentions_no_space(exc):
            raise NoSpaceError(f"no space left on {str(path.parent)!r}") from None
        raise


def write_json(path: Path, record: dict, what: str) -> None:
    """Write a JSON document atomically (see :func:`atomic_write`)."""
    text = json.dumps(record, sort_keys=True, indent=1)

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(path, write, what)


@dataclass(frozen=True)
class Block:
    """A committed block of one scan point: replicas ``[start, stop)`` and its file."""

    point: str
    start: int
    stop: int
    path: Path

    def read(self) -> dict[str, np.ndarray]:
        """The block's arrays: eigenvalues, failed, fail_step and, if kept, weights."""
        with np.load(self.path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}


class Journal:
    """The journal directory of one store.

    Parameters
    ----------
    store : pathlib.Path
        The store's HDF5 file; the journal is ``<store>.journal`` beside it.
    """

    def __init__(self, store: Path):
        self.store = Path(store)
        self.path = journal_dir(self.store)
        self._lock_fd: int | None = None

    # -- the manifest ---------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the journal holds a manifest (a run was started and not yet finished)."""
        return (self.path / MANIFEST).is_file()

    def read_manifest(self) -> dict:
        """The run's manifest.

        Raises
        ------
        StoreError
            The manifest is missing or not valid JSON.
        """
        try:
            return json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreError(
                f"results: the journal {str(self.path)!r} has no readable manifest ({exc})"
            ) from None

    def write_manifest(self, manifest: dict) -> None:
        """Commit the run's manifest (atomically)."""
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.path / MANIFEST, manifest, "manifest")

    # -- blocks ---------------------------------------------------------------------------

    def commit_block(self, point: str, start: int, arrays: dict[str, np.ndarray]) -> None:
        """Commit the arrays of replicas ``[start, start + len)`` of ``point`` (atomically)."""
        stop = start + len(arrays["failed"])
        folder = self.path / point
        if not folder.is_dir():
            write_point("create point directory")
            folder.mkdir(parents=True, exist_ok=True)
            _fsync_directory(self.path)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)

        atomic_write(folder / f"{start:09d}-{stop:09d}.npz", write, "block")

    def blocks(self, point: str | None = None) -> list[Block]:
        """The committed blocks (of one point, or all), ordered by point and start."""
        if not self.path.is_dir():
            return []
        found = []
        folders = [self.path / point] if point else sorted(self.path.glob("point_*"))
        for folder in folders:
            if not folder.is_dir():
                continue
            for file in folder.iterdir():
                match = _BLOCK_NAME.match(file.name)
                if match:
                    start, stop = int(match[1]), int(match[2])
                    found.append(Block(folder.name, start, stop, file))
        return sorted(found, key=lambda b: (b.point, b.start))

    def remove_blocks(self, blocks: list[Block]) -> None:
        """Delete block files (once the view holds them)."""
        for block in blocks:
            write_point("remove merged block")
            block.path.unlink(missing_ok=True)
        if blocks:
            _fsync_directory(self.path)

    def remove_stale_temporaries(self) -> None:
        """Delete the temporary files a crashed writer left (never committed, never read)."""
        candidates = list(self.store.parent.glob(f".{self.store.name}.*.tmp"))
        if self.path.is_dir():
            candidates += list(self.path.rglob(".*.tmp"))
        for tmp in candidates:
            tmp.unlink(missing_ok=True)

    # -- the lock -------------------------------------------------------------------------

    def lock(self) -> None:
        """Take the store for this process, or refuse if another run holds it.

        The lock is an advisory ``flock`` on ``<journal>/lock``: released by the kernel when
        its holder exits, however it exits, so a crash never leaves a stale lock.

        Raises
        ------
        StoreError
            Another process holds the lock; the message names its pid and host.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover
            return
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 256, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise StoreError(
                f"output: {str(self.store)!r} is in use by another dysonlearn run ({holder}); "
                "wait for it to finish, or choose another output"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()}".encode(), 0)
        self._lock_fd = fd

    def unlock(self) -> None:
        """Release the lock taken by :meth:`lock` (if any)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def remove(self) -> None:
        """Delete the whole journal (its run is complete and in the view)."""
        write_point("remove journal")
        shutil.rmtree(self.path, ignore_errors=True)

    def clear(self) -> None:
        """Delete the manifest and every block, keeping the lock (to start a run afresh)."""
        write_point("clear journal")
        for entry in self.path.iterdir() if self.path.is_dir() else []:
            if entry.name == LOCK:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def iter_rows(blocks: list[Block]) -> Iterator[tuple[Block, dict[str, np.ndarray]]]:
    """Each readable block with its arrays; an unreadable one is skipped (its replicas are
    then simply trained again)."""
    for block in blocks:
        try:
            arrays = block.read()
        except (OSError, ValueError, KeyError, EOFError):
            continue
        if all(k in arrays for k in _BLOCK_FIELDS) and len(arrays["failed"]) == (
            block.stop - block.start
        ):
            yield block, arrays


__all__ = ["Block", "Journal", "NoSpaceError", "atomic_write", "journal_dir", "write_point"]
