"""The output folder's lock: one run at a time per output folder.

`RunLock` creates a file with O_CREAT|O_EXCL holding the holder's pid, host and start time. A
lock whose process is gone (same host, pid not running) is stale and is cleared by the next run;
a lock file that could not be written is removed at once, so it blocks nobody.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from cluster.errors import ConfigError, RunLocked

log = logging.getLogger(__name__)

LOCK_NAME = ".cluster.lock"
_UNWRITTEN_LOCK_GRACE_S = 30  # a lock file still empty after this long was left by a crash


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class RunLock:
    """`with RunLock(output_dir):` holds the output folder for one run."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        self.path = output_dir / LOCK_NAME
        self._held = False
        self.cleared: str | None = None  # a note when a stale lock was removed

    def _holder(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            holder = json.loads(text)
            return holder if isinstance(holder, dict) and isinstance(holder.get("pid"), int) else {}
        except ValueError:
            return {}  # being written right now, or left half-written by a crash

    def _stale(self, holder: dict[str, Any]) -> bool:
        if not holder:
            try:
                return time.time() - self.path.stat().st_mtime > _UNWRITTEN_LOCK_GRACE_S
            except FileNotFoundError:
                return True
        if holder.get("host") != socket.gethostname():
            return False  # cannot see another machine's processes
        return not _pid_alive(int(holder["pid"]))

    def acquire(self) -> None:
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.output_dir, prefix=".write-test.")
            probe.close()
        except OSError as exc:
            raise ConfigError(
                f"output folder {self.output_dir} is not writable ({exc.strerror}); set --output-dir"
            ) from None
        for _ in range(5):
            try:
                handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is None:
                    continue  # released in the meantime
                if self._stale(holder):
                    self._clear_stale(holder)
                    continue
                raise RunLocked(self._describe(holder)) from None
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            }
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(info, stream)
                    stream.flush()
                    os.fsync(stream.fileno())
            except OSError as exc:  # e.g. a full disk: an empty lock file would block every other run
                self.path.unlink(missing_ok=True)
                raise ConfigError(
                    f"cannot write the lock file {self.path} ({exc.strerror or exc}); free space in {self.output_dir}"
                ) from None
            self._held = True
            return
        raise RunLocked(f"could not take the lock {self.path}; another run keeps taking it")

    def _describe(self, holder: dict[str, Any]) -> str:
        if not holder:
            return (
                f"another run is starting in {self.output_dir} (lock file {self.path} is being written); "
                "try again shortly"
            )
        return (
            f"another run is using {self.output_dir}: pid {holder['pid']} on {holder.get('host', '?')}, "
            f"started {holder.get('started', '?')}; wait for it to finish "
            f"(or delete {self.path} if that process is gone)"
        )

    def _clear_stale(self, holder: dict[str, Any]) -> None:
        """Remove a dead holder's lock without ever removing a live one: move it aside, check it
        is still the file we judged stale, and put it back if a new holder won the race."""
        aside = self.path.with_name(f"{LOCK_NAME}.stale.{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        try:
            moved = json.loads(aside.read_text(encoding="utf-8") or "{}")
        except ValueError:
            moved = {}
        if moved != holder:
            try:
                os.link(aside, self.path)  # fails if a lock exists again; then that one holds
            except FileExistsError:
                pass
            aside.unlink(missing_ok=True)
            return
        aside.unlink(missing_ok=True)
        who = f"pid {holder['pid']} started {holder.get('started', '?')}" if holder else "an unfinished lock file"
        self.cleared = f"removed a stale lock left by {who}, which is no longer running"
        log.warning(self.cleared)

    def release(self) -> None:
        if self._held:
            holder = self._holder()
            if holder and holder.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
