"""PIUMA kernels: hash tables as the kernel has them, capacity, streaming vs whole-matrix runs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.config import load_config, with_overrides
from archsim.piuma.run import run_piuma
from dataflow.piuma import SPGEMM_DATAFLOWS, SPMV_DATAFLOWS, FabricShape, SpgemmCosts, build_spgemm
from dataflow.piuma.hashtable import home_slot, multiply_rows
from dataflow.piuma.spgemm import size_tables
from workloads.graphs import bundled_names, load_matrix, rmat

SHAPE = FabricShape(cores=2, threads_per_core=4, scratchpad_bytes=4096, sp_banks=4)


@pytest.fixture(scope="module")
def small_cfg():
    cfg = load_config("piuma", expect="piuma")
    return with_overrides(cfg, {"cores_per_die": 2, "mtp_per_core": 1, "threads_per_mtp": 4, "stp_per_core": 1})


def _reference(A, B):
    ref = sp.csr_array(A @ B)
    ref.sum_duplicates()
    ref.eliminate_zeros()
    ref.sort_indices()
    return ref


def _check(C, ref, integer):
    assert np.array_equal(C.indptr, ref.indptr) and np.array_equal(C.indices, ref.indices)
    if integer:
        assert np.array_equal(C.data, ref.data)
    else:
        assert np.allclose(C.data, ref.data, rtol=1e-12, atol=0)


def _robin_hood(cols_in_order, S, hash_fn):
    """Sequential Robin Hood linear probing (ties: smaller column first): slot of every key."""
    table = [None] * S
    for c in dict.fromkeys(cols_in_order):  # distinct keys, first-insertion order
        cur = (int(home_slot(np.array([c]), np.array([S]), hash_fn)[0]), c)
        pos = cur[0]
        while True:
            if table[pos] is None:
                table[pos] = cur
                break
            res = table[pos]
            d_res, d_cur = (pos - res[0]) % S, (pos - cur[0]) % S
            if d_res < d_cur or (d_res == d_cur and res[1] > cur[1]):
                table[pos], cur = cur, res
            pos = (pos + 1) % S
    return {e[1]: (slot, (slot - e[0]) % S) for slot, e in enumerate(table) if e is not None}


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.lists(st.integers(0, 63), min_size=0, max_size=40), min_size=1, max_size=4),
       S=st.sampled_from([16, 32, 64, 128]), hash_fn=st.sampled_from(["mod", "multiplicative"]))
def test_table_layout_and_probes_match_sequential_robin_hood(rows, S, hash_fn):
    # row i of A·B makes the products of columns rows[i] in that order (one per k)
    K = max(sum(len(r) for r in rows), 1)
    a_rows, a_cols, b_rows, b_cols = [], [], [], []
    k = 0
    for i, cols in enumerate(rows):
        for c in cols:
            a_rows.append(i)
            a_cols.append(k)
            b_rows.append(k)
            b_cols.append(c)
            k += 1
    A = sp.csr_array((np.ones(len(a_rows)), (a_rows, a_cols)), shape=(len(rows), K))
    B = sp.csr_array((np.arange(1, len(b_rows) + 1, dtype=np.float64), (b_rows, b_cols)), shape=(K, 64))
    n_keys = max((len(set(r)) for r in rows), default=0)
    if n_keys >= S:
        S = 128
    slots = np.full(len(rows), S, np.int64)
    res = multiply_rows(A, B, np.arange(len(rows)), slots, np.ones(len(rows), np.int64), hash_fn, 4)
    for i, cols in enumerate(rows):
        ref = _robin_hood(cols, S, hash_fn)
        assert res.keys[i] == len(ref)
        assert res.probe_reads[i] == sum(ref[c][1] for c in cols)  # every product probes its key's displacement
        assert res.collisions[i] == sum(d > 0 for _, d in ref.values())
        assert res.max_disp[i] == max((d for _, d in ref.values()), default=0)
        hist = np.bincount([ref[c][0] % 4 for c in cols], minlength=4)
        assert np.array_equal(res.bank_hist[i], hist)
    assert (res.overflow == 0).all()


@pytest.mark.parametrize("dataflow", SPGEMM_DATAFLOWS)
@pytest.mark.parametrize("name", bundled_names())
def test_functional_model_vs_scipy_bundled(name, dataflow):
    A = load_matrix(name)
    if A.shape[0] != A.shape[1]:
        pytest.skip("A·A needs a square matrix")
    _, C = build_spgemm(A, A, dataflow, SHAPE)
    _check(C, _reference(A, A), False)


@pytest.mark.parametrize("dataflow", SPGEMM_DATAFLOWS)
@pytest.mark.parametrize("hash_fn", ["multiplicative", "mod"])
@pytest.mark.parametrize("policy", ["wait", "passes"])
def test_functional_model_vs_scipy_rmat(dataflow, hash_fn, policy):
    A = rmat(8, seed=5)
    A.data = np.random.default_rng(1).random(A.nnz)
    costs = SpgemmCosts(hash=hash_fn, capacity_policy=policy)
    prog, C = build_spgemm(A, A, dataflow, SHAPE, costs)
    _check(C, _reference(A, A), False)
    # integer data: exact
    Ai = rmat(7, seed=2)
    Ai = sp.csr_array((np.random.default_rng(3).integers(-4, 5, Ai.nnz).astype(np.int64), Ai.indices, Ai.indptr), shape=Ai.shape)
    _, Ci = build_spgemm(Ai, Ai, dataflow, SHAPE, costs)
    _check(Ci, _reference(Ai, Ai), True)
    assert Ci.dtype == np.int64


def test_rowwise_counts_come_from_the_tables():
    A = rmat(8, seed=4)
    prog, C = build_spgemm(A, A, "rowwise-hash", SHAPE)
    st_ = prog.stats
    assert prog.sp_atomics.sum() == st_["hash_products"] == st_["flops"]
    assert st_["hash_overflow"] == 0 and st_["hash_table_load_max"] <= 0.5 + 1e-9
    assert st_["outputs_structural"] >= C.nnz
    # probe reads are part of the scratchpad reads, collisions need probes
    assert st_["hash_probe_reads"] >= st_["hash_collisions"] > 0
    # a worse hash (low bits of power-of-two-strided columns) collides more
    B = sp.csr_array((np.ones(64), (np.zeros(64, int), np.arange(64) * 64)), shape=(1, 4096))
    I1 = sp.csr_array(np.ones((1, 1)))
    m = build_spgemm(I1, B, "rowwise-hash", SHAPE, SpgemmCosts(hash="mod"))[0].stats
    k = build_spgemm(I1, B, "rowwise-hash", SHAPE, SpgemmCosts(hash="multiplicative"))[0].stats
    assert m["hash_probe_reads"] > k["hash_probe_reads"]


def test_capacity_policies_size_tables():
    flops = np.array([1, 100, 10_000, 1_000_000])
    shape = FabricShape(cores=1, threads_per_core=66, scratchpad_bytes=4 << 20, sp_banks=16)
    w = size_tables(flops, 262_144, shape, SpgemmCosts(capacity_policy="wait"))
    p = size_tables(flops, 262_144, shape, SpgemmCosts(capacity_policy="passes"))
    assert w.cap_slots * 16 <= 4 << 20 and p.cap_slots * 66 * 16 <= 4 << 20
    assert (w.slots <= w.cap_slots).all() and (p.slots <= p.cap_slots).all()
    assert w.passes.tolist() == [1, 1, 1, 2] and p.passes[-1] > w.passes[-1]


@pytest.mark.parametrize("dataflow", ["rowwise-hash", "outer", "inner"])
@pytest.mark.parametrize("policy", ["wait", "passes"])
def test_scratchpad_occupancy_never_above_capacity(small_cfg, dataflow, policy):
    cfg = with_overrides(small_cfg, {"scratchpad_bytes": 65536, "spgemm.capacity_policy": policy})
    res, C = run_piuma(cfg, {"kernel": "spgemm", "dataflow": dataflow, "rmat_scale": 9}, seed=1)
    m = res.metrics
    peaks = [m[f"sp_peak_bytes_core{c}"] for c in range(cfg.cores)]
    assert 0 < max(peaks) <= cfg.scratchpad_bytes == m["sp_capacity_bytes"]
    A = rmat(9, seed=1)
    _check(C, _reference(A, A), False)
    if dataflow != "inner" and policy == "wait":
        assert m["sp_wait_cycles"] > 0  # 64 KB cannot hold every thread's table at s9


@pytest.mark.parametrize("kernel,dataflow", [("spgemm", d) for d in SPGEMM_DATAFLOWS] + [("spmv", d) for d in SPMV_DATAFLOWS])
@pytest.mark.parametrize("src", [{"matrix": "karate"}, {"matrix": "west0067"}, {"rmat_scale": 8},
                                 pytest.param({"rmat_scale": 10}, marks=pytest.mark.slow),
                                 pytest.param({"rmat_scale": 12}, marks=pytest.mark.slow)])
def test_streaming_equals_whole_matrix(small_cfg, kernel, dataflow, src):
    if dataflow == "inner" and src.get("rmat_scale") == 12:
        pytest.skip("inner product at s12 takes minutes; s8 and s10 cover it")
    wl = {"kernel": kernel, "dataflow": dataflow, **src}
    out = []
    for block_runs in (1 << 40, 500):
        cfg = with_overrides(small_cfg, {"stream.block_runs": block_runs, "sim.bucket_cycles": 256})
        res, o = run_piuma(cfg, wl, seed=2)
        out.append((res, o))
    (r1, o1), (r2, o2) = out
    assert r1.metrics["stream_blocks"] == 1 * len(r1.phase_cycles)
    if kernel == "spgemm":
        assert r1.metrics["output_checksum"] == r2.metrics["output_checksum"]
        assert r1.metrics["output_nnz"] == r2.metrics["output_nnz"] == o1.nnz
        assert (o1 != o2).nnz == 0
    else:
        assert np.array_equal(o1, o2)
    # identical schedules; only the cache's access order near block boundaries can differ
    for key in ("flops", "sp_atomics", "tasks"):
        assert r1.metrics[key] == r2.metrics[key]
    assert r1.action_counts["pipelines"] == r2.action_counts["pipelines"]
    assert abs(r2.total_cycles / r1.total_cycles - 1) <= 0.02, (r1.total_cycles, r2.total_cycles)


# ---- big and bad inputs: exit 2, one line, at once ---------------------------------------------


def _one_line_error(capsys, rc):
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert err.startswith("error: ") and "\n" not in err, err
    return err


HDR = "%%MatrixMarket matrix coordinate real general\n"


@pytest.mark.parametrize("body,needle", [
    ("2000000000 2000000000 1\n1 1 1\n", "GiB"),  # would need 30 GB for the row pointers alone
    ("3 3 1000000000000\n1 1 1\n", "GiB"),
    ("3 3 2\n1 1 nan\n2 2 1\n", "not finite"),
    ("3 3 2\n1 1 1\n2 2 -inf\n", "not finite"),
    ("3 3 2\n1e0 1 1\n2 2 1\n", "not an integer"),
    ("3 3 2\n1 1.0 1\n2 2 1\n", "not an integer"),
])
def test_cli_refuses_big_and_bad_matrix_market(tmp_path, capsys, body, needle):
    import time

    from archsim.cli import main

    p = tmp_path / "bad.mtx"
    p.write_text(HDR + body)
    t0 = time.perf_counter()
    err = _one_line_error(capsys, main(["run", "piuma", "--matrix", str(p), "--cores", "2"]))
    assert time.perf_counter() - t0 < 10
    # the CLI's work budget (archsim.budget) may refuse a huge header first; either way one line
    assert "bad.mtx" in err and (needle in err or (needle == "GiB" and "too much work" in err)), err
    if needle == "GiB":  # the reader itself refuses it too (API path), before reading the body
        from workloads.errors import InputError
        from workloads.graphs import read_mtx

        with pytest.raises(InputError, match="GiB"):
            read_mtx(p)


def test_cli_limits_and_flags(tmp_path, capsys, monkeypatch):
    from archsim.cli import main

    monkeypatch.setenv("ARCHSIM_MAX_WORK", "1e12")  # past the CLI's work budget, to the input's own limit
    err = _one_line_error(capsys, main(["run", "piuma", "--matrix", "karate", "--max-input-gib", "1e-7"]))
    assert "karate" in err and "limit" in err
    err = _one_line_error(capsys, main(["run", "piuma", "--rmat-scale", "20", "--max-input-gib", "0.01"]))
    assert "R-MAT scale 20" in err
    err = _one_line_error(capsys, main(["run", "piuma", "--matrix", "karate", "--rmat-scale", "8"]))
    assert "--matrix" in err and "--rmat-scale" in err
    p = tmp_path / "nan.mtx"
    p.write_text(HDR + "3 3 2\n1 1 nan\n2 2 1\n")
    assert main(["run", "piuma", "--matrix", str(p), "--cores", "2", "--allow-nonfinite"]) == 0


def test_cli_out_of_memory_is_one_line(monkeypatch, capsys):
    import archsim.piuma.run as run_mod
    from archsim.cli import main

    def boom(*a, **k):
        raise MemoryError

    monkeypatch.setattr(run_mod, "run_piuma", boom)
    err = _one_line_error(capsys, main(["run", "piuma", "--rmat-scale", "8"]))
    assert "out of memory simulating spgemm on R-MAT scale 8; try" in err


def test_save_output_streams_a_readable_mtx(tmp_path, capsys):
    import scipy.io as sio

    from archsim.cli import main
    from workloads.graphs import read_mtx

    c = tmp_path / "C.mtx"
    cfg = tmp_path / "p.yaml"
    from archsim.config import CONFIG_DIR

    cfg.write_text((CONFIG_DIR / "piuma.yaml").read_text() + "stream:\n  block_runs: 200\n")
    assert main(["run", "piuma", "--config", str(cfg), "--rmat-scale", "8", "--cores", "2", "--save-output", str(c),
                 "--json", str(tmp_path / "r.json")]) == 0
    import json

    m = json.loads((tmp_path / "r.json").read_text())["metrics"]
    assert m["stream_blocks"] > 1
    A = rmat(8, seed=0)
    ref = _reference(A, A)
    for C in (read_mtx(c), sp.csr_array(sio.mmread(c))):
        C.sort_indices()
        _check(sp.csr_array(C), ref, False)
    assert m["output_nnz"] == ref.nnz


def test_symbolic_sizing_gives_smaller_tables_and_the_same_C(small_cfg):
    A = rmat(9, seed=6)
    pb, Cb = build_spgemm(A, A, "rowwise-hash", SHAPE)
    ps, Cs = build_spgemm(A, A, "rowwise-hash", SHAPE, SpgemmCosts(table_sizing="symbolic"))
    assert (Cb != Cs).nnz == 0
    _check(Cs, _reference(A, A), False)
    assert ps.stats["hash_table_slots"] < pb.stats["hash_table_slots"]
    assert ps.stats["hash_table_load_max"] <= 0.5 + 1e-9 and ps.stats["hash_overflow"] == 0
    assert ps.stats["symbolic_products"] == ps.stats["flops"]
    cfg = with_overrides(small_cfg, {"scratchpad_bytes": 65536, "spgemm.table_sizing": "symbolic"})
    res, C = run_piuma(cfg, {"kernel": "spgemm", "dataflow": "rowwise-hash", "rmat_scale": 9}, seed=1)
    assert 0 < res.metrics["sp_peak_bytes_max"] <= 65536
