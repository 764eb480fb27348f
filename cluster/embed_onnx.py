"""The ONNX route of the embed stage (`embedding.backend: onnx`, or `auto` on a CPU): which models
it can run, and `OnnxEncoder`, which tokenises, batches by length and runs an exported file with
onnxruntime. Making and checking that file is `cluster.onnx_export`.

On a CPU the int8 export embeds about 2.4 times as many headlines a second as the torch route
(benchmarks/cold_levers.py), and once the model is exported the embed stage imports neither torch
nor sentence-transformers (seconds saved at start-up). The vectors are not the torch route's: for
the bundled model their cosine to them is about 0.99, and `benchmarks/quality.py` scores both
routes (docs/benchmarks.md).

Only models made of a transformer, mean pooling and an optional normalisation can take this route
(`onnx_unsupported` says why a model cannot); `auto` then falls back to torch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

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
    if not (transformer_folder(folder) / "tokenizer.json").exists():
        return "it has no tokenizer.json (a fast tokenizer)"
    return None


def transformer_folder(folder: Path) -> Path:
    """The transformer module's folder (its config, weights and tokenizer)."""
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


class OnnxEncoder:
    """An exported model file run by onnxruntime on the CPU, with the model's own tokenizer.
    `load` opens the file (it must exist: `cluster.onnx_export` makes and checks it)."""

    backend = "onnx"
    device = "cpu"

    def __init__(self, name: str, folder: Path, model_file: Path, threads: int | None = None) -> None:
        self.name = name
        self.folder = folder
        self.model_file = model_file
        self.threads = threads
        self.session_: Any = None
        self.tokenizer_: Any = None
        self.lowercase_ = False
        self.takes_types_ = False

    def load(self) -> "OnnxEncoder":
        """Open the file in onnxruntime (which raises on a damaged one) and the tokenizer."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        options.intra_op_num_threads = self.threads or cores
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(self.model_file), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(transformer_folder(self.folder) / "tokenizer.json"))
        tokenizer.no_padding()  # tokenizer.json may pad to a fixed length; batches pad to their longest
        tokenizer.enable_truncation(_max_length(self.folder))
        self.session_, self.tokenizer_ = session, tokenizer
        self.lowercase_ = _lowercase(self.folder)
        self.takes_types_ = "token_type_ids" in {i.name for i in session.get_inputs()}
        return self

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 vectors, in order. The texts are sorted by token count and cut into
        batches (less padding), so a text's batch companions depend on `texts` alone."""
        if self.lowercase_:
            texts = [text.lower() for text in texts]
        ids = [encoding.ids for encoding in self.tokenizer_.encode_batch(texts)]
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
            if self.takes_types_:
                feed["token_type_ids"] = np.zeros_like(tokens)
            pooled = self.session_.run(None, feed)[0]
            if vectors.shape[1] == 0:
                vectors = np.empty((len(texts), pooled.shape[1]), dtype=np.float32)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors[batch] = pooled / np.maximum(norms, 1e-12)
        return vectors
