"""Design-space sweeps: specs, a durable SQLite result store, local or Dask execution.

Run a spec from Python (the CLI ``archsim sweep`` does the same)::

    from archsim.sweep import run_sweep
    summary = run_sweep("demo", "out/sweeps/demo.db", workers=2)
    print(summary.line())

* `load_spec` / `expand` (`archsim.sweep.spec`): a validated YAML spec → design points.
* `run_sweep` (`archsim.sweep.runner`): local process pool (default), in-process, or Dask.
* `SweepStore`, `load_rows` (`archsim.sweep.store`): the one-file SQLite store.
* `Constraint` (`archsim.sweep.expr`): the safe expression language of constraints.

The CLI (`archsim sweep|results|plot`) lives in `archsim.cli.sweep`.
"""

from archsim.sweep.expr import Constraint
from archsim.sweep.runner import SweepSummary, execute_point, run_sweep
from archsim.sweep.spec import Point, SweepSpec, expand, load_spec, parse_spec
from archsim.sweep.store import SCHEMA_VERSION, SweepStore, load_rows, read_meta

__all__ = [
    "Constraint",
    "Point",
    "SCHEMA_VERSION",
    "SweepSpec",
    "SweepStore",
    "SweepSummary",
    "execute_point",
    "expand",
    "load_rows",
    "load_spec",
    "parse_spec",
    "read_meta",
    "run_sweep",
]
