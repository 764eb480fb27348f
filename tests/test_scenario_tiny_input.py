"""Short lists: grouped directly into topics (the seed article's related stories), and a list
with nothing in common completes all unclustered, with a warning."""

from __future__ import annotations

import json

from conftest import invoke, read_output


def test_three_headlines_complete_unclustered_with_a_warning(tmp_path):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text(
        "Fed official says weak data caused by weather\n"
        "\n"
        "Wu-Tang Clan to sell just one copy of secret album\n"
        "Japanese architect Shigeru Ban wins Pritzker Prize\n",
        encoding="utf-8",
    )
    run = invoke(["--input", str(tiny), "--run-id", "tiny"], tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    assert "no two of the 3 distinct headlines are similar enough" in run.stderr
    headlines = read_output(run.folder / "headlines.csv")
    assert len(headlines) == 3
    assert set(headlines.topic_id) == {"-1"} and set(headlines.assigned_by) == {"none"}
    assert (headlines.topic_confidence == "").all()
    topics = read_output(run.folder / "topics.csv")
    assert topics[["topic_id", "label", "size", "share"]].values.tolist() == [["-1", "Unclustered", "3", "1.0000"]]
    manifest = json.loads((run.folder / "run.json").read_text())
    assert manifest["topics"] == 0 and manifest["unclustered_share"] == 1.0
    assert manifest["warnings"] and manifest["fit"]["mode"] == "direct"


def test_without_the_direct_path_too_few_headlines_are_left_unclustered(tmp_path):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("Fed official says weak data caused by weather\nFed says weak data caused by weather\n")
    run = invoke(["--input", str(tiny), "--set", "clustering.small_input_below=0"], tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    manifest = json.loads((run.folder / "run.json").read_text())
    assert manifest["fit"]["mode"] == "whole" and manifest["topics"] == 0
    assert manifest["warnings"] == [
        "only 2 distinct headlines, fewer than a topic needs (min_cluster_size 5); every headline is left unclustered"
    ]


def test_one_headline_repeated_says_a_topic_needs_two(tmp_path):
    tiny = tmp_path / "tiny.txt"
    tiny.write_text("Fed official says weak data caused by weather\n" * 3)
    run = invoke(["--input", str(tiny)], tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    manifest = json.loads((run.folder / "run.json").read_text())
    assert manifest["warnings"] == ["only 1 distinct headline, and a topic needs two; it is left unclustered"]
    assert set(read_output(run.folder / "headlines.csv").topic_id) == {"-1"}


def test_related_stories_list_from_the_seed_runs(tmp_path):
    """The shipped plain-text list (17 real headlines, curly quotes included) runs end to end."""
    from conftest import REPO

    run = invoke(["--input", str(REPO / "examples" / "related_stories.txt"), "--run-id", "seed"], tmp_path / "out")
    assert run.exit_code == 0, run.stderr
    headlines = read_output(run.folder / "headlines.csv")
    assert len(headlines) == 17
    assert "Anutin’s Bhumjaithai Party Wins Thai Election, Signals Shift Toward Political Stability" in set(
        headlines.headline
    )
    # too short for UMAP and HDBSCAN: grouped directly, and run.json says so
    manifest = json.loads((run.folder / "run.json").read_text())
    assert manifest["fit"] == {"mode": "direct", "fitted": 17, "assigned": 0}
    assert manifest["topics"] >= 3 and not manifest["warnings"]
    assert "grouped" in set(headlines.assigned_by) and set(headlines.assigned_by) <= {"grouped", "nearest", "none"}
    assert manifest["resolved"]["min_cluster_size"] == 2

    def topic(start: str) -> str:
        (found,) = headlines.topic_id[headlines.headline.str.startswith(start)]
        return str(found)

    # the groups a reader makes (issue #19): three stories of three headlines each, kept apart
    trade = {topic("RBI Holds Repo Rate"), topic("Trump Lifts 25% Tariff"), topic("Indian Refiners Scale Back")}
    epstein = {topic("Ghislaine Maxwell"), topic("Jack Lang Resigns"), topic("U.S. Lawmakers to Review Unredacted")}
    markets = {topic("Asian Stocks Slip"), topic("Global Markets Slide"), topic("Japanese Pharmaceutical Stocks")}
    assert len(trade) == len(epstein) == len(markets) == 1 and "-1" not in trade | epstein | markets
    assert len(trade | epstein | markets) == 3
    # "Asian stocks slip ... ahead of election" does not pull the elections into the markets
    assert {topic("Japan Election 2026"), topic("Anutin’s Bhumjaithai Party")}.isdisjoint(markets)
    for alone in ("Sydney Braces", "Trump Slams Super Bowl", "Australian Household Spending", "UK Starting Salaries"):
        assert topic(alone) == "-1", alone
