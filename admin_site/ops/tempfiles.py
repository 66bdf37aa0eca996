"""Each serving process keeps its temporary files (XLSX exports, XlsxWriter's own) in a directory of its own,
removed when the process ends; one left by a process that was killed is removed by the next start.

The directory's name carries its pid (`admin-site-<pid>-<random>` in the system's temporary directory), so a
start can tell the directories of ended processes from those of running ones.
"""

from __future__ import annotations

import logging
import multiprocessing.util
import os
import re
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "admin-site-"
OWN = re.compile(rf"{PREFIX}(\d+)-")


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(parent: Path) -> list[Path]:
    """Remove the directories of ended processes under `parent`; returns them."""
    removed = []
    for path in parent.glob(f"{PREFIX}*"):
        found = OWN.match(path.name)
        if found and path.is_dir() and not _process_exists(int(found.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    if removed:
        log.warning("removed the temporary files of ended processes: %s", ", ".join(p.name for p in removed))
    return removed


def use_own_directory() -> Path:
    """Point `tempfile` at a new directory of this process's own (once per process), removed at exit."""
    current = Path(tempfile.gettempdir())
    if OWN.match(current.name) and current.name.startswith(f"{PREFIX}{os.getpid()}-"):
        return current  # already done in this process
    parent = current
    sweep(parent)
    own = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent))
    tempfile.tempdir = str(own)
    # multiprocessing's exit hook, not atexit: it also runs in uvicorn's worker processes, which end with
    # os._exit (no atexit); in the main process it runs after the atexit hooks that stop the embedded server.
    multiprocessing.util.Finalize(None, _remove, args=(own, parent), exitpriority=0)
    return own


def _remove(own: Path, parent: Path) -> None:
    """At exit: later exit hooks (stopping the embedded server runs pg_ctl) use the system's directory again."""
    tempfile.tempdir = str(parent)
    shutil.rmtree(own, ignore_errors=True)


def remove_own_directory() -> None:
    """Now, as the app stops: a uvicorn worker is ended by the SIGTERM it re-raises once stopped, and no exit
    hook runs then (a directory left so is removed by the next start)."""
    current = Path(tempfile.gettempdir())
    if current.name.startswith(f"{PREFIX}{os.getpid()}-"):
        _remove(current, current.parent)
