"""PIUMA-side dataflows: sparse kernels as per-thread programs of memory operations (plain data).

Public API: `FabricShape`, `Program`, `build_spgemm` (``rowwise-hash``, ``inner``, ``outer``),
`build_spmv` (``base``, ``cached``, ``dma``, ``cache-all``), `partition` (``nnz``, ``cyclic``,
``dynamic``) and the numeric kernels.  No SimPy and no time here: the programs are replayed by
`archsim.piuma`.
"""

from dataflow.piuma.numeric import spgemm_numeric, spmv_numeric
from dataflow.piuma.partition import PARTITIONS, Assignment, partition
from dataflow.piuma.program import CACHED, DMA, UNCACHED, FabricShape, Program
from dataflow.piuma.spgemm import SPGEMM_DATAFLOWS, SpgemmCosts, build_spgemm
from dataflow.piuma.spmv import SPMV_DATAFLOWS, SpmvCosts, build_spmv

__all__ = [
    "FabricShape",
    "Program",
    "Assignment",
    "build_spgemm",
    "build_spmv",
    "partition",
    "spgemm_numeric",
    "spmv_numeric",
    "SpgemmCosts",
    "SpmvCosts",
    "SPGEMM_DATAFLOWS",
    "SPMV_DATAFLOWS",
    "PARTITIONS",
    "UNCACHED",
    "CACHED",
    "DMA",
]
