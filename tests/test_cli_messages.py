"""User mistakes on the command line: the message names the flag that was typed and suggests the
nearest valid name (difflib); one line, exit 2."""

from __future__ import annotations

import pytest

from archsim.cli import main


def _err(capsys, *argv: str) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_piuma_flag_names_match_the_dataflow_package():
    from archsim.cli import piuma as cli
    from archsim.piuma.run import KERNELS
    from dataflow.piuma import PARTITIONS, SPGEMM_DATAFLOWS, SPMV_DATAFLOWS

    assert tuple(cli.KERNELS) == tuple(KERNELS)
    assert tuple(cli.DATAFLOWS["spgemm"]) == tuple(SPGEMM_DATAFLOWS)
    assert tuple(cli.DATAFLOWS["spmv"]) == tuple(SPMV_DATAFLOWS)
    assert tuple(cli.PARTITIONS) == tuple(PARTITIONS)


@pytest.mark.parametrize("argv,expect", [
    (["run", "piuma", "--kernel", "spmvv", "--matrix", "karate"],
     "--kernel: unknown 'spmvv'; did you mean 'spmv'?"),
    (["run", "piuma", "--kernel", "spmv", "--dataflow", "dmaa", "--matrix", "karate"],
     "--dataflow (for --kernel spmv): unknown 'dmaa'; did you mean 'dma'?"),
    (["run", "piuma", "--kernel", "spmv", "--dataflow", "rowwise-hash", "--matrix", "karate"],
     "--dataflow (for --kernel spmv): unknown 'rowwise-hash'"),
    (["run", "piuma", "--kernel", "spmv", "--partition", "nzz", "--matrix", "karate"],
     "--partition: unknown 'nzz'; did you mean 'nnz'?"),
    (["run", "piuma", "--kernel", "spmv", "--matrix", "karat"], "did you mean 'karate'?"),
    (["run", "piuma", "--kernel", "spmv", "--matrix", "karate", "--cores", "0"], "--cores 0: "),
    (["piuma", "compare", "--dataflows", "inner,outr", "--matrices", "karate"],
     "--dataflows (for --kernel spgemm): unknown 'outr'; did you mean 'outer'?"),
    (["piuma", "scaling", "--kernel", "spmv", "--dataflow", "dma", "--matrix", "karate",
      "--points", "1,zz"], "--points: expected CORES or DIESxCORES"),
    (["piuma", "scaling", "--kernel", "spmv", "--dataflow", "dma", "--matrix", "karate",
      "--points", "1,0"], "--points 0: "),
    (["rtl", "synth", "--rows", "2", "--cols", "2", "--nm", "2:4", "--target", "ice4"],
     "did you mean 'ice40'?"),
    (["sweep", "dem", "--dry-run"], "did you mean 'demo'?"),
])
def test_messages_name_the_flag_and_suggest(capsys, argv, expect):
    assert expect in _err(capsys, *argv)


def test_sat_flags_are_named_not_the_config_path(capsys):
    err = _err(capsys, "run", "sat", "--gemm", "8,8,8", "--rows", "0")
    assert "--rows 0" in err and "--set" not in err
    err = _err(capsys, "run", "sat", "--gemm", "8,8,8", "--cols", "-3")
    assert "--cols -3" in err and "--set" not in err
