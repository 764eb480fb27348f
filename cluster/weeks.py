"""Dates the job reasons about: inclusive date windows and ISO weeks (Monday to Sunday)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from cluster.config import InputConfig
from cluster.errors import ConfigError

_WEEK = re.compile(r"(\d{4})-?W(\d{1,2})")


@dataclass(frozen=True)
class Window:
    """An inclusive range of dates; either end may be open."""

    since: dt.date | None
    until: dt.date | None

    def describe(self) -> str:
        return f"{self.since or 'the beginning'} to {self.until or 'the end'}"

    def record(self) -> dict[str, str]:
        """The window as run.json records it."""
        return {"since": str(self.since or ""), "until": str(self.until or "")}


@dataclass(frozen=True)
class Week:
    """An ISO week: Monday to Sunday, named like `2026-W48`."""

    since: dt.date
    until: dt.date
    name: str


def parse_week(text: str, flag: str = "--week") -> Week:
    """`2026-W48` (or `2026W48`) → Monday 2026-11-23 to Sunday 2026-11-29. `flag` names the
    option in the error message."""
    match = _WEEK.fullmatch(text.strip())
    if not match:
        raise ConfigError(f"{flag} {text!r}: use an ISO week like 2026-W48")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        monday = dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: {year} has no ISO week {week}") from None
    return Week(monday, monday + dt.timedelta(days=6), f"{year}-W{week:02d}")


def week_of(day: dt.date) -> Week:
    """The ISO week a date falls in."""
    year, week, _ = day.isocalendar()
    return parse_week(f"{year}-W{week:02d}")


def named_week(text: str, flag: str = "--week", today: dt.date | None = None) -> Week:
    """An ISO week by name, or `last`: the last complete ISO week before today (UTC)."""
    if text.strip().lower() == "last":
        return week_of((today or utc_today()) - dt.timedelta(days=7))
    return parse_week(text, flag)


def weeks_between(first: Week, last: Week) -> list[Week]:
    """Every ISO week from `first` to `last`, both included, in order."""
    count = (last.since - first.since).days // 7 + 1
    return [week_of(first.since + dt.timedelta(weeks=i)) for i in range(max(count, 0))]


def window_name(window: Window) -> str:
    """`2026-W48` when the window is exactly one ISO week, else `SINCE_UNTIL`."""
    week = week_of(window.since) if window.since else None
    if week is not None and (week.since, week.until) == (window.since, window.until):
        return week.name
    return f"{window.since or 'start'}_{window.until or 'end'}"


def span_name(first: dt.date, last: dt.date) -> str:
    """The name of the dates `first` to `last`: their ISO week (`2014-W13`) when they fall in
    one, else `FIRST_LAST` (`2014-03-24_2014-04-06`)."""
    week = week_of(first)
    return week.name if week.since <= last <= week.until else f"{first}_{last}"


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def schedule_overrides(
    week: str | None, run_date: str | None, today: dt.date | None = None
) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Config values, and the run name, that --week and --run-date stand for.

    --week 2026-W48 (or `last`: the last complete ISO week, UTC) selects Monday to Sunday and names
    the run `2026-W48`, so rerunning a week replaces its run. --run-date sets input.run_date.
    """
    if week is not None and run_date is not None:
        raise ConfigError("give --week or --run-date, not both")
    if week is not None:
        chosen = named_week(week, "--week", today)
        return {"input": {"since": chosen.since, "until": chosen.until, "last_days": None}}, chosen.name
    if run_date is not None:
        try:
            day = dt.date.fromisoformat(run_date.strip())
        except ValueError:
            raise ConfigError(f"--run-date {run_date!r}: use YYYY-MM-DD, e.g. 2026-11-30") from None
        return {"input": {"run_date": day}}, None
    return {}, None


def default_run_id(now: dt.datetime | None = None) -> str:
    """ISO week plus a UTC timestamp, e.g. `2026-W48_20261128T143000Z`."""
    now = now or dt.datetime.now(dt.timezone.utc)
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}_{now.strftime('%Y%m%dT%H%M%SZ')}"


def resolve_window(cfg: InputConfig, today: dt.date | None = None) -> Window | None:
    """The date window the config asks for, or None for no window."""
    if cfg.last_days is not None:
        run_date = cfg.run_date or today or utc_today()
        return Window(run_date - dt.timedelta(days=cfg.last_days), run_date - dt.timedelta(days=1))
    if cfg.since is None and cfg.until is None:
        return None
    return Window(cfg.since, cfg.until)
