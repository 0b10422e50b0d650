"""Plots of PIUMA results (matplotlib, Agg); they read result rows, never simulator internals."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plot_compare", "plot_scaling"]


def _save(fig, path: str) -> None:
    """Render to memory, then write: a full disk or an unwritable path is a one-line error
    (matplotlib's PNG writer can lose a failed write on special files such as /dev/full)."""
    import io

    from archsim.paths import write_file

    buf = io.BytesIO()
    try:
        suffix = str(path).rsplit(".", 1)[-1].lower() if "." in str(path).rsplit("/", 1)[-1] else "png"
        fig.savefig(buf, dpi=120, format=suffix if suffix in ("png", "pdf", "svg") else "png")
    finally:
        plt.close(fig)
    write_file(path, buf.getvalue(), "plot")


def plot_compare(rows: list[dict], flows: list[str], path: str, *, baseline: str) -> None:
    """Speedup of ``baseline`` over every other dataflow, per input (log scale)."""
    others = [f for f in flows if f != baseline]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(rows) + 2), 4))
    wdt = 0.8 / max(len(others), 1)
    for i, df in enumerate(others):
        ax.bar(x + i * wdt, [r[df] / r[baseline] for r in rows], wdt, label=f"{baseline} vs {df}")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(x + wdt * (len(others) - 1) / 2, [r["input"] for r in rows], rotation=30, ha="right")
    ax.set_ylabel(f"speedup of {baseline}")
    if others:  # one dataflow alone has nothing to compare (and no legend)
        ax.legend()
    fig.tight_layout()
    _save(fig, path)


def plot_scaling(points: list[dict], path: str, *, title: str = "") -> None:
    """Speedup over the smallest configuration vs total cores, with ideal scaling."""
    cores = [p["cores"] for p in points]
    base = points[0]["cycles"] * points[0]["cores"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(cores, [points[0]["cycles"] / p["cycles"] for p in points], "o-", label="simulated")
    ax.plot(cores, [c / points[0]["cores"] for c in cores], "k--", lw=0.8, label="ideal")
    for p in points:
        if p.get("dies", 1) > 1:
            ax.annotate(f"{p['dies']} dies", (p["cores"], base / p["cores"] / points[0]["cycles"] * 0 + points[0]["cycles"] / p["cycles"]))
    ax.set_xlabel("cores")
    ax.set_ylabel("speedup")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    _save(fig, path)
