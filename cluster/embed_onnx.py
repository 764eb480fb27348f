"""The ONNX route of the embed stage (`embedding.backend: onnx`): the sentence-transformers model
exported once to ONNX with its mean pooling, its matrix products quantised to int8 (weights per
output channel, activations per batch), and run by onnxruntime.

On a CPU this embeds about 2.4 times as many headlines a second as the torch route
(benchmarks/cold_levers.py), and once the model is exported the embed stage imports neither torch
nor sentence-transformers (seconds saved at start-up).
The vectors are not the torch route's: their cosine to them is about 0.99, and
`benchmarks/quality.py` scores both routes (docs/benchmarks.md). The export needs torch and
transformers (installed with sentence-transformers); it runs once per model and machine, and the
result is kept in the cache folder's `models/`.

Only models made of a transformer, mean pooling and an optional normalisation can take this route
(`onnx_unsupported` says why a model cannot); `auto` then falls back to torch.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cluster.errors import ConfigError
from cluster.signals import signals_held

log = logging.getLogger(__name__)

# Bumped when the exported graph or its quantisation changes, so that old files stop matching.
ONNX_RECIPE = "mean-pooled-int8-matmul-per-channel-v1"
_MODULES_OK = {"sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling"}
_NORMALIZE = "sentence_transformers.models.Normalize"


def _modules(folder: Path) -> list[dict[str, Any]]:
    path = folder / "modules.json"
    if not path.exists():  # a plain transformers folder: sentence-transformers adds mean pooling
        return [{"type": "sentence_transformers.models.Transformer", "path": ""}]
    return list(json.loads(path.read_text(encoding="utf-8")))


def onnx_unsupported(folder: Path) -> str | None:
    """Why the model in `folder` cannot take the ONNX route, or None when it can."""
    try:
        modules = _modules(folder)
    except (OSError, ValueError) as exc:
        return f"modules.json unreadable ({type(exc).__name__})"
    kinds = [m.get("type") for m in modules]
    if kinds[:1] != ["sentence_transformers.models.Transformer"]:
        return "its first module is not a transformer"
    for kind in kinds[1:]:
        if kind not in _MODULES_OK | {_NORMALIZE}:
            return f"it has a {str(kind).rsplit('.', 1)[-1]} module"
    pooling = [m for m in modules if m.get("type") == "sentence_transformers.models.Pooling"]
    if pooling:
        try:
            settings = json.loads((folder / pooling[0]["path"] / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError):
            return "its pooling settings are unreadable"
        modes = [key for key, value in settings.items() if key.startswith("pooling_mode") and value]
        if modes != ["pooling_mode_mean_tokens"]:
            return f"it pools by {', '.join(modes) or 'nothing'}, not by the mean alone"
    if not (_transformer_folder(folder) / "tokenizer.json").exists():
        return "it has no tokenizer.json (a fast tokenizer)"
    return None


def _transformer_folder(folder: Path) -> Path:
    return folder / (_modules(folder)[0].get("path") or "")


def _max_length(folder: Path) -> int:
    """sentence-transformers' max_seq_length: the longest token sequence it embeds."""
    for name in ("sentence_bert_config.json", "sentence_xlnet_config.json"):
        path = folder / name
        if path.exists():
            settings = json.loads(path.read_text(encoding="utf-8"))
            if settings.get("max_seq_length"):
                return int(settings["max_seq_length"])
    return 512


def _lowercase(folder: Path) -> bool:
    path = folder / "sentence_bert_config.json"
    return path.exists() and bool(json.loads(path.read_text(encoding="utf-8")).get("do_lower_case"))


def export_int8(folder: Path, target: Path) -> None:
    """Export the transformer in `folder` with mean pooling to ONNX, quantise its matrix products
    to int8 and write the result to `target` (atomically: a crash leaves no half file)."""
    from cluster.embed import offline_environment

    offline_environment()
    with signals_held():  # see cluster.signals
        import torch
        from transformers import AutoModel
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = AutoModel.from_pretrained(str(_transformer_folder(folder))).eval()
    takes_types = "token_type_ids" in model.forward.__code__.co_varnames

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            extra = {"token_type_ids": token_type_ids} if takes_types else {}
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    example = torch.ones((2, 8), dtype=torch.int64)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    shapes = {**{name: {0: "batch", 1: "tokens"} for name in names}, "sentence_embedding": {0: "batch"}}
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        plain, quantised = Path(scratch) / "plain.onnx", Path(scratch) / "int8.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer notes on shapes the export handles
            torch.onnx.export(
                MeanPooled(),
                (example, example, torch.zeros_like(example)),
                str(plain),
                input_names=names,
                output_names=["sentence_embedding"],
                dynamic_axes=shapes,
                opset_version=17,
                dynamo=False,
            )
        # Per-channel int8 weights on the matrix products only: in a trial, a cruder quantisation
        # (per tensor, every operator) gave vectors at cosine 0.96 to the float ones; this one 0.99.
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # the quantiser logs "consider pre-processing" advice on the root logger
        try:
            quantize_dynamic(
                plain,
                quantised,
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=False,
                op_types_to_quantize=["MatMul"],
                extra_options={"DefaultTensorType": 1},  # float, where shape inference gives no type
            )
        finally:
            root.setLevel(level)
        os.replace(quantised, target)


_EXPORTED: dict[str, Path] = {}  # file name (a hash of model and recipe) -> a path this process wrote


def ensure_exported(folder: Path, target: Path) -> Path:
    """`target`, exported from the model in `folder` unless an earlier run already did. The export
    is deterministic, so a copy this process made for another cache folder is copied instead."""
    if not target.exists():
        earlier = _EXPORTED.get(target.name)
        if earlier is not None and earlier.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(suffix=".partial", dir=target.parent)
            os.close(handle)
            shutil.copyfile(earlier, partial)
            os.replace(partial, target)
        else:
            log.info("exporting the model to int8 ONNX, once per model and machine: %s", target)
            try:
                export_int8(folder, target)
            except Exception as exc:  # the model's files, torch's exporter, the quantiser or the disk
                raise ConfigError(
                    f"embedding.backend: exporting {folder.name} to ONNX failed ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); set embedding.backend to torch"
                ) from None
    _EXPORTED.setdefault(target.name, target)
    return target


@dataclass
class OnnxEncoder:
    """A loaded int8 ONNX model and its tokenizer; `encode` is the route's `model.encode`."""

    session: Any
    tokenizer: Any
    lowercase: bool
    takes_types: bool

    @classmethod
    def load(cls, folder: Path, path: Path, threads: int | None = None) -> "OnnxEncoder":
        """The model in `folder`, run from its exported file `path` (exported first if missing)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        ensure_exported(folder, path)
        options = ort.SessionOptions()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        options.intra_op_num_threads = threads or cores
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(_transformer_folder(folder) / "tokenizer.json"))
        tokenizer.no_padding()  # tokenizer.json may pad to a fixed length; batches pad to their longest
        tokenizer.enable_truncation(_max_length(folder))
        takes_types = "token_type_ids" in {i.name for i in session.get_inputs()}
        return cls(session, tokenizer, _lowercase(folder), takes_types)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 vectors, in order. The texts are sorted by token count and cut into
        batches (less padding), so a text's batch companions depend on `texts` alone."""
        if self.lowercase:
            texts = [text.lower() for text in texts]
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]
        order = sorted(range(len(ids)), key=lambda i: (-len(ids[i]), i))
        vectors = np.empty((len(texts), 0), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = len(ids[batch[0]])
            tokens = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros_like(tokens)
            for row, i in enumerate(batch):
                tokens[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            feed = {"input_ids": tokens, "attention_mask": mask}
            if self.takes_types:
                feed["token_type_ids"] = np.zeros_like(tokens)
            pooled = self.session.run(None, feed)[0]
            if vectors.shape[1] == 0:
                vectors = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors[batch] = pooled / np.maximum(norms, 1e-12)
        return vectors
