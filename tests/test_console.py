"""cluster.console: how much of the log a person sees, and where a crash's traceback goes."""

from __future__ import annotations

import logging

import pytest

from cluster.console import setup_logging, write_error_log


@pytest.fixture
def cluster_logger():
    """The `cluster` logger, put back as it was after the test."""
    logger = logging.getLogger("cluster")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield logger
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.mark.parametrize(
    "quiet, verbose, level",
    [(True, False, logging.WARNING), (False, False, logging.INFO), (False, True, logging.DEBUG)],
)
def test_quiet_and_verbose_set_the_level_of_the_cluster_logger(cluster_logger, quiet, verbose, level):
    setup_logging(quiet, verbose)
    assert cluster_logger.level == level and len(cluster_logger.handlers) == 1 and not cluster_logger.propagate


def test_a_traceback_goes_to_the_output_folder_else_the_temp_folder(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        path = write_error_log(tmp_path / "out")
        assert path.parent == tmp_path / "out" / "logs" and "RuntimeError: boom" in path.read_text()
        (tmp_path / "blocked").write_text("a file, not a folder")
        fallback = write_error_log(tmp_path / "blocked")
        assert fallback.parent == tmp_path / "temp" and "RuntimeError: boom" in fallback.read_text()
