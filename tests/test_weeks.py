"""ISO weeks, --week and --run-date, and the one step that fixes a run's window and name."""

from __future__ import annotations

import datetime as dt

import pytest

from cluster.config import load_config, resolve_run
from cluster.errors import ConfigError
from cluster.weeks import parse_week, schedule_overrides, week_of


def test_iso_weeks_run_monday_to_sunday():
    week = parse_week("2026-W48")
    assert (week.since, week.until, week.name) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29), "2026-W48")
    assert parse_week("2026W1").name == "2026-W01"
    assert parse_week("2020-W53").until == dt.date(2021, 1, 3)  # ISO years can have 53 weeks
    assert week_of(dt.date(2026, 11, 29)).name == "2026-W48"
    with pytest.raises(ConfigError, match="no ISO week 53"):
        parse_week("2025-W53")


def test_week_last_is_the_last_complete_week():
    flags, name = schedule_overrides("last", None, today=dt.date(2026, 11, 30))  # a Monday
    assert name == "2026-W48" and flags["input"]["since"] == dt.date(2026, 11, 23)
    assert schedule_overrides("last", None, today=dt.date(2026, 12, 6))[1] == "2026-W48"  # the Sunday after


def test_run_date_selects_the_week_before_it_and_names_the_run():
    now = dt.datetime(2026, 12, 5, 12, tzinfo=dt.timezone.utc)
    cfg = load_config(None, [], {"input": {"run_date": dt.date(2026, 12, 2)}})  # a Wednesday, no window
    plan = resolve_run(cfg, by_run_date=True, now=now)
    assert plan.run_id == "2026-W48"
    assert (plan.window.since, plan.window.until) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    assert (plan.config.input.since, plan.config.input.until) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    assert cfg.input.since is None, "the config passed in is not changed"
    monday = load_config(None, [], {"input": {"run_date": dt.date(2026, 11, 30), "last_days": 7}})
    assert resolve_run(monday, by_run_date=True, now=now).run_id == "2026-W48"
    wednesday = load_config(None, [], {"input": {"run_date": dt.date(2026, 12, 2), "last_days": 7}})
    assert resolve_run(wednesday, by_run_date=True, now=now).run_id == "2026-11-25_2026-12-01"


def test_run_name_prefers_run_id_then_week_then_the_clock():
    now = dt.datetime(2026, 11, 28, 14, 30, tzinfo=dt.timezone.utc)
    assert resolve_run(load_config(), now=now).run_id == "2026-W48_20261128T143000Z"
    assert resolve_run(load_config(), week_name="2026-W40", now=now).run_id == "2026-W40"
    named = load_config(None, [], {"output": {"run_id": "mine"}})
    assert resolve_run(named, week_name="2026-W40", now=now).run_id == "mine"


def test_last_days_counts_back_from_today_when_no_run_date_is_given():
    cfg = load_config(None, [], {"input": {"last_days": 7}})
    plan = resolve_run(cfg, now=dt.datetime(2026, 11, 30, 6, tzinfo=dt.timezone.utc))
    assert (plan.window.since, plan.window.until) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))


def test_a_resolved_config_cannot_be_changed():
    plan = resolve_run(load_config())
    with pytest.raises(ValueError):
        plan.config.input.since = dt.date(2026, 1, 1)


def test_a_window_past_the_calendar_is_a_config_error():
    cfg = load_config(None, [], {"input": {"last_days": 800000}})
    with pytest.raises(ConfigError, match="input.last_days / input.run_date: the date window would fall outside"):
        resolve_run(cfg)
