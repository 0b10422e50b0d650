"""PIUMA fabric: real outputs, partitions, monotonicity in bandwidth, input errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.config import load_config, parse_config, with_overrides
from archsim.piuma.run import run_piuma
from dataflow.piuma import (
    PARTITIONS,
    SPGEMM_DATAFLOWS,
    SPMV_DATAFLOWS,
    FabricShape,
    Program,
    build_spgemm,
    build_spmv,
    partition,
)
from workloads.errors import InputError

SHAPE = FabricShape(cores=2, threads_per_core=4, scratchpad_bytes=4096, sp_banks=4)


@pytest.fixture(scope="module")
def small_cfg():
    cfg = load_config("piuma", expect="piuma")
    return with_overrides(cfg, {"cores_per_die": 2, "mtp_per_core": 1, "threads_per_mtp": 4, "stp_per_core": 1})


def _random(rows, cols, density, seed, integer):
    rng = np.random.default_rng(seed)
    A = sp.random_array((rows, cols), density=density, rng=rng, format="coo")
    if integer:
        A.data = rng.integers(-3, 4, A.nnz).astype(np.int64)
    # duplicates: repeat some entries (summed by the canonicalisation)
    k = A.nnz // 3
    coo = sp.coo_array((np.r_[A.data, A.data[:k]], (np.r_[A.row, A.row[:k]], np.r_[A.col, A.col[:k]])), shape=A.shape)
    return sp.csr_array(coo)


def _check_equal(C, A, B, integer):
    ref = sp.csr_array(A @ B)
    ref.sum_duplicates()
    ref.eliminate_zeros()
    ref.sort_indices()
    C = sp.csr_array(C)
    assert C.has_sorted_indices
    assert np.array_equal(C.indptr, ref.indptr) and np.array_equal(C.indices, ref.indices)
    if integer:
        assert np.array_equal(C.data, ref.data)
    else:
        assert np.allclose(C.data, ref.data, rtol=1e-12, atol=0)


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(1, 30), k=st.integers(1, 30), n=st.integers(1, 30),
    density=st.floats(0.0, 0.5), seed=st.integers(0, 10_000), integer=st.booleans(),
    dataflow=st.sampled_from(SPGEMM_DATAFLOWS),
)
def test_spgemm_equals_scipy(m, k, n, density, seed, integer, dataflow):
    A = _random(m, k, density, seed, integer)
    B = _random(k, n, density, seed + 1, integer)
    prog, C = build_spgemm(A, B, dataflow, SHAPE)
    _check_equal(C, A, B, integer)
    assert prog.n_tasks == prog.phase.size and prog.run_ptr[-1] == prog.n_runs


@settings(max_examples=20, deadline=None)
@given(m=st.integers(1, 40), n=st.integers(1, 40), density=st.floats(0.0, 0.6), seed=st.integers(0, 10_000),
       dataflow=st.sampled_from(SPMV_DATAFLOWS))
def test_spmv_equals_scipy(m, n, density, seed, dataflow):
    A = _random(m, n, density, seed, False)
    x = np.random.default_rng(seed).random(n)
    prog, y = build_spmv(A, x, dataflow, SHAPE)
    assert np.allclose(y, A @ x, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["karate", "west0067", "zenios"])
@pytest.mark.parametrize("dataflow", SPGEMM_DATAFLOWS)
def test_bundled_spgemm_through_simulator(small_cfg, name, dataflow):
    from workloads.graphs import load_matrix

    res, C = run_piuma(small_cfg, {"kernel": "spgemm", "dataflow": dataflow, "matrix": name}, seed=0)
    A = load_matrix(name)
    _check_equal(C, A, A, False)
    assert res.total_cycles > 0 and res.simulator == "piuma"
    assert res.metrics["flops"] == pytest.approx(float((np.diff(A.tocsc().indptr) * np.diff(A.indptr)).sum()))
    assert res.total_energy_pj > 0


@pytest.mark.parametrize("dataflow", SPMV_DATAFLOWS)
def test_spmv_through_simulator(small_cfg, dataflow):
    res, y = run_piuma(small_cfg, {"kernel": "spmv", "dataflow": dataflow, "rmat_scale": 8}, seed=3)
    from workloads.graphs import rmat

    A = rmat(8, seed=3)
    x = np.random.default_rng(3).random(A.shape[1])
    assert np.allclose(y, A @ x, rtol=1e-12)
    assert 0 < res.metrics["bandwidth_fraction_of_peak"] <= 1.0


def test_single_row_and_empty_rows():
    A = sp.csr_array(np.array([[0, 2.0, 0, 1.0]]))
    B = sp.csr_array(np.array([[1.0, 0], [0, 0], [0, 0], [3.0, 4.0]]))
    for df in SPGEMM_DATAFLOWS:
        _, C = build_spgemm(A, B, df, SHAPE)
        _check_equal(C, A, B, False)
    E = sp.csr_array((5, 5))
    for df in SPGEMM_DATAFLOWS:
        prog, C = build_spgemm(E, E, df, SHAPE)
        assert C.nnz == 0


def test_outputs_that_sum_to_zero_are_merged_but_not_written():
    # C[0,0] = 1·1 + (-1)·1 = 0 cancels; B holds an explicitly stored zero (zenios has many)
    A = sp.csr_array(np.array([[1.0, -1.0, 0.0], [0.0, 2.0, 1.0]]))
    B = sp.csr_array((np.array([1.0, 1.0, 3.0, 0.0]), np.array([0, 0, 1, 2]), np.array([0, 1, 3, 4])), shape=(3, 3))
    for df in SPGEMM_DATAFLOWS:
        prog, C = build_spgemm(A, B, df, SHAPE)
        _check_equal(C, A, B, False)
        assert C.nnz == 3 and prog.stats["outputs_structural"] == 5, (df, C.nnz, prog.stats)
        c0, nc = prog.layout["C.idx"]
        w = (prog.run_kind == 1) & (prog.run_addr >= c0) & (prog.run_addr < c0 + max(nc, 1))
        assert int(prog.run_len[w].sum()) == C.nnz  # only nonzeros are written


def test_cache_sees_threads_interleaved_round_robin(small_cfg):
    # two threads of one pipeline each read one line twice; the lines map to the same set of
    # the direct-mapped cache, so round-robin interleaving (A B A B) leaves no hit, where a
    # thread-after-thread order (A A B B) would give two
    from archsim.piuma.fabric import task_demands
    from dataflow.piuma.program import CACHED, READ

    sets = small_cfg.cache.bytes_per_pipeline // small_cfg.cache.line_bytes
    wpl = small_cfg.cache.line_bytes // 8
    z = np.zeros(2, np.int64)
    prog = Program(
        kernel="t", dataflow="t", phases=("p",), phase=z, weight=np.ones(2, np.int64), run_ptr=np.array([0, 2, 4]),
        run_addr=np.array([0, 1, sets * wpl, sets * wpl + 1]), run_len=np.ones(4, np.int64),
        run_kind=np.full(4, READ, np.uint8), run_mode=np.full(4, CACHED, np.uint8), instr=z, sp_reads=z, sp_writes=z,
        sp_atomics=z, dma_cmds=z, sp_atomic_banks=np.zeros((2, small_cfg.sp_banks), np.int64), layout={"x": (0, sets * wpl + 8)},
    )
    a = partition(np.arange(2), prog.weight, small_cfg.threads, "cyclic")
    assert a.thread_tasks(0).tolist() == [0] and a.thread_tasks(1).tolist() == [1]
    assert task_demands(prog, small_cfg, a).cache_hits.sum() == 0
    # on one thread the second access of each line hits
    b = partition(np.arange(2), prog.weight, 1, "cyclic")
    assert task_demands(prog, small_cfg, b).cache_hits.sum() == 2


def test_rmat_permute_key(small_cfg, capsys):
    wl = {"kernel": "spmv", "dataflow": "base", "rmat_scale": 7}
    a = run_piuma(small_cfg, wl, seed=2)[0]
    b = run_piuma(small_cfg, {**wl, "rmat_permute": False}, seed=2)[0]
    assert a.workload == "spmv:rmat-s7-ef16" and b.workload == "spmv:rmat-s7-ef16-noperm"
    with pytest.raises(InputError, match="rmat_permute"):
        run_piuma(small_cfg, {**wl, "rmat_permute": "no"})
    from archsim.cli import main

    assert main(["run", "piuma", "--kernel", "spmv", "--rmat-scale", "6", "--rmat-no-permute", "--cores", "2"]) == 0
    assert "noperm" in capsys.readouterr().out


@pytest.mark.parametrize("mode", PARTITIONS)
def test_partitions_cover_every_task_once(mode):
    rng = np.random.default_rng(0)
    w = rng.integers(0, 100, 500)
    core = np.repeat(np.arange(4), 125)
    for pinned in (None, core):
        a = partition(np.arange(500), w, 16, mode, core=pinned, threads_per_core=4)
        assert np.array_equal(np.sort(a.tasks), np.arange(500))
        if a.thread_ptr is not None:
            seen = np.concatenate([a.thread_tasks(t) for t in range(16)])
            assert np.array_equal(np.sort(seen), np.arange(500))
            if pinned is not None:
                for t in range(16):
                    assert (core[a.thread_tasks(t)] == t // 4).all()


def test_program_json_roundtrip():
    from workloads.graphs import load_matrix

    prog, _ = build_spgemm(load_matrix("karate"), load_matrix("karate"), "outer", SHAPE)
    back = Program.from_dict(prog.to_dict())
    assert np.array_equal(back.run_addr, prog.run_addr) and back.phases == prog.phases


@pytest.mark.parametrize("kernel,dataflow", [("spgemm", "rowwise-hash"), ("spgemm", "inner"), ("spmv", "base"), ("spmv", "dma")])
def test_more_bandwidth_never_slower(small_cfg, kernel, dataflow):
    wl = {"kernel": kernel, "dataflow": dataflow, "rmat_scale": 8}
    cycles = []
    for bw in (2.0, 8.0, 32.0, 128.0):
        cfg = with_overrides(small_cfg, {"dram.bytes_per_cycle_per_controller": bw})
        cycles.append(run_piuma(cfg, wl, seed=1)[0].total_cycles)
    assert all(b <= a for a, b in zip(cycles, cycles[1:])), cycles


def test_contention_comes_from_simulation(small_cfg):
    # halving controller bandwidth on a bandwidth-heavy run must cost cycles
    wl = {"kernel": "spmv", "dataflow": "dma", "rmat_scale": 9}
    fast = run_piuma(small_cfg, wl, seed=0)[0]
    slow = run_piuma(with_overrides(small_cfg, {"dram.bytes_per_cycle_per_controller": 1.0}), wl, seed=0)[0]
    assert slow.total_cycles > fast.total_cycles


# ---- errors -----------------------------------------------------------------------------


@pytest.fixture
def cli_main():
    from archsim.cli import main

    return main


def _one_line_error(capsys, rc):
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("error: ") and "\n" not in err, err
    return err


def test_cli_run_ok(cli_main, tmp_path, capsys):
    out = tmp_path / "r.json"
    c = tmp_path / "C.mtx"
    rc = cli_main(["run", "piuma", "--kernel", "spgemm", "--dataflow", "rowwise-hash", "--matrix", "karate",
                   "--cores", "2", "--json", str(out), "--save-output", str(c)])
    assert rc == 0
    assert "cycles" in capsys.readouterr().out
    import json

    assert json.loads(out.read_text())["simulator"] == "piuma"
    from workloads.graphs import load_matrix, read_mtx

    A = load_matrix("karate")
    _check_equal(read_mtx(c), A, A, False)


@pytest.mark.parametrize("body", [
    "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 x\n2 2 1\n",
    "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1\n",
    "%%MatrixMarket matrix coordinate real general\n3 3 1\n4 1 1\n",
    "not a header\n",
])
def test_cli_malformed_mtx(cli_main, tmp_path, capsys, body):
    p = tmp_path / "bad.mtx"
    p.write_text(body)
    err = _one_line_error(capsys, cli_main(["run", "piuma", "--matrix", str(p)]))
    assert "bad.mtx" in err


def test_cli_non_square_and_unknown_dataflow(cli_main, tmp_path, capsys):
    p = tmp_path / "rect.mtx"
    p.write_text("%%MatrixMarket matrix coordinate real general\n2 3 2\n1 1 1\n2 3 2\n")
    assert "square" in _one_line_error(capsys, cli_main(["run", "piuma", "--matrix", str(p)]))
    assert "dataflow" in _one_line_error(capsys, cli_main(["run", "piuma", "--dataflow", "diagonal", "--matrix", "karate"]))
    assert "partition" in _one_line_error(capsys, cli_main(["run", "piuma", "--partition", "greedy", "--matrix", "karate"]))


def test_cli_config_errors(cli_main, tmp_path, capsys):
    p = tmp_path / "c.yaml"
    p.write_text(open(load_config.__globals__["CONFIG_DIR"] / "piuma.yaml").read().replace("sp_banks: 16", "sp_banks: 12"))
    assert "sp_banks" in _one_line_error(capsys, cli_main(["run", "piuma", "--config", str(p), "--matrix", "karate"]))
    p.write_text(open(load_config.__globals__["CONFIG_DIR"] / "piuma.yaml").read().replace("dies: 1", "dies: 1\nwarp: 3"))
    assert "warp" in _one_line_error(capsys, cli_main(["run", "piuma", "--config", str(p), "--matrix", "karate"]))
    assert "cores_per_die" in _one_line_error(capsys, cli_main(["run", "piuma", "--cores", "0", "--matrix", "karate"]))


def test_dimension_mismatch_and_unknown_keys(small_cfg):
    with pytest.raises(InputError, match="dimension mismatch"):
        build_spgemm(sp.csr_array((3, 4)), sp.csr_array((3, 4)), "inner", SHAPE)
    with pytest.raises(InputError, match="unknown key"):
        run_piuma(small_cfg, {"kernel": "spgemm", "matrix": "karate", "colour": 1})
    with pytest.raises(InputError, match="kernel"):
        run_piuma(small_cfg, {"kernel": "spmm", "matrix": "karate"})
    with pytest.raises(InputError):
        parse_config({"kind": "piuma", "version": 1})


def test_api_dispatch(small_cfg):
    from archsim.api import simulate

    res = simulate(small_cfg, {"kernel": "spmv", "dataflow": "cached", "matrix": "karate"}, seed=0)
    assert res.schedule == "spmv/cached/nnz" and res.seed == 0


@pytest.mark.parametrize("iw,dies,occ", [(8, 1, 2.0), (1, 1, 2.0), (2, 3, 1.5), (64, 2, 2.0), (8, 16, 2.0)])
def test_controller_sums_match_the_per_controller_pass(iw, dies, occ):
    # the O(runs) ramp sums (interleaved mapping) against one pass over the runs per
    # controller: per-(task, controller) sums identical, moments equal to rounding
    from archsim.piuma import fabric as F

    cfg = with_overrides(load_config("piuma", expect="piuma"), {"dies": dies, "dram.interleave_words": iw, "dram.atomic_occupancy": occ})
    rng = np.random.default_rng(iw * 100 + dies)
    n, nt = 4000, 37
    g0 = min(cfg.cache.line_bytes // 8, iw)
    lo = rng.integers(0, 1 << 20, n)
    ln = np.where(rng.random(n) < 0.2, rng.integers(0, 5000, n), rng.integers(0, 40, n))
    ln[rng.random(n) < 0.05] = 0  # cache hits move nothing
    g = np.where(rng.random(n) < 0.6, g0, 1)
    aligned = (g > 1) & (rng.random(n) < 0.5)  # line-rounded cached reads
    lo[aligned] = lo[aligned] // g0 * g0
    hi = lo + ln
    hi[aligned] = -(-hi[aligned] // g0) * g0
    task = np.sort(rng.integers(0, nt, n))
    kind = rng.integers(0, 3, n)
    is_read, is_write = kind == 0, kind == 1
    is_dma = (rng.random(n) < 0.1) & (g == 1)
    occupancy = np.where(kind == 2, occ, 1.0)
    waits = ~is_write & ~is_dma
    args = (task, nt, lo, hi, g, occupancy, is_read, is_write, waits, is_dma, cfg, int(hi.max()))
    fast, dense = F._controller_sums(*args), F._controller_sums_dense(*args)
    for f in ("slots", "trips", "reqs", "breqs", "outb", "backb"):
        assert np.array_equal(getattr(fast, f), getattr(dense, f)), f
    for x, y in zip(fast.dma, dense.dma):
        assert np.array_equal(x, y)
    for f in ("s1", "s2", "m1", "m2"):
        assert getattr(fast, f) == pytest.approx(getattr(dense, f), rel=1e-12), f
    assert dense.slots.sum() > 0 and (dense.slots > 0).sum(axis=1).max() == cfg.controllers
