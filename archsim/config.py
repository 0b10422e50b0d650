"""Typed, frozen configurations loaded from YAML, strict at the door.

Every config is a pydantic model derived from `StrictModel`: unknown keys are rejected, values
are validated, and the object is frozen.  `load_config` reads a YAML file (or a preset name such
as ``sat`` / ``piuma``, resolved in the package's ``archsim/configs/`` folder), dispatches on its
``kind`` key through `archsim.registry` and turns any validation failure into a one-line `InputError` that names the file
and the dotted path of the bad field, e.g.::

    configs/bad.yaml: sat.array.rows: Input should be greater than 0 (got 0)

Derived quantities are Python properties on the models, never expressions evaluated from YAML.
`config_hash` is a stable SHA-256 of the canonical JSON form (used for provenance and sweeps).
"""

from __future__ import annotations

import hashlib
import difflib
import json
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from workloads.errors import InputError

__all__ = [
    "StrictModel",
    "load_config",
    "parse_config",
    "config_hash",
    "preset_path",
    "read_yaml",
    "with_overrides",
    "CONFIG_DIR",
]

#: The bundled presets, energy tables and example sweeps (package data, found through
#: ``importlib.resources`` so they work from a wheel as well as from a source checkout).
CONFIG_DIR = Path(str(resources.files("archsim") / "configs"))

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base of every config section: frozen, unknown keys rejected, no type coercion surprises."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, validate_default=True)


def _format_validation_error(err: ValidationError, where: str, prefix: str) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    path = ".".join(p for p in (prefix, loc) if p)
    msg = first.get("msg", "invalid value")
    if first.get("type") == "extra_forbidden":
        msg = "unknown key"
    value = first.get("input")
    shown = "" if first.get("type") in ("extra_forbidden", "missing") else f" (got {value!r})"
    if isinstance(value, dict):
        shown = ""
    more = len(err.errors()) - 1
    tail = f" [+{more} more]" if more > 0 else ""
    return f"{where}: {path}: {msg}{shown}{tail}"


def presets() -> list[str]:
    """Names of the bundled presets (``archsim/configs/*.yaml``)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def preset_path(name_or_path: str | Path) -> Path:
    """A preset name (``sat``) becomes the bundled ``archsim/configs/sat.yaml``; anything that
    looks like a path (a ``.yaml``/``.yml`` suffix or a directory separator) is returned as is.

    A bare name is never looked up in the working directory, so a local file or folder called
    ``sat`` cannot shadow the preset; an unknown name is an `InputError` with the nearest preset."""
    text = str(name_or_path)
    p = Path(text)
    if p.suffix in (".yaml", ".yml") or "/" in text or "\\" in text:
        return p
    candidate = CONFIG_DIR / f"{text}.yaml"
    if candidate.is_file():
        return candidate
    names = presets()
    near = difflib.get_close_matches(text, names, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise InputError(f"{text}: unknown preset (expected a YAML path or one of {', '.join(names)}){hint}")


def read_yaml(path: str | Path, what: str = "config") -> Any:
    """Parse a YAML file; a missing, unreadable or malformed file is a one-line `InputError`
    naming the file (and the line of a syntax error).  ``what`` names the kind of file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise InputError(f"{path}: malformed YAML{at}: {problem}") from None


def parse_config(data: Any, *, where: str = "config", expect: str | None = None) -> BaseModel:
    """Validate a plain mapping with a ``kind`` key into its config model."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping with a 'kind' key, got {type(data).__name__}")
    from archsim.registry import config_model

    kind = data.get("kind")
    model = config_model(kind, where=where)
    if expect is not None and kind != expect:
        raise InputError(f"{where}: kind: expected {expect!r} for this command, got {kind!r}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(_format_validation_error(err, where, "")) from None


def load_config(name_or_path: str | Path, *, expect: str | None = None) -> BaseModel:
    """Load a config from a YAML file or a preset name; errors name the file and field."""
    path = preset_path(name_or_path)
    data = read_yaml(path)
    return parse_config(data, where=str(path), expect=expect)


def config_hash(cfg: BaseModel) -> str:
    """Stable short hash (16 hex digits of SHA-256) of the config's canonical JSON."""
    blob = json.dumps(cfg.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def with_overrides(cfg: M, overrides: dict[str, Any], *, where: str = "override") -> M:
    """A copy of ``cfg`` with dotted-path fields replaced (``{"array.rows": 64}``), re-validated.

    Unknown paths are an `InputError` naming the path.
    """
    data = cfg.model_dump(mode="python")
    for dotted, value in overrides.items():
        node = data
        parts = dotted.split(".")
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                raise InputError(f"{where}: {dotted}: unknown config field")
            if i == len(parts) - 1:
                node[part] = value
            else:
                node = node[part]
    try:
        return type(cfg).model_validate(data)
    except ValidationError as err:
        raise InputError(_format_validation_error(err, where, "")) from None
