"""Scenario 5, cost: hot-add + online of 1 GiB DIMMs in one guest boot, in
three phases per round (stock, module, module + tracer), on an
instruction-counted clock: guest CPU time and wall time per phase, as
ratios to stock. Guest side: tests/guest/experiment/cost.sh."""

import statistics

from .common import fmt, table

NUMBER = 5
NAME = "cost"
TITLE = "Scenario 5: cost of hot-add + online"
PHASE_TEXT = {"module": "module", "tracer": "module + tracer"}


def plan(o, kernel):
    config = {"kind": "dimm", "boot_mib": "2048", "dimm_mib": "1024", "per_phase_mib": "2048",
              "rounds": "4"}
    opts = ["--mem", "2G", "--maxmem", "27G", "--slots", "26", "--icount", "0",
            "--append", "memhp_default_state=online", "--timeout", "1500"]
    yield config, opts, "DIMM_MIB=1024 PER_PHASE=2 ROUNDS=4 bash /mhp/tests/experiment/cost.sh"


def section(rep):
    rep.w(f"## {TITLE}\n")
    rep.w("One guest boot per kernel; in each round three phases: stock (nothing loaded), "
          "module (mhp_online, defaults: placement=tail, zone policy ratio, granule 1 GiB), module + "
          "tracer (memmap-chains pinned). A phase hot-adds 1 GiB DIMMs with auto-onlining and is "
          "measured from the first request until every block is online and the guest has settled. "
          "The guest runs with `scripts/guest --icount 0` (one vCPU, instruction-counted clock), so "
          "the **guest CPU time** of a phase (idle excluded, from /proc/timer_list) counts the "
          "instructions the guest executed for it, whatever else the host runs: that is the cost "
          "compared. Wall time (QMP round trips and host load included) is shown beside it. "
          "Nothing is unplugged in between, so the guest grows through the run and later phases do "
          "more work; rounds alternate the order of the phases (stock, module, tracer, then tracer, "
          "module, stock) so that this drift hits all three alike, and each round is compared "
          "within itself: ratio = median over rounds of (phase GiB/s / stock GiB/s in the same "
          "round).\n")
    cmp = {}
    for k in rep.kernels(NUMBER):
        for r in rep.of(NUMBER, k):
            rep.w(f"### Kernel {k} ({r.release})\n")
            rep.w(f"Guest: {r.c('boot_mib')} MiB boot memory, {r.c('per_phase_mib')} MiB per phase in "
                  f"{r.c('dimm_mib')} MiB DIMMs, {r.c('rounds')} rounds. Took {rep.duration([r])}.\n")
            st = r.status_cell()
            if st:
                rep.w(st + "\n")
            else:
                for metric, what in (("cpu-gibs", "GiB per guest CPU second"),
                                     ("gibs", "GiB per wall second")):
                    phase_table(rep, r, k, metric, what, cmp)
            rep.reproduce([r])
    if cmp:
        png = rep.compare_plot(
            "s5-cost", "Scenario 5: hot-add + online speed relative to stock (same boot)",
            "GiB per guest CPU second / stock's (median over rounds)",
            [("1 GiB DIMMs", list(cmp.items()), [(1, "stock = 1")])], "[0:1.4]")
        if png:
            rep.w(f"![cost]({png})\n")


def phase_table(rep, r, k, metric, what, cmp):
    """One table of run r: a row per phase, a column per round, the median
    and the median of the per-round ratios to stock; the CPU ratios go to
    cmp for the comparing plot."""
    rounds = int(r.metric("rounds") or 0)
    rows = []
    for ph in ("stock", "module", "tracer"):
        vals = [r.metric(f"r{i}-{ph}-{metric}") for i in range(1, rounds + 1)]
        base = [r.metric(f"r{i}-stock-{metric}") for i in range(1, rounds + 1)]
        ratios = [v / b for v, b in zip(vals, base) if v is not None and b]
        vals = [v for v in vals if v is not None]
        if not vals:
            why = next((s for s in r.skips() if ph in s or "module" in s), "no measurement")
            rows.append([ph, why] + [""] * (rounds + 1))
            continue
        med = statistics.median(vals)
        rows.append([ph] + [fmt(v, 2) for v in vals] + [""] * (rounds - len(vals))
                    + [fmt(med, 2), fmt(statistics.median(ratios), 3) if ratios else "n/a"])
        if metric == "cpu-gibs" and ph != "stock" and ratios:
            cmp.setdefault(PHASE_TEXT[ph], {})[k] = (round(statistics.median(ratios), 3), None)
    if not any(r.metric(f"r{i}-{ph}-{metric}") is not None
               for i in range(1, rounds + 1) for ph in ("stock", "module", "tracer")):
        rep.w(f"{what}: not measured by this run.\n")
        return
    rep.w(f"{what}:\n")
    rep.w(table(["phase"] + [f"round {i}" for i in range(1, rounds + 1)]
                + ["median", "median ratio to stock (per round)"], rows))
    rep.w()
