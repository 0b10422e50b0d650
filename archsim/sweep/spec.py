"""Sweep specs: a YAML file that names a base config, axes, workloads, sampling and constraints.

A spec is validated strictly (unknown keys rejected; every error is one line naming the file and
the dotted path of the bad entry) and expanded into a list of `Point` s.  Expansion is cheap and
logic-free: each point is ``with_overrides(base, {axis: value, ...})`` plus a workload mapping
and a seed, hashed into a point key.  Example::

    version: 1
    name: demo
    base: sat                       # preset name, or a YAML path (relative to this file)
    seed: 0                         # the seed every point is simulated with
    sampling: {method: grid}        # or {method: random, n: 200, seed: 1}
                                    # or {method: lhs, n: 200, seed: 1}  (Latin hypercube)
    axes:
      array.rows: [16, 32, 64]                        # a choice list
      dram.channel_bytes_per_s: {min: 8.0e9, max: 6.4e10, num: 4, scale: log}
      buffers.weight_bytes: {min: 65536, max: 1048576, scale: log2, type: int}
      workload.sparsity: ["dense", "2:4", "2:8"]      # an axis over a workload field
    ties: {array.cols: array.rows}                    # array.cols takes array.rows' value
    workloads:
      - {model: resnet50, batch: 32}
    constraints:
      - array.rows * array.cols <= 4096
      - buffers.weight_bytes + buffers.act_bytes <= 2 * 1024 * 1024
    area: {target: auto}            # optional: each point's synthesised array area (SAT)

Range axes (``min``/``max``) are gridded with ``num`` points or a ``step`` (``scale: log2``
walks the powers of two between the bounds) and sampled continuously (in the scaled space) by
``random`` and ``lhs``; ``type: int`` rounds.  Choice lists are sampled uniformly (``lhs``
stratifies over their indices).  Constraints are expressions over dotted config fields (model
properties included) and ``workload.<key>``; they prune points before anything runs (see
`archsim.sweep.expr`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from archsim.config import StrictModel, config_hash, load_config, preset_path, read_yaml, with_overrides
from archsim.sweep.expr import Constraint
from workloads.errors import InputError

__all__ = ["SweepSpec", "Point", "load_spec", "parse_spec", "expand", "point_key", "spec_hash", "validate_workloads"]

WORKLOAD_PREFIX = "workload."


class GridSampling(StrictModel):
    method: Literal["grid"] = "grid"


class RandomSampling(StrictModel):
    method: Literal["random"]
    n: int = Field(gt=0, le=1_000_000)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)


class LatinHypercubeSampling(StrictModel):
    method: Literal["lhs"]
    n: int = Field(gt=0, le=1_000_000)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)


Sampling = Annotated[Union[GridSampling, RandomSampling, LatinHypercubeSampling], Field(discriminator="method")]


class RangeAxis(StrictModel):
    """A numeric range: gridded by ``num`` or ``step``, sampled continuously by random / lhs."""

    min: float
    max: float
    num: int | None = Field(default=None, gt=0, le=100_000)
    step: float | None = Field(default=None, gt=0)
    scale: Literal["linear", "log", "log2"] = "linear"
    type: Literal["int", "float"] = "float"

    @model_validator(mode="after")
    def _check(self) -> "RangeAxis":
        if self.max < self.min:
            raise ValueError(f"max ({self.max:g}) is below min ({self.min:g})")
        if self.scale in ("log", "log2") and self.min <= 0:
            raise ValueError(f"scale {self.scale} needs min > 0 (got {self.min:g})")
        if self.num is not None and self.step is not None:
            raise ValueError("give num or step, not both")
        return self

    def _cast(self, v: float) -> int | float:
        return int(round(v)) if self.type == "int" else float(v)

    def grid(self, where: str) -> list[int | float]:
        lo, hi = self.min, self.max
        if self.scale == "log2":
            if self.num is None and self.step is None:
                k0, k1 = math.ceil(math.log2(lo) - 1e-9), math.floor(math.log2(hi) + 1e-9)
                vals = [2.0**k for k in range(k0, k1 + 1)]
            else:
                vals = list(np.exp2(self._scaled_grid(math.log2(lo), math.log2(hi), where)))
        elif self.scale == "log":
            vals = list(np.exp(self._scaled_grid(math.log(lo), math.log(hi), where)))
        else:
            vals = list(self._scaled_grid(lo, hi, where))
        out: list[int | float] = []
        for v in vals:
            c = self._cast(float(v))
            if c not in out:
                out.append(c)
        if not out:
            raise InputError(f"{where}: the range holds no value")
        return out

    def _scaled_grid(self, lo: float, hi: float, where: str) -> np.ndarray:
        if self.num is not None:
            return np.linspace(lo, hi, self.num)
        if self.step is not None:
            n = int(math.floor((hi - lo) / self.step + 1e-9)) + 1
            return lo + self.step * np.arange(n)
        raise InputError(f"{where}: a grid over a range needs num or step")

    def at(self, u: float) -> int | float:
        """The value at quantile ``u`` in [0, 1) of the (scaled) range."""
        if self.scale == "log2":
            v = 2.0 ** (math.log2(self.min) + u * (math.log2(self.max) - math.log2(self.min)))
            if self.type == "int":
                return int(2 ** round(math.log2(v)))
            return v
        if self.scale == "log":
            v = math.exp(math.log(self.min) + u * (math.log(self.max) - math.log(self.min)))
        else:
            v = self.min + u * (self.max - self.min)
        return self._cast(v)


class ChoiceAxis(StrictModel):
    values: list[Any] = Field(min_length=1)

    def grid(self, where: str) -> list[Any]:
        return list(self.values)

    def at(self, u: float) -> Any:
        return self.values[min(int(u * len(self.values)), len(self.values) - 1)]


def _axis_kind(v: Any) -> str:
    if isinstance(v, (ChoiceAxis, RangeAxis)):
        return "choice" if isinstance(v, ChoiceAxis) else "range"
    return "choice" if isinstance(v, dict) and "values" in v else "range"


Axis = Annotated[
    Union[Annotated[ChoiceAxis, Tag("choice")], Annotated[RangeAxis, Tag("range")]], Discriminator(_axis_kind)
]


class AreaSpec(StrictModel):
    """``area:`` in a spec: attach each point's synthesised array area (SAT configs only).

    ``target``: ``auto`` (full synthesis for Xilinx when a full Yosys is installed, else the
    word-level ``rtlil`` estimate), or one of ``rtlil``, ``generic``, ``ice40``, ``xilinx``.
    ``cache_dir``: where each shape's synthesis result is kept (relative to the working
    directory), so a shape is synthesised once across points, workers and sweeps.
    """

    target: Literal["auto", "rtlil", "generic", "ice40", "xilinx"] = "auto"
    cache_dir: str = "out/area_cache"


class SweepSpec(StrictModel):
    """A validated sweep spec (see the module docstring for the YAML form)."""

    version: Literal[1] = 1
    name: str | None = None
    description: str = ""
    base: str
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    sampling: Sampling = Field(default_factory=GridSampling)
    axes: dict[str, Axis] = Field(default_factory=dict)
    ties: dict[str, str] = Field(default_factory=dict)
    workloads: list[dict[str, Any]] = Field(min_length=1)
    constraints: list[str] = Field(default_factory=list)
    area: AreaSpec | None = None

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str | None) -> str | None:
        # The name becomes the default store out/sweeps/<name>.db: it must stay in that folder.
        if v is not None:
            from archsim.paths import check_output_name

            try:
                check_output_name(v, "name")
            except InputError as exc:
                raise ValueError(str(exc).removeprefix("name ")) from None
        return v

    @field_validator("axes", mode="before")
    @classmethod
    def _lists_are_choices(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: ({"values": a} if isinstance(a, list) else a) for k, a in v.items()}
        return v


@dataclass(frozen=True)
class Point:
    """One design point: a full config (plain JSON data), a workload, a seed, and its key."""

    index: int
    key: str
    config: dict[str, Any]
    config_hash: str
    workload: dict[str, Any]
    seed: int
    values: dict[str, Any] = field(default_factory=dict)  # axis and workload fields → value


@dataclass(frozen=True)
class LoadedSpec:
    """A spec with where it came from, its resolved base config and its parsed constraints."""

    spec: SweepSpec
    path: str
    base: BaseModel
    constraints: tuple[Constraint, ...]
    hash: str

    @property
    def name(self) -> str:
        return self.spec.name or Path(self.path).stem


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def point_key(config: dict[str, Any], workload: dict[str, Any], seed: int) -> str:
    """Hash of config JSON + workload JSON + seed: the identity of a point in a store."""
    blob = _canon({"config": config, "workload": workload, "seed": seed})
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def spec_hash(spec: SweepSpec) -> str:
    return hashlib.sha256(_canon(spec.model_dump(mode="json")).encode()).hexdigest()[:16]


def _validation_message(err: ValidationError, where: str) -> str:
    first = err.errors()[0]
    loc = [str(p) for p in first.get("loc", ())]
    # Drop pydantic's union-branch tags ("ChoiceAxis", "grid", ...) from the path.
    tags = {"choice", "range", "grid", "random", "lhs"}
    loc = [p for p in loc if p not in tags]
    path = ".".join(loc) or "(top level)"
    msg = first.get("msg", "invalid value")
    kind = first.get("type")
    if kind == "extra_forbidden":
        msg = "unknown key"
    elif kind == "missing":
        msg = "required key missing"
    elif kind == "union_tag_invalid":
        msg = "method: expected one of 'grid', 'random', 'lhs'"
    value = first.get("input")
    shown = ""
    if kind not in ("extra_forbidden", "missing", "union_tag_invalid") and not isinstance(value, (dict, list)):
        shown = f" (got {value!r})" if repr(value) not in msg else ""
    msg = msg.removeprefix("Value error, ")
    return f"{where}: {path}: {msg}{shown}"


def _resolve_base(base: str, spec_dir: Path | None) -> Path:
    p = preset_path(base)
    if spec_dir is not None and not p.is_absolute() and (p.suffix in (".yaml", ".yml") or "/" in base):
        cand = spec_dir / p
        if cand.exists():
            return cand
    return p


def parse_spec(data: Any, *, where: str = "spec", spec_dir: Path | None = None) -> LoadedSpec:
    """Validate a spec mapping, load its base config and check its axes and constraints."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        raise InputError(_validation_message(err, where)) from None
    try:
        base_path = _resolve_base(spec.base, spec_dir)
        base = load_config(base_path)
    except InputError as exc:
        raise InputError(f"{where}: base: {exc}") from None
    # Every config axis must name a real field and accept its first value.
    for name, axis in spec.axes.items():
        _check_axis_name(name, f"{where}: axes")
        if name.startswith(WORKLOAD_PREFIX):
            continue
        first = axis.grid(f"{where}: axes.{name}")[0] if isinstance(axis, ChoiceAxis) else axis.at(0.0)
        with_overrides(base, {name: first}, where=f"{where}: axes")
    for dst, src in spec.ties.items():
        _check_axis_name(dst, f"{where}: ties")
        if src not in spec.axes:
            raise InputError(f"{where}: ties.{dst}: {src!r} is not an axis")
        if dst in spec.axes:
            raise InputError(f"{where}: ties.{dst}: is also an axis")
        if not dst.startswith(WORKLOAD_PREFIX):
            with_overrides(base, {dst: _first(spec.axes[src], where)}, where=f"{where}: ties")
    if spec.area is not None and getattr(base, "kind", None) != "sat":
        raise InputError(f"{where}: area: only SAT configs have an RTL to synthesise "
                         f"(base is {getattr(base, 'kind', None)!r})")
    for i, wl in enumerate(spec.workloads):
        if not wl:
            raise InputError(f"{where}: workloads[{i}]: empty workload")
        _resolve_onnx_model(wl, spec_dir, f"{where}: workloads[{i}].model")
    constraints = []
    for i, text in enumerate(spec.constraints):
        try:
            constraints.append(Constraint.parse(text))
        except InputError as exc:
            raise InputError(f"{where}: constraints[{i}]: {exc}") from None
    return LoadedSpec(spec=spec, path=where, base=base, constraints=tuple(constraints), hash=spec_hash(spec))


def _resolve_onnx_model(wl: dict[str, Any], spec_dir: Path | None, where: str) -> None:
    """An ONNX ``model`` path is taken relative to the spec file and imported once here, so a
    bad graph fails before any point runs (the points then carry the absolute path)."""
    from workloads.dnn.onnx_import import import_onnx, is_onnx_path

    model = wl.get("model")
    if not isinstance(model, str) or not is_onnx_path(model):
        return
    p = Path(model).expanduser()
    if not p.is_absolute() and spec_dir is not None and (spec_dir / p).exists():
        p = spec_dir / p
    if not p.exists():
        raise InputError(f"{where}: {model}: file not found")
    wl["model"] = str(p.resolve())
    batch = wl.get("batch", 32)
    try:
        import_onnx(wl["model"], batch=batch if isinstance(batch, int) else None)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def _first(axis: Axis, where: str) -> Any:
    return axis.grid(where)[0] if isinstance(axis, ChoiceAxis) else axis.at(0.0)


def _check_axis_name(name: str, where: str) -> None:
    parts = name.split(".")
    if not name or any(not p or not p.replace("_", "a").isalnum() for p in parts):
        raise InputError(f"{where}: {name!r}: not a dotted field name")
    if name.startswith(WORKLOAD_PREFIX) and len(parts) != 2:
        raise InputError(f"{where}: {name!r}: workload axes take one key (workload.<key>)")


def spec_path(name_or_path: str | Path) -> Path:
    """A bundled sweep name (``demo``) becomes ``archsim/configs/sweeps/demo.yaml``; a path is
    returned as is (a bare name is never looked up in the working directory)."""
    from archsim.config import CONFIG_DIR

    text = str(name_or_path)
    p = Path(text)
    if p.suffix in (".yaml", ".yml") or "/" in text:
        return p
    candidate = CONFIG_DIR / "sweeps" / f"{text}.yaml"
    if candidate.is_file():
        return candidate
    import difflib

    names = sorted(q.stem for q in (CONFIG_DIR / "sweeps").glob("*.yaml"))
    near = difflib.get_close_matches(text, names, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise InputError(f"{text}: unknown sweep spec (expected a YAML path or one of {', '.join(names)}){hint}")


def load_spec(path: str | Path) -> LoadedSpec:
    """Read and validate a sweep spec YAML file; errors name the file and the dotted path."""
    p = spec_path(path)
    data = read_yaml(p, "sweep spec")
    return parse_spec(data, where=str(p), spec_dir=p.resolve().parent)


# --------------------------------------------------------------------------- sampling


def _samples(spec: SweepSpec, where: str) -> list[dict[str, Any]]:
    names = list(spec.axes)
    axes = [spec.axes[n] for n in names]
    s = spec.sampling
    if not names:
        return [{}]
    from archsim.budget import check_points

    if isinstance(s, GridSampling):
        grids = [a.grid(f"{where}: axes.{n}") for n, a in zip(names, axes)]
        total = math.prod(len(g) for g in grids)
        if total > 5_000_000:
            raise InputError(f"{where}: axes: the full grid has {total} points; use random or lhs sampling")
        check_points(total * len(spec.workloads), f"{where}: axes: the grid")
        return [dict(zip(names, combo)) for combo in itertools.product(*grids)]
    check_points(s.n * len(spec.workloads), f"{where}: sampling.n")
    rng = np.random.default_rng(s.seed)
    if isinstance(s, RandomSampling):
        u = rng.random((s.n, len(names)))
    else:  # Latin hypercube: one sample per stratum per axis, strata shuffled independently.
        u = np.empty((s.n, len(names)))
        for j in range(len(names)):
            u[:, j] = (rng.permutation(s.n) + rng.random(s.n)) / s.n
    return [{n: a.at(float(u[i, j])) for j, (n, a) in enumerate(zip(names, axes))} for i in range(s.n)]


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node[part]
    return node


class _Lookup:
    """Resolves a constraint's dotted names on a config model (properties too) and a workload."""

    def __init__(self, config: BaseModel, workload: dict[str, Any], where: str) -> None:
        self.config, self.workload, self.where = config, workload, where

    def __call__(self, name: str) -> Any:
        if name.startswith(WORKLOAD_PREFIX):
            key = name[len(WORKLOAD_PREFIX):]
            if key not in self.workload:
                raise InputError(f"{self.where}: unknown field {name!r} (workload has {sorted(self.workload)})")
            return self.workload[key]
        node: Any = self.config
        for part in name.split("."):
            if part.startswith("_") or not isinstance(node, BaseModel) or not hasattr(node, part):
                raise InputError(f"{self.where}: unknown field {name!r}")
            node = getattr(node, part)
        if isinstance(node, BaseModel):
            raise InputError(f"{self.where}: {name!r} is a section, not a value")
        return node


def expand(loaded: LoadedSpec) -> list[Point]:
    """All points of a spec after sampling, ties, the workload cross product and constraints.

    Raises `InputError` when nothing is left (naming the constraint that pruned the most).
    """
    spec, where = loaded.spec, loaded.path
    samples = _samples(spec, where)
    points: list[Point] = []
    seen: set[str] = set()
    pruned = [0] * len(loaded.constraints)
    cfg_cache: dict[str, tuple[BaseModel, dict[str, Any], str]] = {}
    for sample in samples:
        for dst, src in spec.ties.items():
            sample[dst] = sample[src]
        cfg_over = {k: v for k, v in sample.items() if not k.startswith(WORKLOAD_PREFIX)}
        wl_over = {k[len(WORKLOAD_PREFIX):]: v for k, v in sample.items() if k.startswith(WORKLOAD_PREFIX)}
        ck = _canon(cfg_over)
        if ck not in cfg_cache:
            cfg = with_overrides(loaded.base, cfg_over, where=f"{where}: point {cfg_over}")
            cfg_json = cfg.model_dump(mode="json")
            cfg_cache[ck] = (cfg, cfg_json, config_hash(cfg))
        cfg, cfg_json, chash = cfg_cache[ck]
        for wl in spec.workloads:
            workload = {**wl, **wl_over}
            ok = True
            for i, c in enumerate(loaded.constraints):
                val = c.evaluate(_Lookup(cfg, workload, f"{where}: constraints[{i}]"))
                if not val:
                    pruned[i] += 1
                    ok = False
                    break
            if not ok:
                continue
            key = point_key(cfg_json, workload, spec.seed)
            if key in seen:
                continue
            seen.add(key)
            # Record config axes as the validated config holds them (YAML reads 9.6e9 as a
            # string; the config model makes it a float).
            values = {k: (v if k.startswith(WORKLOAD_PREFIX) else _get(cfg_json, k)) for k, v in sample.items()}
            values.update({WORKLOAD_PREFIX + k: v for k, v in workload.items()})
            points.append(
                Point(index=len(points), key=key, config=cfg_json, config_hash=chash, workload=workload,
                      seed=spec.seed, values=values)
            )
    if not points:
        if loaded.constraints:
            worst = max(range(len(pruned)), key=pruned.__getitem__)
            raise InputError(
                f"{where}: constraints: the sweep is empty after constraints "
                f"({len(samples) * len(spec.workloads)} candidates; constraints[{worst}] "
                f"{loaded.constraints[worst].text!r} pruned {pruned[worst]})"
            )
        raise InputError(f"{where}: the sweep has no points")
    return points


def validate_workloads(loaded: LoadedSpec, points: list[Point]) -> None:
    """Check every distinct (config kind, workload) of the points with
    `archsim.api.check_workload`, and every distinct PIUMA fabric against the work budget,
    before anything runs: an unknown model, a sparsity such as
    ``"3:2"``, a missing matrix is one `InputError` naming the spec and the workload, rather than
    a sweep in which every point fails.  Cheap: no schedule is built, no matrix read."""
    from archsim import budget
    from archsim.api import check_workload

    seen: set[str] = set()
    for p in points:
        c = p.config
        if c.get("kind") == "piuma" and p.config_hash not in seen:
            seen.add(p.config_hash)
            try:
                cores = int(c["dies"]) * int(c["cores_per_die"])
                tpc = int(c["mtp_per_core"]) * int(c["threads_per_mtp"]) + int(c["stp_per_core"])
            except (KeyError, TypeError, ValueError):
                cores = tpc = 0
            budget.check_work(f"{loaded.path}: fabric of {c.get('dies')} dies x "
                              f"{c.get('cores_per_die')} cores", budget.piuma_fabric_work(cores, tpc),
                              budget.BYTES_PER_THREAD * cores * tpc)
        key = _canon([p.config.get("kind"), p.workload])
        if key in seen:
            continue
        seen.add(key)
        try:
            check_workload(loaded.base, p.workload)
        except InputError as exc:
            shown = _canon(p.workload)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise InputError(f"{loaded.path}: workloads: {shown}: {exc}") from None
