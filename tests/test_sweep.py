"""Sweep specs, constraints, the SQLite store, the local runner and the CLI's faults.

Most tests run a synthetic simulator (`archsim.sweep.testing.synthetic_simulate`) over the real
SAT preset so they take milliseconds; `test_real_sat_*` run real SAT points through
`archsim.api.simulate`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.cli import main
from archsim.config import CONFIG_DIR
from archsim.sweep import Constraint, expand, load_rows, load_spec, read_meta, run_sweep
from archsim.sweep.spec import parse_spec
from archsim.sweep.testing import synthetic_simulate
from workloads.errors import InputError

SYN = "archsim.sweep.testing:synthetic_simulate"


def write_spec(tmp_path: Path, body: str, name: str = "spec.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(body))
    return p


SMALL = """
    name: small
    base: sat
    axes:
      array.rows: [8, 16, 32]
      workload.sparsity: ["dense", "2:8"]
      dram.channels: [1, 4]
    ties: {array.cols: array.rows}
    workloads:
      - {gemm: [128, 128, 128]}
      - {gemm: [256, 64, 128]}
    constraints:
      - array.rows * array.cols <= 512
"""


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def store_metrics(path: Path) -> dict[str, str]:
    con = sqlite3.connect(path)
    try:
        return dict(con.execute("SELECT point_key, metrics_json FROM points WHERE status='ok'"))
    finally:
        con.close()


# ---------------------------------------------------------------------------- spec


def test_grid_ties_workload_axes_and_constraints(tmp_path: Path) -> None:
    pts = expand(load_spec(write_spec(tmp_path, SMALL)))
    # rows {8, 16} survive the PE budget; x 2 sparsity x 2 channels x 2 workloads
    assert len(pts) == 2 * 2 * 2 * 2
    assert len({p.key for p in pts}) == len(pts)
    for p in pts:
        assert p.config["array"]["cols"] == p.config["array"]["rows"] == p.values["array.rows"]
        assert p.workload["sparsity"] == p.values["workload.sparsity"]
        assert p.values["workload.gemm"] == p.workload["gemm"]
        assert p.config["array"]["rows"] * p.config["array"]["cols"] <= 512


def test_expansion_is_deterministic(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, SMALL)
    assert [p.key for p in expand(load_spec(spec))] == [p.key for p in expand(load_spec(spec))]


@pytest.mark.parametrize("method", ["random", "lhs"])
def test_sampled_specs(tmp_path: Path, method: str) -> None:
    spec = write_spec(tmp_path, f"""
        base: sat
        sampling: {{method: {method}, n: 40, seed: 3}}
        axes:
          array.rows: {{min: 8, max: 128, scale: log2, type: int}}
          dram.channel_bytes_per_s: {{min: 1.0e+9, max: 4.0e+10}}
          workload.sparsity: ["dense", "2:4", "2:8", "1:8"]
        workloads: [{{gemm: [64, 64, 64]}}]
    """)
    pts = expand(load_spec(spec))
    assert 1 <= len(pts) <= 40
    for p in pts:
        assert p.config["array"]["rows"] in (8, 16, 32, 64, 128)
        assert 1e9 <= p.config["dram"]["channel_bytes_per_s"] <= 4e10
    again = expand(load_spec(spec))
    assert [p.key for p in pts] == [p.key for p in again]
    if method == "lhs":
        # Latin hypercube: each of the 40 strata of the continuous axis holds exactly one sample.
        bw = sorted(p.config["dram"]["channel_bytes_per_s"] for p in pts)
        strata = sorted(int((b - 1e9) / (3.9e10 / 40)) for b in bw)
        assert len(pts) == 40 and strata == list(range(40))
        # ... and the 4 sparsity choices are balanced (10 each).
        counts = {s: sum(p.workload["sparsity"] == s for p in pts) for s in ("dense", "2:4", "2:8", "1:8")}
        assert set(counts.values()) == {10}


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("base: sat\nworkloads: [{gemm: [8, 8, 8]}]\nbogus: 1\n", "bogus: unknown key"),
        ("base: sat\naxes: {array.rowz: [8]}\nworkloads: [{gemm: [8, 8, 8]}]\n", "axes: array.rowz: unknown config field"),
        ("base: sat\naxes: {array.rows: [0]}\nworkloads: [{gemm: [8, 8, 8]}]\n", "array.rows"),
        ("base: sat\naxes: {array.rows: {min: 8, max: 4}}\nworkloads: [{gemm: [8, 8, 8]}]\n", "axes.array.rows: max (4) is below min (8)"),
        ("base: sat\nsampling: {method: sobol}\nworkloads: [{gemm: [8, 8, 8]}]\n", "sampling"),
        ("base: sat\nsampling: {method: random}\nworkloads: [{gemm: [8, 8, 8]}]\n", "sampling.n: required key missing"),
        ("base: sat\n", "workloads: required key missing"),
        ("base: nosuch\nworkloads: [{gemm: [8, 8, 8]}]\n", "base: "),
        ("base: sat\nworkloads: [{gemm: [8, 8, 8]}]\nconstraints: ['open(1)']\n", "constraints[0]"),
        ("base: sat\nworkloads: [{gemm: [8, 8, 8]}]\nconstraints: ['array.rowz > 1']\n", "unknown field 'array.rowz'"),
        ("base: sat\naxes: {array.rows: [8]}\nworkloads: [{gemm: [8, 8, 8]}]\nconstraints: ['array.rows > 8']\n", "empty after constraints"),
        ("base: sat\nworkloads: [{gemm: [8, 8, 8]}\n", "malformed YAML"),
        ("- 1\n- 2\n", "expected a mapping"),
    ],
)
def test_bad_specs_are_one_line_errors(tmp_path: Path, body: str, fragment: str) -> None:
    spec = write_spec(tmp_path, body, "bad.yaml")
    with pytest.raises(InputError) as ei:
        expand(load_spec(spec))
    msg = str(ei.value)
    assert fragment in msg and "\n" not in msg and str(spec) in msg, msg


def test_constraints_can_read_config_properties(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, """
        base: sat
        axes: {dram.channels: [1, 2, 4, 8]}
        workloads: [{gemm: [8, 8, 8]}]
        constraints: ["dram_bytes_per_cycle <= 200"]
    """)
    # 19.2 GB/s per channel at 200 MHz = 96 B/cycle per channel: 1 and 2 channels pass
    assert sorted(p.config["dram"]["channels"] for p in expand(load_spec(spec))) == [1, 2]


# ---------------------------------------------------------------------------- expressions


@pytest.mark.parametrize(
    "text",
    ["__import__('os')", "a.__class__", "(lambda: 1)()", "[x for x in y]", "a[0]", "open('f')",
     "a if b else c.__dict__", "f'{a}'", "max(a, key=b)", "a := 1"],
)
def test_constraint_language_refuses_anything_but_arithmetic(text: str) -> None:
    with pytest.raises(InputError):
        Constraint.parse(text)


def test_constraint_semantics() -> None:
    env = {"array.rows": 32, "array.cols": 64, "workload.sparsity": "2:8", "b": 3}
    ev = lambda s: Constraint.parse(s).evaluate(env.__getitem__)  # noqa: E731
    assert ev("array.rows * array.cols <= 1024") is False
    assert ev("array.rows * array.cols <= 2048")
    assert ev("16 < array.rows <= 32")
    assert ev("workload.sparsity in ['2:8', '2:4']")
    assert ev("workload.sparsity != 'dense' and log2(array.rows) == 5")
    assert ev("max(array.rows, array.cols) // 2 == 32 or False")
    assert ev("2 ** b == 8")
    with pytest.raises(InputError, match="exponent"):
        ev("2 ** 100000")
    with pytest.raises(InputError, match="division by zero"):
        ev("1 / (b - 3)")


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**6, 10**6), st.integers(-10**6, 10**6),
       st.sampled_from(["+", "-", "*", "//", "%", "<", "<=", "==", "!=", ">", ">="]))
def test_constraint_arithmetic_matches_python(a: int, b: int, op: str) -> None:
    if op in ("//", "%") and b == 0:
        return
    got = Constraint.parse(f"x {op} y").evaluate({"x": a, "y": b}.__getitem__)
    assert got == {"+": a + b, "-": a - b, "*": a * b, "//": a // b if b else 0, "%": a % b if b else 0,
                   "<": a < b, "<=": a <= b, "==": a == b, "!=": a != b, ">": a > b, ">=": a >= b}[op]


# ---------------------------------------------------------------------------- runner & store


def test_sweep_stores_every_point_once_and_resumes(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, SMALL)
    store = tmp_path / "s.db"
    s1 = run_sweep(spec, store, workers=2, simulate_fn=synthetic_simulate)
    assert (s1.total, s1.ok, s1.failed, s1.skipped) == (16, 16, 0, 0)
    s2 = run_sweep(spec, store, workers=2, simulate_fn=synthetic_simulate)
    assert (s2.ok, s2.skipped) == (0, 16)
    rows = load_rows(store)
    assert len(rows) == 16 and len({r["point_key"] for r in rows}) == 16
    r = rows[0]
    for col in ("array.rows", "array.cols", "dram.channels", "workload.sparsity", "workload.gemm",
                "total_cycles", "seconds", "total_energy_pj", "energy_pj.dram", "config_hash", "seed",
                "package_version", "wall_s", "config_json"):
        assert col in r, col
    assert r["attempts"] == 1
    assert json.loads(r["config_json"])["array"]["rows"] == r["array.rows"]
    meta = read_meta(store)
    assert meta["schema_version"] == "1" and json.loads(meta["axes"])
    con = sqlite3.connect(store)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_backends_give_identical_metrics(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, SMALL)
    run_sweep(spec, tmp_path / "a.db", workers=0, simulate_fn=synthetic_simulate)
    run_sweep(spec, tmp_path / "b.db", workers=2, simulate_fn=synthetic_simulate)
    a, b = store_metrics(tmp_path / "a.db"), store_metrics(tmp_path / "b.db")
    assert a == b and len(a) == 16


def test_failing_points_are_recorded_and_retried_on_request(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, """
        base: sat
        axes: {array.rows: [8, 16]}
        workloads: [{gemm: [8, 8, 8]}, {gemm: [8, 8, 8], fail: true}]
    """)
    store = tmp_path / "s.db"
    s = run_sweep(spec, store, workers=2, simulate_fn=synthetic_simulate)
    assert (s.ok, s.failed) == (2, 2)
    errs = load_rows(store, status="error")
    assert all(e["error"].startswith("RuntimeError: synthetic failure") for e in errs)
    assert run_sweep(spec, store, workers=2, simulate_fn=synthetic_simulate).skipped == 4
    again = run_sweep(spec, store, workers=2, simulate_fn=synthetic_simulate, retry_errors=True)
    assert (again.failed, again.skipped) == (2, 2)
    assert {e["attempts"] for e in load_rows(store, status="error")} == {2}


def test_a_worker_process_that_dies_is_replaced(tmp_path: Path) -> None:
    marker = tmp_path / "died"
    spec = write_spec(tmp_path, f"""
        base: sat
        axes: {{array.rows: [8, 16, 32, 64]}}
        workloads: [{{gemm: [8, 8, 8], sleep_s: 0.05}}, {{gemm: [8, 8, 8], die_once: "{marker}"}}]
    """)
    s = run_sweep(spec, tmp_path / "s.db", workers=2, simulate_fn=synthetic_simulate)
    assert marker.exists()  # a worker really was SIGKILLed
    assert (s.ok, s.failed) == (8, 0)


def test_real_sat_points_through_the_api(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, """
        base: sat
        axes:
          array.rows: [8, 16]
          workload.sparsity: ["dense", "2:8"]
        ties: {array.cols: array.rows}
        workloads: [{gemm: [128, 128, 128]}, {gemm: [64, 64, 64], sparsity: "3:2"}]
    """)
    store = tmp_path / "sat.db"
    s = run_sweep(spec, store, workers=2)
    assert (s.ok, s.failed) == (8, 0)  # the workload axis overrides the impossible "3:2"
    rows = load_rows(store)
    dense = {(r["array.rows"], tuple(r["workload.gemm"])): r["total_cycles"] for r in rows
             if r["workload.sparsity"] == "dense"}
    for r in rows:
        assert r["simulator"] == "sat" and r["total_cycles"] > 0 and r["total_energy_pj"] > 0
        if r["workload.sparsity"] == "2:8":
            assert r["total_cycles"] < dense[(r["array.rows"], tuple(r["workload.gemm"]))]


def test_real_sat_errors_are_recorded(tmp_path: Path) -> None:
    # A workload that is wrong on its face is refused before anything runs (issue #11) ...
    bad = write_spec(tmp_path, """
        base: sat
        workloads: [{gemm: [64, 64, 64], sparsity: "9:4"}, {gemm: [64, 64, 64]}]
    """, "bad.yaml")
    with pytest.raises(InputError, match="9:4"):
        run_sweep(bad, tmp_path / "bad.db", workers=0)
    assert not (tmp_path / "bad.db").exists()
    # ... one that fails only when simulated (no tiling fits these buffers) is recorded.
    spec = write_spec(tmp_path, """
        base: sat
        axes: {buffers.act_bytes: [16, 2097152]}
        workloads: [{gemm: [64, 64, 64]}]
    """)
    s = run_sweep(spec, tmp_path / "e.db", workers=0)
    assert (s.ok, s.failed) == (1, 1)
    (err,) = load_rows(tmp_path / "e.db", status="error")
    assert err["error"].startswith("InputError:") and "\n" not in err["error"]


# ---------------------------------------------------------------------------- CLI and faults


def test_cli_sweep_show_export(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    spec = write_spec(tmp_path, SMALL)
    store = tmp_path / "c.db"
    assert main(["sweep", str(spec), "--out", str(store), "--workers", "2", "--simulate", SYN]) == 0
    assert "16 ok, 0 failed" in capsys.readouterr().out
    assert main(["results", "show", str(store), "--top", "3", "--by", "total_energy_pj",
                 "--where", "workload.sparsity=2:8", "--where", "array.rows>=16"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "4 match" in out[0] and len(out) == 2 + 3
    assert main(["results", "export", str(store), "--format", "csv", "-o", str(tmp_path / "r.csv")]) == 0
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert len(lines) == 17 and "total_cycles" in lines[0]
    assert main(["results", "export", str(store), "-o", str(tmp_path / "r.parquet")]) == 0
    import pyarrow.parquet as pq

    assert pq.read_table(tmp_path / "r.parquet").num_rows == 16


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_cli_faults_leave_the_store_untouched(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good = write_spec(tmp_path, SMALL)
    store = tmp_path / "s.db"
    assert main(["sweep", str(good), "--out", str(store), "--workers", "0", "--simulate", SYN]) == 0
    capsys.readouterr()
    before = file_digest(store)
    bad_specs = {
        "malformed": "base: sat\naxes: [\n",
        "unknown_axis": "base: sat\naxes: {array.rowz: [8]}\nworkloads: [{gemm: [8, 8, 8]}]\n",
        "empty": "base: sat\naxes: {array.rows: [8]}\nworkloads: [{gemm: [8, 8, 8]}]\n"
                 "constraints: ['array.rows > 8']\n",
        "unknown_key": "base: sat\nworkloads: [{gemm: [8, 8, 8]}]\nsampling: {method: grid, n: 3}\n",
    }
    for name, body in bad_specs.items():
        spec = write_spec(tmp_path, body, f"{name}.yaml")
        err = _cli_error(["sweep", str(spec), "--out", str(store), "--simulate", SYN], capsys)
        assert f"{name}.yaml" in err
        assert file_digest(store) == before
    # a different spec into the same store needs --resume
    other = write_spec(tmp_path, "base: sat\nworkloads: [{gemm: [8, 8, 8]}]\n", "other.yaml")
    assert "different sweep spec" in _cli_error(["sweep", str(other), "--out", str(store), "--simulate", SYN], capsys)
    assert file_digest(store) == before
    assert main(["sweep", str(other), "--out", str(store), "--resume", "--simulate", SYN, "--workers", "0"]) == 0
    assert len(load_rows(store)) == 17


def test_cli_refuses_incompatible_and_unwritable_stores(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    spec = write_spec(tmp_path, SMALL)
    old = tmp_path / "old.db"
    con = sqlite3.connect(old)
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '99'), ('package_version', '9.9')")
    con.commit()
    con.close()
    before = file_digest(old)
    assert "schema version 99" in _cli_error(["sweep", str(spec), "--out", str(old), "--simulate", SYN], capsys)
    assert file_digest(old) == before
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    assert "not an archsim sweep store" in _cli_error(["sweep", str(spec), "--out", str(text)], capsys)
    assert text.read_text() == "not a database\n"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert "not writable" in _cli_error(["sweep", str(spec), "--out", str(blocker / "s.db")], capsys)
    assert "not writable" in _cli_error(["sweep", str(spec), "--out", "/proc/archsim-sweep.db"], capsys)
    assert "store not found" in _cli_error(["results", "show", str(tmp_path / "none.db")], capsys)
    assert "schema version 99" in _cli_error(["plot", str(old), "--kind", "pareto", "-o",
                                              str(tmp_path / "p.png")], capsys)


def test_dry_run_counts_points(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["sweep", str(write_spec(tmp_path, SMALL)), "--dry-run"]) == 0
    assert ": 16 points" in capsys.readouterr().out


_BUNDLED_SPECS = sorted(p.stem for p in (CONFIG_DIR / "sweeps").glob("*.yaml"))


def test_bundled_specs_are_found() -> None:
    assert "demo" in _BUNDLED_SPECS and len(_BUNDLED_SPECS) >= 5


@pytest.mark.parametrize("name", _BUNDLED_SPECS)
def test_example_specs_expand(name: str) -> None:
    pts = expand(load_spec(name))
    assert pts
    if name.startswith("sat_resnet50"):
        assert len(pts) >= 500


def test_parse_spec_from_a_mapping() -> None:
    loaded = parse_spec({"base": "sat", "workloads": [{"gemm": [8, 8, 8]}]})
    (p,) = expand(loaded)
    assert p.config["kind"] == "sat" and p.seed == 0
