"""The circuit: Amaranth 0.5 components of the N:M sparse MAC array, Verilog export, synthesis.

* `SparsePE` (`rtl.pe`): ``n`` multipliers over an ``m``-wide activation window, ``m:1`` muxes
  driven by stored positions, adder tree; WS (double-buffered weights) or OS (accumulator and
  drain register).
* `SparseArray` (`rtl.array`): ``rows × cols`` PEs with skew/deskew registers and valid/ready
  control; its cycles are `dataflow.contract.tile_timing`, its values
  `dataflow.contract.golden_ws` / `golden_os` (the circuit side meets the simulator only
  through that module; it never imports `archsim`).
* `rtl.export`: Verilog (Amaranth's built-in Yosys) and `synth_stats` (cells, LUTs, FFs, DSPs).
* `rtl.bench`: the simulator-agnostic tile testbench (driver, monitor, model, checker) used by
  the cocotb tests in ``tests/rtl`` and the Amaranth-simulator tests.
* ``archsim rtl export|synth`` (`archsim.cli.rtl`).
"""

__all__ = ["SparseArray", "SparsePE"]


def __getattr__(name: str):
    # Lazy: `archsim` builds its parser from `archsim.cli.rtl` and should not pay for importing Amaranth.
    if name == "SparseArray":
        from rtl.array import SparseArray

        return SparseArray
    if name == "SparsePE":
        from rtl.pe import SparsePE

        return SparsePE
    raise AttributeError(f"module 'rtl' has no attribute {name!r}")
