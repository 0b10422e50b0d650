"""The command-level, event-driven controller + device model of one DRAM channel.

Granularity: one *command* per event (ACT, PRE, RD, WR, and the refresh pair PREA/REF), each
issued at the earliest clock at which every JEDEC constraint allows it; time jumps from one
command (or request arrival) to the next, so idle clocks cost nothing.  All times are integer
clocks (tCK) of the channel.

State (README "A model that would pass"): per bank the open row and the earliest legal
ACT/PRE/RD/WR; per bank group the CAS and ACT spacing (tCCD_L, tCCD_L_WR, tRRD_L, tWTR_L); per rank
the ACT window (tRRD_S and the last four ACTs for tFAW), CAS spacing (tCCD_S), bus turnaround
(RD->WR = CL + tBURST + gap - CWL, WR->RD = CWL + tBURST + tWTR), rank switches (tRTRS), tPPD, and
all-bank refresh every tREFI (PREA when rows are open, then REF blocking the rank for tRFC); per
channel one command per clock on the command bus.  Constraints per command: ACT needs tRC, tRP,
tRRD_S/L, tFAW; RD/WR need tRCD and the CAS spacings; PRE needs tRAS, tRTP, write recovery.

Controller: read and write queues (``controller.read_queue`` / ``write_queue`` entries) fed in
order from an unbounded input FIFO (head-of-line blocking, like DRAMsim3's trace front end);
write drain between watermarks (Ramulator 2's rule: enter write mode above the high watermark or
when no read waits, leave below the low watermark when a read waits); FR-FCFS: among commands
legal at the earliest clock, a row hit's CAS first, then the command of the oldest request;
a row is not closed while a queued request of the served queue hits it.  With
``controller.active_buffer`` (default, Ramulator 2's active buffer) the request an ACT was issued
for leaves its queue (its slot takes the next request) and its CAS is served first in either
mode, so a mode switch never wastes an ACT.  Open page keeps rows open; closed page
auto-precharges after the last queued hit (RDA/WRA: no command-bus slot).
``controller_latency_tck`` is added to every completion (queueing and device timing exclude it).
Sub-ranks (``fine_grain: subrank``) are pseudo-ranks with their own banks and data lines that
share the real rank's ACT window and refresh.

Not modelled: per-bank/same-bank refresh, refresh postponement, power-down and self-refresh,
DDR5's two-clock commands, command/address parity and ECC.
"""

from __future__ import annotations

from collections import deque

from archsim.dram.config import DramConfig

__all__ = ["Channel", "INF"]

INF = float("inf")
_REF = -1  # pseudo bank index of a refresh candidate


class Channel:
    """One channel's controller and devices.  Requests are bursts: (arrival, bank, row, write).

    Use `push` to append requests in arrival order (arrival times non-decreasing) and `advance`
    to issue every command up to a time; `run` drains everything.  ``done[i]`` is the clock at
    which request ``i``'s data has returned (read) or been written (write), controller latency
    included.  Banks are flat indices ``((rank × subranks + subrank) × bank_groups + bg) ×
    banks_per_group + ba``.
    """

    def __init__(self, cfg: DramConfig) -> None:
        o, t, c = cfg.organisation, cfg.timing, cfg.controller
        self.cfg = cfg
        S = c.subranks
        self.n_pranks = n_pr = o.ranks * S  # pseudo ranks: one per (rank, sub-rank)
        self.n_banks = B = n_pr * o.bank_groups * o.banks_per_group
        bpr = o.bank_groups * o.banks_per_group
        self.bank_prank = [b // bpr for b in range(B)]
        self.bank_bg = [b // o.banks_per_group for b in range(B)]
        self.bank_rank = [b // bpr // S for b in range(B)]
        self.rank_banks = [[b for b in range(B) if self.bank_rank[b] == r] for r in range(o.ranks)]
        # pseudo ranks sharing a data bus with pr (same sub-rank lines, another rank)
        self.bus_peers = [[q for q in range(n_pr) if q != p and q % S == p % S] for p in range(n_pr)]
        bl = o.burst_tck
        self.BL = bl
        self.CL, self.CWL = t.CL_tck, t.CWL_tck
        self.tRCD, self.tRP, self.tRAS, self.tRC = t.tRCD_tck, t.tRP_tck, t.tRAS_tck, t.tRC_tck
        self.tCCD_S = max(bl, t.tCCD_S_tck)
        self.tCCD_L = max(bl, t.tCCD_L_tck)
        self.tCCD_L_WR = max(bl, t.tCCD_L_WR_tck or t.tCCD_L_tck)
        self.tRRD_S, self.tRRD_L, self.tFAW = t.tRRD_S_tck, t.tRRD_L_tck, t.tFAW_tck
        self.tWR, self.tRTP, self.tPPD = t.tWR_tck, t.tRTP_tck, t.tPPD_tck
        self.rtw = t.CL_tck + bl + t.rd_to_wr_gap_tck - t.CWL_tck
        self.wtr_s = t.CWL_tck + bl + t.tWTR_S_tck
        self.wtr_l = t.CWL_tck + bl + t.tWTR_L_tck
        self.rtr_o = bl + t.tRTRS_tck
        self.rtw_o = t.CL_tck + bl + t.tRTRS_tck - t.CWL_tck
        self.wtr_o = t.CWL_tck + bl + t.tRTRS_tck - t.CL_tck
        self.wr_pre = t.CWL_tck + bl + t.tWR_tck
        self.tREFI, self.tRFC = t.tREFI_tck, t.tRFC_tck
        self.ctrl = c.controller_latency_tck
        self.closed_page = c.page_policy == "closed"
        self.active_buffer = c.active_buffer
        self.cap = (c.read_queue, c.write_queue)
        self.wr_hi = c.write_high_watermark * c.write_queue
        self.wr_lo = c.write_low_watermark * c.write_queue
        # ---- bank state
        self.open_row = [-1] * B
        self.nact = [0] * B
        self.npre = [0] * B
        self.ncas = [0] * B  # tRCD after ACT, for RD and WR alike
        self.fresh = [False] * B  # the next CAS is the first after an ACT
        self.conflict = [False] * B  # the last PRE closed a row for another row's request
        # the request an ACT was issued for, until its CAS (Ramulator 2's "active buffer": it is
        # served first in either read/write mode, and its row is not closed under it)
        self.act_req = [-1] * B
        self.n_act_req = 0
        n_bg = n_pr * o.bank_groups
        self.nact_bg = [0] * n_bg
        self.nrd_bg = [0] * n_bg
        self.nwr_bg = [0] * n_bg
        self.nact_rk = [0] * o.ranks
        self.npre_rk = [0] * o.ranks
        self.acts = [deque(maxlen=4) for _ in range(o.ranks)]
        self.nrd_pr = [0] * n_pr
        self.nwr_pr = [0] * n_pr
        self.refresh = t.refresh
        self.ref_due = [t.tREFI_tck if t.refresh else INF for _ in range(o.ranks)]
        self.cmd_free = 0
        self.now = 0
        # ---- requests (index = admission order)
        self.r_arr: list[int] = []
        self.r_bank: list[int] = []
        self.r_row: list[int] = []
        self.r_wr: list[bool] = []
        self.done: list[int] = []
        self.enq: list[int] = []  # clock each request entered its controller queue
        self.head = 0  # next request of the input FIFO to admit
        self.t_first: int | None = None  # arrival of the first request ever pushed
        self.bq = ([deque() for _ in range(B)], [deque() for _ in range(B)])
        self.active = (set(), set())
        self.hits = ([0] * B, [0] * B)
        self.qlen = [0, 0]
        self.write_mode = False
        self.completed = 0
        #: when a list, (request index, done clock) of each CAS is appended (SimPy adapter)
        self.log: list | None = None
        # ---- candidate cache: per mode and bank, the bank-local earliest clock of its next
        # command, the index of the shared (bank-group/rank) constraint in `comb`, and its
        # priority bits (class << 32 | oldest request id); comb[kind × n_bg + bg] with kinds
        # ACT, PRE, RD, WR holds the max of the bank-group and rank constraints.
        self.n_bg = n_bg
        self.loc = ([0] * B, [0] * B)
        self.ck = ([b // o.banks_per_group for b in range(B)],
                   [b // o.banks_per_group for b in range(B)])
        self.pri = ([1 << 32] * B, [1 << 32] * B)
        self.comb = [0] * (4 * n_bg)
        self.rank_bgs = [[g for g in range(n_bg) if g // o.bank_groups // S == r]
                         for r in range(o.ranks)]
        self.pr_bgs = [[g for g in range(n_bg) if g // o.bank_groups == p] for p in range(n_pr)]
        # ---- statistics
        self.cmds = {"ACT": 0, "PRE": 0, "PREA": 0, "RD": 0, "WR": 0, "REF": 0}
        self.row_hits = self.row_misses = self.row_conflicts = 0
        self.occ_int = [0, 0]
        self.t_occ = 0
        self.last_data = 0  # clock at which the data bus last went idle

    # ------------------------------------------------------------------ input
    def push(self, arrival: int, bank: int, row: int, write: bool) -> int:
        """Append one burst request to the input FIFO; returns its index."""
        if self.t_first is None:
            self.t_first = int(arrival)
        self.r_arr.append(int(arrival))
        self.r_bank.append(int(bank))
        self.r_row.append(int(row))
        self.r_wr.append(bool(write))
        self.done.append(-1)
        self.enq.append(-1)
        return len(self.r_arr) - 1

    def extend(self, arrivals, banks, rows, writes) -> None:
        """Append many requests (sequences of equal length, arrivals non-decreasing)."""
        n = len(arrivals)
        if n and self.t_first is None:
            self.t_first = int(arrivals[0])
        self.r_arr.extend(int(a) for a in arrivals)
        self.r_bank.extend(int(b) for b in banks)
        self.r_row.extend(int(r) for r in rows)
        self.r_wr.extend(bool(w) for w in writes)
        self.done.extend([-1] * n)
        self.enq.extend([-1] * n)

    def compact(self) -> bool:
        """Forget served requests when nothing is pending (keeps long runs' memory flat; request
        indices restart at 0).  Returns whether it did."""
        if self.pending() or self.n_act_req:
            return False
        self.r_arr.clear()
        self.r_bank.clear()
        self.r_row.clear()
        self.r_wr.clear()
        self.done.clear()
        self.enq.clear()
        self.head = 0
        return True

    def pending(self) -> int:
        """Requests pushed but not yet issued (in the FIFO or a queue)."""
        return len(self.r_arr) - self.head + self.qlen[0] + self.qlen[1]

    # ------------------------------------------------------------------ engine
    def run(self) -> None:
        """Issue commands until every pushed request has been served."""
        self.advance(INF)

    def advance(self, horizon: float) -> float:
        """Issue every command whose clock is <= ``horizon`` given the requests pushed so far.

        Returns the clock of the next command (``INF`` when nothing is pending)."""
        # locals for speed
        B_RANK, B_BG, B_PR = self.bank_rank, self.bank_bg, self.bank_prank
        open_row, nact, npre, ncas = self.open_row, self.nact, self.npre, self.ncas
        nact_bg, nrd_bg, nwr_bg = self.nact_bg, self.nrd_bg, self.nwr_bg
        nact_rk, npre_rk, nrd_pr, nwr_pr = self.nact_rk, self.npre_rk, self.nrd_pr, self.nwr_pr
        ref_due = self.ref_due
        bq, active, hits, qlen = self.bq, self.active, self.hits, self.qlen
        r_arr, r_bank, r_row, r_wr = self.r_arr, self.r_bank, self.r_row, self.r_wr
        cap_r, cap_w = self.cap
        enq = self.enq
        n_ranks = len(ref_due)
        while True:
            now = self.now
            # -- admit requests that have arrived, in order, while their queue has room
            n_in = len(r_arr)
            h = self.head
            while h < n_in and r_arr[h] <= now:
                m = 1 if r_wr[h] else 0
                if qlen[m] >= (cap_w if m else cap_r):
                    break
                b = r_bank[h]
                dq = bq[m][b]
                dq.append(h)
                if len(dq) == 1:
                    if r_row[h] == open_row[b]:
                        hits[m][b] += 1
                    self._upd(b)
                elif r_row[h] == open_row[b]:
                    hits[m][b] += 1
                    if hits[m][b] == 1:
                        self._upd(b)
                self._occ(now)
                qlen[m] += 1
                enq[h] = now
                h += 1
            self.head = h
            # -- read/write mode (Ramulator 2's watermark rule)
            if self.write_mode:
                if qlen[1] < self.wr_lo and qlen[0]:
                    self.write_mode = False
            elif qlen[1] > self.wr_hi or (qlen[0] == 0 and qlen[1]):
                self.write_mode = True
            m = 1 if self.write_mode else 0
            # -- best bank command: earliest clock, then row-hit CAS, then oldest request.
            # key = clock << 33 | class << 32 | id of the bank's oldest request
            floor = now if now > self.cmd_free else self.cmd_free
            loc, ck, pri, comb = self.loc[m], self.ck[m], self.pri[m], self.comb
            am = active[m]
            kb = -1
            if n_ranks == 1:
                for b in am:
                    t = loc[b]
                    x = comb[ck[b]]
                    if x > t:
                        t = x
                    if t < floor:
                        t = floor
                    k = t << 33 | pri[b]
                    if kb < 0 or k < kb:
                        kb = k
                if kb >= 0 and (kb >> 33) >= ref_due[0]:
                    kb = -1  # the rank is due for refresh: it takes no new command
            else:
                for b in am:
                    t = loc[b]
                    x = comb[ck[b]]
                    if x > t:
                        t = x
                    if t < floor:
                        t = floor
                    if t >= ref_due[B_RANK[b]]:
                        continue
                    k = t << 33 | pri[b]
                    if kb < 0 or k < kb:
                        kb = k
            if kb < 0:
                bt = INF
            else:
                bt = kb >> 33
                bc = (kb >> 32) & 1
                bb = r_bank[kb & 0xFFFFFFFF]
            # -- refresh
            busy = qlen[0] or qlen[1] or h < n_in or self.n_act_req
            if busy and self.refresh:
                for r in range(n_ranks):
                    if ref_due[r] <= bt:
                        t = self._refresh_time(r, floor)
                        if t <= bt:
                            bt, bb, bs = t, _REF, r
                            bc = 2
            # -- next arrival that could enter a queue
            ta = INF
            if h < n_in:
                m2 = 1 if r_wr[h] else 0
                if qlen[m2] < (cap_w if m2 else cap_r):
                    ta = r_arr[h]
            if ta <= bt and ta < INF:
                if ta > horizon:
                    return ta
                if ta > now:
                    self._occ(ta)
                    self.now = ta
                continue
            if bt > horizon or bt == INF:
                if not busy:
                    return INF
                return bt
            # -- issue
            self._occ(bt)
            self.now = bt
            if bb == _REF:
                self._do_refresh(bs, bt)
            elif open_row[bb] < 0:
                self._act(m, bb, bt)
            elif bc == 0:
                self._cas(m, bb, bt)
            else:
                self._pre(bb, bt)

    def _occ(self, t: int) -> None:
        dt = t - self.t_occ
        if dt > 0:
            self.occ_int[0] += self.qlen[0] * dt
            self.occ_int[1] += self.qlen[1] * dt
            self.t_occ = t

    # ------------------------------------------------------------------ candidate cache
    def _upd(self, b: int) -> None:
        """Refresh bank ``b``'s cached candidate (both read and write mode)."""
        g = self.bank_bg[b]
        n = self.n_bg
        loc, ck, pri, active = self.loc, self.ck, self.pri, self.active
        a = self.act_req[b]
        if a >= 0:
            t = self.ncas[b]
            k = (3 if self.r_wr[a] else 2) * n + g
            loc[0][b] = loc[1][b] = t
            ck[0][b] = ck[1][b] = k
            pri[0][b] = pri[1][b] = a
            active[0].add(b)
            active[1].add(b)
            return
        row = self.open_row[b]
        bq = self.bq
        for m in (0, 1):
            dq = bq[m][b]
            if dq:
                active[m].add(b)
                head = dq[0]
            else:
                active[m].discard(b)
                head = 0
            if row >= 0:
                if self.hits[m][b]:
                    loc[m][b] = self.ncas[b]
                    ck[m][b] = (2 + m) * n + g
                    pri[m][b] = head
                else:
                    loc[m][b] = self.npre[b]
                    ck[m][b] = n + g
                    pri[m][b] = (1 << 32) | head
            else:
                loc[m][b] = self.nact[b]
                ck[m][b] = g
                pri[m][b] = (1 << 32) | head

    def _comb_act(self, r: int) -> None:
        x = self.nact_rk[r]
        for g in self.rank_bgs[r]:
            y = self.nact_bg[g]
            self.comb[g] = y if y > x else x

    def _comb_cas(self, p: int) -> None:
        n, comb = self.n_bg, self.comb
        for q in [p] + self.bus_peers[p]:
            xr, xw = self.nrd_pr[q], self.nwr_pr[q]
            for g in self.pr_bgs[q]:
                y = self.nrd_bg[g]
                comb[2 * n + g] = y if y > xr else xr
                y = self.nwr_bg[g]
                comb[3 * n + g] = y if y > xw else xw

    # ------------------------------------------------------------------ commands
    def _act(self, m: int, b: int, t: int) -> None:
        a = self.bq[m][b][0]
        self.act_req[b] = a
        self.n_act_req += 1
        if self.active_buffer:
            # Ramulator 2 moves the activated request to its active buffer: a queue slot frees
            self._occ(t)
            self.qlen[m] -= 1
        row = self.r_row[a]
        self.open_row[b] = row
        self.nact[b] = t + self.tRC
        self.ncas[b] = t + self.tRCD
        p = t + self.tRAS
        if p > self.npre[b]:
            self.npre[b] = p
        g = self.bank_bg[b]
        x = t + self.tRRD_L
        if x > self.nact_bg[g]:
            self.nact_bg[g] = x
        r = self.bank_rank[b]
        acts = self.acts[r]
        acts.append(t)
        x = t + self.tRRD_S
        if len(acts) == 4 and acts[0] + self.tFAW > x:
            x = acts[0] + self.tFAW
        if x > self.nact_rk[r]:
            self.nact_rk[r] = x
        rr = self.r_row
        for mm in (0, 1):
            self.hits[mm][b] = sum(1 for i in self.bq[mm][b] if rr[i] == row)
        self.fresh[b] = True
        self.cmd_free = t + 1
        self.cmds["ACT"] += 1
        self._upd(b)
        self._comb_act(r)

    def _pre(self, b: int, t: int) -> None:
        self.open_row[b] = -1
        x = t + self.tRP
        if x > self.nact[b]:
            self.nact[b] = x
        self.hits[0][b] = self.hits[1][b] = 0
        self.conflict[b] = True
        r = self.bank_rank[b]
        self.npre_rk[r] = t + self.tPPD
        if self.tPPD:
            for g in self.rank_bgs[r]:
                self.comb[self.n_bg + g] = self.npre_rk[r]
        self.cmd_free = t + 1
        self.cmds["PRE"] += 1
        self._upd(b)

    def _cas(self, m: int, b: int, t: int) -> None:
        i = self.act_req[b]
        freed = False
        if i >= 0:
            self.act_req[b] = -1
            self.n_act_req -= 1
            m = 1 if self.r_wr[i] else 0
            self.bq[m][b].remove(i)
            freed = self.active_buffer
        else:
            dq = self.bq[m][b]
            row = self.open_row[b]
            rr = self.r_row
            for k, i in enumerate(dq):
                if rr[i] == row:
                    break
            del dq[k]
        self.hits[m][b] -= 1
        if not freed:
            self._occ(t)
            self.qlen[m] -= 1
        if self.fresh[b]:
            self.fresh[b] = False
            if self.conflict[b]:
                self.row_conflicts += 1
            else:
                self.row_misses += 1
        else:
            self.row_hits += 1
        g, pr = self.bank_bg[b], self.bank_prank[b]
        bl = self.BL
        if m == 0:
            end = t + self.CL + bl
            x = t + self.tCCD_L
            if x > self.nrd_bg[g]:
                self.nrd_bg[g] = x
            x = t + self.rtw
            if x > self.nwr_bg[g]:
                self.nwr_bg[g] = x
            x = t + self.tCCD_S
            if x > self.nrd_pr[pr]:
                self.nrd_pr[pr] = x
            x = t + self.rtw
            if x > self.nwr_pr[pr]:
                self.nwr_pr[pr] = x
            for q in self.bus_peers[pr]:
                self.nrd_pr[q] = max(self.nrd_pr[q], t + self.rtr_o)
                self.nwr_pr[q] = max(self.nwr_pr[q], t + self.rtw_o)
            x = t + self.tRTP
            self.cmds["RD"] += 1
        else:
            end = t + self.CWL + bl
            x = t + self.tCCD_L_WR
            if x > self.nwr_bg[g]:
                self.nwr_bg[g] = x
            x = t + self.wtr_l
            if x > self.nrd_bg[g]:
                self.nrd_bg[g] = x
            x = t + self.tCCD_S
            if x > self.nwr_pr[pr]:
                self.nwr_pr[pr] = x
            x = t + self.wtr_s
            if x > self.nrd_pr[pr]:
                self.nrd_pr[pr] = x
            for q in self.bus_peers[pr]:
                self.nwr_pr[q] = max(self.nwr_pr[q], t + self.rtr_o)
                self.nrd_pr[q] = max(self.nrd_pr[q], t + self.wtr_o)
            x = t + self.wr_pre
            self.cmds["WR"] += 1
        if x > self.npre[b]:
            self.npre[b] = x
        self.done[i] = end + self.ctrl
        self.completed += 1
        if self.log is not None:
            self.log.append((i, end + self.ctrl))
        if end > self.last_data:
            self.last_data = end
        self.cmd_free = t + 1
        if self.closed_page and not (self.hits[0][b] or self.hits[1][b]):
            # auto-precharge (RDA/WRA): closes the row at its earliest legal clock
            self.open_row[b] = -1
            x = self.npre[b] + self.tRP
            if x > self.nact[b]:
                self.nact[b] = x
            self.conflict[b] = False
            self.cmds["PRE"] += 1
        self._upd(b)
        self._comb_cas(pr)

    def _refresh_time(self, r: int, floor: int) -> int:
        t = max(self.ref_due[r], floor)
        banks = self.rank_banks[r]
        if any(self.open_row[b] >= 0 for b in banks):
            for b in banks:
                if self.open_row[b] >= 0 and self.npre[b] > t:
                    t = self.npre[b]
            return max(t, self.npre_rk[r])
        for b in banks:
            if self.nact[b] > t:
                t = self.nact[b]
        return t

    def _do_refresh(self, r: int, t: int) -> None:
        banks = self.rank_banks[r]
        self.cmd_free = t + 1
        if any(self.open_row[b] >= 0 for b in banks):
            for b in banks:  # PREA
                if self.open_row[b] >= 0:
                    self.open_row[b] = -1
                    if self.act_req[b] >= 0 and self.active_buffer:
                        # the activated request goes back to its queue's count
                        self.qlen[1 if self.r_wr[self.act_req[b]] else 0] += 1
                    if self.act_req[b] >= 0:
                        self.n_act_req -= 1
                    self.act_req[b] = -1
                    self.hits[0][b] = self.hits[1][b] = 0
                    self.conflict[b] = False
                    x = t + self.tRP
                    if x > self.nact[b]:
                        self.nact[b] = x
                    self._upd(b)
            self.cmds["PREA"] += 1
            return
        end = t + self.tRFC
        for b in banks:
            self.nact[b] = end
            self._upd(b)
        self.cmds["REF"] += 1
        # refreshes that fell due while the rank sat idle are folded into this one
        due = self.ref_due[r] + self.tREFI
        if self.qlen[0] == 0 and self.qlen[1] == 0 and self.head < len(self.r_arr):
            nxt = self.r_arr[self.head]
            while due + self.tREFI <= nxt:
                due += self.tREFI
                self.cmds["REF"] += 1
        self.ref_due[r] = due
