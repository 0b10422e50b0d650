"""cocotb testbench of the generated ``sparse_array`` Verilog (run by `harness.run_config`).

Not collected by pytest (see ``conftest.py``): it runs inside the HDL simulator.  The
configuration (array parameters and scenarios) comes from the JSON file named by
``ARCHSIM_TB_CONFIG``; the driver / monitor / model / checker is `rtl.bench.TileBench`.

Per clock cycle: at the falling edge the bench's inputs are written; in the ReadOnly phase of that
time step (combinational logic settled) ``ready`` and the registered outputs are read — exactly
what the rising edge that follows samples.
"""

from __future__ import annotations

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

from rtl.bench import TileBench
from scenarios import make_tiles



class _Port:
    """A DUT port with a write cache (only changed values are written)."""

    __slots__ = ("h", "last")

    def __init__(self, h) -> None:
        self.h, self.last = h, None

    def put(self, v: int) -> None:
        if v != self.last:
            self.h.value = v
            self.last = v

    def get(self) -> int:
        return int(self.h.value)


async def _play(dut, ports, bench: TileBench, max_cycles: int) -> None:
    """One clock cycle per iteration: drive at the falling edge, observe once settled."""
    rst, av, ap, ar, lv, lp, lr, ov, op = ports
    ws = lv is not None
    t_all = time.perf_counter()
    for _ in range(max_cycles):
        if bench.done:
            dut._log.info("played %d cycles in %.3f s", bench.cycle, time.perf_counter() - t_all)
            return
        await FallingEdge(dut.clk)
        ins = bench.inputs()
        rst.put(ins["rst"])
        av.put(ins["act_valid"])
        if ins["act_valid"]:
            ap.put(ins["act_payload"])
        if ws:
            lv.put(ins["load_valid"])
            if ins["load_valid"]:
                lp.put(ins["load_payload"])
        await ReadOnly()
        o_valid = ov.get()
        bench.observe(ar.get(), lr.get() if ws else 0, o_valid, op.get() if o_valid else 0)
    bench._error(f"timeout: {max_cycles} cycles, output of tile {bench.oi} not complete")


@cocotb.test()
async def array_tiles(dut):
    """Play every scenario of the configuration on one build; write the JSON summary."""
    with open(os.environ["ARCHSIM_TB_CONFIG"]) as f:
        cfg = json.load(f)
    if os.environ.get("ARCHSIM_TB_PYCLOCK"):  # no HDL clock in the top (Verilator)
        Clock(dut.clk, 10, unit="ns").start()
    ws = cfg["dataflow"] == "ws"
    ports = (_Port(dut.rst), _Port(dut.act__valid), _Port(dut.act__payload), _Port(dut.act__ready),
             _Port(dut.load__valid) if ws else None, _Port(dut.load__payload) if ws else None,
             _Port(dut.load__ready) if ws else None, _Port(dut.out__valid), _Port(dut.out__payload))
    params = {k: cfg[k] for k in ("dataflow", "rows", "cols", "n", "m", "width", "acc_width")}
    total = {"tiles_checked": 0, "beats_checked": 0, "values_checked": 0, "intervals_checked": 0,
             "cycles": 0, "resets": 0, "errors": 0, "scenarios": {}}
    messages = []
    t_start = time.perf_counter()
    for sc in cfg["scenarios"]:
        t0 = time.perf_counter()
        tiles = make_tiles(cfg, sc)
        if not tiles:
            total["scenarios"][sc["name"]] = {"tiles_checked": 0, "skipped": "no tiles (weights absent)"}
            continue
        # Start from reset with quiet inputs.
        await FallingEdge(dut.clk)
        ports[0].put(1)
        ports[1].put(0)
        if ws:
            ports[4].put(0)
        for _ in range(3):
            await FallingEdge(dut.clk)
        ports[0].put(0)
        bench = TileBench(tiles, **params, seed=sc["seed"], act_stall=sc.get("act_stall", 0.0),
                          load_stall=sc.get("load_stall", 0.0), reset_at_tile=sc.get("reset_at_tile"))
        budget = 200 + sum(t.steps + 2 * cfg["rows"] + cfg["cols"] + 8 for t in tiles) * 4
        if os.environ.get("ARCHSIM_TB_PROFILE"):  # debugging the testbench's own speed
            import cProfile
            import pstats
            prof = cProfile.Profile()
            prof.enable()
            await _play(dut, ports, bench, budget)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        else:
            await _play(dut, ports, bench, budget)
        rep = bench.report
        if rep.resets != (1 if sc.get("reset_at_tile") is not None else 0):
            bench._error(f"scenario {sc['name']}: expected a reset, saw {rep.resets}")
        wall = time.perf_counter() - t0
        total["scenarios"][sc["name"]] = {
            "tiles": len(tiles), "tiles_checked": rep.tiles_checked, "beats_checked": rep.beats_checked,
            "intervals_checked": rep.intervals_checked, "cycles": rep.cycles, "resets": rep.resets,
            "errors": len(rep.errors), "wall_s": round(wall, 3),
            "tiles_per_s": round(rep.tiles_checked / wall, 1) if wall else None,
        }
        for key in ("tiles_checked", "beats_checked", "values_checked", "intervals_checked",
                    "cycles", "resets"):
            total[key] += getattr(rep, key)
        total["errors"] += len(rep.errors)
        messages += [f"{sc['name']}: {e}" for e in rep.errors]
        for e in rep.errors:
            dut._log.error("%s: %s", sc["name"], e)
    total["wall_s"] = round(time.perf_counter() - t_start, 3)
    total["messages"] = messages[:50]
    with open(cfg["summary"], "w") as f:
        json.dump(total, f, indent=1)
    assert not messages, f"{len(messages)} mismatches; first: {messages[0]}"
