"""pytest setup of the cocotb tests: the testbench module runs inside the simulator only."""

collect_ignore = ["tb_array.py", "harness.py", "scenarios.py"]
