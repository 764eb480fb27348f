"""The ONNX route's model file: exported once per model and machine, checked against the model,
and checked again whenever it is loaded.

The export traces the model's transformer with its mean pooling to ONNX (torch's exporter) and
quantises the weights of its matrix products to int8, per output channel (onnxruntime's dynamic
quantisation: activations are scaled per batch). Most models survive that (the bundled MiniLM at
cosine 0.993 to its torch vectors); some do not (all-mpnet-base-v2: 0.014, garbage that a run
would cluster without a word). So the export embeds a fixed probe of headlines and compares them
with the torch model's vectors: a drifting int8 file is not kept, and the fp32 export takes its
place if it matches, else the route falls back to torch.

The verdict goes into a small JSON sidecar beside the file, with the kept file's sha256: later
runs read the route from it without probing again or importing torch, and a loaded file whose
bytes differ (truncated, overwritten) is exported again. Files in the cache's `models/`:
`<name>.onnx` (int8), `<name>.fp32.onnx` (only when int8 drifts and fp32 matches), `<name>.json`.
The export needs torch and transformers (installed with sentence-transformers).
"""

from __future__ import annotations

import dataclasses
import hashlib
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

from cluster.embed_onnx import OnnxEncoder, transformer_folder
from cluster.encoders import ModelSource, TorchEncoder, offline_environment
from cluster.errors import ConfigError
from cluster.signals import signals_held
from cluster.store.cached import cache_key

log = logging.getLogger(__name__)

# Bumped when the exported graph or its quantisation changes, so that old files and vectors stop matching.
ONNX_RECIPE = "mean-pooled-int8-matmul-per-channel-v1"
ONNX_FP32_RECIPE = "mean-pooled-fp32-v1"

# Realistic headlines of many kinds (names, numbers, sport, science, quotes), fixed so that a
# verdict is comparable from machine to machine; changing them makes every export check again.
PROBE_HEADLINES = (
    "Fed holds interest rates steady, signals two cuts later this year",
    "Oil prices jump after OPEC+ agrees to extend production cuts",
    "Apple unveils iPhone with satellite messaging for emergencies",
    "Magnitude 7.1 earthquake strikes off Japan's north-east coast",
    "Senate passes $1.2tn infrastructure bill after months of talks",
    "Manchester United sack manager after run of five defeats",
    "WHO warns of rising measles cases across Europe",
    "Tesla recalls 2 million cars over Autopilot safety concerns",
    "Wildfires force thousands to evacuate in southern California",
    "Scientists detect water vapour on distant exoplanet K2-18b",
    "Malaysia Airlines MH370: search zone shifts after new satellite data",
    "Pritzker prize goes to Japanese architect Shigeru Ban",
    "Wu-Tang Clan to sell a single copy of secret album",
    "Bitcoin slides below $30,000 as regulators tighten rules",
    "Strike halts trains across Germany for second day",
    "UN climate talks end with deal on loss and damage fund",
    "Samsung profit falls 60% on weak demand for memory chips",
    "Serena Williams announces retirement after US Open",
    "'We will not back down,' says Zelensky as talks stall",
    "Floods in Pakistan leave a third of the country under water",
    "Study links ultra-processed food to higher risk of heart disease",
    "Amazon to cut 18,000 jobs as tech layoffs spread",
    "Eurovision 2024: Switzerland's Nemo wins in Malmö",
    "Police arrest suspect after shooting at Texas shopping mall",
)
PROBE_BATCH = 64  # the probe in one batch, as a run embeds a chunk's shortest headlines together
# An export is kept when its probe vectors' cosines to the torch model's have a mean of at least
# MIN_MEAN_COSINE and none below MIN_COSINE. The bundled MiniLM's int8 export scores about 0.993
# (0.968 at worst over a 31k-headline week, with that week's topic scores within 0.005 of torch's),
# a broken one far lower (0.014): the bounds leave MiniLM a margin and refuse any export whose
# nearest neighbours, and so its topics, would move noticeably.
MIN_MEAN_COSINE = 0.98
MIN_COSINE = 0.90


@dataclass(frozen=True)
class Agreement:
    """How closely an export's vectors follow the torch model's on the probe headlines."""

    mean: float
    lowest: float

    @property
    def matches(self) -> bool:
        """Judged by today's bounds, so that a sidecar written under other bounds is judged anew."""
        return self.mean >= MIN_MEAN_COSINE and self.lowest >= MIN_COSINE

    def describe(self) -> str:
        return (
            f"cosine to the model's vectors: mean {self.mean:.3f}, lowest {self.lowest:.3f} on "
            f"{len(PROBE_HEADLINES)} probe headlines; needs at least {MIN_MEAN_COSINE} and {MIN_COSINE}"
        )


@dataclass(frozen=True)
class ExportVerdict:
    """What the check of one model's export found, and the sha256 of the file it kept."""

    int8: Agreement
    fp32: Agreement | None  # checked only when int8 drifts
    sha256: dict[str, str] = dataclasses.field(default_factory=dict)  # precision -> digest of the kept file

    @property
    def precision(self) -> str | None:
        """The export to run: "int8", "fp32", or None when neither matches (the torch route)."""
        if self.int8.matches:
            return "int8"
        return "fp32" if self.fp32 is not None and self.fp32.matches else None

    @property
    def decided(self) -> bool:
        """False when int8 drifts by today's bounds but fp32 was never checked."""
        return self.int8.matches or self.fp32 is not None


def export_name(fingerprint: str) -> str:
    """The stem of a model's export files: its files' fingerprint and the export recipes."""
    return cache_key("onnx export", fingerprint, ONNX_RECIPE, ONNX_FP32_RECIPE)


def model_path(models_dir: Path, name: str, precision: str) -> Path:
    return models_dir / (f"{name}.onnx" if precision == "int8" else f"{name}.{precision}.onnx")


def _sidecar(models_dir: Path, name: str) -> Path:
    return models_dir / f"{name}.json"


def _probe_digest() -> str:
    return cache_key(list(PROBE_HEADLINES), PROBE_BATCH)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_verdict(models_dir: Path, name: str) -> ExportVerdict | None:
    """The verdict recorded beside the export, or None when there is none for today's recipes and
    probe (or it cannot be read: then the export is checked again)."""
    try:
        record = json.loads(_sidecar(models_dir, name).read_text(encoding="utf-8"))
        if record.get("recipe") != [ONNX_RECIPE, ONNX_FP32_RECIPE] or record.get("probe") != _probe_digest():
            return None
        fp32 = Agreement(**record["fp32"]) if record["fp32"] is not None else None
        return ExportVerdict(Agreement(**record["int8"]), fp32, {str(k): str(v) for k, v in record["sha256"].items()})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_verdict(models_dir: Path, name: str, verdict: ExportVerdict) -> None:
    """Write the sidecar atomically: a reader sees the old one or the new one."""
    record = {"recipe": [ONNX_RECIPE, ONNX_FP32_RECIPE], "probe": _probe_digest(), **dataclasses.asdict(verdict)}
    handle, partial = tempfile.mkstemp(suffix=".partial", dir=models_dir)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(record, out, indent=1)
    os.replace(partial, _sidecar(models_dir, name))


_KNOWN: dict[str, Path] = {}  # export name -> a models folder this process found or made it in


def checked_export(source: ModelSource, folder: Path, models_dir: Path, name: str) -> ExportVerdict:
    """The verdict on the model's export, from its sidecar. Without one (a machine's first run),
    the export is made and checked here, loading torch once; a copy this process already made
    for another cache folder is copied instead (the export is deterministic)."""
    verdict = read_verdict(models_dir, name)
    if verdict is None or not verdict.decided:
        try:
            verdict = _copied(models_dir, name) or _establish(source, folder, models_dir, name)
        except OSError as exc:  # a models folder that cannot be written (read-only, full disk)
            raise _export_failed(folder, exc) from None
    _KNOWN.setdefault(name, models_dir)
    return verdict


def _copied(models_dir: Path, name: str) -> ExportVerdict | None:
    """The export and its verdict copied from another models folder of this process, if sound."""
    earlier = _KNOWN.get(name)
    verdict = read_verdict(earlier, name) if earlier is not None and earlier != models_dir else None
    if earlier is None or verdict is None or not verdict.decided:
        return None
    files = {precision: model_path(earlier, name, precision) for precision in verdict.sha256}
    if not all(path.exists() and file_sha256(path) == verdict.sha256[p] for p, path in files.items()):
        return None
    models_dir.mkdir(parents=True, exist_ok=True)
    for precision, path in files.items():
        handle, partial = tempfile.mkstemp(suffix=".partial", dir=models_dir)
        os.close(handle)
        shutil.copyfile(path, partial)
        os.replace(partial, model_path(models_dir, name, precision))
    _write_verdict(models_dir, name, verdict)
    return verdict


def _establish(source: ModelSource, folder: Path, models_dir: Path, name: str) -> ExportVerdict:
    """Export, compare int8 (then, if it drifts, fp32) with the torch model on the probe, keep the
    file that matches and record the verdict."""
    log.info("exporting %s to ONNX and checking it against the model, once per model and machine", source.name)
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir) as scratch:
        files = _exported(folder, Path(scratch))
        reference = TorchEncoder(source, "cpu").load().encode(list(PROBE_HEADLINES), PROBE_BATCH)
        int8 = _agreement(reference, _probe_vectors(source, folder, files["int8"]))
        log.info("int8 export of %s: %s", source.name, int8.describe())
        fp32 = None
        if not int8.matches:
            fp32 = _agreement(reference, _probe_vectors(source, folder, files["fp32"]))
            log.info("fp32 export of %s: %s", source.name, fp32.describe())
        precision = ExportVerdict(int8, fp32).precision
        digests = {}
        if precision is not None:
            kept = model_path(models_dir, name, precision)
            os.replace(files[precision], kept)
            digests[precision] = file_sha256(kept)
    verdict = ExportVerdict(int8, fp32, digests)
    _write_verdict(models_dir, name, verdict)
    return verdict


def _probe_vectors(source: ModelSource, folder: Path, model_file: Path) -> np.ndarray:
    return OnnxEncoder(source.name, folder, model_file).load().encode(list(PROBE_HEADLINES), PROBE_BATCH)


def _agreement(reference: np.ndarray, vectors: np.ndarray) -> Agreement:
    cosines = np.sum(reference.astype(np.float64) * vectors, axis=1)
    return Agreement(mean=round(float(cosines.mean()), 6), lowest=round(float(cosines.min()), 6))


def load_checked(name: str, folder: Path, model_file: Path, precision: str) -> OnnxEncoder:
    """The encoder of `model_file`, loaded after `ensure_file`; a file onnxruntime still cannot
    load (a new onnxruntime, say) is exported again once, with a warning."""
    ensure_file(folder, model_file, precision)
    try:
        return OnnxEncoder(name, folder, model_file).load()
    except Exception as exc:  # onnxruntime's own error types, for a file it cannot read
        log.warning("the exported model %s cannot be loaded (%s); exporting it again", model_file, _first_line(exc))
        _rebuild(folder, model_file, precision)
        return OnnxEncoder(name, folder, model_file).load()


def ensure_file(folder: Path, model_file: Path, precision: str) -> Path:
    """`model_file`, checked against the sha256 its sidecar recorded; exported again (with a
    warning) when it is missing, damaged or has no record. The verdict stays: it belongs to the
    model and the recipe, and the export is deterministic."""
    verdict = read_verdict(model_file.parent, _name_of(model_file))
    expected = verdict.sha256.get(precision) if verdict is not None else None
    if model_file.exists() and expected is not None and file_sha256(model_file) == expected:
        return model_file
    if not model_file.exists():
        log.info("the exported model %s is missing; exporting it again", model_file)
    elif expected is None:
        log.warning("the exported model %s has no recorded sha256 to check it by; exporting it again", model_file)
    else:
        log.warning(
            "the exported model %s is damaged (not the bytes recorded at export); exporting it again", model_file
        )
    _rebuild(folder, model_file, precision)
    return model_file


def _name_of(model_file: Path) -> str:
    return model_file.name.split(".", 1)[0]


def _rebuild(folder: Path, model_file: Path, precision: str) -> None:
    """Export again, keep the `precision` file and record its new sha256 in the sidecar."""
    models_dir, name = model_file.parent, _name_of(model_file)
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=models_dir) as scratch:
            os.replace(_exported(folder, Path(scratch))[precision], model_file)
        verdict = read_verdict(models_dir, name)
        if verdict is not None:
            digests = {**verdict.sha256, precision: file_sha256(model_file)}
            _write_verdict(models_dir, name, dataclasses.replace(verdict, sha256=digests))
    except OSError as exc:
        raise _export_failed(folder, exc) from None


def _exported(folder: Path, scratch: Path) -> dict[str, Path]:
    """The fp32 and int8 exports of the model in `folder`, written into `scratch`; a failure of
    the model's files, torch's exporter, the quantiser or the disk is one ConfigError."""
    files = {"fp32": scratch / "plain.onnx", "int8": scratch / "int8.onnx"}
    try:
        _export_fp32(folder, files["fp32"])
        _quantise_int8(files["fp32"], files["int8"])
    except Exception as exc:
        raise _export_failed(folder, exc) from None
    return files


def _export_failed(folder: Path, exc: Exception) -> ConfigError:
    return ConfigError(
        f"embedding.backend: exporting {folder.name} to ONNX failed ({type(exc).__name__}: "
        f"{_first_line(exc)[:200]}); set embedding.backend to torch"
    )


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else ""


def _export_fp32(folder: Path, target: Path) -> None:
    """Trace the transformer in `folder` with mean pooling to ONNX (fp32), at `target`."""
    offline_environment()
    with signals_held():  # see cluster.signals
        import torch
        from transformers import AutoModel

    model = AutoModel.from_pretrained(str(transformer_folder(folder))).eval()
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
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes on shapes the export handles
        torch.onnx.export(
            MeanPooled(),
            (example, example, torch.zeros_like(example)),
            str(target),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes=shapes,
            opset_version=17,
            dynamo=False,
        )


def _quantise_int8(plain: Path, target: Path) -> None:
    """Per-channel int8 weights on the matrix products only: in a trial, a cruder quantisation
    (per tensor, every operator) gave vectors at cosine 0.96 to the float ones; this one 0.99."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs "consider pre-processing" advice on the root logger
    try:
        quantize_dynamic(
            plain,
            target,
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=False,
            op_types_to_quantize=["MatMul"],
            extra_options={"DefaultTensorType": 1},  # float, where shape inference gives no type
        )
    finally:
        root.setLevel(level)
