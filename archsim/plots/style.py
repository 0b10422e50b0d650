"""The one style of every archsim figure: sizes, fonts, colours, labels, notes, saving.

Figures are one paper column (3.5 in) or two (7 in) wide with 8 pt text and constrained layout
(nothing clipped); axes carry units; categorical labels are human words, not identifiers; a
figure that aggregates several results says how in a note under the plot; log axes carry value
labels.  matplotlib is imported on first use (the CLI starts without it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from workloads.errors import InputError

__all__ = [
    "COLUMN_WIDTH_IN",
    "PAGE_WIDTH_IN",
    "RC",
    "rc",
    "figure",
    "save",
    "colors",
    "human",
    "note",
    "minor_share",
    "readable_log",
    "value_labels",
]

COLUMN_WIDTH_IN = 3.5
PAGE_WIDTH_IN = 7.0
RC = {
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "pdf.fonttype": 42,
    "svg.fonttype": "none",
}
FORMATS = ("png", "pdf", "svg")

#: Human labels of identifiers that appear in results (energy components, units, phases,
#: dataflows).  Anything not listed is shown with underscores as spaces.
HUMAN = {
    "dram": "DRAM",
    "buffers": "on-chip SRAM buffers",
    "sram": "SRAM",
    "array": "sparse MAC array",
    "vector_unit": "vector unit",
    "weight_update": "weight-update unit",
    "pruning_unit": "pruning unit",
    "FF": "forward (FF)",
    "BP": "backward data (BP)",
    "WU": "weight update (WU)",
    "drain": "final drain",
    "dense": "dense",
    "ws": "weight stationary",
    "os": "output stationary",
    "rowwise-hash": "row-wise (hash)",
    "rowwise": "row-wise",
    "inner": "inner product",
    "outer": "outer product",
    "resnet18": "ResNet-18",
    "resnet50": "ResNet-50",
    "vgg16": "VGG-16",
    "vit_b_16": "ViT-B/16",
    "bert_base": "BERT-base",
    "gpt2_small": "GPT-2 small",
    "network": "mesh network",
    "scratchpad": "scratchpad",
    "pipelines": "pipelines",
}


def human(name: Any) -> str:
    """A readable label for an identifier (``vector_unit`` -> ``vector unit``)."""
    s = str(name)
    return HUMAN.get(s, s.replace("_", " "))


def rc() -> Any:
    """Context manager applying the style (and the Agg backend)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.rc_context(RC)


def figure(height_in: float = 2.5, *, width_in: float = COLUMN_WIDTH_IN, ncols: int = 1,
           nrows: int = 1, **kw: Any) -> tuple[Any, Any]:
    """``(fig, ax)`` (or an array of axes) with constrained layout."""
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=(width_in, height_in), layout="constrained", **kw)


def note(fig: Any, text: str) -> None:
    """A small note under the plot (what is aggregated, which limits apply)."""
    if text:
        fig.supxlabel(text, fontsize=6.5, color="0.25", ha="center", wrap=True)


def save(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` (``.png``, ``.pdf`` or ``.svg``) and close it; errors name the path."""
    import matplotlib.pyplot as plt

    p = Path(path)
    ext = p.suffix.lower().lstrip(".")
    if ext not in FORMATS:
        plt.close(fig)
        raise InputError(f"{p}: unsupported plot format {p.suffix or '(none)'!r}; use .png, .pdf or .svg")
    import io

    from archsim.paths import write_file

    # Render to memory, then write and close the file: a full disk or an unwritable path is a
    # one-line error (a failed write inside the image writer could otherwise pass silently).
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=ext)
    finally:
        plt.close(fig)
    write_file(p, buf.getvalue(), "plot")
    return p


def colors(n: int) -> list[Any]:
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def minor_share(totals: dict[str, float], *, threshold: float = 0.01) -> tuple[list[str], list[str]]:
    """Split components into (shown, lumped): a component whose share of the grand total is
    below ``threshold`` goes into one "other" segment so the legend has no invisible slivers."""
    grand = sum(v for v in totals.values() if v > 0) or 1.0
    shown = [k for k, v in totals.items() if v / grand >= threshold]
    lumped = [k for k in totals if k not in shown]
    return shown, lumped


def value_labels(ax: Any, bars: Sequence[Any], fmt: str = "{:.2f}", *, inside: bool = True,
                 fontsize: float = 5.5) -> None:
    """Value of each bar written inside it (vertical, white) or just above it."""
    for b in bars:
        v = b.get_height()
        if not v or v != v:
            continue
        x = b.get_x() + b.get_width() / 2
        if inside:
            ax.text(x, b.get_y() + v / 2, fmt.format(v), ha="center", va="center", rotation=90,
                    fontsize=fontsize, color="white")
        else:
            ax.text(x, b.get_y() + v, fmt.format(v), ha="center", va="bottom", fontsize=fontsize)


def readable_log(axis: Any) -> None:
    """Label a log axis at 1-2-5 steps with plain numbers (not only powers of ten)."""
    from matplotlib import ticker

    axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())
