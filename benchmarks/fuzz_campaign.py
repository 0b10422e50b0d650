"""Fuzz campaign over the ``archsim`` front door (issue #11): malformed configs, ``--set`` values,
sweep specs, Matrix Market files, argument values, output targets and result stores.

    PYTHONPATH=. python benchmarks/fuzz_campaign.py [--per-family 150] [--seed 11] [--timeout 60]

Every case is one command line (plus the files it names), generated from a seeded
`random.Random`, and run in a forked child of this process (archsim already imported, so a case
costs milliseconds, not an interpreter start), in its own scratch folder, with stdout/stderr
captured to files (or stdout on ``/dev/full`` for the cases that test it).  A child still
running after ``--timeout`` seconds is killed and counted as a hang.

Outcome per case: ``refused`` (exit 2, one line ``error: ...`` of at most 300 characters),
``accepted`` (exit 0), ``traceback`` (a ``Traceback`` on stderr), ``hang``, or ``malformed`` (any
other exit status or error format).  Cases built to be invalid are marked so; one of them
accepted with exit 0 counts as ``garbage accepted``.  The goal: 0 tracebacks, 0 hangs, 0 garbage
accepted, 0 malformed.

Prints one summary line; per-family counts and every non-conforming case go to
``out/bench/fuzz_campaign.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from archsim.cli import MAX_MESSAGE_CHARS, main as cli_main  # noqa: E402
from archsim.config import CONFIG_DIR  # noqa: E402

# Preload what the commands import lazily, so that each forked case is cheap.
import archsim.api  # noqa: E402,F401
import archsim.piuma.run  # noqa: E402,F401
import archsim.sat.run  # noqa: E402,F401
import archsim.sweep  # noqa: E402,F401


@dataclass
class Case:
    family: str
    argv: list[str]
    files: dict[str, bytes] = field(default_factory=dict)  # name in the scratch folder -> content
    invalid: bool = True  # built to be refused
    stdout_full: bool = False  # stdout on /dev/full
    setup: str | None = None  # name of a setup step (stores)


# --------------------------------------------------------------------------- value pools

BAD_NUMBERS = [True, False, float("inf"), float("-inf"), float("nan"), -1, 0, -(10**30), 10**40, "١٢",
               "1e999", ".inf", ".nan", "abc", [], {}, [1, 2], {"a": 1}, None, "", "0x10"]
BAD_SCALARS_TEXT = ["true", "false", ".inf", "-.inf", ".nan", "1e999", "-1", "0", "١٢", "[1", "{a: 1",
                    "*undefined", "&a [*a]", "!!python/name:os.system", "!!python/object/apply:os.system ['true']",
                    "'unterminated", '"x', "- - -", "@x", "`x`", "%TAG ! x", "? a", "|\n x", "!!binary AAAA",
                    "99999999999999999999999999", "[]", "{}", "null", "~", "1.5", "1e3"]
SAT = yaml.safe_load((CONFIG_DIR / "sat.yaml").read_text())
PIUMA = yaml.safe_load((CONFIG_DIR / "piuma.yaml").read_text())


def _leaves(d: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _leaves(v, prefix + (k,))
        else:
            out.append(prefix + (k,))
    return out


def _numeric_leaves(d: dict) -> list[tuple]:
    out = []
    for p in _leaves(d):
        node = d
        for k in p:
            node = node[k]
        if isinstance(node, (int, float)) and not isinstance(node, bool):
            out.append(p)
    return out


def _set(d: dict, path: tuple, value) -> dict:
    d = json.loads(json.dumps(d))
    node = d
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return d


def _yaml(data) -> bytes:
    try:
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()
    except (yaml.YAMLError, ValueError):
        return repr(data).encode()


def _alias_bomb(levels: int, key: str) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines + [f"{key}: *a{levels}", ""])


# --------------------------------------------------------------------------- families


def config_cases(rng: random.Random, n: int) -> list[Case]:
    out = []
    for i in range(n):
        kind, base, run = rng.choice([("sat", SAT, ["run", "sat", "--gemm", "16,16,16"]),
                                      ("piuma", PIUMA, ["run", "piuma", "--matrix", "karate", "--kernel", "spmv"])])
        r = rng.random()
        invalid = True
        if r < 0.5:
            value = rng.choice(BAD_NUMBERS)
            data = _set(base, rng.choice(_numeric_leaves(base)), value)
            content = _yaml(data)
            # A finite number may be in range for some field: not counted as garbage if accepted.
            invalid = not (isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
                           and abs(value) != float("inf"))
        elif r < 0.6:
            path = rng.choice(_leaves(base))
            data = _set(base, path[:-1] + (path[-1] + rng.choice(["s", "_", "x"]),), 1)
            content = _yaml(data)
        elif r < 0.7:
            content = _yaml(base).decode().replace("name: ", "name: café ", 1).encode(rng.choice(["latin-1", "utf-16"]), "replace")
        elif r < 0.8:
            content = (_alias_bomb(rng.randint(6, 9), "name") + _yaml(base).decode().split("\n", 1)[1]).encode()
        elif r < 0.9:
            text = _yaml(base)
            cut = rng.randint(1, len(text) - 1)
            content = text[:cut] + bytes(rng.choice(b"[{:&*!%@`\"'\t") for _ in range(rng.randint(1, 4)))
        else:
            out.append(Case("config", run + ["--config", rng.choice(["/dev/zero", "/dev/urandom", ".", "/"])]))
            continue
        out.append(Case("config", run + ["--config", "c.yaml"], {"c.yaml": content}, invalid=invalid))
    return out


def set_cases(rng: random.Random, n: int) -> list[Case]:
    fields = [".".join(p) for p in _numeric_leaves(SAT)]
    out = []
    for _ in range(n):
        f = rng.choice(fields + ["arrray.rows", "array", "", "dram.chanels", "array.rows.x"])
        v = rng.choice(BAD_SCALARS_TEXT)
        out.append(Case("set", ["run", "sat", "--gemm", "16,16,16", "--set", f"{f}={v}"],
                        invalid=v not in ("1.5", "1e3", "99999999999999999999999999", "-1", "0") or f not in fields))
    return out


def spec_cases(rng: random.Random, n: int) -> list[Case]:
    bombs = ["((((9**256)**256)**256)**256) > 0", "'x' * 10**10 != ''", "(1,) * 10**9 != ()",
             "workload.gemm * 10**10 != []", "'%999999999d' % 1 != ''", "__import__('os')", "().__class__",
             "[x for x in (1,)]", "lambda: 1", "nope.field > 1", "array.rows <", "2**4096 > 1"]
    out = []
    for _ in range(n):
        spec = {"version": 1, "name": "f", "base": "sat", "axes": {"array.rows": [8, 16]},
                "workloads": [{"gemm": [64, 64, 64]}]}
        r = rng.random()
        if r < 0.25:
            spec["constraints"] = [rng.choice(bombs)]
        elif r < 0.4:
            spec["workloads"] = [rng.choice([{"model": "nope"}, {"gemm": [64, 64, 64], "sparsity": "3:2"},
                                             {"gemm": [64, 64, 64], "sparsity": "0:4"}, {"gemm": "١٢,64,64"},
                                             {"gemm": [True, 64, 64]}, {"model": "resnet18", "batch": -1},
                                             {"gemm": [64, 64]}, {"colour": "red"}, {}])]
        elif r < 0.5:
            spec["name"] = rng.choice(["/abs/path", "../up", "a/b", "..", "", "x\x00y"])
        elif r < 0.6:
            spec["sampling"] = {"method": rng.choice(["lhs", "random"]), "n": rng.choice([10**6, 10**9, 0, -1, True])}
            spec["axes"] = {"array.rows": {"min": 8, "max": 64, "type": "int"}}
        elif r < 0.75:
            spec["axes"] = {rng.choice(["array.rows", "nope", "array", "workload.x.y", "__class__"]):
                            rng.choice([[], [True], {"min": 1, "max": float("inf")}, {"min": 5, "max": 1},
                                        {"min": 0, "max": 8, "scale": "log"}, {"min": 1, "max": 2, "num": 10**9},
                                        [float("nan")], "abc"])}
        elif r < 0.85:
            spec[rng.choice(["extra", "workload", "constraint"])] = 1
        elif r < 0.92:
            spec["seed"] = rng.choice([-1, True, 2**80, "x"])
        else:
            content = _yaml(spec).decode().replace("name: f", "name: fé").encode(rng.choice(["latin-1", "utf-16"]))
            out.append(Case("spec", ["sweep", "s.yaml", "--dry-run"], {"s.yaml": content}))
            continue
        out.append(Case("spec", ["sweep", "s.yaml", rng.choice(["--dry-run", "--dry-run"])], {"s.yaml": _yaml(spec)}))
    return out


def mtx_cases(rng: random.Random, n: int) -> list[Case]:
    out = []
    for _ in range(n):
        field_ = rng.choice(["real", "integer", "pattern"])
        header = f"%%MatrixMarket matrix coordinate {field_} general"
        rows, cols, entries = 4, 4, [(1, 1, 1), (2, 3, 2), (4, 4, 3)]
        size = f"{rows} {cols} {len(entries)}"

        def ent(e):
            return f"{e[0]} {e[1]}" + ("" if field_ == "pattern" else f" {e[2]}")

        body = [ent(e) for e in entries]
        r = rng.random()
        if r < 0.2:
            size = rng.choice(["1000000000000 1000000000000 2", "3000000 3000000 1", "4 4", "a b c", "-1 4 3",
                               "4 4 99999999999", "99999999 99999999 99999999", "4 4 3 3", "١ ٤ ٣"])
        elif r < 0.4 and field_ != "pattern":
            body[rng.randrange(len(body))] = f"1 1 {rng.choice(['nan', 'inf', '-inf', 'NaN', '1e999'])}"
        elif r < 0.55:
            body[rng.randrange(len(body))] = rng.choice(["1e0 1 1", "1.0 1 1", "0 1 1", "5 1 1", "1 -1 1",
                                                         "١ 1 1", "1", "1 1 1 1 1", "x y z"])
        elif r < 0.65:
            header = rng.choice(["%%MatrixMarket matrix array real general", "%%MatrixMarket", "garbage",
                                 "%%MatrixMarket matrix coordinate complex general", ""])
        elif r < 0.75:
            body = body[:-1]
        elif r < 0.85 and field_ == "integer":
            body[0] = "1 1 " + rng.choice(["1e3", "1.0", "2.5"])
        else:
            content = ("\n".join([header, size, *body]) + "\n% café\n").encode(rng.choice(["latin-1", "utf-16"]))
            out.append(Case("mtx", ["run", "piuma", "--matrix", "m.mtx", "--kernel", "spmv"], {"m.mtx": content}))
            continue
        content = ("\n".join([header, size, *body]) + "\n").encode()
        out.append(Case("mtx", ["run", "piuma", "--matrix", "m.mtx", "--kernel", rng.choice(["spmv", "spgemm"])],
                        {"m.mtx": content}))
    return out


def cli_cases(rng: random.Random, n: int) -> list[Case]:
    pool = [
        ["run", "sat", "--gemm", "16,16,16", "--seed", "-1"], ["demo", "--workers", "-1"],
        ["sweep", "demo", "--dask", "not a url"], ["sweep", "demo", "--dask-timeout", "-1"],
        ["sweep", "demo", "--dask-timeout", "nan"], ["sweep", "demo", "--dask-local", "0"],
        ["piuma", "scaling", "--matrix", "karate", "--points", "axb"], ["piuma", "scaling", "--matrix", "karate", "--points", "0x2"],
        ["run", "sat", "--gemm", "١٢,64,64"], ["run", "sat", "--gemm", "1000000000,1000000000,1000000000"],
        ["run", "sat", "--model", "resnet50", "--batch", "1000000000"], ["run", "sat", "--gemm", "8,8"],
        ["run", "sat", "--gemm", "0,8,8"], ["run", "sat", "--gemm", "8,8,8", "--sparsity", "3:2"],
        ["run", "sat", "--gemm", "8,8,8", "--rows", "0"], ["run", "sat", "--model", "nope"],
        ["run", "piuma", "--cores", "256", "--dies", "64", "--matrix", "karate"], ["run", "piuma", "--rmat-scale", "22"],
        ["run", "piuma", "--rmat-scale", "-3"], ["run", "piuma", "--matrix", "kartae"],
        ["run", "piuma", "--matrix", "karate", "--rmat-scale", "5"], ["run", "piuma", "--matrix", "karate", "--kernel", "x"],
        ["piuma", "compare", "--rmat-scales", "١٢"], ["piuma", "compare", "--rmat-scales", "30"],
        ["run", "sat", "--gemm", "8,8,8", "--config", "nosuchpreset"], ["run", "sat", "--gemm", "8,8,8", "--config", "satt"],
        ["workloads", "layers", "nope"], ["workloads", "layers", "resnet18", "--batch", "0"],
        ["rtl", "export", "--rows", "0", "--cols", "2", "--nm", "2:4", "-o", "o"],
        ["rtl", "export", "--rows", "2", "--cols", "2", "--nm", "9:4", "-o", "o"],
        ["results", "show", "missing.db"], ["sweep", "nosuchspec", "--dry-run"], ["plot", "missing.db", "--kind", "pareto", "-o", "x.png"],
        ["run", "sat", "--gemm", "8,8,8", "--seed", "99999999999999999999999"],
    ]
    return [Case("cli", list(rng.choice(pool))) for _ in range(n)]


def output_cases(rng: random.Random, n: int) -> list[Case]:
    pool = [
        (["run", "sat", "--gemm", "8,8,8", "--json", "/dev/full"], False),
        (["run", "sat", "--gemm", "8,8,8", "--json", "blocker/r.json"], False),
        (["run", "sat", "--gemm", "8,8,8", "--json", "."], False),
        (["schedule", "--gemm", "8,8,8", "--json", "/dev/full"], False),
        (["run", "piuma", "--matrix", "karate", "--json", "/dev/full"], False),
        (["run", "piuma", "--matrix", "karate", "--json", "blocker/x"], False),
        (["run", "piuma", "--matrix", "karate", "--kernel", "spmv", "--save-output", "/dev/full"], False),
        (["piuma", "compare", "--matrices", "karate", "--dataflows", "rowwise-hash", "--out", "/dev/full"], False),
        (["piuma", "compare", "--matrices", "karate", "--dataflows", "rowwise-hash", "--json", "blocker/x.json"], False),
        (["piuma", "scaling", "--matrix", "karate", "--kernel", "spmv", "--points", "1,2", "--out", "/dev/full"], False),
        (["rtl", "export", "--rows", "2", "--cols", "2", "--nm", "2:4", "-o", "blocker/d"], False),
        (["rtl", "export", "--rows", "2", "--cols", "2", "--nm", "2:4", "-o", "/dev/full"], False),
        (["rtl", "export", "--rows", "2", "--cols", "2", "--nm", "2:4", "-o", "o", "--name", "../escaped"], False),
        (["rtl", "export", "--rows", "2", "--cols", "2", "--nm", "2:4", "-o", "o", "--name", "/tmp/abs_escape"], False),
        (["demo", "--out", "blocker/demo", "--models", "resnet18", "--sparsities", "dense", "--batch", "1", "--workers", "0"], False),
        (["run", "sat", "--gemm", "8,8,8"], True),
        (["workloads", "layers", "gpt2"], True),
        (["run", "piuma", "--matrix", "karate", "--kernel", "spmv"], True),
    ]
    out = []
    for _ in range(n):
        argv, full = rng.choice(pool)
        out.append(Case("output", list(argv), {"blocker": b"x"}, stdout_full=full))
    return out


def store_cases(rng: random.Random, n: int) -> list[Case]:
    damages = ["empty", "nopoints", "garbage_pages", "truncated", "text", "version", "badjson", "nometa"]
    commands = [["results", "show", "s.db"], ["results", "export", "s.db", "-o", "x.csv"], ["results", "check", "s.db"],
                ["plot", "s.db", "--kind", "scaling", "-o", "x.png"],
                ["sweep", "syn.yaml", "--out", "s.db", "--workers", "0", "--simulate",
                 "archsim.sweep.testing:synthetic_simulate"]]
    out = []
    for _ in range(n):
        argv, damage = list(rng.choice(commands)), rng.choice(damages)
        # An empty file is "no store yet" for a writer: creating the store there is correct.
        out.append(Case("store", argv, setup=damage, invalid=not (argv[0] == "sweep" and damage == "empty")))
    return out


FAMILIES = {"config": config_cases, "set": set_cases, "spec": spec_cases, "mtx": mtx_cases, "cli": cli_cases,
            "output": output_cases, "store": store_cases}

SYN_SPEC = """version: 1
name: syn
base: sat
axes: {array.rows: {min: 8, max: 67, step: 1, type: int}}
workloads: [{gemm: [64, 64, 64], note: %s}]
""" % ("x" * 300)


def _store(d: Path, damage: str, good: bytes) -> None:
    (d / "syn.yaml").write_text(SYN_SPEC)
    s = d / "s.db"
    if damage == "empty":
        s.write_bytes(b"")
    elif damage == "text":
        s.write_text("not a database\n")
    elif damage == "truncated":
        s.write_bytes(good[: len(good) // 2])
    elif damage == "garbage_pages":
        data = bytearray(good)
        data[2 * 4096: 3 * 4096] = os.urandom(4096)
        s.write_bytes(bytes(data))
    else:
        s.write_bytes(good)
        con = sqlite3.connect(s)
        if damage == "nopoints":
            con.execute("DROP TABLE points")
        elif damage == "version":
            con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        elif damage == "badjson":
            con.execute("UPDATE points SET metrics_json = '{not json'")
        elif damage == "nometa":
            con.execute("DROP TABLE meta")
        con.commit()
        con.close()


def _good_store(tmp: Path) -> bytes:
    d = tmp / "good"
    d.mkdir()
    (d / "syn.yaml").write_text(SYN_SPEC)
    from archsim.sweep import run_sweep
    from archsim.sweep.testing import synthetic_simulate

    run_sweep(str(d / "syn.yaml"), d / "s.db", workers=0, simulate_fn=synthetic_simulate)
    return (d / "s.db").read_bytes()


# --------------------------------------------------------------------------- running


def run_case(case: Case, scratch: Path, timeout: float, good_store: bytes) -> dict:
    d = Path(tempfile.mkdtemp(dir=scratch))
    for name, content in case.files.items():
        (d / name).write_bytes(content)
    if case.setup:
        _store(d, case.setup, good_store)
    out_path, err_path = d / ".stdout", d / ".stderr"
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.chdir(d)
            os.setsid()
            fd_out = os.open("/dev/full" if case.stdout_full else str(out_path), os.O_WRONLY | os.O_CREAT)
            fd_err = os.open(str(err_path), os.O_WRONLY | os.O_CREAT)
            os.dup2(fd_out, 1)
            os.dup2(fd_err, 2)
            sys.stdout = os.fdopen(1, "w", closefd=False)
            sys.stderr = os.fdopen(2, "w", closefd=False)
            rc = cli_main(case.argv)
            try:
                sys.stdout.flush()
            except OSError:
                pass
            sys.stderr.flush()
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - escaped the CLI's boundary
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
            rc = 99
        os._exit(rc if isinstance(rc, int) else 1)
    hang = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() - t0 > timeout:
            hang = True
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.005)
    elapsed = time.perf_counter() - t0
    err = err_path.read_text(errors="replace") if err_path.exists() else ""
    rc = None if hang else (os.waitstatus_to_exitcode(status))
    if hang:
        outcome = "hang"
    elif "Traceback" in err:
        outcome = "traceback"
    elif rc == 0:
        outcome = "accepted"
    elif rc == 2 and err.startswith("error: ") and err.count("\n") == 1 and len(err) <= 8 + MAX_MESSAGE_CHARS:
        outcome = "refused"
    else:
        outcome = "malformed"
    escaped = Path("/tmp/abs_escape.v").exists() or (scratch / "escaped.v").exists() or (d.parent / "escaped.v").exists()
    files = {k: v[:300].decode("utf-8", "replace") for k, v in case.files.items()}
    return {"family": case.family, "argv": case.argv, "setup": case.setup, "files": files, "rc": rc, "outcome": outcome,
            "invalid": case.invalid, "elapsed_s": round(elapsed, 3), "stderr": err[:400], "escaped": escaped}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-family", type=int, default=150)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument("--out", default=str(ROOT / "out" / "bench" / "fuzz_campaign.json"))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    cases = [c for fam in args.families for c in FAMILIES[fam](rng, args.per_family)]
    t0 = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="archsim-fuzz-") as tmp:
        scratch = Path(tmp)
        good = _good_store(scratch)
        for case in cases:
            results.append(run_case(case, scratch, args.timeout, good))
    wall = time.perf_counter() - t0
    per_family: dict[str, dict[str, int]] = {}
    for r in results:
        f = per_family.setdefault(r["family"], {"cases": 0, "refused": 0, "accepted": 0, "traceback": 0, "hang": 0,
                                                "malformed": 0, "garbage_accepted": 0, "escaped": 0})
        f["cases"] += 1
        f[r["outcome"]] += 1
        f["garbage_accepted"] += int(r["outcome"] == "accepted" and r["invalid"])
        f["escaped"] += int(r["escaped"])
    totals = {k: sum(f[k] for f in per_family.values()) for k in next(iter(per_family.values()))}
    bad = [r for r in results if r["outcome"] in ("traceback", "hang", "malformed")
           or (r["outcome"] == "accepted" and r["invalid"]) or r["escaped"]]
    slowest = max(results, key=lambda r: r["elapsed_s"])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"seed": args.seed, "per_family": per_family, "totals": totals, "wall_s": wall,
                               "slowest": slowest, "nonconforming": bad}, indent=1))
    fams = ", ".join(f"{k} {v['cases']}" for k, v in per_family.items())
    print(f"fuzz_campaign: {totals['cases']} cases ({fams}) in {wall:.0f} s: {totals['refused']} refused, "
          f"{totals['accepted']} accepted ({totals['garbage_accepted']} garbage), {totals['traceback']} tracebacks, "
          f"{totals['hang']} hangs, {totals['malformed']} malformed, {totals['escaped']} escapes; slowest "
          f"{slowest['elapsed_s']:.1f} s -> {'PASS' if not bad else 'FAIL'} ({out})")


if __name__ == "__main__":
    main()
