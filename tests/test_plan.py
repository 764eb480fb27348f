"""cluster.plan: the config, the overrides and the choices of one run, fixed once into a RunPlan."""

from __future__ import annotations

import datetime as dt

import pytest

from cluster import Config, load_config, plan_week
from cluster.errors import ConfigError
from cluster.plan import MAX_BACKFILL_WEEKS, named_after_dates, plan_weeks, resolve_run

from conftest import EXAMPLE_CONFIG, EXAMPLE_INPUT

NOW = dt.datetime(2026, 11, 28, 14, 30, tzinfo=dt.timezone.utc)


def test_plan_week_applies_the_file_then_overrides_then_the_choices():
    plan = plan_week(
        EXAMPLE_CONFIG, overrides=["output.dir=/a", "clustering.min_cluster_size=9"], output_dir="/b", now=NOW
    )
    assert plan.config.output.dir == "/b" and plan.config.clustering.min_cluster_size == 9
    assert plan.config.input.path == str(EXAMPLE_INPUT)  # relative to the config file
    assert plan.run_id == "2026-W48_20261128T143000Z" and plan.window is None
    weekly = plan_week(None, input=["a.csv", "b.csv"], week="2014-W13", previous="none", now=NOW)
    assert weekly.run_id == "2014-W13" and weekly.config.input.path == ["a.csv", "b.csv"]
    assert (weekly.window.since, weekly.window.until) == (dt.date(2014, 3, 24), dt.date(2014, 3, 30))
    assert weekly.config.tracking.previous == "none"


def test_a_config_object_is_a_starting_point_too():
    base = load_config(EXAMPLE_CONFIG)
    assert isinstance(base, Config)
    plan = plan_week(base, run_id="mine", overrides=["labeling.n_keywords=5"])
    assert plan.run_id == "mine" and plan.config.labeling.n_keywords == 5
    assert plan.config.input.path == base.input.path and base.labeling.n_keywords == 10


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


def test_a_run_named_by_nothing_takes_the_span_of_its_headlines_dates():
    unnamed = plan_week(None, input="week.csv", now=NOW)
    assert unnamed.unnamed and unnamed.run_id == "2026-W48_20261128T143000Z"  # until the input is read
    monday, sunday = dt.date(2014, 3, 24), dt.date(2014, 3, 30)
    assert named_after_dates(unnamed, monday, sunday).run_id == "2014-W13"
    assert named_after_dates(unnamed, dt.date(2014, 3, 26), dt.date(2014, 3, 27)).run_id == "2014-W13"
    assert named_after_dates(unnamed, sunday, dt.date(2014, 4, 2)).run_id == "2014-03-30_2014-04-02"
    assert named_after_dates(unnamed, None, None).run_id == unnamed.run_id, "no dates: the clock's name"
    for named in (
        plan_week(None, input="week.csv", run_id="mine", now=NOW),
        plan_week(None, input="week.csv", week="2014-W20", now=NOW),
        plan_week(None, input="week.csv", overrides=["input.last_days=7"], now=NOW),  # a window: not by dates
    ):
        assert not named.unnamed and named_after_dates(named, monday, sunday).run_id == named.run_id


def test_plan_weeks_is_the_plan_of_run_week_for_every_week_of_the_span():
    plans = plan_weeks(EXAMPLE_CONFIG, first="2014-W11", last="2014-W14", output_dir="/b", now=NOW)
    assert [p.run_id for p in plans] == ["2014-W11", "2014-W12", "2014-W13", "2014-W14"]
    for plan in plans:
        alone = plan_week(EXAMPLE_CONFIG, week=plan.run_id, output_dir="/b", now=NOW)
        assert (plan.config, plan.window, plan.run_id) == (alone.config, alone.window, alone.run_id)
    last = plan_weeks(None, first="2026-W47", last="last", now=NOW)  # 2026-11-28 is in W48: the last complete is W47
    assert [p.run_id for p in last] == ["2026-W47"]


@pytest.mark.parametrize(
    "first, last, message",
    [
        ("2014-W18", "2014-W11", "--from 2014-W18 is after --to 2014-W11; give the earlier week first"),
        ("2014-W99", "2014-W11", "--from '2014-W99': 2014 has no ISO week 99"),
        ("2014-W11", "may", "--to 'may': use an ISO week like 2026-W48"),
        ("2000-W01", "2014-W11", f"spans 741 weeks; a backfill covers at most {MAX_BACKFILL_WEEKS}"),
    ],
)
def test_a_bad_span_is_one_clear_line(first, last, message):
    with pytest.raises(ConfigError) as error:
        plan_weeks(None, first=first, last=last, now=NOW)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_config_that_names_every_run_alike_is_refused_for_a_backfill():
    with pytest.raises(ConfigError, match=r"output.run_id is set \('mine'\): a backfill names each run after"):
        plan_weeks(None, first="2014-W11", last="2014-W12", overrides=["output.run_id=mine"], now=NOW)
