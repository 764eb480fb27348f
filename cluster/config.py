"""Run configuration: the typed, validated sections of a config and `Config`, the whole of one.

Every field has a default; `configs/weekly.yaml` spells all of them out. A config file only
needs the keys it changes. Reading files and overrides into a `Config` is `cluster.config_files`;
fixing a run's window and name from it is `cluster.plan`. This module imports neither.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# A trailing " - Reuters", " | BBC News", " – The Guardian": a dash or bar between spaces, then at
# most five words with no further separator. Short on purpose: longer tails are usually content.
DEFAULT_PUBLISHER_TAG_PATTERN = r"\s+[-|–—]\s+(?:[^\s|–—-]+\s?){1,5}$"


class _Section(BaseModel):
    # forbid: a misspelt key must be an error, not a silently ignored setting; frozen: once
    # resolved, a config is read by every stage and changed by none.
    model_config = ConfigDict(extra="forbid", frozen=True)
    # Keys that do not change what a run computes (where it reads or writes, what it compares
    # with); None means the whole section. Two runs whose other settings, input contents and
    # window agree are the same computation (see `computation_settings`).
    not_computation: ClassVar[frozenset[str] | None] = frozenset()


class InputConfig(_Section):
    """Where the headlines come from and which rows form the week."""

    not_computation: ClassVar[frozenset[str] | None] = frozenset({"path"})
    path: Union[str, list[str], None] = None
    format: Literal["auto", "csv", "tsv", "parquet", "jsonl", "txt"] = "auto"
    text_column: str = "headline"
    id_column: str = "id"
    date_column: str = "date"
    source_column: str = "source"
    url_column: str = "url"
    encoding: str = "utf-8"
    since: Union[dt.date, None] = None
    until: Union[dt.date, None] = None
    last_days: Union[int, None] = Field(default=None, ge=1)
    run_date: Union[dt.date, None] = None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        import codecs

        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (try utf-8, cp1252 or latin-1)") from None
        return value

    @model_validator(mode="after")
    def _window_is_consistent(self) -> "InputConfig":
        if self.last_days is not None and (self.since is not None or self.until is not None):
            raise ValueError("set either last_days or since/until, not both")
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"since ({self.since}) is after until ({self.until})")
        return self

    @property
    def has_window(self) -> bool:
        return self.since is not None or self.until is not None or self.last_days is not None


class CleaningConfig(_Section):
    """How headline text is normalised before embedding."""

    strip_publisher_tags: bool = True
    publisher_tag_pattern: str = DEFAULT_PUBLISHER_TAG_PATTERN
    max_length: int = Field(default=300, ge=10)

    @field_validator("publisher_tag_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression ({exc})") from None
        return value


class EmbeddingConfig(_Section):
    """Which sentence-transformers model embeds the headlines, and how it runs."""

    model: str = "all-MiniLM-L6-v2"
    device: str = "auto"
    # auto: the int8 ONNX route on a CPU when the model allows it (cluster/embed_onnx.py), else torch
    backend: Literal["auto", "onnx", "torch"] = "auto"
    batch_size: int = Field(default=64, ge=1, le=4096)

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", value):
            raise ValueError(f"must be auto, cpu, mps, cuda or cuda:N, got {value!r}")
        return value


class ReductionConfig(_Section):
    """UMAP settings (cosine metric)."""

    n_neighbors: int = Field(default=15, ge=2, le=200)
    n_components: int = Field(default=5, ge=2, le=100)
    min_dist: float = Field(default=0.0, ge=0.0, le=1.0)
    init: Literal["pca", "spectral", "random"] = "pca"
    lexical_weight: float = Field(default=1.0, ge=0.0, le=10.0)
    # Exact search costs n², an approximate index about n log n; at a week's size (31k) they cost
    # the same, at 53k the index is 1.6x faster (benchmarks/neighbours.py): weeks keep the exact graph.
    exact_neighbors_below: int = Field(default=40_000, ge=0)
    random_state: int = Field(default=42, ge=0)


class ClusteringConfig(_Section):
    """HDBSCAN settings and what happens to headlines it leaves unclustered."""

    min_cluster_size: Union[Literal["auto"], int] = "auto"
    min_samples: Union[int, None] = Field(default=None, ge=1)
    cluster_selection_method: Literal["eom", "leaf"] = "eom"
    cluster_selection_epsilon: float = Field(default=0.0, ge=0.0)
    merge_threshold: Union[float, None] = Field(default=0.5, gt=0.0, le=1.0)
    merge_lexical_weight: float = Field(default=0.5, ge=0.0, le=10.0)
    # a headline's evidence for a topic: the mean of its cosine similarity to the topic's closest
    # other headline and to the topic's centroid (`clustering.member_evidence`); HDBSCAN's members
    # below member_threshold are taken out (None: all stay), and an unclustered headline joins
    # the topic it has the most evidence for when that reaches outlier_threshold
    member_threshold: Union[float, None] = Field(default=0.44, ge=-1.0, le=1.0)
    outliers: Literal["keep", "nearest"] = "nearest"
    outlier_threshold: float = Field(default=0.44, ge=-1.0, le=1.0)
    # below this many distinct headlines there is too little for UMAP and HDBSCAN: the headlines
    # are grouped directly (`clustering.group_headlines`): pieces whose every two headlines reach
    # small_input_threshold (blended similarity), joined where their centroids reach
    # small_input_merge_threshold; capped because that path holds an n × n similarity matrix
    small_input_below: int = Field(default=300, ge=0, le=5000)
    small_input_threshold: float = Field(default=0.2, gt=0.0, le=1.0)
    small_input_merge_threshold: float = Field(default=0.3, gt=0.0, le=1.0)

    @field_validator("min_cluster_size")
    @classmethod
    def _at_least_two(cls, value: Union[str, int]) -> Union[str, int]:
        if isinstance(value, int) and value < 2:
            raise ValueError(f"must be ≥ 2, got {value}")
        return value


class LabelingConfig(_Section):
    """c-TF-IDF keywords, representative headlines and labels."""

    # headline: a phrase taken from the topic's own headlines (cluster/headline_label.py);
    # keywords: the older "Pritzker / Ban / Prize" triple of `label_terms` keywords
    style: Literal["headline", "keywords"] = "headline"
    n_keywords: int = Field(default=10, ge=1, le=50)
    ngram_range: tuple[int, int] = (1, 2)
    stop_words: Union[Literal["english"], list[str], None] = "english"
    n_representatives: int = Field(default=3, ge=1, le=3)  # topics.csv has three representative columns
    label_terms: int = Field(default=3, ge=1, le=10)  # style: keywords only

    @field_validator("ngram_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if low < 1 or high < low:
            raise ValueError(f"must be [low, high] with 1 ≤ low ≤ high, got {list(value)}")
        return value


class OutputConfig(_Section):
    """Where run folders are written."""

    not_computation: ClassVar[frozenset[str] | None] = None

    dir: str = "outputs"
    run_id: Union[str, None] = None
    keep_runs: Union[int, None] = Field(default=None, ge=1)
    # Above this many accepted rows a run is "large": headlines.parquet holds every row, the
    # workbook's Headlines sheet and the maps hold a per-topic sample (docs/review-files.md).
    large_run_rows: int = Field(default=250_000, ge=1)
    headlines_csv: bool = True  # large runs only: False writes headlines.parquet alone

    @field_validator("run_id")
    @classmethod
    def _safe_name(cls, value: Union[str, None]) -> Union[str, None]:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", value):
            raise ValueError("use letters, digits, '.', '_' and '-' only, starting with a letter or digit")
        if value == "latest":
            raise ValueError("'latest' is reserved for the pointer to the newest run")
        return value


class ReviewConfig(_Section):
    """Files for people who review the week: a workbook, a topic map and a one-page report."""

    not_computation: ClassVar[frozenset[str] | None] = None

    workbook: bool = True
    map: bool = True
    report: bool = True
    map_labels: int = Field(default=40, ge=0, le=1000)
    report_topics: int = Field(default=20, ge=1, le=1000)


class CacheConfig(_Section):
    """On-disk cache of embeddings and UMAP results, shared by all runs of one user."""

    not_computation: ClassVar[frozenset[str] | None] = None

    enabled: bool = True
    dir: Union[str, None] = (
        None  # None: $HEADLINE_CLUSTER_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache, /headline-cluster
    )
    max_age_days: Union[int, None] = Field(default=90, ge=1)
    max_size_mb: Union[int, None] = Field(default=2048, ge=1)


class TrackingConfig(_Section):
    """How this run's topics are matched to the previous run's, for stable topic keys."""

    not_computation: ClassVar[frozenset[str] | None] = frozenset({"previous"})

    previous: Union[str, None] = None  # None: the newest complete run in output.dir; "none": start afresh
    match_threshold: float = Field(default=0.6, ge=0.0, le=2.0)
    keyword_weight: float = Field(default=0.0, ge=0.0, le=1.0)
    overlap_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    change_threshold: float = Field(default=0.25, gt=0.0, le=10.0)


class ScaleConfig(_Section):
    """Inputs too large to fit whole: fit on a sample, assign the rest (docs/scaling.md)."""

    # Above this many distinct headlines, UMAP, HDBSCAN and the merge run on a sample of this
    # size and every other headline joins a topic by a vote of its nearest sample headlines.
    # None fits every input whole. A week (20-35k) or a month is fitted whole. At 176k the
    # sample path scored within 0.003 NMI of the whole fit in 2/3 of its time and 3/4 of its
    # memory (docs/benchmarks.md); HDBSCAN's cost grows with n², so the sample caps it.
    fit_sample: Union[int, None] = Field(default=100_000, ge=100)
    assign_neighbors: int = Field(default=10, ge=1, le=100)


class ComputeConfig(_Section):
    """Where the work runs: in this process (none), on a Dask LocalCluster (local) or on a
    running Dask scheduler (its address). Results are the same either way."""

    not_computation: ClassVar[frozenset[str] | None] = None

    scheduler: str = "none"
    workers: int = Field(default=2, ge=1, le=256)
    partition_size: int = Field(default=4096, ge=256, le=1_000_000)

    @field_validator("scheduler")
    @classmethod
    def _known_scheduler(cls, value: str) -> str:
        if value not in ("none", "local") and not re.fullmatch(r"(tcp|tls|ws|wss)://[^\s:/]+:\d{1,5}", value):
            raise ValueError(f"must be none, local or a scheduler address such as tcp://10.0.0.5:8786, got {value!r}")
        return value


class Config(_Section):
    """The whole run configuration."""

    input: InputConfig = InputConfig()
    cleaning: CleaningConfig = CleaningConfig()
    embedding: EmbeddingConfig = EmbeddingConfig()
    reduction: ReductionConfig = ReductionConfig()
    clustering: ClusteringConfig = ClusteringConfig()
    labeling: LabelingConfig = LabelingConfig()
    output: OutputConfig = OutputConfig()
    review: ReviewConfig = ReviewConfig()
    cache: CacheConfig = CacheConfig()
    tracking: TrackingConfig = TrackingConfig()
    scale: ScaleConfig = ScaleConfig()
    compute: ComputeConfig = ComputeConfig()

    @model_validator(mode="after")
    def _sample_holds_a_topic(self) -> "Config":
        size, sample = self.clustering.min_cluster_size, self.scale.fit_sample
        if isinstance(size, int) and sample is not None and sample < size:
            raise ValueError(
                f"scale.fit_sample ({sample}) is smaller than clustering.min_cluster_size ({size}): "
                "a sample that small cannot hold a topic; raise scale.fit_sample"
            )
        return self


def computation_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The settings of a config dump (or of a run.json's `config`) that shape the tables: every
    section's keys except those the section declares in `not_computation`."""
    kept: dict[str, Any] = {}
    for name in sorted({*Config.model_fields, *config}):
        field = Config.model_fields.get(name)
        values = config.get(name) or {}
        if field is None:  # a section this version does not know (a run of another version): all of it
            kept[name] = values
            continue
        section = field.annotation
        assert isinstance(section, type) and issubclass(section, _Section)
        excluded = section.not_computation
        if excluded is not None:
            kept[name] = {key: value for key, value in values.items() if key not in excluded}
    return kept
