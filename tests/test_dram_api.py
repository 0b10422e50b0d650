"""The DRAM model's front ends: trace CLI, SimPy port, loaded-latency curve, block transfers and
the SAT wiring (``dram.model: command``)."""

import json

import numpy as np
import pytest
import simpy

from archsim.cli import main
from archsim.dram import load_preset, simulate
from archsim.dram import patterns as P
from archsim.dram.blocks import BlockDram
from archsim.dram.loaded import compare_with_bandwidth_server, loaded_latency_curve
from archsim.dram.port import DramPort
from archsim.dram.trace import read_trace, write_trace
from workloads.errors import InputError


# ---------------------------------------------------------------- trace front end
def test_trace_cli_runs_and_writes_json(tmp_path, capsys):
    a, arr = P.uniform_random(3000, 1)
    tr = tmp_path / "rnd.trc"
    write_trace(tr, a, np.zeros(3000, bool), arr)
    out = tmp_path / "r.json"
    assert main(["dram", "run", str(tr), "--preset", "DDR4_2400_x8_1R", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    direct = simulate(load_preset("DDR4_2400_x8_1R"), a).stats
    assert d["stats"]["efficiency"] == pytest.approx(direct.efficiency)
    assert d["stats"]["requests"] == 3000
    assert "efficiency" in capsys.readouterr().out


def test_trace_cli_overrides(tmp_path):
    a, arr = P.sequential(4000)
    tr = tmp_path / "seq.trc"
    write_trace(tr, a, np.zeros(4000, bool), arr)
    o1, o2 = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["dram", "run", str(tr), "--preset", "DDR4_2400_x8_1R", "--json", str(o1)]) == 0
    assert main(["dram", "run", str(tr), "--preset", "DDR4_2400_x8_1R", "--json", str(o2),
                 "--address-map", "rochrabacobg", "--set", "timing.refresh=false"]) == 0
    e1 = json.loads(o1.read_text())["stats"]["efficiency"]
    e2 = json.loads(o2.read_text())["stats"]["efficiency"]
    assert e2 > 0.98 > 0.8 > e1


def test_trace_malformed_line_names_file_and_line(tmp_path, capsys):
    tr = tmp_path / "bad.trc"
    tr.write_text("0x40 READ 0\n0x80 FETCH 1\n")
    assert main(["dram", "run", str(tr), "--preset", "DDR4_2400_x8_1R"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{tr}:2:" in err and "READ|WRITE" in err
    with pytest.raises(InputError, match="cycles must not decrease"):
        tr.write_text("0x40 READ 5\n0x80 READ 1\n")
        read_trace(tr)


def test_cli_unknown_preset_and_jedec_violation(tmp_path, capsys):
    tr = tmp_path / "t.trc"
    tr.write_text("0x40 READ 0\n")
    assert main(["dram", "run", str(tr), "--preset", "DDR7"]) == 2
    err = capsys.readouterr().err
    assert "unknown DRAM preset 'DDR7'" in err and "DDR5_4400_x8_subch" in err
    assert main(["dram", "run", str(tr), "--preset", "DDR4_2400_x8_1R",
                 "--set", "timing.tRC_tck=40"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "timing.tRC_tck" in err and err.count("\n") == 0


def test_cli_presets(capsys):
    assert main(["dram", "presets"]) == 0
    assert "HBM2_2000" in capsys.readouterr().out


# ---------------------------------------------------------------- SimPy port
def test_simpy_port_equals_batch_model():
    cfg = load_preset("DDR4_2400_x8_1R")
    n = 3000
    a, arr = P.uniform_random(n, 3, gap_tck=12)
    w = P.mix_writes(n, 4)
    ref = simulate(cfg, a, w, arr)
    env = simpy.Environment()
    port = DramPort(env, cfg)
    done = np.zeros(n)

    def source():
        for i in range(n):
            if arr[i] > env.now:
                yield env.timeout(arr[i] - env.now)
            port.access(int(a[i]), 64, bool(w[i])).callbacks.append(
                lambda e, i=i: done.__setitem__(i, env.now))

    env.process(source())
    env.run()
    assert np.array_equal(done, ref.done_tck)
    assert port.stats().efficiency == pytest.approx(ref.stats.efficiency)


def test_simpy_port_other_clock_and_multi_burst():
    cfg = load_preset("DDR4_2400_x8_1R")
    env = simpy.Environment()
    port = DramPort(env, cfg, env_clock_hz=200e6)  # 6 tCK per caller cycle
    got = []

    def proc():
        yield env.timeout(10)
        t0 = env.now
        yield port.read(0, 256)  # 4 bursts, one row
        got.append(env.now - t0)

    env.process(proc())
    env.run()
    # arrival rounded up to a tCK; ACT, 4 RDs spaced tCCD_L (column-lowest map: one bank
    # group), last data CL + tBURST after the last RD
    ratio = cfg.clock_hz / 200e6
    arrival = np.ceil(10 * ratio)
    assert got[0] == pytest.approx((arrival + 17 + 3 * 6 + 17 + 4) / ratio - 10)


# ---------------------------------------------------------------- loaded-latency curve
def test_loaded_latency_curve_shape():
    cfg = load_preset("DDR4_2400_x8_1R")
    c = loaded_latency_curve(cfg, requests=3000, loads=(0.05, 0.2, 0.4, 0.8))
    assert list(c.latency_mean_ns) == sorted(c.latency_mean_ns)
    assert 0.55 < c.saturation < 0.61
    assert c.latency_ns(0.0) == pytest.approx(c.latency_mean_ns[0])
    assert c.latency_ns(0.1) < c.latency_ns(0.3)
    assert 40 < c.unloaded_ns < 50


def test_compare_with_bandwidth_server_8_byte_accesses():
    cfg = load_preset("DDR5_4400_x8_subch")
    a, _ = P.uniform_random(4000, 5, align_bytes=8)
    r = compare_with_bandwidth_server(cfg, a, sizes=8)
    # a bandwidth server charges 8 B of bus; the command model a whole burst and the tFAW limit
    assert r["command_over_server"] > 5


# ---------------------------------------------------------------- block transfers / SAT wiring
def test_block_dram_aggregate_close_to_exact():
    cfg = load_preset("DDR4_2400_x8_1R", {"organisation": {"channels": 4},
                                          "controller": {"address_map": "ro ra ba co bg ch"}})
    ex, ag = BlockDram(cfg, 200e6, "exact"), BlockDram(cfg, 200e6, "aggregate")
    t_ex = t_ag = 0.0
    for k in range(6):
        w = k % 3 == 2
        t_ex = ex.transfer(t_ex, 256 * 1024, w, "s")[1]
        t_ag = ag.transfer(t_ag, 256 * 1024, w, "s")[1]
    assert abs(t_ag / t_ex - 1) < 0.03
    assert ex.stats()["commands"]["RD"] == 4 * 4096


def test_sat_command_model_config_choice():
    from archsim.config import load_config, with_overrides
    from archsim.sat.model import SatModel
    from archsim.sat.run import make_schedule

    cfg = load_config("sat")
    assert cfg.dram.model == "bandwidth"
    s = make_schedule(cfg, {"gemm": [256, 512, 256], "sparsity": "2:8"})
    bw = SatModel(cfg, s).run().total_cycles
    ag = SatModel(with_overrides(cfg, {"dram.model": "command"}), s).run().total_cycles
    ex = SatModel(with_overrides(cfg, {"dram.model": "command",
                                       "dram.command.fidelity": "exact"}), s).run().total_cycles
    assert abs(ag / ex - 1) < 0.05  # small blocks: row misses at block starts weigh more
    assert ag != bw
    with pytest.raises(InputError, match="dram.command.preset"):
        with_overrides(cfg, {"dram.model": "command", "dram.command.preset": "DDR9"})


def test_cli_curve_and_bad_set(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["dram", "curve", "--preset", "DDR5_4400_x8_subch", "--requests", "800",
                 "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["preset"] == "DDR5_4400_x8_subch" and 0.8 < d["saturation"] < 0.97  # short run: few refreshes
    assert main(["dram", "curve", "--preset", "DDR5_4400_x8_subch", "--set", "tFAW"]) == 2
    assert "SECTION.KEY=VALUE" in capsys.readouterr().err


def test_cli_trace_writes_reference_shapes(tmp_path):
    out = tmp_path / "mix.trc"
    assert main(["dram", "trace", str(out), "--pattern", "random", "--requests", "3000",
                 "--write-fraction", "0.3333", "--gap", "12"]) == 0
    tr = read_trace(out)
    assert len(tr) == 3000 and tr.arrivals[-1] == 12 * 2999
    assert 0.3 < tr.writes.mean() < 0.37 and np.all(tr.addrs % 64 == 0)
    assert main(["dram", "trace", str(out), "--requests", "0"]) == 2


def test_simpy_port_long_run_odd_clock_ratio_terminates():
    cfg = load_preset("DDR5_4400_x8_subch")
    env = simpy.Environment(initial_time=3.7e8)  # large times: float clock products round
    port = DramPort(env, cfg, env_clock_hz=1.37e9)
    done = []

    def proc():
        for k in range(200):
            yield port.read(k * 4096 + 64, 8)
            done.append(env.now)
            yield env.timeout(3.3)

    env.process(proc())
    env.run()
    assert len(done) == 200 and port.stats().wasted_bytes == 56 * 200


@pytest.mark.parametrize("line", ["0xFFFFFFFFFFFFFFFFFF READ 0", "0x40 READ 99999999999999999999999",
                                  "0x40 WRITE 0 extra", "garbage", "0x40 READ -3"])
def test_trace_out_of_range_lines_are_one_line_errors(tmp_path, capsys, line):
    tr = tmp_path / "t.trc"
    tr.write_text("0x0 READ 0\n" + line + "\n")
    assert main(["dram", "run", str(tr), "--preset", "DDR4_2400_x8_1R"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{tr}:2:" in err
