"""Address mapping as a DRAMsim3-style field string.

``"ro ch ra ba bg co"`` (or DRAMsim3's concatenated ``"rochrababgco"``) lists the fields from the
most to the least significant bits above the burst offset: ``ro`` row, ``ch`` channel, ``ra``
rank, ``bg`` bank group, ``ba`` bank within the group, ``co`` column (in bursts), and, with the
speculative ``fine_grain: subrank`` only, ``sr`` the sub-rank (put lowest when not named).  Field
widths follow DRAMsim3's ``config.cc``: ``co = log2(columns) - log2(BL)``, the offset is
``log2(bus bytes × BL)``; address bits above the top field are ignored (wrap around), as in
DRAMsim3.  Reference maps: DRAMsim3's default ``rochrababgco`` (column lowest) and
``rochrabacobg`` (bank group lowest), both in the README §3.2.
"""

from __future__ import annotations

from dataclasses import dataclass

from workloads.errors import InputError

__all__ = ["AddressMap", "parse_fields", "FIELDS"]

FIELDS = ("ro", "ch", "ra", "bg", "ba", "co")


def parse_fields(spec: str) -> tuple[str, ...]:
    """``"ro ch ra ba bg co"`` / ``"rochrababgco"`` -> field names MSB first; errors name the map."""
    s = spec.replace(" ", "").replace(",", "").replace("_", "").lower()
    if len(s) % 2:
        raise InputError(f"address_map {spec!r}: expected two-letter fields from "
                         f"{', '.join(FIELDS + ('sr',))}")
    fields = tuple(s[i:i + 2] for i in range(0, len(s), 2))
    for f in fields:
        if f not in FIELDS + ("sr",):
            raise InputError(f"address_map {spec!r}: unknown field {f!r} "
                             f"(valid: {', '.join(FIELDS + ('sr',))})")
    missing = [f for f in FIELDS if f not in fields]
    dup = sorted({f for f in fields if fields.count(f) > 1})
    if missing or dup:
        raise InputError(f"address_map {spec!r}: "
                         + (f"missing {', '.join(missing)}" if missing else f"repeated {', '.join(dup)}"))
    return fields


@dataclass(frozen=True)
class AddressMap:
    """Bit positions of each field; `decode` splits byte addresses into DRAM coordinates."""

    fields: tuple[str, ...]
    widths: tuple[int, ...]
    shift_bits: int

    @classmethod
    def for_config(cls, cfg) -> "AddressMap":
        o, c = cfg.organisation, cfg.controller
        fields = parse_fields(c.address_map)
        lg = lambda n: int(n).bit_length() - 1  # noqa: E731  (powers of two, validated)
        width = {"ro": lg(o.rows), "ch": lg(o.channels), "ra": lg(o.ranks),
                 "bg": lg(o.bank_groups), "ba": lg(o.banks_per_group),
                 "co": lg(o.columns) - lg(o.burst_length), "sr": lg(c.subranks)}
        if c.subranks > 1 and "sr" not in fields:
            fields = fields + ("sr",)
        if c.subranks == 1:
            fields = tuple(f for f in fields if f != "sr")
        return cls(fields, tuple(width[f] for f in fields), lg(cfg.access_bytes))

    def decode(self, addrs) -> dict:
        """Field values of byte addresses (numpy int64 arrays)."""
        import numpy as np

        a = np.asarray(addrs, dtype=np.uint64) >> np.uint64(self.shift_bits)
        out = {}
        for f, w in zip(reversed(self.fields), reversed(self.widths)):
            out[f] = (a & np.uint64((1 << w) - 1)).astype(np.int64)
            a = a >> np.uint64(w)
        out.setdefault("sr", np.zeros(len(out["ro"]), dtype=np.int64))
        return out

    def decode_one(self, addr: int) -> dict[str, int]:
        """Field values of one byte address (pure Python, for per-request callers)."""
        a = int(addr) >> self.shift_bits
        out = {"sr": 0}
        for f, w in zip(reversed(self.fields), reversed(self.widths)):
            out[f] = a & ((1 << w) - 1)
            a >>= w
        return out

    def encode(self, **fields) -> int:
        """Byte address of the given field values (missing fields are 0); for tests and tools."""
        addr = 0
        for f, w in zip(self.fields, self.widths):
            v = int(fields.get(f, 0))
            if not 0 <= v < (1 << w) and not (w == 0 and v == 0):
                raise ValueError(f"{f}={v} does not fit {w} bits")
            addr = (addr << w) | v
        return addr << self.shift_bits
