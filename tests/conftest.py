"""Shared fixtures. Pipeline runs are session-scoped: numba compiles UMAP once per process
(~40 s), so every end-to-end test reuses the same few real runs."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cluster.cli import app

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_CONFIG = REPO / "configs" / "example.yaml"
EXAMPLE_INPUT = REPO / "examples" / "uci_headlines_sample.csv"
SHARED_DATA = REPO.parent / "shared" / "data"
# what every run keeps up to date at the top of its output folder, beside `latest`
TIMELINE_FILES = ["timeline.csv", "timeline.html", "timeline.png", "timeline.xlsx"]


@dataclass
class CliRun:
    exit_code: int
    stdout: str
    stderr: str
    output_dir: Path

    @property
    def folder(self) -> Path:
        return Path(self.stdout.strip().splitlines()[-1])


def invoke(args: list[str], output_dir: Path) -> CliRun:
    """Run the real CLI in-process (so numba's compiled UMAP is reused)."""
    result = CliRunner().invoke(app, ["run", *args, "--output-dir", str(output_dir)], catch_exceptions=False)
    return CliRun(result.exit_code, result.stdout, result.stderr, output_dir)


def backfill(args: list[str], output_dir: Path) -> CliRun:
    """`cluster backfill` in-process, like `invoke`; the last line on stdout is the output folder."""
    result = CliRunner().invoke(app, ["backfill", *args, "--output-dir", str(output_dir)], catch_exceptions=False)
    return CliRun(result.exit_code, result.stdout, result.stderr, output_dir)


def read_output(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory) -> Path:
    """Every test's runs use a temporary embedding cache, never the user's ~/.cache."""
    from cluster.store import CACHE_DIR_ENV

    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(path))
        yield path


@pytest.fixture(scope="session")
def example_cache(tmp_path_factory) -> Path:
    """The cache example_run fills (cold), for tests of warm reruns."""
    return tmp_path_factory.mktemp("example-cache")


@pytest.fixture(scope="session")
def example_run(tmp_path_factory, example_cache) -> CliRun:
    """The shipped example config on the shipped real headlines, with an empty cache."""
    out = tmp_path_factory.mktemp("example")
    run = invoke(["--config", str(EXAMPLE_CONFIG), "--run-id", "first", "--set", f"cache.dir={example_cache}"], out)
    assert run.exit_code == 0, run.stderr
    return run


@pytest.fixture(scope="session")
def example_rerun(example_run, tmp_path_factory) -> CliRun:
    """The same config and input again, into another folder, with another empty cache: every
    stage is recomputed."""
    out = tmp_path_factory.mktemp("example-again")
    cache = tmp_path_factory.mktemp("example-again-cache")
    run = invoke(["--config", str(EXAMPLE_CONFIG), "--run-id", "second", "--set", f"cache.dir={cache}"], out)
    assert run.exit_code == 0, run.stderr
    return run


CRAFTED_HEADLINES = [
    '=HYPERLINK("http://evil.example","click")',
    "+44 dial now for prizes",
    "-5% drop in shares as markets wobble",
    "@everyone the meeting is moved",
    "Anutin’s Bhumjaithai Party Wins Thai Election",
    "Zürich café owners protest new tax — Ünïcödé test",
    "",
    "   ",
    "x" * 400,
]


@pytest.fixture(scope="session")
def crafted_input(tmp_path_factory) -> Path:
    """Real example headlines plus formula-like, non-ASCII, duplicate, blank and over-long rows."""
    real = pd.read_csv(EXAMPLE_INPUT, dtype=str, keep_default_na=False)
    real = real[["id", "headline", "date", "source"]].head(200)
    extra = pd.DataFrame(
        {
            "id": [f"crafted-{i}" for i in range(len(CRAFTED_HEADLINES))],
            "headline": CRAFTED_HEADLINES,
            "date": "2014-03-26T10:00:00Z",
            "source": "crafted",
        }
    )
    # duplicates of a real headline, differing only in case and spacing
    first = real["headline"].iloc[0]
    dupes = pd.DataFrame(
        {
            "id": ["dup-1", "dup-2", "dup-3"],
            "headline": [first, first.upper(), "  " + first.replace(" ", "  ") + " "],
            "date": "2014-03-27T10:00:00Z",
            "source": "dupes",
        }
    )
    frame = pd.concat([real.iloc[:50], extra, real.iloc[50:120], dupes, real.iloc[120:]], ignore_index=True)
    path = tmp_path_factory.mktemp("crafted-input") / "crafted.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def crafted_run(crafted_input, tmp_path_factory) -> CliRun:
    out = tmp_path_factory.mktemp("crafted")
    run = invoke(["--input", str(crafted_input), "--run-id", "crafted"], out)
    assert run.exit_code == 0, run.stderr
    return run


def output_is_empty(path: Path) -> bool:
    """A refused run creates nothing: not even the output folder."""
    return not path.exists()


def copy_example(tmp_path: Path) -> Path:
    target = tmp_path / EXAMPLE_INPUT.name
    shutil.copy(EXAMPLE_INPUT, target)
    return target


# A sample far below the example's 403 distinct headlines, so that the sample path (fit on a
# sample, assign the rest) runs on the shipped input with the real model.
SAMPLE_SETTINGS = ["--set", "scale.fit_sample=150"]


@pytest.fixture(scope="session")
def example_sample_run(tmp_path_factory) -> CliRun:
    """The example through the sample path, in this process, with an empty cache."""
    out = tmp_path_factory.mktemp("example-sample")
    cache = tmp_path_factory.mktemp("example-sample-cache")
    args = ["--config", str(EXAMPLE_CONFIG), "--run-id", "sampled", "--set", f"cache.dir={cache}", *SAMPLE_SETTINGS]
    run = invoke(args, out)
    assert run.exit_code == 0, run.stderr
    return run


@pytest.fixture(scope="session")
def two_weeks_input(tmp_path_factory) -> Path:
    """The example's real headlines over two ISO weeks: rows dated Monday to Wednesday stay in
    2014-W13 (117), the rest move 7 days on into 2014-W14 (286), so stories run on across the
    weeks. Both weeks are short lists (fewer than 300 distinct headlines)."""
    frame = pd.read_csv(EXAMPLE_INPUT, dtype=str, keep_default_na=False)
    dates = pd.to_datetime(frame["date"], utc=True)
    later = dates >= pd.Timestamp("2014-03-27", tz="UTC")
    frame.loc[later, "date"] = (dates[later] + pd.Timedelta(days=7)).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path_factory.mktemp("two-weeks") / "two_weeks.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    return path
