"""PIUMA-side dataflows: sparse kernels as per-thread programs of memory operations (plain data).

Public API: `FabricShape`, `Program`; `plan_spgemm` (``rowwise-hash``, ``inner``, ``outer``) and
`plan_spmv` (``base``, ``cached``, ``dma``, ``cache-all``), whose ``block(phase, tasks)`` builds
the program of a set of tasks (and, for SpGEMM, the part of C they produce); `build_spgemm` /
`build_spmv` (the whole program at once, for small inputs); `partition` (``nnz``, ``cyclic``,
``dynamic``) and `time_slices` (blocks of an assignment for streaming); the hash-table
functional model (`dataflow.piuma.hashtable`) and the numeric kernels.  No SimPy and no time
here: the programs are replayed by `archsim.piuma`.
"""

from dataflow.piuma.common import Slice, time_slices
from dataflow.piuma.numeric import spgemm_numeric, spmv_numeric
from dataflow.piuma.partition import PARTITIONS, Assignment, partition
from dataflow.piuma.program import CACHED, DMA, UNCACHED, FabricShape, Program
from dataflow.piuma.spgemm import (
    CAPACITY_POLICIES,
    SPGEMM_DATAFLOWS,
    OutputBlock,
    SpgemmCosts,
    SpgemmPlan,
    build_spgemm,
    plan_spgemm,
)
from dataflow.piuma.spmv import SPMV_DATAFLOWS, SpmvCosts, SpmvPlan, build_spmv, plan_spmv

__all__ = [
    "FabricShape",
    "Program",
    "Assignment",
    "Slice",
    "OutputBlock",
    "SpgemmPlan",
    "SpmvPlan",
    "plan_spgemm",
    "plan_spmv",
    "build_spgemm",
    "build_spmv",
    "partition",
    "time_slices",
    "spgemm_numeric",
    "spmv_numeric",
    "SpgemmCosts",
    "SpmvCosts",
    "SPGEMM_DATAFLOWS",
    "SPMV_DATAFLOWS",
    "CAPACITY_POLICIES",
    "PARTITIONS",
    "UNCACHED",
    "CACHED",
    "DMA",
]
