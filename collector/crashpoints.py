"""Named crash points: where a test kills a process to prove that nothing acknowledged is lost.

`COLLECTOR_CRASH_AT=<name>:<file>` arms one point: the first process to reach `<name>` while `<file>`
exists removes the file and SIGKILLs itself, so a run kills exactly once, at the moment the test chose (it
creates the file when the load is flowing), and the restarted process runs on. Unset (always, outside
tests), a point costs one environment lookup. The names:

- `ack` — a worker has fsync'd a request's rows to its spool and not yet answered 202;
- `handed-over` — a writer's segment is stored (for a worker: the owner answered) and not yet removed
  from the spool;
- `owner-inserted` — the owner has inserted a worker's block and not yet answered it.
"""

from __future__ import annotations

import os
import signal

ENV = "COLLECTOR_CRASH_AT"  # fault injection for tests only: never set in a deployment
NAMES = frozenset({"ack", "handed-over", "owner-inserted"})


def reached(name: str) -> None:
    """SIGKILL this process if `name` is the armed point and this process is the first to reach it."""
    armed = os.environ.get(ENV)
    if not armed or not armed.startswith(name + ":"):
        return
    try:
        os.unlink(armed[len(name) + 1:])  # one process wins the file: one kill per run
    except OSError:
        return
    os.kill(os.getpid(), signal.SIGKILL)
