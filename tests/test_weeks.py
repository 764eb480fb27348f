"""ISO weeks, and what --week and --run-date stand for."""

from __future__ import annotations

import datetime as dt

import pytest

from cluster.errors import ConfigError
from cluster.weeks import named_week, parse_week, schedule_overrides, week_of, weeks_between


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


def test_weeks_between_are_every_iso_week_in_order_across_a_new_year():
    weeks = weeks_between(parse_week("2020-W52"), parse_week("2021-W02"))
    assert [w.name for w in weeks] == ["2020-W52", "2020-W53", "2021-W01", "2021-W02"]
    assert [w.name for w in weeks_between(parse_week("2014-W13"), parse_week("2014-W13"))] == ["2014-W13"]
    assert weeks_between(parse_week("2014-W13"), parse_week("2014-W12")) == []


def test_a_named_week_error_names_its_flag():
    assert named_week("last", "--to", dt.date(2026, 11, 30)).name == "2026-W48"
    with pytest.raises(ConfigError, match=r"^--from 'spring': use an ISO week like 2026-W48$"):
        named_week("spring", "--from")
