"""PIUMA at graph scale: wall time, peak memory and simulated work per second of streamed runs.

Each case runs ``python -m archsim run piuma ...`` in its own process under ``/usr/bin/time -v``
(peak RSS of that process = "Maximum resident set size"), with a timeout, and appends one JSON
line per case to ``--out`` (default ``out/piuma_scale.jsonl``): command, exit code, wall seconds,
peak RSS, cycles, flops, C's nnz and checksum, blocks, work per wall second.  ``--table``
prints the Markdown table of a results file.

Cases (``CASE`` arguments): ``spgemm-<dataflow>-s<scale>`` (``rowwise-hash``, ``inner``,
``outer``), ``spmv-<variant>-s<scale>`` (``base``, ``cached``, ``dma``, ``cache-all``),
``...-save`` (SpGEMM: also stream C to ``out/C.mtx``), and ``bad-header`` (a 78-byte .mtx that
declares 2e9 x 2e9: must be refused at once).  Example::

    python benchmarks/piuma_scale.py spgemm-rowwise-hash-s10 spgemm-rowwise-hash-s12 --timeout 900
    python benchmarks/piuma_scale.py --table out/piuma_scale.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _command(case: str, out_dir: Path) -> list[str]:
    py = [sys.executable, "-m", "archsim", "run", "piuma"]
    if case == "bad-header":
        p = out_dir / "bad_header.mtx"
        p.write_text("%%MatrixMarket matrix coordinate real general\n2000000000 2000000000 1\n1 1 1\n")
        return py + ["--matrix", str(p)]
    m = re.fullmatch(r"(spgemm|spmv)-([a-z-]+)-s(\d+)(-save)?", case)
    if not m:
        raise SystemExit(f"error: unknown case {case!r}")
    kernel, dataflow, scale, save = m.group(1), m.group(2), int(m.group(3)), m.group(4)
    cmd = py + ["--kernel", kernel, "--dataflow", dataflow, "--rmat-scale", str(scale), "--json", str(out_dir / f"{case}.json")]
    if save:
        cmd += ["--save-output", str(out_dir / "C.mtx")]
    return cmd


def run_case(case: str, out_dir: Path, timeout_s: float) -> dict:
    cmd = _command(case, out_dir)
    # deliberately big runs: past the CLI's default work budget (archsim.budget)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARCHSIM_MAX_WORK": "1e15"}
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", "timeout", str(int(timeout_s))] + cmd, cwd=ROOT, env=env,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", p.stderr))
    share = re.search(r"Percent of CPU this job got: (\d+)%", p.stderr)
    row = {"case": case, "command": " ".join(["python"] + cmd[1:]), "exit": p.returncode, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
           "cpu_share": int(share.group(1)) / 100 if share else None,
           "peak_rss_gib": round(int(rss.group(1)) / 2**20, 3) if rss else None,
           "stdout": p.stdout.strip()[-400:], "stderr_last": next((ln for ln in p.stderr.splitlines() if ln.startswith("error:")), "")[:300]}
    js = out_dir / f"{case}.json"
    if p.returncode == 0 and js.exists():
        r = json.loads(js.read_text())
        m = r["metrics"]
        work = m.get("flops", 0.0)
        row.update(cycles=r["total_cycles"], flops=work, output_nnz=m.get("output_nnz"), output_checksum=m.get("output_checksum"),
                   blocks=m.get("stream_blocks"), blocks_live_max=m.get("stream_blocks_live_max"), sim_events=m.get("sim_events"),
                   sp_peak_bytes_max=m.get("sp_peak_bytes_max"), sp_wait_cycles=m.get("sp_wait_cycles"),
                   work_per_wall_s=work / wall if wall > 0 else None)
    return row


def table(path: Path) -> str:
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    out = ["| case | exit | wall s | CPU s (share) | peak RSS GiB | cycles | flops (SpGEMM products / SpMV nnz) | flops per CPU s | blocks (live max) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        b = r.get("blocks")
        blocks = "" if b is None else f"{b:.0f} ({r.get('blocks_live_max', 0):.0f})"
        f = r.get("flops")
        cpu = r.get("cpu_s")
        wpc = f / cpu if (f is not None and cpu) else None
        out.append(f"| {r['case']} | {r['exit']} | {r['wall_s']} | {cpu} ({r.get('cpu_share')}) | {r['peak_rss_gib']} | {r.get('cycles', '')} | "
                   f"{'' if f is None else f'{f:.3g}'} | {'' if wpc is None else f'{wpc:.3g}'} | "
                   f"{blocks} |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per case (default 900 = the 15-minute target)")
    ap.add_argument("--out", default="out/piuma_scale.jsonl")
    ap.add_argument("--table", help="print the Markdown table of this results file and exit")
    a = ap.parse_args(argv)
    if a.table:
        print(table(Path(a.table)))
        return 0
    out = ROOT / a.out
    out.parent.mkdir(parents=True, exist_ok=True)
    for case in a.cases:
        row = run_case(case, out.parent, a.timeout)
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{case}: exit {row['exit']}, {row['wall_s']} s, {row['peak_rss_gib']} GiB, "
              f"{row.get('cycles', '-')} cycles; {row['stderr_last'] if row['exit'] else ''}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
