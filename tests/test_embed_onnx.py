"""The ONNX route of the embed stage: chosen on a CPU by default, close to the torch route's
vectors, exported once into the cache, never mixed with torch vectors, refused clearly where it
cannot run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cluster.config import EmbeddingConfig
from cluster.embed import embed_headlines, pick_backend, resolve_model, route_for
from cluster.embed_onnx import onnx_unsupported
from cluster.errors import ConfigError
from cluster.store import Cache

HEADLINES = [
    "Fukushima worker dies after accident at nuclear plant",
    "Worker killed in Fukushima plant accident, cleanup halted",
    "Wu-Tang Clan to sell just one copy of secret album",
    "Architect Shigeru Ban wins 2014 Pritzker prize",
    "Pritzker architecture prize goes to Japan's Shigeru Ban",
    "Only one copy of new Wu-Tang album will be sold",
]


def test_default_route_on_a_cpu_is_onnx_and_its_vectors_are_close_to_torch(tmp_path):
    import logging

    level = logging.getLogger().level
    with Cache(tmp_path / "cache") as cache:
        onnx = embed_headlines(HEADLINES, EmbeddingConfig(device="cpu"), cache, progress=False)
        assert onnx.backend == "onnx" and onnx.stats.misses == len(HEADLINES)
        exported = list((tmp_path / "cache" / "models").glob("*.onnx"))
        assert len(exported) == 1, "the exported model is kept in the cache"
        assert logging.getLogger().level == level, "quieting the quantiser leaves the run's logging as it was"
        # the two routes' vectors are stored apart: torch finds none of the onnx ones
        torch = embed_headlines(HEADLINES, EmbeddingConfig(device="cpu", backend="torch"), cache, progress=False)
        assert torch.backend == "torch" and torch.stats.misses == len(HEADLINES)
    np.testing.assert_allclose(np.linalg.norm(onnx.vectors, axis=1), 1.0, rtol=1e-5)
    cosine = np.sum(onnx.vectors * torch.vectors, axis=1)
    assert cosine.min() > 0.98, cosine
    similarity = onnx.vectors @ onnx.vectors.T
    np.fill_diagonal(similarity, -1)
    assert similarity.argmax(axis=1).tolist() == [1, 0, 5, 4, 3, 2], "each headline's closest is its story's twin"


def test_onnx_vectors_are_the_same_bits_on_every_call_and_from_a_reused_export(tmp_path):
    with Cache(tmp_path / "a") as cache:
        first = embed_headlines(HEADLINES, EmbeddingConfig(device="cpu"), cache, progress=False)
        model = next((tmp_path / "a" / "models").glob("*.onnx"))
        written = model.stat().st_mtime_ns
    with Cache(tmp_path / "b") as cache:
        second = embed_headlines(HEADLINES[::-1], EmbeddingConfig(device="cpu"), cache, progress=False)
    with Cache(tmp_path / "a") as cache:
        route = route_for(EmbeddingConfig(device="cpu"), cache)
    assert route.onnx_file == model and model.stat().st_mtime_ns == written, "the export is made once"
    assert np.array_equal(first.vectors[::-1], second.vectors)


def _model_folder(tmp_path, modules: list[dict], pooling: dict | None = None):
    tmp_path.mkdir()
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "tokenizer.json").write_text("{}")
    if pooling is not None:
        (tmp_path / "1_Pooling").mkdir()
        (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return tmp_path


TRANSFORMER = {"type": "sentence_transformers.models.Transformer", "path": ""}
POOLING = {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"}


def test_models_the_onnx_route_cannot_run_are_named_with_the_reason(tmp_path):
    bundled = resolve_model("all-MiniLM-L6-v2")
    assert onnx_unsupported(Path(bundled.location)) is None
    mean = _model_folder(tmp_path / "mean", [TRANSFORMER, POOLING], {"pooling_mode_mean_tokens": True})
    assert onnx_unsupported(mean) is None
    cls = _model_folder(tmp_path / "cls", [TRANSFORMER, POOLING], {"pooling_mode_cls_token": True})
    assert "pools by pooling_mode_cls_token" in onnx_unsupported(cls)
    dense = _model_folder(
        tmp_path / "dense",
        [TRANSFORMER, POOLING, {"type": "sentence_transformers.models.Dense", "path": "2_Dense"}],
        {"pooling_mode_mean_tokens": True},
    )
    assert onnx_unsupported(dense) == "it has a Dense module"
    # auto falls back to torch for such a model; asking for onnx is one clear error
    source = resolve_model(str(cls))
    assert pick_backend("auto", "cpu", source) == "torch"
    with pytest.raises(ConfigError, match=r"embedding.backend: .* cannot take the onnx route: it pools by"):
        pick_backend("onnx", "cpu", source)


def test_onnx_on_a_gpu_device_is_refused_and_auto_leaves_gpus_to_torch():
    source = resolve_model("all-MiniLM-L6-v2")
    with pytest.raises(ConfigError, match="embedding.backend: onnx runs on the CPU"):
        pick_backend("onnx", "cuda", source)
    assert pick_backend("auto", "cuda:0", source) == "torch"
    assert pick_backend("auto", "cpu", source) == "onnx"
    assert pick_backend("torch", "cpu", source) == "torch"


def test_a_model_that_cannot_be_exported_is_one_clear_error(tmp_path):
    from cluster.embed_onnx import ensure_exported

    folder = _model_folder(tmp_path / "broken", [TRANSFORMER, POOLING], {"pooling_mode_mean_tokens": True})
    with pytest.raises(ConfigError, match=r"exporting broken to ONNX failed \(.*\); set embedding.backend to torch"):
        ensure_exported(folder, tmp_path / "models" / "broken.onnx")
    assert not (tmp_path / "models" / "broken.onnx").exists()
