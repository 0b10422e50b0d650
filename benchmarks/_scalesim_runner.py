"""Run one SCALE-Sim v3 simulation (executed by the *benchmark* venv that has scalesim).

Usage: python _scalesim_runner.py gemm|conv ROWS COLS ws|os LAYER_CSV_ROW
Prints one JSON line: {"cycles": ..., "wall_s": ...}.  Stall-free: InterfaceBandwidth CALC.
"""

import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

CFG = """[general]
run_name = cmp

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: 4096
FilterSramSzkB: 4096
OfmapSramSzkB: 4096
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Dataflow: {df}
Bandwidth: 10
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
FilterCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

GEMM_HEAD = "Layer, M, N, K,\n"
CONV_HEAD = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
             "Num Filter, Strides,\n")
LAYOUT_HEAD = "Layer name, dummy,\n"


def main() -> None:
    kind, rows, cols, df, row = sys.argv[1:6]
    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory() as d:
        p = Path(d)
        (p / "c.cfg").write_text(CFG.format(rows=rows, cols=cols, df=df))
        (p / "t.csv").write_text((GEMM_HEAD if kind == "gemm" else CONV_HEAD) + row + ",\n")
        (p / "l.csv").write_text(LAYOUT_HEAD)
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            s = scalesim(save_disk_space=True, verbose=False, config=str(p / "c.cfg"),
                         topology=str(p / "t.csv"), layout=str(p / "l.csv"),
                         input_type_gemm=kind == "gemm")
            s.run_scale(top_path=str(p))
            # scalesim 3.0.0's get_total_cycles() indexes a bound method (a bug); read the
            # per-layer compute report directly: [overall, compute, stall, util, map eff, ...].
            items = [lay.get_compute_report_items() for lay in s.runner.single_layer_sim_object_list]
            cycles = sum(int(it[1]) for it in items)
            stalls = sum(int(it[2]) for it in items)
        wall = time.perf_counter() - t0
    print(json.dumps({"cycles": int(cycles), "stall_cycles": stalls, "wall_s": wall}))


if __name__ == "__main__":
    main()
