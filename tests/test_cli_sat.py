"""The CLI: real commands, one-line errors with exit code 2 and no traceback."""

import json

import pytest

from archsim.cli import main
from archsim.config import CONFIG_DIR
from dataflow.sat import Schedule


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_gemm(capsys, tmp_path):
    f = tmp_path / "r.json"
    code, out, err = _run(capsys, "run", "sat", "--gemm", "512,512,512", "--rows", "32", "--cols",
                          "32", "--dataflow", "ws", "--sparsity", "dense", "--json", str(f))
    assert code == 0, err
    assert "total cycles" in out
    d = json.loads(f.read_text())
    assert d["total_cycles"] > 512 * 512 * 512 // (32 * 32 * 2)
    assert d["config_hash"] and d["version"] and d["seed"] == 0


def test_run_model_compare_dense(capsys, tmp_path):
    f = tmp_path / "r.json"
    code, out, err = _run(capsys, "run", "sat", "--model", "resnet18", "--batch", "2",
                          "--sparsity", "2:8", "--compare-dense", "--json", str(f))
    assert code == 0, err
    assert "speedup vs dense" in out
    d = json.loads(f.read_text())
    assert 1.0 < d["metrics"]["speedup_vs_dense"] <= 2.0


def test_schedule_json_round_trip(capsys, tmp_path):
    f = tmp_path / "s.json"
    code, out, err = _run(capsys, "schedule", "--model", "resnet18", "--batch", "4", "--sparsity",
                          "2:8", "--json", str(f))
    assert code == 0, err
    s = Schedule.from_json(f.read_text())
    assert len(s.plans) == len(out.strip().splitlines()) - 1
    assert json.loads(s.to_json()) == json.loads(f.read_text())


def test_schedule_replays_into_the_simulator(capsys, tmp_path):
    f = tmp_path / "s.json"
    assert main(["schedule", "--gemm", "256,512,128", "--sparsity", "2:8", "--json", str(f)]) == 0
    r1, r2 = tmp_path / "r1.json", tmp_path / "r2.json"
    assert main(["run", "sat", "--gemm", "256,512,128", "--sparsity", "2:8", "--json", str(r1)]) == 0
    assert main(["run", "sat", "--schedule", str(f), "--json", str(r2)]) == 0
    a, b = json.loads(r1.read_text()), json.loads(r2.read_text())
    assert a["total_cycles"] == b["total_cycles"] and a["energy_pj"] == b["energy_pj"]
    capsys.readouterr()
    code = main(["run", "sat", "--schedule", str(f), "--rows", "16"])
    assert code == 2 and "another array" in capsys.readouterr().err


def test_workloads_layers(capsys):
    code, out, err = _run(capsys, "workloads", "layers", "resnet50", "--json")
    assert code == 0, err
    doc = json.loads(out)
    rows = doc["layers"]
    assert rows[0]["name"] == "conv1" and doc["batch"] == 1
    # batch and per-sample MACs: the JSON alone says what its MACs are for
    code, out, err = _run(capsys, "workloads", "layers", "resnet50", "--batch", "3", "--json")
    doc3 = json.loads(out)
    assert doc3["batch"] == 3 and doc3["macs_per_sample"] == doc["macs_per_sample"]
    for r1, r3 in zip(rows, doc3["layers"]):
        for g1, g3 in zip(r1["gemms"], r3["gemms"]):
            assert g3["MACs"] == 3 * g1["MACs"] and g3["MACs_per_sample"] == g1["MACs"]
    ff = sum(g["MACs_per_sample"] for r in doc3["layers"] for g in r["gemms"] if g["pass"] == "FF")
    assert ff == doc3["macs_per_sample"]
    code, out, err = _run(capsys, "workloads", "layers", "vit_b_16")
    assert code == 0 and "86,567,656 parameters" in out


BAD = [
    (["run", "sat", "--model", "resnet18", "--sparsity", "0:4"], "N must be >= 1"),
    (["run", "sat", "--model", "resnet18", "--sparsity", "5:4"], "N must be <= M"),
    (["run", "sat", "--model", "resnet18", "--sparsity", "banana"], "sparsity"),
    (["run", "sat", "--gemm", "512,510,512", "--sparsity", "2:8"], "does not divide"),
    (["run", "sat", "--model", "alexnet"], "unknown"),
    (["run", "sat", "--model", "resnet18", "--batch", "0"], "batch"),
    (["run", "sat", "--gemm", "0,8,8"], "M must be >= 1"),
    (["run", "sat", "--gemm", "8,8"], "three integers"),
    (["run", "sat", "--gemm", "64,64,64", "--rows", "0"], "--rows 0: array.rows"),
    (["run", "sat", "--gemm", "64,64,64", "--multipliers", "0"], "--multipliers 0: "),
    (["run", "sat", "--model", "resnt50"], "--model: unknown 'resnt50'; did you mean 'resnet50'?"),
    (["workloads", "layers", "vgg61"], "did you mean 'vgg16'?"),
    (["run", "sat", "--gemm", "64,64,64", "--config", "scalesim"], "did you mean 'scalesim-like'?"),
    (["run", "sat", "--gemm", "64,64,64", "--set", "buffers.act_bytes=64"], "cannot fit"),
    (["run", "sat", "--gemm", "64,64,64", "--set", "array.colour=3"], "unknown config field"),
    (["run", "sat", "--gemm", "64,64,64", "--config", "/nonexistent.yaml"], "not found"),
    (["run", "sat"], "required"),
    (["workloads", "layers", "nope"], "unknown"),
]


@pytest.mark.parametrize("argv,match", BAD, ids=[" ".join(a[2:5]) for a, _ in BAD])
def test_bad_input_is_one_line_exit_2(capsys, argv, match):
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert match in err
    assert "Traceback" not in err


@pytest.mark.parametrize("text,match", [
    ("kind: sat\nversion: 1\n  bad: [", "malformed YAML"),
    ("kind: sat\nversion: 1\nname: x\n", "clock_hz: Field required"),
    ("- 1\n- 2\n", "expected a mapping"),
    ("kind: warp\n", "kind"),
])
def test_bad_config_files(capsys, tmp_path, text, match):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    code, out, err = _run(capsys, "run", "sat", "--gemm", "64,64,64", "--config", str(f))
    assert code == 2 and match in err and err.count("\n") == 1, err
    assert str(f) in err


def test_unknown_yaml_key_names_the_path(capsys, tmp_path):
    from pathlib import Path

    import yaml

    base = yaml.safe_load((CONFIG_DIR / "sat.yaml").read_text())
    base["array"]["colour"] = "blue"
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(base))
    code, out, err = _run(capsys, "run", "sat", "--gemm", "64,64,64", "--config", str(f))
    assert code == 2 and "array.colour: unknown key" in err


def test_missing_energy_entry_is_an_error(capsys, tmp_path):
    from pathlib import Path

    import yaml

    table = yaml.safe_load((CONFIG_DIR / "energy/horowitz_45nm.yaml").read_text())
    del table["entries"]["fp16_mul"]
    t = tmp_path / "e.yaml"
    t.write_text(yaml.safe_dump(table))
    base = yaml.safe_load((CONFIG_DIR / "sat.yaml").read_text())
    base["energy_table"] = str(t)
    f = tmp_path / "c.yaml"
    f.write_text(yaml.safe_dump(base))
    code, out, err = _run(capsys, "run", "sat", "--gemm", "64,64,64", "--config", str(f))
    assert code == 2 and "fp16_mul" in err


def test_area_from_synthesis_is_attached_and_checked(capsys, tmp_path):
    synth = {"params": {"rows": 8, "cols": 8, "n": 2, "m": 8, "width": 8},
             "results": [{"target": "ice40", "luts": 9127, "ffs": 12484, "dsps": 128,
                          "cells_by_type": {"SB_LUT4": 9127}}]}
    f = tmp_path / "area.json"
    f.write_text(json.dumps(synth))
    out = tmp_path / "r.json"
    code = main(["run", "sat", "--gemm", "256,256,256", "--rows", "8", "--cols", "8",
                 "--area", str(f), "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["area"] == {"ice40.luts": 9127, "ice40.ffs": 12484,
                                                   "ice40.dsps": 128}
    code = main(["run", "sat", "--gemm", "256,256,256", "--area", str(f)])
    err = capsys.readouterr().err
    assert code == 2 and "rows=8" in err and err.count("\n") == 1
