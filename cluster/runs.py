"""Run folders: the one module that knows how they are laid out and kept.

- the lock: one run at a time per output folder (`RunLock`), a file created with O_CREAT|O_EXCL
  holding the holder's pid, host and start time; a lock whose process is gone (same host, pid
  not running) is stale and is cleared by the next run;
- publishing: every file written into a hidden staging folder, renamed into place, `latest`
  pointed at it (`publish_run`);
- listing, the previous run to compare with (`find_previous_run`) and retention (`prune_runs`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cluster.config import computation_settings
from cluster.errors import ConfigError, RunLocked
from cluster.track import STATE_FILE, PreviousRun, TopicState

log = logging.getLogger(__name__)

LOCK_NAME = ".cluster.lock"
LATEST = "latest"
MANIFEST = "run.json"
_UNWRITTEN_LOCK_GRACE_S = 30  # a lock file still empty after this long was left by a crash


# -- the lock ----------------------------------------------------------------------------------


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
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(info, stream)
                stream.flush()
                os.fsync(stream.fileno())
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


# -- publishing ------------------------------------------------------------------------------


def publish_run(output_dir: Path, run_id: str, writers: dict[str, Callable[[Path], None]]) -> Path:
    """Write every file into a hidden temporary folder beside the destination, then rename it to
    `<output_dir>/<run_id>` and point `<output_dir>/latest` at it.

    If anything fails, the temporary folder is removed and no run folder appears. A run folder
    with the same id is replaced: the old one is moved aside, the new one renamed in, and only
    then is the old one deleted.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{run_id}.", suffix=".partial", dir=output_dir))
    destination = output_dir / run_id
    retired = None
    try:
        for name, writer in writers.items():
            writer(staging / name)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a run folder is for sharing
        if destination.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{run_id}.", suffix=".old", dir=output_dir))
            os.replace(destination, retired / run_id)
        os.replace(staging, destination)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None and not destination.exists() and (retired / run_id).exists():
            os.replace(retired / run_id, destination)  # put the old run back
            shutil.rmtree(retired, ignore_errors=True)
        raise
    point_latest(output_dir, run_id)
    return destination


def point_latest(output_dir: Path, run_id: str) -> None:
    """Atomically repoint the `latest` symlink at a run folder."""
    link = output_dir / LATEST
    temporary = output_dir / f".{LATEST}.{os.getpid()}"
    try:
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()
        temporary.symlink_to(run_id, target_is_directory=True)
        os.replace(temporary, link)
    except OSError as exc:  # e.g. a file system without symlinks
        log.warning("could not update %s (%s); the run folder is complete", link, exc)


# -- listing, comparing and keeping -----------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    """A complete run folder (it has a readable run.json)."""

    run_id: str
    path: Path
    manifest: dict[str, Any]

    @property
    def finished_at(self) -> str:
        return str(self.manifest.get("finished_at", ""))

    @property
    def window_until(self) -> str:
        window = self.manifest.get("window") or {}
        return str(window.get("until") or "")


def list_runs(output_dir: Path) -> list[RunInfo]:
    """Complete runs in the output folder, oldest first (by finish time, then name)."""
    runs: list[RunInfo] = []
    if not output_dir.is_dir():
        return runs
    for path in output_dir.iterdir():
        if path.name.startswith(".") or path.is_symlink() or not path.is_dir():
            continue
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a run folder, or not a complete one
        if isinstance(manifest, dict):
            runs.append(RunInfo(path.name, path, manifest))
    return sorted(runs, key=lambda r: (r.finished_at, r.run_id))


def latest_target(output_dir: Path) -> str | None:
    link = output_dir / "latest"
    try:
        return os.readlink(link) if link.is_symlink() else None
    except OSError:
        return None


def prune_runs(output_dir: Path, keep: int | None, current: str) -> list[str]:
    """Delete all but the `keep` most recently finished runs. The current run and the target of
    `latest` are never deleted. Returns the deleted run ids."""
    if keep is None:
        return []
    protected = {current, latest_target(output_dir)}
    runs = list_runs(output_dir)
    doomed = [r for r in runs[: max(len(runs) - keep, 0)] if r.run_id not in protected]
    removed = []
    for run in doomed:
        retired = output_dir / f".{run.run_id}.deleting"
        try:
            os.replace(run.path, retired)  # gone from view at once, even if rmtree is slow
            shutil.rmtree(retired, ignore_errors=True)
            removed.append(run.run_id)
        except OSError as exc:
            log.warning("could not delete old run %s (%s)", run.path, exc)
    if removed:
        log.info("retention (output.keep_runs=%d): deleted %s", keep, ", ".join(removed))
    return removed


def _stored_next_key(run: RunInfo) -> int:
    tracking = run.manifest.get("tracking") or {}
    try:
        return int(tracking.get("next_key", 1))
    except (TypeError, ValueError):
        return 1


def run_fingerprint(config: dict[str, Any], inputs: list[dict[str, Any]], window: dict[str, str] | None) -> str:
    """What makes two runs the same computation: the input files' contents, the date window and
    every setting that shapes the tables (`config.computation_settings`)."""
    payload = {
        "config": computation_settings(config),
        "inputs": sorted(str(item.get("sha256")) for item in inputs),
        "window": window,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _fingerprint_of(run: RunInfo) -> str:
    manifest = run.manifest
    config = json.loads(json.dumps(manifest.get("config") or {}))
    return run_fingerprint(config, manifest.get("inputs") or [], manifest.get("window"))


def find_previous_run(
    output_dir: Path, run_id: str, previous: str | None, window_until: str = "", fingerprint: str | None = None
) -> PreviousRun:
    """The run to compare with: `previous` if named ("none" for no comparison), else the newest
    complete run in `output_dir` other than `run_id` (which this run replaces). With a date
    window, runs whose window ends after this one's are skipped, so rerunning an old week is
    compared with the week before it. The key counter continues from every run kept there.

    A run with the same `fingerprint` (same input files, window and settings) under another id is
    a rerun of this one: it is neither compared with nor counted, so a rerun gives the same files.
    """
    others = [r for r in list_runs(output_dir) if r.run_id != run_id]
    if fingerprint is not None:
        others = [r for r in others if _fingerprint_of(r) != fingerprint]
    next_key = max([1, *(_stored_next_key(r) for r in others)])
    if previous == "none":
        return PreviousRun(None, None, next_key)
    if previous is not None:
        named = [r for r in others if r.run_id == previous]
        if not named:
            choices = ", ".join(r.run_id for r in others[-5:]) or "none"
            raise ConfigError(
                f"--previous {previous!r}: no complete run of that name in {output_dir} (recent runs: {choices})"
            )
        chosen = named[0]
    else:
        candidates = [r for r in others if not window_until or not r.window_until or r.window_until <= window_until]
        if not candidates:
            return PreviousRun(None, None, next_key)
        chosen = max(candidates, key=lambda r: (r.window_until, r.finished_at, r.run_id))
    path = chosen.path / STATE_FILE
    try:
        state = TopicState.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if previous is not None:
            raise ConfigError(f"--previous {previous!r}: cannot read {path} ({exc}); pick another run") from None
        log.warning(
            "previous run %s has no readable %s (%s); every topic gets a new key", chosen.run_id, STATE_FILE, exc
        )
        return PreviousRun(None, None, next_key)
    return PreviousRun(chosen.run_id, state, next_key)
