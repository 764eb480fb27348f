"""The embed stage: which model a setting means, offline; unit vectors; the store in between."""

from __future__ import annotations

import numpy as np
import pytest

from cluster.config import EmbeddingConfig
from cluster.embed import Embedded, Embedder, given_vectors, resolve_model, route_for
from cluster.errors import ConfigError
from cluster.store import Cache
from cluster.store.cached import cache_key, cached_rows

HEADLINES = [
    "Fukushima worker dies after accident at nuclear plant",
    "Worker killed in Fukushima plant accident, cleanup halted",
    "Wu-Tang Clan to sell just one copy of secret album",
    "Architect Shigeru Ban wins 2014 Pritzker prize",
]


def embed_headlines(texts: list[str], settings: EmbeddingConfig, cache: Cache | None) -> Embedded:
    """The embed stage as the pipeline runs it: the route, then the stage inside the cache."""
    route = route_for(settings, cache)
    embedder = Embedder(route, settings, progress=False)
    return embedder.result(cached_rows(cache, cache_key(*route.key_parts), texts, embedder), cache, 0.0)


def test_model_settings_resolve_without_a_network(tmp_path):
    bundled = resolve_model("all-MiniLM-L6-v2")
    assert bundled.kind == "bundled" and bundled.name == "all-MiniLM-L6-v2"
    assert resolve_model(str(tmp_path)).kind == "local folder"
    assert resolve_model("someone/some-model").kind == "hub name"
    with pytest.raises(ConfigError, match="folder not found"):
        resolve_model("./no/such/model")
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(ConfigError, match="is a file"):
        resolve_model(str(tmp_path / "weights.bin"))


def test_embeddings_are_unit_vectors_and_a_second_call_reads_them_from_the_store(tmp_path):
    with Cache(tmp_path) as cache:
        first = embed_headlines(HEADLINES, EmbeddingConfig(device="cpu"), cache)
    assert first.vectors.dtype == np.float32 and first.vectors.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(first.vectors, axis=1), 1.0, rtol=1e-5)
    similarity = first.vectors @ first.vectors.T
    assert similarity[0, 1] > similarity[0, 2] and similarity[0, 1] > similarity[0, 3], "same story, closest"
    assert first.device == "cpu" and first.stats.misses == 4 and first.stats.stored == 4
    with Cache(tmp_path) as cache:
        again = embed_headlines([HEADLINES[2], HEADLINES[0]], EmbeddingConfig(device="cpu"), cache)
    assert again.device is None, "every vector came from the store: no model was loaded"
    assert again.stats.hits == 2 and np.array_equal(again.vectors, first.vectors[[2, 0]])


def test_vectors_given_by_a_caller_must_fit_the_headlines():
    with pytest.raises(ValueError, match="3 vectors given for 4 unique headlines"):
        given_vectors(np.zeros((3, 384), dtype=np.float32), 4, EmbeddingConfig())
    given = given_vectors(np.zeros((4, 384), dtype=np.float32), 4, EmbeddingConfig(device="cpu"))
    assert (given.source.name, given.backend, given.device, given.note) == ("all-MiniLM-L6-v2", "onnx", None, None)


# A fully cached run in a fresh interpreter, reporting which heavy libraries it imported.
WARM_RUN = """
import json, sys
from pathlib import Path
from cluster.config import EmbeddingConfig
from cluster.embed import Embedder, route_for
from cluster.store import Cache
from cluster.store.cached import cache_key, cached_rows
settings = EmbeddingConfig(device="cpu")
with Cache(Path(sys.argv[1])) as cache:
    route = route_for(settings, cache)
    embedder = Embedder(route, settings, progress=False)
    cached_rows(cache, cache_key(*route.key_parts), json.loads(sys.argv[2]), embedder)
heavy = ("torch", "sentence_transformers", "transformers", "onnxruntime", "tokenizers")
print(json.dumps({"device": embedder.device_, "imported": sorted(m for m in heavy if m in sys.modules)}))
"""


def test_when_every_vector_is_cached_no_model_and_no_heavy_library_is_loaded(tmp_path):
    import json
    import subprocess
    import sys

    with Cache(tmp_path) as cache:
        embed_headlines(HEADLINES, EmbeddingConfig(device="cpu"), cache)
    done = subprocess.run(
        [sys.executable, "-c", WARM_RUN, str(tmp_path), json.dumps(HEADLINES)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"device": None, "imported": []}
