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

import difflib
import hashlib
import json
import math
import os
import stat
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workloads.errors import InputError

__all__ = [
    "StrictModel",
    "load_config",
    "parse_config",
    "config_hash",
    "preset_path",
    "read_yaml",
    "with_overrides",
    "yaml_value",
    "CONFIG_DIR",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "Count",
    "PositiveInt",
    "NonNegativeInt",
    "Bytes",
    "Cycles",
    "Rate",
    "NonNegativeFloat",
]

#: The bundled presets, energy tables and example sweeps (package data, found through
#: ``importlib.resources`` so they work from a wheel as well as from a source checkout).
CONFIG_DIR = Path(str(resources.files("archsim") / "configs"))

M = TypeVar("M", bound=BaseModel)

#: Largest YAML file read (bytes); ``ARCHSIM_MAX_YAML_BYTES`` raises it.
MAX_YAML_BYTES = 4 * 1024 * 1024
#: Largest YAML document once aliases are expanded (nodes); ``ARCHSIM_MAX_YAML_NODES`` raises it.
MAX_YAML_NODES = 200_000

# ----------------------------------------------------------------------------- strict value types
#: Reusable annotated types for config fields.  Booleans are never numbers (``rows: true`` is
#: refused) and floats must be finite (``allow_inf_nan=False`` on `StrictModel` as well).
Count = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Bytes = Annotated[int, Field(gt=0)]
Cycles = Annotated[int, Field(ge=0)]
Rate = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def _is_numeric_annotation(tp: Any) -> bool:
    """True when a field's type admits int or float but not bool (``int``, ``float | None``...)."""
    import typing

    if tp in (int, float):
        return True
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _is_numeric_annotation(typing.get_args(tp)[0])
    args = typing.get_args(tp)
    if origin is not None and args and origin in (typing.Union, getattr(__import__("types"), "UnionType", ())):
        return bool not in args and any(_is_numeric_annotation(a) for a in args)
    return False


class StrictModel(BaseModel):
    """Base of every config section: frozen, unknown keys rejected, no type coercion surprises.

    Numbers are strict where it matters: a boolean is never accepted for a numeric field (YAML's
    ``true`` would silently be 1), and non-finite floats (``.inf``, ``.nan``, ``1e999``) are
    refused everywhere, since every float of a config is a size, a rate, a clock or an energy.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, validate_default=True,
                              allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: Any) -> Any:
        # A model-level check (a "*" field validator would clash with discriminator fields).
        if isinstance(data, dict):
            for name, value in data.items():
                field = cls.model_fields.get(name) if isinstance(name, str) else None
                if isinstance(value, bool) and field is not None and _is_numeric_annotation(field.annotation):
                    raise ValueError(f"{name}: expected a number, got a boolean ({value})")
        return data


def _short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _known_keys(model: type[BaseModel] | None, loc: tuple) -> list[str]:
    """Field names of the (sub)model a location points into, for "did you mean" hints."""
    node: Any = model
    for part in loc[:-1]:
        fields = getattr(node, "model_fields", None)
        if not fields or part not in fields:
            return []
        ann = fields[part].annotation
        node = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    fields = getattr(node, "model_fields", None)
    return sorted(fields) if fields else []


def _format_validation_error(err: ValidationError, where: str, prefix: str,
                             model: type[BaseModel] | None = None) -> str:
    # A misspelt key also makes its real name "missing": report the unknown key first, with a hint.
    errors = sorted(err.errors(), key=lambda e: e.get("type") != "extra_forbidden")
    first = errors[0]
    loc_t = tuple(first.get("loc", ()))
    loc = ".".join(str(p) for p in loc_t)
    path = ".".join(p for p in (prefix, loc) if p)
    msg = first.get("msg", "invalid value").removeprefix("Value error, ")
    kind = first.get("type")
    if kind == "extra_forbidden":
        msg = "unknown key"
        known = _known_keys(model, loc_t)
        near = difflib.get_close_matches(str(loc_t[-1]), known, n=1) if loc_t and known else []
        if near:
            msg += f"; did you mean {near[0]!r}?"
    elif kind == "finite_number":
        msg = "must be a finite number"
    value = first.get("input")
    shown = "" if kind in ("extra_forbidden", "missing") else f" (got {_short_repr(value)})"
    if isinstance(value, (dict, list)) or "boolean" in msg:
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


def _limit(env: str, default: int) -> int:
    raw = os.environ.get(env)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{env}={raw!r}: expected an integer") from None
    if value < 1:
        raise InputError(f"{env}={raw!r}: expected an integer >= 1")
    return value


def _node_children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [x for kv in node.value for x in kv]
    return []


def _check_expanded_size(root: yaml.Node, limit: int, where: str) -> None:
    """Refuse a document whose alias-expanded tree exceeds ``limit`` nodes, or that is recursive.

    Aliases share nodes, so the composed graph is small even for a "billion laughs" file; what
    explodes is everything that walks the expanded tree later (validation, hashing, messages).
    The expanded size is counted on the node DAG (memoised, iterative), so the check itself is
    linear in the file.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        nid = id(node)
        if finished:
            on_path.discard(nid)
            total = 1 + sum(size[id(c)] for c in _node_children(node))
            if total > limit:
                raise InputError(
                    f"{where}: YAML expands to more than {limit:,} nodes (alias bomb?); "
                    f"set ARCHSIM_MAX_YAML_NODES to raise the limit")
            size[nid] = total
            continue
        if nid in size:
            continue
        if nid in on_path:
            raise InputError(f"{where}: recursive YAML alias (a node contains itself)")
        on_path.add(nid)
        stack.append((node, True))
        stack.extend((c, False) for c in _node_children(node) if id(c) not in size)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    at = f" at line {mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or "malformed YAML"
    return f"malformed YAML{at}: {problem}"


def parse_yaml_text(text: str, where: str) -> Any:
    """``yaml.safe_load`` with bounds: no alias expansion beyond ``MAX_YAML_NODES`` nodes, no
    recursive aliases, no Python tags; every failure is a one-line `InputError` naming ``where``."""
    limit = _limit("ARCHSIM_MAX_YAML_NODES", MAX_YAML_NODES)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node, limit, where)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise InputError(f"{where}: YAML nested too deeply") from None
    finally:
        loader.dispose()


def yaml_value(text: str, where: str) -> Any:
    """One YAML scalar/flow value typed on the command line (``--set FIELD=VALUE``), bounded."""
    return parse_yaml_text(text, where)


def read_yaml(path: str | Path, what: str = "config") -> Any:
    """Parse a YAML file; a missing, unreadable or malformed file is a one-line `InputError`
    naming the file (and the line of a syntax error).  ``what`` names the kind of file.

    Bounded: only regular files (never a device, FIFO or directory), at most ``MAX_YAML_BYTES``
    (``ARCHSIM_MAX_YAML_BYTES``), UTF-8 text only, alias expansion bounded (`parse_yaml_text`).
    """
    path = Path(path)
    max_bytes = _limit("ARCHSIM_MAX_YAML_BYTES", MAX_YAML_BYTES)
    raw = read_user_bytes(path, what, max_bytes, hint=" (set ARCHSIM_MAX_YAML_BYTES to raise it)")
    text = decode_text(raw, path, what)
    return parse_yaml_text(text, str(path))


def read_user_bytes(path: str | Path, what: str, max_bytes: int, *, hint: str = "") -> bytes:
    """The bytes of a user's file, or a one-line `InputError` naming it: missing, a directory,
    not a regular file (device, FIFO, socket), unreadable, or over ``max_bytes`` (``hint`` says
    how to raise the limit)."""
    path = Path(path)
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{path}: is a directory, not a {what} file")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: not a regular file (device, FIFO or socket); {what} must be a file")
        if st.st_size > max_bytes:
            raise InputError(f"{path}: {what} file is {st.st_size:,} bytes, over the {max_bytes:,}-byte limit{hint}")
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:  # grew while being read
        raise InputError(f"{path}: {what} file is over the {max_bytes:,}-byte limit{hint}")
    return raw


def decode_text(raw: bytes, path: str | Path, what: str) -> str:
    """UTF-8 (optionally with a BOM) or a one-line `InputError` saying what the file is."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{path}: {what} file is UTF-16; save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what} file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                         f"{exc.start}); save it as UTF-8") from None


def parse_config(data: Any, *, where: str = "config", expect: str | None = None) -> BaseModel:
    """Validate a plain mapping with a ``kind`` key into its config model."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping with a 'kind' key, got {type(data).__name__}")
    from archsim.registry import config_model

    kind = data.get("kind")
    if not isinstance(kind, str):  # a list or mapping here is not hashable, nor a kind
        from archsim.registry import kinds

        raise InputError(f"{where}: kind: expected one of {kinds()}, got {_short_repr(kind)}")
    model = config_model(kind, where=where)
    if expect is not None and kind != expect:
        raise InputError(f"{where}: kind: expected {expect!r} for this command, got {kind!r}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(_format_validation_error(err, where, "", model)) from None


def load_config(name_or_path: str | Path, *, expect: str | None = None) -> BaseModel:
    """Load a config from a YAML file or a preset name; errors name the file and field."""
    path = preset_path(name_or_path)
    data = read_yaml(path)
    return parse_config(data, where=str(path), expect=expect)


def config_hash(cfg: BaseModel) -> str:
    """Stable short hash (16 hex digits of SHA-256) of the config's canonical JSON and of the
    content of every table a result depends on (the energy table's bytes), so a changed table
    can never hide behind an unchanged hash."""
    data: dict[str, Any] = {"config": cfg.model_dump(mode="json")}
    table = getattr(cfg, "energy_table", None)
    if isinstance(table, str):
        from archsim.energy import table_digest

        data["energy_table_sha256"] = table_digest(table)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
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
                near = difflib.get_close_matches(part, list(node), n=1) if isinstance(node, dict) else []
                hint = f"; did you mean {'.'.join(parts[:i] + [near[0]])!r}?" if near else ""
                raise InputError(f"{where}: {dotted}: unknown config field{hint}")
            if i == len(parts) - 1:
                node[part] = value
            else:
                node = node[part]
    try:
        return type(cfg).model_validate(data)
    except ValidationError as err:
        raise InputError(_format_validation_error(err, where, "", type(cfg))) from None
