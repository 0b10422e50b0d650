"""Hostile input and faults (issue #11): every row of the issue's table as a fast test.

Each case must end in one line ``error: ...`` (at most 300 characters, no traceback) and exit
status 2, at once; or in a correct result.  Cases that need a real process (a closed pipe,
stdout on a full disk, two sweeps on one store) run ``python -m archsim`` in a subprocess.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from archsim.cli import MAX_MESSAGE_CHARS, main

ROOT = Path(__file__).resolve().parent.parent
SYN = "archsim.sweep.testing:synthetic_simulate"


def one_line_error(argv: list[str], capsys: pytest.CaptureFixture, *, budget_s: float = 20.0) -> str:
    """Run the CLI in-process; assert exit 2 and one short ``error:`` line, quickly."""
    t0 = time.perf_counter()
    rc = main([str(a) for a in argv])
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert rc == 2, (rc, err)
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and len(err) <= len("error: ") + MAX_MESSAGE_CHARS + 1, err
    assert elapsed < budget_s, f"took {elapsed:.1f} s"
    return err


def cli_process(argv: list[str], *, cwd: Path | None = None, stdout=subprocess.PIPE, timeout: float = 120,
                env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "archsim", *map(str, argv)], cwd=cwd, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=timeout, env=full_env)


def write(tmp_path: Path, name: str, body: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(body, bytes):
        p.write_bytes(body)
    else:
        p.write_text(textwrap.dedent(body))
    return p


def spec_with(tmp_path: Path, extra: str, workloads: str = "[{gemm: [64, 64, 64]}]", name: str = "s") -> Path:
    return write(tmp_path, f"{name}.yaml", f"version: 1\nname: {name}\nbase: sat\nworkloads: {workloads}\n{extra}")


# ------------------------------------------------------------------------ constraints (row 1, 2)


@pytest.mark.parametrize("constraint", [
    "((((9**256)**256)**256)**256) > 0",
    "'x' * 10**10 != ''",
    "(1,) * 10**9 != ()",
    "workload.gemm * 10**10 != []",
    "'%999999999d' % 1 != ''",
    "(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200)*(2**200) > 0",
])
def test_constraint_bombs_are_refused_at_once(tmp_path, capsys, constraint):
    spec = spec_with(tmp_path, f"constraints: [{json.dumps(constraint)}]")
    err = one_line_error(["sweep", spec, "--dry-run"], capsys, budget_s=5)
    assert "constraint" in err


# ------------------------------------------------------------------------ --set and YAML (3, 4, 5)

SET_VARIANTS = [
    "array.rows=[1", "array.rows={a: 1", "array.rows=!!python/object/apply:os.system ['true']",
    "array.rows=!!python/name:os.system", "array.rows=*undefined", "array.rows=&a [*a]",
    "array.rows=\"unterminated", "array.rows=- - -: :", "array.rows=@x", "array.rows=`x`",
    "array.rows=%TAG ! x", "array.rows=[1, 2]", "array.rows={}", "array.rows=", "array.rows=null",
    "array.rows=1e999", "array.rows=.nan", "array.rows=true", "array.rows=1.5", "array.rows=0x",
    "array.rows=99999999999999999999999999999", "arrray.rows=8", "array=1", "=8", "array.rows",
    "array.rows=!!binary AAAA", "array.rows=? a", "array.rows=|\n x", "array.rows=\t",
]


@pytest.mark.parametrize("item", SET_VARIANTS)
def test_set_variants_one_line(capsys, item):
    one_line_error(["run", "sat", "--gemm", "64,64,64", "--set", item], capsys, budget_s=10)


def test_set_unknown_key_suggests_the_nearest(capsys):
    err = one_line_error(["run", "sat", "--gemm", "8,8,8", "--set", "dram.chanels=2"], capsys)
    assert "did you mean 'dram.channels'" in err


def test_unknown_key_in_config_file_suggests(tmp_path, capsys):
    from archsim.config import CONFIG_DIR

    text = (CONFIG_DIR / "sat.yaml").read_text().replace("rows:", "rowz:", 1)
    cfg = write(tmp_path, "c.yaml", text)
    err = one_line_error(["run", "sat", "--gemm", "8,8,8", "--config", cfg], capsys)
    assert "rowz" in err and "did you mean 'rows'" in err


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_non_utf8_files_are_one_line(tmp_path, capsys, encoding):
    from archsim.config import CONFIG_DIR

    text = (CONFIG_DIR / "sat.yaml").read_text().replace("name: ", "name: café-", 1)
    cfg = write(tmp_path, "c.yaml", text.encode(encoding, errors="replace"))
    assert "UTF-" in one_line_error(["run", "sat", "--gemm", "8,8,8", "--config", cfg], capsys)
    spec = write(tmp_path, "s.yaml", "version: 1\nname: café\nbase: sat\nworkloads: [{gemm: [8, 8, 8]}]\n"
                 .encode(encoding))
    assert str(spec) in one_line_error(["sweep", spec, "--dry-run"], capsys)
    other = write(tmp_path, "x.json", '{"name": "café"}'.encode(encoding))
    assert str(other) in one_line_error(["run", "sat", "--gemm", "8,8,8", "--area", other], capsys)
    assert str(other) in one_line_error(["run", "sat", "--schedule", other], capsys)


def test_alias_bomb_is_refused_quickly_with_a_short_message(tmp_path, capsys):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = write(tmp_path, "bomb.yaml", "\n".join(lines + ["name: *a9", ""]))
    assert bomb.stat().st_size < 1024
    err = one_line_error(["run", "sat", "--gemm", "8,8,8", "--config", bomb], capsys, budget_s=5)
    assert "ARCHSIM_MAX_YAML_NODES" in err
    spec = write(tmp_path, "s.yaml", "\n".join(lines + ["version: 1", "base: sat", "name: *a9",
                                                        "workloads: [{gemm: [8, 8, 8]}]", ""]))
    one_line_error(["sweep", spec, "--dry-run"], capsys, budget_s=5)


def test_recursive_alias_and_deep_nesting(tmp_path, capsys):
    rec = write(tmp_path, "r.yaml", "kind: sat\nname: &a [*a]\n")
    assert "recursive" in one_line_error(["run", "sat", "--gemm", "8,8,8", "--config", rec], capsys)
    deep = write(tmp_path, "d.yaml", "kind: sat\nname: " + "[" * 3000 + "]" * 3000 + "\n")
    one_line_error(["run", "sat", "--gemm", "8,8,8", "--config", deep], capsys)


def test_device_and_oversized_config_files(tmp_path, capsys, monkeypatch):
    for dev in ("/dev/zero", "/dev/urandom"):
        assert "regular file" in one_line_error(["run", "sat", "--gemm", "8,8,8", "--config", dev], capsys)
    assert "directory" in one_line_error(["run", "sat", "--gemm", "8,8,8", "--config", tmp_path], capsys)
    monkeypatch.setenv("ARCHSIM_MAX_YAML_BYTES", "100")
    big = write(tmp_path, "big.yaml", "kind: sat\n" + "# padding\n" * 50)
    assert "ARCHSIM_MAX_YAML_BYTES" in one_line_error(["run", "sat", "--gemm", "8,8,8", "--config", big], capsys)


# ------------------------------------------------------------------------ work budgets (6, 7, 8)


@pytest.mark.parametrize("argv", [
    ["run", "sat", "--batch", "1000000000", "--model", "resnet50"],
    ["run", "sat", "--gemm", "1000000000,1000000000,1000000000"],
    ["run", "sat", "--gemm", "100000,100000,100000", "--sparsity", "2:8"],
    ["run", "piuma", "--cores", "256", "--dies", "64", "--matrix", "karate"],
    ["run", "piuma", "--rmat-scale", "22"],
    ["piuma", "compare", "--rmat-scales", "10,22"],
    ["piuma", "scaling", "--matrix", "karate", "--points", "1,64x256"],
])
def test_work_budgets_refuse_at_once(capsys, argv):
    err = one_line_error(argv, capsys, budget_s=10)
    assert "ARCHSIM_MAX_WORK" in err or "ARCHSIM_MAX_MEMORY_BYTES" in err


def test_work_budget_is_configurable(capsys, monkeypatch):
    monkeypatch.setenv("ARCHSIM_MAX_WORK", "10")
    assert "limit of 10 (" in one_line_error(["run", "sat", "--gemm", "256,256,256"], capsys)
    monkeypatch.setenv("ARCHSIM_MAX_WORK", "lots")
    assert "ARCHSIM_MAX_WORK" in one_line_error(["run", "sat", "--gemm", "256,256,256"], capsys)
    monkeypatch.delenv("ARCHSIM_MAX_WORK")
    assert main(["run", "sat", "--gemm", "256,256,256"]) == 0


@pytest.mark.parametrize("size_line", ["1000000000000 1000000000000 2", "3000000 3000000 1"])
def test_mtx_size_line_budget(tmp_path, capsys, size_line):
    m = write(tmp_path, "m.mtx", f"%%MatrixMarket matrix coordinate real general\n{size_line}\n1 1 1.0\n2 2 1.0\n")
    one_line_error(["run", "piuma", "--matrix", m, "--kernel", "spmv"], capsys, budget_s=10)


def test_sampled_sweep_of_a_million_points_is_refused(tmp_path, capsys):
    spec = spec_with(tmp_path, "sampling: {method: lhs, n: 1000000}\naxes: {array.rows: {min: 8, max: 64, type: int}}\n")
    assert "ARCHSIM_MAX_POINTS" in one_line_error(["sweep", spec, "--dry-run"], capsys, budget_s=5)


# ------------------------------------------------------------------------ sweep workloads (9)


@pytest.mark.parametrize("workloads, fragment", [
    ("[{model: nope}]", "nope"),
    ('[{gemm: [64, 64, 64], sparsity: "3:2"}]', "3:2"),
    ("[{gemm: [64, 64, 64], batch: 2, colour: red}]", "colour"),
])
def test_sweep_workloads_validated_before_anything_runs(tmp_path, capsys, workloads, fragment):
    spec = spec_with(tmp_path, "axes: {array.rows: [8, 16]}\n", workloads)
    assert fragment in one_line_error(["sweep", spec, "--dry-run"], capsys)
    store = tmp_path / "x.db"
    assert fragment in one_line_error(["sweep", spec, "--out", store, "--workers", "0"], capsys)
    assert not store.exists()


def test_piuma_sweep_over_a_huge_fabric_is_refused_before_running(tmp_path, capsys):
    spec = write(tmp_path, "p.yaml", "version: 1\nbase: piuma\naxes: {dies: [1, 64], cores_per_die: [256]}\n"
                 "workloads: [{kernel: spmv, matrix: karate}]\n")
    assert "ARCHSIM_MAX_WORK" in one_line_error(["sweep", spec, "--dry-run"], capsys, budget_s=10)


def test_piuma_sweep_with_missing_matrix(tmp_path, capsys):
    spec = write(tmp_path, "p.yaml", "version: 1\nbase: piuma\nworkloads: [{kernel: spmv, matrix: kartae}]\n")
    assert "did you mean 'karate'" in one_line_error(["sweep", spec, "--dry-run"], capsys)


# ------------------------------------------------------------------------ paths (10)


@pytest.mark.parametrize("name", ["../escaped", "/tmp/absolute", "a/b", "..", ""])
def test_rtl_export_name_cannot_escape(tmp_path, capsys, name):
    out = tmp_path / "out"
    one_line_error(["rtl", "export", "--rows", "2", "--cols", "2", "--nm", "2:4", "-o", out, "--name", name], capsys)
    assert not (tmp_path / "escaped.v").exists() and not Path("/tmp/absolute.v").exists()


@pytest.mark.parametrize("name", ["/some/abs/path", "../up", "a/b"])
def test_spec_name_cannot_escape(tmp_path, capsys, name):
    spec = write(tmp_path, "s.yaml", f"version: 1\nname: {name}\nbase: sat\nworkloads: [{{gemm: [8, 8, 8]}}]\n")
    assert "name" in one_line_error(["sweep", spec, "--dry-run"], capsys)


# ------------------------------------------------------------------------ unwritable targets (11)


def test_unwritable_targets(tmp_path, capsys):
    blocker = write(tmp_path, "file", "x")
    gemm = ["run", "sat", "--gemm", "8,8,8"]
    assert "/dev/full" in one_line_error(gemm + ["--json", "/dev/full"], capsys)
    assert "file" in one_line_error(gemm + ["--json", blocker / "r.json"], capsys)
    assert "/dev/full" in one_line_error(["run", "piuma", "--matrix", "karate", "--json", "/dev/full"], capsys)
    assert "/dev/full" in one_line_error(["piuma", "compare", "--matrices", "karate", "--dataflows",
                                          "rowwise-hash,inner", "--out", "/dev/full"], capsys)
    assert "/dev/full" in one_line_error(["piuma", "compare", "--matrices", "karate", "--dataflows",
                                          "rowwise-hash", "--json", "/dev/full"], capsys)
    assert "/dev/full" in one_line_error(["piuma", "compare", "--matrices", "karate", "--dataflows",
                                          "rowwise-hash", "--out", "/dev/full"], capsys)
    one_line_error(["rtl", "export", "--rows", "2", "--cols", "2", "--nm", "2:4", "-o", blocker / "d"], capsys)
    one_line_error(["rtl", "export", "--rows", "2", "--cols", "2", "--nm", "2:4", "-o", "/dev/full"], capsys)
    one_line_error(["demo", "--out", blocker / "demo", "--models", "resnet18", "--sparsities", "dense",
                    "--batch", "1", "--workers", "0"], capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path, capsys):  # pragma: no cover - CI runs as root here
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        one_line_error(["run", "sat", "--gemm", "8,8,8", "--json", ro / "r.json"], capsys)
        one_line_error(["rtl", "export", "--rows", "2", "--cols", "2", "--nm", "2:4", "-o", ro / "x"], capsys)
    finally:
        ro.chmod(0o700)


def test_stdout_on_a_full_disk():
    with open("/dev/full", "w") as full:
        p = cli_process(["run", "sat", "--gemm", "8,8,8"], stdout=full)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("error: ") and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr


def test_broken_pipe_is_quiet():
    # Plenty of output into a reader that leaves after one line.
    proc = subprocess.Popen([sys.executable, "-m", "archsim", "workloads", "layers", "gpt2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode in (0, 141)


# ------------------------------------------------------------------------ stores (12, 13)


def _small_store(tmp_path: Path, n: int = 60) -> tuple[Path, Path]:
    spec = write(tmp_path, "syn.yaml", f"""
        version: 1
        name: syn
        base: sat
        axes: {{array.rows: {{min: 8, max: {8 + n - 1}, step: 1, type: int}}}}
        workloads: [{{gemm: [64, 64, 64], note: {"x" * 200}}}]
    """)
    store = tmp_path / "syn.db"
    assert main(["sweep", str(spec), "--out", str(store), "--workers", "0", "--simulate", SYN]) == 0
    return spec, store


def test_stores_without_points_empty_or_damaged(tmp_path, capsys):
    spec, store = _small_store(tmp_path)
    capsys.readouterr()
    empty = write(tmp_path, "empty.db", b"")
    assert "empty" in one_line_error(["results", "export", empty, "-o", tmp_path / "x.csv"], capsys)
    assert "empty" in one_line_error(["results", "check", empty], capsys)
    nopoints = tmp_path / "nopoints.db"
    con = sqlite3.connect(nopoints)
    con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.commit()
    con.close()
    assert "points" in one_line_error(["results", "show", nopoints], capsys)
    # Garbage written over middle pages of a good store.
    assert main(["results", "check", str(store)]) == 0
    assert "60 points" in capsys.readouterr().out
    data = bytearray(store.read_bytes())
    page = 4096
    assert len(data) >= 4 * page
    data[2 * page: 3 * page] = os.urandom(page)
    store.write_bytes(bytes(data))
    before = store.read_bytes()
    for argv in (["results", "show", store], ["results", "check", store],
                 ["results", "export", store, "-o", tmp_path / "y.csv"],
                 ["sweep", spec, "--out", store, "--workers", "0", "--simulate", SYN]):
        err = one_line_error(argv, capsys)
        assert "damaged" in err or "not an archsim" in err, err
    assert store.read_bytes() == before  # never written to


def test_unreadable_rows_refuse_the_store(tmp_path, capsys):
    spec, store = _small_store(tmp_path, n=4)
    capsys.readouterr()
    con = sqlite3.connect(store)
    con.execute("UPDATE points SET metrics_json = '{not json' WHERE idx = 2")
    con.commit()
    con.close()
    for argv in (["results", "check", store], ["results", "show", store],
                 ["sweep", spec, "--out", store, "--workers", "0", "--simulate", SYN]):
        assert "damaged" in one_line_error(argv, capsys)


def test_second_writer_is_refused_and_nothing_runs_twice(tmp_path, capsys):
    spec = write(tmp_path, "slow.yaml", """
        version: 1
        name: slow
        base: sat
        axes: {array.rows: [8, 9, 10, 11, 12, 13, 14, 15]}
        workloads: [{gemm: [64, 64, 64], sleep_s: 0.25}]
    """)
    store = tmp_path / "slow.db"
    first = subprocess.Popen([sys.executable, "-m", "archsim", "sweep", str(spec), "--out", str(store),
                              "--workers", "0", "--simulate", SYN], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
                n = con.execute("SELECT COUNT(*) FROM points").fetchone()[0]
                con.close()
                if n >= 1:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.05)
        err = one_line_error(["sweep", spec, "--out", store, "--workers", "0", "--simulate", SYN], capsys)
        assert "another archsim sweep is writing" in err
        assert main(["results", "check", str(store)]) == 0
        assert "writing to it now" in capsys.readouterr().out
    finally:
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    con = sqlite3.connect(store)
    attempts = [r[0] for r in con.execute("SELECT attempts FROM points")]
    con.close()
    assert len(attempts) == 8 and set(attempts) == {1}
    # Once the first is done the store is free again: a re-run skips everything.
    assert main(["sweep", str(spec), "--out", str(store), "--workers", "0", "--simulate", SYN]) == 0
    assert "8 already stored" in capsys.readouterr().out


# ------------------------------------------------------------------------ argument values (14, 15)


@pytest.mark.parametrize("argv, flag", [
    (["sweep", "demo", "--dask", "not a url"], "--dask"),
    (["sweep", "demo", "--dask-timeout", "-1"], "--dask-timeout"),
    (["sweep", "demo", "--dask-timeout", "nan"], "--dask-timeout"),
    (["piuma", "scaling", "--matrix", "karate", "--points", "axb"], "--points"),
    (["piuma", "scaling", "--matrix", "karate", "--points", "0x4"], "--points"),
    (["demo", "--workers", "-1"], "--workers"),
    (["sweep", "demo", "--workers", "100000", "--dry-run"], "ARCHSIM_MAX_PROCESSES"),
    (["sweep", "demo", "--dask-local", "100000"], "ARCHSIM_MAX_PROCESSES"),
    (["run", "sat", "--gemm", "8,8,8", "--seed", "-1"], "--seed"),
    (["run", "piuma", "--matrix", "karate", "--seed", "-1"], "--seed"),
    (["run", "sat", "--gemm", "١٢,64,64"], "--gemm"),
    (["run", "sat", "--gemm", "8,8"], "--gemm"),
    (["run", "sat", "--gemm", "8,0,8"], "--gemm"),
    (["piuma", "compare", "--rmat-scales", "١٢"], "--rmat-scales"),
    (["run", "piuma", "--matrix", "karate", "--rmat-scale", "5"], "--rmat-scale"),
])
def test_bad_argument_values(capsys, argv, flag):
    assert flag in one_line_error(argv, capsys)


@pytest.mark.parametrize("item, fragment", [
    ("array.rows=true", "boolean"),
    ("schedule.interleave=3", "interleave"),
    ("dram.channel_bytes_per_s=.inf", "finite"),
    ("dram.channel_bytes_per_s=1e999", "finite"),
    ("clock_hz=.nan", "finite"),
    ("buffers.weight_bytes=false", "boolean"),
])
def test_strict_config_values(capsys, item, fragment):
    assert fragment in one_line_error(["run", "sat", "--gemm", "8,8,8", "--set", item], capsys)


def test_strict_values_in_files_and_piuma(tmp_path, capsys):
    from archsim.config import CONFIG_DIR

    text = (CONFIG_DIR / "piuma.yaml").read_text().replace("dies: 1", "dies: true", 1)
    assert "dies: true" in (CONFIG_DIR / "piuma.yaml").read_text().replace("dies: 1", "dies: true", 1)
    cfg = write(tmp_path, "p.yaml", text)
    assert "boolean" in one_line_error(["run", "piuma", "--config", cfg, "--matrix", "karate"], capsys)


def test_sweep_workload_gemm_non_ascii_and_bools(tmp_path, capsys):
    for wl in ('[{gemm: "١٢,64,64"}]', "[{gemm: [true, 64, 64]}]", "[{gemm: [1.5, 64, 64]}]"):
        assert "gemm" in one_line_error(["sweep", spec_with(tmp_path, "", wl), "--dry-run"], capsys)


@pytest.mark.parametrize("body", [
    "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 nan\n2 2 1.0\n",
    "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 inf\n2 2 1.0\n",
    "%%MatrixMarket matrix coordinate integer general\n3 3 2\n1e0 1 1\n2 2 3\n",
    "%%MatrixMarket matrix coordinate integer general\n3 3 2\n1.0 1 1\n2 2 3\n",
    "%%MatrixMarket matrix coordinate integer general\n3 3 2\n1 1 1e3\n2 2 3\n",
])
def test_mtx_non_finite_values_and_non_integer_indices(tmp_path, capsys, body):
    m = write(tmp_path, "m.mtx", body)
    one_line_error(["run", "piuma", "--matrix", m, "--kernel", "spmv"], capsys)


# ------------------------------------------------------------------------ presets and hashes (16)


def test_local_files_never_shadow_presets_and_hash_covers_tables(tmp_path):
    ref = tmp_path / "ref.json"
    assert cli_process(["run", "sat", "--gemm", "64,64,64", "--json", ref]).returncode == 0
    shadow = tmp_path / "cwd"
    (shadow / "sat").mkdir(parents=True)
    (shadow / "energy").mkdir()
    (shadow / "energy" / "horowitz_45nm.yaml").write_text("version: 1\nname: zero\nentries: {}\n")
    (shadow / "sat.yaml").write_text("kind: nonsense\n")
    got = shadow / "got.json"
    p = cli_process(["run", "sat", "--gemm", "64,64,64", "--json", got], cwd=shadow)
    assert p.returncode == 0, p.stderr
    a, b = json.loads(ref.read_text()), json.loads(got.read_text())
    assert a == b and b["energy_pj"] and sum(b["energy_pj"].values()) > 0


def test_config_hash_covers_the_energy_table_content(tmp_path):
    from archsim.config import CONFIG_DIR, config_hash, load_config, with_overrides

    cfg = load_config("sat")
    table = (CONFIG_DIR / cfg.energy_table).read_text()
    path = tmp_path / "table.yaml"
    path.write_text(table)
    mine = with_overrides(cfg, {"energy_table": str(path)})
    h_same = config_hash(mine)
    path.write_text(table.replace("pj: ", "pj: 1", 1))  # same config, other energies
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert config_hash(mine) != h_same
    path.write_text(table)
    os.utime(path, ns=(time.time_ns() + 2 * 10**9, time.time_ns() + 2 * 10**9))
    assert config_hash(mine) == h_same


# ------------------------------------------------------------------------ results (17, 18)


def test_run_piuma_json_is_byte_identical(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for out in (a, b):
        assert main(["run", "piuma", "--matrix", "karate", "--json", str(out)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert "wall" not in a.read_text()


def test_wall_clock_not_in_store_metrics(tmp_path):
    spec = write(tmp_path, "p.yaml", "version: 1\nbase: piuma\nworkloads: [{kernel: spmv, matrix: karate}]\n")
    store = tmp_path / "p.db"
    assert main(["sweep", str(spec), "--out", str(store), "--workers", "0"]) == 0
    con = sqlite3.connect(store)
    (metrics,) = con.execute("SELECT metrics_json FROM points").fetchone()
    cols = [r[1] for r in con.execute("PRAGMA table_info(points)")]
    con.close()
    assert not [k for k in json.loads(metrics) if "wall" in k or "per_s" in k]
    assert not [c for c in cols if c.startswith("metrics.") and "wall" in c]


# ------------------------------------------------------------------------ the boundary itself


def test_bugs_keep_their_traceback(capsys, monkeypatch):
    import archsim.cli.sat as sat_cli

    def boom(args):
        raise KeyError("internal")

    monkeypatch.setattr(sat_cli, "_cmd_run", boom)
    # The parser binds the function at build time, so patch before main builds it.
    assert main(["run", "sat", "--gemm", "8,8,8"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "bug in archsim" in err


def test_messages_are_capped(tmp_path, capsys):
    long = "x" * 5000
    err = one_line_error(["run", "sat", "--gemm", "8,8,8", "--config", f"{long}.yaml"], capsys)
    assert err.rstrip().endswith("...")
