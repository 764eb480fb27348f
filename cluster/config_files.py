"""From a config file, `--set` overrides and CLI flags to one validated `Config`.

The layers apply in order (built-in defaults, the file, `--set`, flags) and are validated once,
at the end. Paths in a file are relative to the file. Unknown keys and bad values are refused
with the key's full path, one `section.key: reason` per problem (`ConfigError`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from cluster.config import Config
from cluster.errors import ConfigError


def _describe(error: ErrorDetails, model: type[BaseModel]) -> str:
    """One readable line for one pydantic error: `section.key: reason`."""
    loc = [str(part) for part in error["loc"] if not str(part).startswith(("function-after", "literal["))]
    # pydantic names union branches in the location (`int`, `str`); they mean nothing to a user.
    loc = [part for part in loc if part not in {"int", "str", "list[str]", "bool", "float", "date", "none"}]
    path = ".".join(loc) or "(top level)"
    kind = error["type"]
    got = error.get("input")
    ctx = error.get("ctx", {})
    if kind == "extra_forbidden":
        return f"{path}: unknown key (allowed here: {_allowed_keys(model, loc[:-1])})"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        sign = {"greater_than_equal": "≥", "greater_than": ">", "less_than_equal": "≤", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()))
        return f"{path}: must be {sign} {bound}, got {got!r}"
    if kind == "literal_error":
        return f"{path}: must be one of {ctx.get('expected')}, got {got!r}"
    if kind in {"model_type", "dict_type"}:
        return f"{path}: must be a mapping of keys, got {got!r}"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if kind == "value_error":
        return f"{path}: {message}"
    return f"{path}: {message[0].lower() + message[1:]}, got {got!r}"


def _allowed_keys(model: type[BaseModel], loc: list[str]) -> str:
    """The keys of the section at `loc`: next to an unknown key, the spellings that would work."""
    for part in loc:
        field = model.model_fields.get(part)
        if field is None or not isinstance(field.annotation, type) or not issubclass(field.annotation, BaseModel):
            break
        model = field.annotation
    return ", ".join(model.model_fields)


def _validate(data: dict[str, Any]) -> Config:
    """Build the `Config`, or one `ConfigError` naming every bad key, so one edit can fix them all."""
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # Union fields report one error per branch; the most useful one is the first we can phrase.
        seen: list[str] = []
        for error in errors:
            line = _describe(error, Config)
            if line.split(":")[0] not in [s.split(":")[0] for s in seen]:
                seen.append(line)
        raise ConfigError("; ".join(seen)) from None


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML config file into a dict, with the line number on a syntax error."""
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 (byte offset {exc.start})") from None
    except OSError as exc:  # a folder, no permission...
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start:
            problem += f" ({context} that starts on line {start.line + 1})"
        raise ConfigError(f"config file {path}:{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping of sections, got {type(data).__name__}")
    return data


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `section.key=value` strings; the value is parsed as YAML (`5`, `true`, `[1, 2]`)."""
    result = {key: (dict(value) if isinstance(value, dict) else value) for key, value in data.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2 or not all(parts):
            raise ConfigError(f"--set {item!r}: use section.key=value, e.g. clustering.min_cluster_size=20")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        section = result.setdefault(parts[0], {})
        if not isinstance(section, dict):
            raise ConfigError(f"--set {item!r}: {parts[0]} is not a section")
        section[parts[1]] = value
    return result


def _relative_to(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Paths written in a config file are relative to that file, so cron can run it from anywhere."""

    def anchor(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            return os.path.normpath(base / value)
        return value

    data = {key: (dict(value) if isinstance(value, dict) else value) for key, value in data.items()}
    section = data.get("input")
    if isinstance(section, dict) and "path" in section:
        path = section["path"]
        section["path"] = [anchor(p) for p in path] if isinstance(path, list) else anchor(path)
    for name in ("output", "cache"):
        section = data.get(name)
        if isinstance(section, dict) and "dir" in section:
            section["dir"] = anchor(section["dir"])
    return data


def load_config(
    source: Path | str | Config | None = None,
    overrides: list[str] | None = None,
    flags: dict[str, dict[str, Any]] | None = None,
) -> Config:
    """The built-in defaults, then the config (a YAML file, or a `Config` already built), then
    `--set` overrides, then dedicated CLI flags (`--input`, `--output-dir`, `--run-id`);
    validated once, at the end."""
    if isinstance(source, Config):
        data = source.model_dump(mode="json")
    elif source is not None:
        path = Path(source)
        data = _relative_to(load_yaml(path), path.parent)
    else:
        data = {}
    data = apply_overrides(data, overrides or [])
    for section, values in (flags or {}).items():
        current = data.get(section)
        data[section] = {**(current if isinstance(current, dict) else {}), **values}
    return _validate(data)
