"""Which files a block of code opens for writing, from any thread and any directory: Python's audit
hook sees every `open`/`os.open` of the process, so "writes nothing to disk" is checked everywhere,
not in one directory the code was never given."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_lock = threading.Lock()
_recording: list[list[str]] = []
_installed = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _recording:
        return
    if event == "open":
        path, _, flags = args  # open() and os.open() both report the os-level flags
        writes = bool(flags & _WRITE_FLAGS)
    elif event in ("os.rename", "os.replace", "os.mkdir", "os.remove", "os.truncate", "os.link", "os.symlink"):
        path, writes = args[0], True
    else:
        return
    if writes and not isinstance(path, int):
        with _lock:
            for record in _recording:
                record.append(f"{event} {os.fsdecode(path)}")


@contextmanager
def files_written() -> Iterator[list[str]]:
    """Yield a list that fills with every path opened for writing (or created, renamed, removed)
    by the process while the block runs."""
    global _installed
    if not _installed:  # an audit hook cannot be removed: install one, once, that is idle when unused
        sys.addaudithook(_hook)
        _installed = True
    record: list[str] = []
    with _lock:
        _recording.append(record)
    try:
        yield record
    finally:
        with _lock:
            _recording.remove(record)
