"""Fuzzing the front door (issue #11): hypothesis strategies over configs, ``--set`` values, sweep
specs, Matrix Market files and command lines.

Whatever the input, the CLI must end with exit 0 (a valid request, simulated) or exit 2 with one
line ``error: ...`` (at most 300 characters), never a traceback, and within seconds (a watchdog
alarm interrupts a case after `_CASE_S`).  Derandomized (a fixed seed per test), so a failure
replays; the whole file runs in well under a minute.  The slower corpus run with many more
cases per family is ``benchmarks/fuzz_campaign.py`` (BENCHMARKS.md).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import string
import tempfile
import time
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archsim.cli import MAX_MESSAGE_CHARS, main
from archsim.config import CONFIG_DIR

_CASE_S = 15.0
FUZZ = settings(max_examples=int(os.environ.get("ARCHSIM_FUZZ_EXAMPLES", "40")), derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class Hang(BaseException):
    """Raised by the watchdog; a BaseException so the CLI's boundary cannot swallow it."""


def _alarm(signum, frame):  # pragma: no cover - only on a hang
    raise Hang()


def run_case(argv: list[str], cwd: Path | None = None) -> tuple[int, str, str]:
    """Run the CLI in-process under a watchdog; assert the contract; return (rc, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, _CASE_S)
    t0 = time.perf_counter()
    prev = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main([str(a) for a in argv])
    except Hang:  # pragma: no cover - reported as a failure
        raise AssertionError(f"hang (> {_CASE_S} s): {argv!r}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        os.chdir(prev)
    text = err.getvalue()
    assert "Traceback" not in text, (argv, text)
    assert rc in (0, 2), (argv, rc, text)
    if rc == 2:
        assert text.startswith("error: ") and text.count("\n") == 1, (argv, text)
        assert len(text) <= len("error: ") + MAX_MESSAGE_CHARS + 1, (argv, text)
    assert time.perf_counter() - t0 < _CASE_S
    return rc, out.getvalue(), text


# ---------------------------------------------------------------------------- values

hostile_scalars = st.one_of(
    st.booleans(), st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([".inf", "-.inf", ".nan", "1e999", "0x10", "1_000", "١٢", "٣", "²", "true", "~",
                     "*a", "&a", "!!python/name:os.system", "[1", "{", "'", '"', "%", "@", "`", "\t",
                     "9" * 400, "1e3", "1.0", "-0", "0", "-1"]),
    st.text(max_size=30),
)
hostile_values = st.recursive(hostile_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)


def _leaves(d, prefix=()):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _leaves(v, prefix + (k,))
        else:
            yield prefix + (k,)


SAT = yaml.safe_load((CONFIG_DIR / "sat.yaml").read_text())
SAT_FIELDS = [".".join(p) for p in _leaves(SAT) if p[0] not in ("kind", "version")]


# ---------------------------------------------------------------------------- configs


@FUZZ
@given(path=st.sampled_from([p for p in _leaves(SAT)]), value=hostile_values,
       extra=st.one_of(st.none(), st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12)))
def test_fuzz_config_files(path, value, extra):
    import copy

    data = copy.deepcopy(SAT)
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    if extra:
        node[extra] = 1
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "c.yaml"
        try:
            cfg.write_text(yaml.safe_dump(data, allow_unicode=True))
        except yaml.YAMLError:
            cfg.write_text(repr(data))
        run_case(["run", "sat", "--gemm", "16,16,16", "--config", cfg])


@FUZZ
@given(text=st.text(max_size=300))
def test_fuzz_config_text(text):
    with tempfile.TemporaryDirectory() as d:
        cfg = Path(d) / "c.yaml"
        cfg.write_bytes(text.encode("utf-8", "surrogatepass"))
        run_case(["run", "sat", "--gemm", "16,16,16", "--config", cfg])


# ---------------------------------------------------------------------------- --set


@FUZZ
@given(field=st.one_of(st.sampled_from(SAT_FIELDS), st.text(max_size=20)),
       value=st.one_of(st.text(max_size=40), hostile_scalars.map(str)))
def test_fuzz_set(field, value):
    run_case(["run", "sat", "--gemm", "16,16,16", "--set", f"{field}={value}"])


# ---------------------------------------------------------------------------- specs

names = st.sampled_from(["array.rows", "array.cols", "dram.channels", "buffers.weight_bytes",
                         "workload.sparsity", "workload.batch", "workload.gemm", "clock_hz", "nope"])
numbers = st.one_of(st.integers(-3, 10**6), st.sampled_from(["10**9", "9**256", "2**4096", "1e308", "0.5"]))


def _expr(depth: int = 3):
    leaf = st.one_of(numbers.map(str), names, st.sampled_from(["'x'", "(1,)", "[1, 2]", "True", "None"]))
    if depth == 0:
        return leaf
    sub = _expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "<", "<=", "==", "!=", " in ",
                                        " and ", " or "]), sub).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
        st.tuples(st.sampled_from(["min", "max", "abs", "log2", "sqrt", "__import__", "open"]), sub)
        .map(lambda t: f"{t[0]}({t[1]})"),
        sub.map(lambda s: f"not {s}"),
    )


axis_values = st.one_of(
    st.lists(hostile_scalars, min_size=0, max_size=4),
    st.fixed_dictionaries({"min": hostile_scalars, "max": hostile_scalars},
                          optional={"num": hostile_scalars, "step": hostile_scalars,
                                    "scale": st.sampled_from(["linear", "log", "log2", "exp"]),
                                    "type": st.sampled_from(["int", "float", "str"])}),
)
workload = st.one_of(
    st.fixed_dictionaries({"gemm": st.one_of(st.lists(hostile_scalars, max_size=4), st.text(max_size=12))},
                          optional={"sparsity": st.one_of(st.sampled_from(["dense", "2:4", "3:2", "0:4", "2:0",
                                                                           "x", "2:4:8"]), hostile_scalars)}),
    st.fixed_dictionaries({"model": st.one_of(st.sampled_from(["resnet18", "nope"]), hostile_scalars)},
                          optional={"batch": hostile_scalars}),
    st.dictionaries(st.text(max_size=6), hostile_scalars, max_size=3),
)


@FUZZ
@given(axes=st.dictionaries(names, axis_values, max_size=3), wls=st.lists(workload, min_size=0, max_size=3),
       constraints=st.lists(_expr(), max_size=2),
       sampling=st.one_of(st.none(), st.fixed_dictionaries({"method": st.sampled_from(["grid", "random", "lhs",
                                                                                         "sobol"])},
                                                             optional={"n": hostile_scalars, "seed": hostile_scalars})),
       name=st.one_of(st.none(), st.sampled_from(["ok", "../up", "/abs/x", "a/b", ""]), st.text(max_size=10)))
def test_fuzz_specs(axes, wls, constraints, sampling, name):
    spec = {"version": 1, "base": "sat", "axes": axes, "workloads": wls, "constraints": constraints}
    if sampling is not None:
        spec["sampling"] = sampling
    if name is not None:
        spec["name"] = name
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.yaml"
        try:
            p.write_text(yaml.safe_dump(spec, allow_unicode=True))
        except yaml.YAMLError:
            p.write_text(repr(spec))
        run_case(["sweep", p, "--dry-run"])


# ---------------------------------------------------------------------------- Matrix Market

mtx_header = st.sampled_from([
    "%%MatrixMarket matrix coordinate real general", "%%MatrixMarket matrix coordinate integer general",
    "%%MatrixMarket matrix coordinate pattern symmetric", "%%MatrixMarket matrix array real general",
    "%%MatrixMarket matrix coordinate complex general", "%%MatrixMarket", "garbage", "",
])
mtx_token = st.one_of(st.integers(-5, 12).map(str), st.sampled_from(["nan", "inf", "-inf", "1e3", "1.0", "1e999",
                                                                     "١", "0x1", "", "%", "10000000000000"]),
                      st.floats(allow_nan=True, allow_infinity=True).map(repr))


@FUZZ
@given(header=mtx_header,
       size=st.one_of(st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(0, 8)).map(lambda t: " ".join(map(str, t))),
                      st.sampled_from(["1000000000000 1000000000000 2", "3000000 3000000 1", "4 4", "a b c",
                                       "-1 4 2", "4 4 99999999999", "99999999 99999999 99999999"])),
       entries=st.lists(st.lists(mtx_token, min_size=0, max_size=4).map(" ".join), max_size=10),
       kernel=st.sampled_from(["spmv", "spgemm"]))
def test_fuzz_mtx(header, size, entries, kernel):
    with tempfile.TemporaryDirectory() as d:
        m = Path(d) / "m.mtx"
        m.write_text("\n".join([header, size, *entries]) + "\n")
        run_case(["run", "piuma", "--matrix", m, "--kernel", kernel])


# ---------------------------------------------------------------------------- command lines

flag_values = st.one_of(hostile_scalars.map(str), st.sampled_from(["/dev/full", "/dev/zero", "..", "../x",
                                                                   "/", "out/../../x", "-1", "0", "axb"]))
COMMANDS = [
    (["run", "sat", "--gemm", "16,16,16"], ["--batch", "--sparsity", "--dataflow", "--rows", "--cols",
                                            "--multipliers", "--seed", "--json", "--config", "--area"]),
    (["run", "sat", "--model", "resnet18", "--batch", "1"], ["--sparsity", "--rows", "--seed"]),
    (["schedule", "--gemm", "16,16,16"], ["--sparsity", "--rows", "--json"]),
    (["workloads", "layers"], ["--batch"]),
    (["run", "piuma", "--matrix", "karate", "--kernel", "spmv"], ["--cores", "--dies", "--seed", "--partition",
                                                                   "--dataflow", "--json", "--save-output"]),
    (["piuma", "scaling", "--matrix", "karate", "--kernel", "spmv"], ["--points", "--partition"]),
    (["rtl", "export", "--rows", "2", "--cols", "2", "--nm", "2:4"], ["-o", "--name", "--width", "--acc-width"]),
    (["sweep", "demo", "--dry-run"], ["--workers", "--dask", "--dask-timeout", "--dask-local", "--out"]),
    (["results", "show"], ["--top", "--by", "--where"]),
    (["gemm", "sat"], ["--x"]),
]


@FUZZ
@given(cmd=st.sampled_from(COMMANDS), data=st.data())
def test_fuzz_command_lines(cmd, data):
    base, flags = cmd
    argv = list(base)
    if base[:2] == ["workloads", "layers"]:
        argv.append(data.draw(st.one_of(st.sampled_from(["resnet18", "gpt2"]), flag_values)))
    if base[:2] == ["results", "show"]:
        argv.append(data.draw(flag_values))
    for flag in data.draw(st.lists(st.sampled_from(flags), max_size=3, unique=True)):
        argv += [flag, data.draw(flag_values)]
    with tempfile.TemporaryDirectory() as d:
        if base[:2] == ["rtl", "export"] and "-o" not in argv:
            argv += ["-o", str(Path(d) / "rtl")]
        run_case(argv, cwd=Path(d))
