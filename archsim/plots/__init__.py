"""Every archsim figure, in one style (`archsim.plots.style`): result rows in, a file out.

* `archsim.plots.sweep` — figures of any sweep store: `plot_speedup`, `plot_energy_breakdown`,
  `plot_pareto`, `plot_scaling` (also the PIUMA core-scaling plot), `plot_heatmap`.
* `archsim.plots.training` — the training report of the demo: speed-up with every bound
  labelled, energy and time breakdowns per model and N:M.
* `archsim.plots.piuma` — PIUMA dataflow comparison.

Plots read rows (flat dicts of results), never a simulator; matplotlib is imported on first use.
"""

from archsim.plots.sweep import (
    field_label,
    pareto_front,
    plot_energy_breakdown,
    plot_heatmap,
    plot_pareto,
    plot_scaling,
    plot_speedup,
)

__all__ = [
    "plot_speedup",
    "plot_energy_breakdown",
    "plot_pareto",
    "plot_scaling",
    "plot_heatmap",
    "pareto_front",
    "field_label",
]
