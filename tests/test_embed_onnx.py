"""The ONNX route of the embed stage: chosen on a CPU by default, close to the torch route's
vectors, exported once into the cache, never mixed with torch vectors, refused clearly where it
cannot run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cluster.config import EmbeddingConfig
from cluster.embed import Embedded, Embedder, embed_texts, pick_backend, resolve_model, route_for
from cluster.embed_onnx import onnx_unsupported
from cluster.errors import ConfigError
from cluster.store import Cache
from cluster.store.cached import cache_key, cached_rows

HEADLINES = [
    "Fukushima worker dies after accident at nuclear plant",
    "Worker killed in Fukushima plant accident, cleanup halted",
    "Wu-Tang Clan to sell just one copy of secret album",
    "Architect Shigeru Ban wins 2014 Pritzker prize",
    "Pritzker architecture prize goes to Japan's Shigeru Ban",
    "Only one copy of new Wu-Tang album will be sold",
]


def embed_headlines(texts: list[str], settings: EmbeddingConfig, cache: Cache | None) -> Embedded:
    """The embed stage as the pipeline runs it: the route, then the stage inside the cache."""
    route = route_for(settings, cache)
    embedder = Embedder(route, settings, progress=False)
    return embedder.result(cached_rows(cache, cache_key(*route.key_parts), texts, embedder), cache, 0.0)


def test_default_route_on_a_cpu_is_onnx_and_its_vectors_are_close_to_torch(tmp_path):
    import logging

    level = logging.getLogger().level
    with Cache(tmp_path / "cache") as cache:
        onnx = embed_headlines(HEADLINES, EmbeddingConfig(device="cpu"), cache)
        assert onnx.backend == "onnx" and onnx.route.precision == "int8" and onnx.stats.misses == len(HEADLINES)
        assert onnx.note is None, "the bundled model passes the int8 check: no fallback, nothing to note"
        exported = list((tmp_path / "cache" / "models").glob("*.onnx"))
        assert len(exported) == 1, "the exported model is kept in the cache"
        assert logging.getLogger().level == level, "quieting the quantiser leaves the run's logging as it was"
        # the two routes' vectors are stored apart: torch finds none of the onnx ones
        torch = embed_headlines(HEADLINES, EmbeddingConfig(device="cpu", backend="torch"), cache)
        assert torch.backend == "torch" and torch.stats.misses == len(HEADLINES)
    np.testing.assert_allclose(np.linalg.norm(onnx.vectors, axis=1), 1.0, rtol=1e-5)
    cosine = np.sum(onnx.vectors * torch.vectors, axis=1)
    assert cosine.min() > 0.98, cosine
    similarity = onnx.vectors @ onnx.vectors.T
    np.fill_diagonal(similarity, -1)
    assert similarity.argmax(axis=1).tolist() == [1, 0, 5, 4, 3, 2], "each headline's closest is its story's twin"


def test_onnx_vectors_are_the_same_bits_on_every_call_and_from_a_reused_export(tmp_path):
    with Cache(tmp_path / "a") as cache:
        first = embed_headlines(HEADLINES, EmbeddingConfig(device="cpu"), cache)
        model = next((tmp_path / "a" / "models").glob("*.onnx"))
        written = model.stat().st_mtime_ns
    with Cache(tmp_path / "b") as cache:
        second = embed_headlines(HEADLINES[::-1], EmbeddingConfig(device="cpu"), cache)
    with Cache(tmp_path / "a") as cache:
        route = route_for(EmbeddingConfig(device="cpu"), cache)
    assert route.model_file == model and model.stat().st_mtime_ns == written, "the export is made once"
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
    folder = _model_folder(tmp_path / "broken", [TRANSFORMER, POOLING], {"pooling_mode_mean_tokens": True})
    with Cache(tmp_path / "cache") as cache:
        with pytest.raises(
            ConfigError, match=r"exporting broken to ONNX failed \(.*\); set embedding.backend to torch"
        ):
            route_for(EmbeddingConfig(model=str(folder), device="cpu"), cache)
    assert not list((tmp_path / "cache" / "models").iterdir()), "no half export and no verdict left behind"


def _drifting_model(folder: Path) -> Path:
    """The bundled MiniLM cut to two layers, with one hidden dimension that every layer's
    attention LayerNorm sets to exactly zero and that the next matrix product weighs by 10^4.
    The fp32 model is unchanged by that weight (it multiplies a zero), but int8 quantisation
    scales each output channel by its largest weight, so every other weight rounds to zero: a
    real export that drifts, as all-mpnet-base-v2's does."""
    import shutil

    from safetensors.numpy import load_file, save_file

    bundled = Path(resolve_model("all-MiniLM-L6-v2").location)
    shutil.copytree(bundled, folder, ignore=shutil.ignore_patterns("model.safetensors", "*.md", "data_config.json"))
    weights = load_file(str(bundled / "model.safetensors"))
    dropped = tuple(f"encoder.layer.{layer}." for layer in range(2, 6))
    weights = {name: value for name, value in weights.items() if not name.startswith(dropped)}
    for layer in (0, 1):
        prefix = f"encoder.layer.{layer}."
        weights[prefix + "attention.output.LayerNorm.weight"][0] = 0.0
        weights[prefix + "attention.output.LayerNorm.bias"][0] = 0.0
        weights[prefix + "intermediate.dense.weight"][:, 0] = 1e4
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 2}))
    return folder


@pytest.fixture(scope="module")
def drifting(tmp_path_factory) -> tuple[Path, Path]:
    """A model whose int8 export drifts, and a cache in which its export was checked once."""
    folder = _drifting_model(tmp_path_factory.mktemp("models") / "drifting")
    cache_dir = tmp_path_factory.mktemp("drift-cache")
    with Cache(cache_dir) as cache:
        route_for(EmbeddingConfig(model=str(folder), device="cpu"), cache)
    return folder, cache_dir


def test_an_int8_export_that_drifts_falls_back_to_fp32_with_a_note(drifting, tmp_path, caplog):
    folder, cache_dir = drifting
    settings = EmbeddingConfig(model=str(folder), device="cpu")
    with Cache(tmp_path / "cache") as cache:  # the check again (copied from the fixture's cache)
        onnx = embed_headlines(HEADLINES, settings, cache)
        torch = embed_headlines(HEADLINES, settings.model_copy(update={"backend": "torch"}), cache)
    assert (onnx.backend, onnx.route.precision) == ("onnx", "fp32")
    assert onnx.route.model_file.name.endswith(".fp32.onnx") and onnx.route.model_file.exists()
    assert "drifts from the model" in onnx.note and "embedded with the fp32 ONNX export" in onnx.note
    assert "drifts from the model" in caplog.text
    assert np.sum(onnx.vectors * torch.vectors, axis=1).min() > 0.999, "the fp32 export matches the model"
    verdict = json.loads(next((cache_dir / "models").glob("*.json")).read_text())
    assert verdict["int8"]["mean"] < 0.98 and verdict["fp32"]["mean"] > 0.999
    kept = [path.name.split(".", 1)[1] for path in (cache_dir / "models").glob("*.onnx")]
    assert kept == ["fp32.onnx"], "the drifting int8 file is not kept"


def test_the_verdict_is_remembered_so_later_runs_neither_probe_nor_load_torch(drifting, monkeypatch):
    import cluster.onnx_export

    folder, cache_dir = drifting

    def refuse(*args, **kwargs):
        raise AssertionError("probed again")

    monkeypatch.setattr(cluster.onnx_export, "_establish", refuse)
    monkeypatch.setattr(cluster.onnx_export.TorchEncoder, "load", refuse)
    with Cache(cache_dir) as cache:
        route = route_for(EmbeddingConfig(model=str(folder), device="cpu"), cache)
    assert route.precision == "fp32" and "drifts" in route.note


def test_asking_for_onnx_with_a_drifting_export_is_refused_in_one_line(drifting):
    folder, cache_dir = drifting
    one_line = r"^embedding.backend: onnx: the int8 ONNX export of .* drifts from the model \(.*\); set .* to torch$"
    with Cache(cache_dir) as cache:
        with pytest.raises(ConfigError, match=one_line):
            route_for(EmbeddingConfig(model=str(folder), device="cpu", backend="onnx"), cache)


def test_when_no_export_matches_auto_takes_torch_with_a_note(drifting, monkeypatch):
    import cluster.onnx_export

    folder, cache_dir = drifting
    monkeypatch.setattr(cluster.onnx_export, "MIN_MEAN_COSINE", 1.01)  # the recorded fp32 check fails too
    with Cache(cache_dir) as cache:
        route = route_for(EmbeddingConfig(model=str(folder), device="cpu"), cache)
    assert (route.backend, route.model_file) == ("torch", None)
    assert "; embedded with torch, as the fp32 export drifts too" in route.note


def test_a_truncated_export_is_rebuilt_with_a_warning(tmp_path, caplog, monkeypatch):
    import cluster.embed

    with Cache(tmp_path) as cache:
        route = route_for(EmbeddingConfig(device="cpu"), cache)
    first = embed_texts(HEADLINES, route, progress=False)
    intact = route.model_file.read_bytes()
    route.model_file.write_bytes(intact[: len(intact) // 2])
    monkeypatch.setattr(cluster.embed, "_ENCODERS", {})  # as in a new process: nothing loaded yet
    again = embed_texts(HEADLINES, route, progress=False)
    assert "damaged" in caplog.text and "exporting it again" in caplog.text
    assert route.model_file.read_bytes() == intact, "rebuilt, byte for byte"
    assert np.array_equal(first, again)
