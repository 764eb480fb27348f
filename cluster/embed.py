"""The embed stage: headlines in, unit-length float32 vectors out, offline.

`route_for` resolves the `embedding` settings (model, backend, device; `auto` included) once into
a `Route` of plain values: which model, by which backend and precision, from which exported file.
The stage, `embed_texts`, takes texts and a route and returns vectors; it knows nothing of the
cache. The pipeline wraps it with `cluster.store.cached.cached_rows`, keyed by
`cache_key(*route.key_parts)`, through an `Embedder`, which loads the model only when a vector is
missing: a run whose vectors are all cached imports neither torch nor onnxruntime.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cluster.compute import Compute, in_process, split
from cluster.embed_onnx import onnx_unsupported
from cluster.encoders import (
    DEFAULT_MODEL,
    Encoder,
    ModelSource,
    TorchEncoder,
    model_folder,
    resolve_model,
    surely_cpu,
    torch_device,
)
from cluster.errors import ConfigError
from cluster.onnx_export import (
    ONNX_FP32_RECIPE,
    ONNX_RECIPE,
    checked_export,
    ensure_file,
    export_name,
    load_checked,
    model_path,
)
from cluster.store import Cache, CacheStats
from cluster.store.cached import cache_key
from cluster.store.embeddings import fingerprint_folder

if TYPE_CHECKING:
    from cluster.config import EmbeddingConfig

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MODEL",
    "Embedded",
    "Embedder",
    "Route",
    "embed_texts",
    "given_vectors",
    "resolve_model",
    "route_for",
]

# Bumped when the way vectors are computed changes (e.g. normalisation), so old entries stop matching.
EMBEDDING_RECIPE = "normalised-float32-v1"
_RECIPES = {  # (backend, precision) -> what the vectors' cache key says about how they were made
    ("torch", "fp32"): (EMBEDDING_RECIPE,),
    ("onnx", "int8"): (EMBEDDING_RECIPE, ONNX_RECIPE),
    ("onnx", "fp32"): (EMBEDDING_RECIPE, ONNX_FP32_RECIPE),
}


@dataclass(frozen=True)
class Route:
    """How the run's vectors are made, resolved from the settings (nothing here is `auto`): the
    model and a fingerprint of its files, the backend ("onnx" or "torch") and its precision
    ("int8" or "fp32"), the exported file for onnx, and why the route differs from the one the
    settings asked for, if it does. The device is not part of it: it does not change the vectors'
    key, and resolving `auto` may import torch, which a fully cached run must not (`pick_device`)."""

    source: ModelSource
    folder: Path | None
    fingerprint: str
    backend: str = "torch"
    precision: str = "fp32"
    model_file: Path | None = None
    note: str | None = None

    @property
    def key_parts(self) -> tuple[str, ...]:
        """What the vectors depend on, for `cache_key`: the model's name and files, and the
        recipe of the backend and precision (the routes' vectors differ slightly, so never mix)."""
        return (self.source.name, self.fingerprint, *_RECIPES[(self.backend, self.precision)])

    def describe(self) -> str:
        return f"{self.backend}-{self.precision}"


def pick_backend(backend: str, device: str, source: ModelSource) -> str:
    """The backend `embedding.backend` asks for, before the export is checked: `auto` takes the
    ONNX route when the run is on a CPU, onnxruntime is installed and the model allows it, and
    torch otherwise; `onnx` refuses, in one line, a model or device it cannot run."""
    if backend == "torch" or (backend == "auto" and not surely_cpu(device)):
        return "torch"
    folder = model_folder(source)
    reason = "it is not in the local Hugging Face cache" if folder is None else onnx_unsupported(folder)
    if importlib.util.find_spec("onnxruntime") is None:  # found, not imported: a warm run needs no model
        reason = reason or "onnxruntime is not installed"
    if backend == "onnx":
        if device not in ("auto", "cpu"):
            raise ConfigError(f"embedding.backend: onnx runs on the CPU; set embedding.device to cpu, not {device}")
        if reason:
            raise ConfigError(f"embedding.backend: {source.name!r} cannot take the onnx route: {reason}; use torch")
        return "onnx"
    if reason:
        log.info("embedding with torch: %s cannot take the onnx route (%s)", source.name, reason)
        return "torch"
    return "onnx"


def route_for(cfg: "EmbeddingConfig", cache: Cache | None = None) -> Route:
    """The route for `cfg`, the one place the settings are resolved. On the ONNX route the
    export's verdict is read from the cache's `models/` (a machine's first run makes and checks
    the export here); an int8 export that drifts from the model is replaced by the fp32 export
    or by torch, with a note, or refused when `backend: onnx` asked for it."""
    source = resolve_model(cfg.model)
    folder = model_folder(source)
    route = Route(source, folder, _fingerprint(source, folder, cache))
    if pick_backend(cfg.backend, cfg.device, source) == "torch":
        return route
    assert folder is not None  # pick_backend found it
    models_dir, name = _models_dir(cache), export_name(route.fingerprint)
    verdict = checked_export(source, folder, models_dir, name)
    chosen = verdict.precision
    kept = route if chosen is None else _on_export(route, chosen, model_path(models_dir, name, chosen))
    if chosen == "int8":
        return kept
    drift = f"the int8 ONNX export of {source.name!r} drifts from the model ({verdict.int8.describe()})"
    if cfg.backend == "onnx":
        raise ConfigError(f"embedding.backend: onnx: {drift}; set embedding.backend to torch")
    instead = "the fp32 ONNX export" if chosen == "fp32" else "torch, as the fp32 export drifts too"
    note = f"{drift}; embedded with {instead}"
    log.warning("%s", note)
    return dataclasses.replace(kept, note=note)


def _on_export(route: Route, precision: str, model_file: Path) -> Route:
    """`route` run from the export of `precision` kept at `model_file`."""
    return dataclasses.replace(route, backend="onnx", precision=precision, model_file=model_file)


def _fingerprint(source: ModelSource, folder: Path | None, cache: Cache | None) -> str:
    """A hash of the model's files (the cache remembers it, so it is cheap there)."""
    if folder is None:
        return f"unresolved:{source.location}"
    return cache.embeddings.folder_fingerprint(folder.resolve()) if cache is not None else fingerprint_folder(folder)


_SCRATCH: list[tempfile.TemporaryDirectory[str]] = []  # removed when the process ends


def _models_dir(cache: Cache | None) -> Path:
    """Where exported models live: the cache's `models/` (kept for later runs), or a scratch
    folder of this process when there is no cache."""
    if cache is not None:
        return cache.directory / "models"
    if not _SCRATCH:
        _SCRATCH.append(tempfile.TemporaryDirectory(prefix="headline-cluster-model-"))
    return Path(_SCRATCH[0].name)


def model_key(cache: Cache, source: ModelSource, backend: str = "torch", precision: str | None = None) -> str:
    """The embedding cache's key of the vectors `source` makes by `backend` at `precision` (int8
    for onnx, fp32 for torch unless given): `cache_key(*route.key_parts)` of that route."""
    folder = model_folder(source)
    precision = precision or ("int8" if backend == "onnx" else "fp32")
    return cache_key(*Route(source, folder, _fingerprint(source, folder, cache), backend, precision).key_parts)


def pick_device(device: str, route: Route) -> str:
    """Where the route's encoder runs: ONNX on the CPU; torch on `embedding.device`, with `auto`
    resolved (torch is imported only where the machine may have a GPU)."""
    return "cpu" if route.backend == "onnx" else torch_device(device)


def load_encoder(route: Route, device: str) -> Encoder:
    """The route's encoder, loaded on `device`: an exported file checked before it is loaded
    (`cluster.onnx_export`), or the SentenceTransformer."""
    if route.model_file is not None:
        assert route.folder is not None  # an export was made from it
        return load_checked(route.source.name, route.folder, route.model_file, route.precision)
    return TorchEncoder(route.source, device).load()


_ENCODERS: dict[tuple[Route, str], Encoder] = {}  # per process: a Dask worker loads the model once


def process_encoder(route: Route, device: str = "cpu") -> Encoder:
    """The route's encoder on `device`, loaded once per process (this one, or a Dask worker)."""
    if (route, device) not in _ENCODERS:
        _ENCODERS[(route, device)] = load_encoder(route, device)
    return _ENCODERS[(route, device)]


def ready_encoder(route: Route, device: str, compute: Compute | None = None) -> None:
    """Get the encoder ready before any text goes out, so that loading is timed apart: loaded in
    this process, or, for Dask workers, its exported file checked (and rebuilt if need be) once
    here rather than by every worker at once."""
    if compute is None or not compute.distributed:
        process_encoder(route, device)
    elif route.model_file is not None and route.folder is not None:
        ensure_file(route.folder, route.model_file, route.precision)


def chunk_length(batch_size: int) -> int:
    """How many texts `embed_texts` hands an encoder in one call. A text's vector depends in its
    last bits on the other texts of its batch (padding and matrix shapes), so the chunks are
    consecutive runs of this length, fixed by the list alone, wherever and however they run."""
    return max(batch_size * 16, 1024)


def embed_part(texts: list[str], route: Route, device: str, batch_size: int) -> np.ndarray:
    """Unit-length float32 vectors of a run of whole chunks, in order (one task on a worker).
    Either encoder sorts each chunk by length and encodes it in batches."""
    encoder = process_encoder(route, device)
    chunk = chunk_length(batch_size)
    return np.concatenate(
        [encoder.encode(texts[start : start + chunk], batch_size) for start in range(0, len(texts), chunk)]
    )


def embed_texts(
    texts: list[str],
    route: Route,
    batch_size: int = 64,
    progress: bool | None = None,
    compute: Compute | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text, by `route` on `device` (a resolved one),
    handed out to `compute` (this process by default) in parts of whole chunks (`chunk_length`).

    With a terminal, a progress bar; without one (cron), a plain log line per part.
    """
    compute = compute or in_process()
    if progress is None:
        progress = sys.stderr.isatty()
    parts = split(len(texts), compute.cfg.partition_size, align=chunk_length(batch_size))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc="embedding", unit="headline", file=sys.stderr)
    finished = 0

    def done(i: int) -> None:
        nonlocal finished
        size = parts[i].stop - parts[i].start
        finished += size
        if bar is not None:
            bar.update(size)
        else:
            log.info("embedded %d/%d headlines (%d%%)", finished, len(texts), 100 * finished // max(len(texts), 1))

    shared = {"route": route, "device": device, "batch_size": batch_size}
    results = compute.map(embed_part, [texts[part] for part in parts], shared, done)
    if bar is not None:
        bar.close()
    if not results:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(results)


@dataclass
class Embedded:
    """The embed stage's result: vectors for the unique headlines, and how they were obtained."""

    vectors: np.ndarray
    route: Route
    device: str | None  # None when every vector came from the cache and the model was not loaded
    stats: CacheStats
    seconds: dict[str, float] = field(default_factory=dict)  # "embed", and "load_model" when it was loaded

    @property
    def source(self) -> ModelSource:
        return self.route.source

    @property
    def backend(self) -> str:
        """Either "onnx" or "torch": the route that made the vectors (cached or not)."""
        return self.route.backend

    @property
    def note(self) -> str | None:
        """Why the route differs from the one the settings asked for (for run.json), if it does."""
        return self.route.note


class Embedder:
    """The embed stage of one run, as the function `cached_rows` calls with the texts the cache
    lacks: it gets the encoder ready there (timed apart), so a run whose vectors are all cached
    loads no model. `device_` (None until then) and `load_seconds_` say what it did.
    `resolve_seconds`, the time `route_for` took, counts as loading the model when it is loaded."""

    def __init__(
        self,
        route: Route,
        settings: "EmbeddingConfig",
        progress: bool | None = None,
        compute: Compute | None = None,
        resolve_seconds: float = 0.0,
    ) -> None:
        self.route = route
        self.settings = settings
        self.progress = progress
        self.compute = compute
        self.resolve_seconds = resolve_seconds
        self.device_: str | None = None
        self.load_seconds_ = 0.0

    def __call__(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        self.device_ = pick_device(self.settings.device, self.route)
        source = self.route.source
        log.info("loading model %s (%s) for %s on %s", source.name, source.kind, self.route.describe(), self.device_)
        ready_encoder(self.route, self.device_, self.compute)
        self.load_seconds_ += time.perf_counter() - started
        log.info("embedding %d headlines", len(texts))
        return embed_texts(texts, self.route, self.settings.batch_size, self.progress, self.compute, self.device_)

    def result(self, vectors: np.ndarray, cache: Cache | None, seconds: float) -> Embedded:
        """The stage's result, given its vectors and its whole time (`seconds`, from `route_for` on)."""
        stats = cache.stats if cache is not None else CacheStats(enabled=False)
        if self.device_ is None:
            return Embedded(vectors, self.route, None, stats, {"embed": seconds})
        loading = self.resolve_seconds + self.load_seconds_
        return Embedded(vectors, self.route, self.device_, stats, {"embed": seconds - loading, "load_model": loading})


def given_vectors(vectors: np.ndarray, n_texts: int, cfg: "EmbeddingConfig") -> Embedded:
    """The embed stage's result for vectors a caller already has (e.g. a benchmark comparing
    systems on the same embeddings); they must come from `cfg.model`. Nothing is exported or
    loaded: the route is the backend the settings ask for."""
    if vectors.shape[0] != n_texts:
        raise ValueError(f"{vectors.shape[0]} vectors given for {n_texts} unique headlines")
    source = resolve_model(cfg.model)
    backend = pick_backend(cfg.backend, cfg.device, source)
    route = Route(source, model_folder(source), "", backend, "int8" if backend == "onnx" else "fp32")
    return Embedded(vectors, route, None, CacheStats(enabled=False))
