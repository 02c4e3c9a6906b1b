"""Scenario 2, workload: a small guest grows 14x in DIMMs or virtio-mem,
runs mhp-workload (anonymous memory, tmpfs files whose dentries and inodes
are slab, page tables) for a fixed time, stops it, and unplugs as much as
possible: blocks removed, OOM kills, workers killed, per zone policy and
placement. Guest side: tests/guest/experiment/workload.sh."""

import statistics

from .common import (KIND_TEXT, POLICY_SHORT, POLICY_TEXT, conversions, fmt, gib, pct,
                     policy_append, scaled, table)

NUMBER = 2
NAME = "workload"
TITLE = "Scenario 2: memory-intensive workload, then unplug (seed 000, example b, scaled)"
# The seed's numbers (5.9-rc, tail placement, all ZONE_NORMAL): 380 of 448
# blocks removable via 256 MiB DIMMs, 413 of 448 via virtio-mem.
SEED_PCT = {"dimm": 85, "vmem": 92}


def sizes(o):
    """Boot and hot-added MiB: the seed's 1:14, times --wl-scale."""
    return scaled(256, 128, o["wl_scale"]), scaled(3584, 256, o["wl_scale"])


def jobs(o):
    """Guests at once: they touch nearly all their memory, so as many as
    fit in 70 % of the host's, at most --wl-jobs."""
    boot, total = sizes(o)
    return min(o["wl_jobs"], max(o["host_mib"] * 70 // 100 // (boot + total), 1))


def notes(o):
    boot, total = sizes(o)
    if jobs(o) < o["wl_jobs"]:
        yield (f"--wl-jobs {o['wl_jobs']}: only {jobs(o)} scenario 2 guests of {boot + total} MiB "
               f"fit in 70 % of this host's {o['host_mib']} MiB; using {jobs(o)}")


def plan(o, kernel):
    boot, total = sizes(o)
    for kind in o["wl_kinds"]:
        unit = 128 if kind == "vmem" else 256
        # virtio_mem keeps the online_page_callback: the module's
        # placement cannot apply, so head would repeat tail.
        placements = ["tail"] if kind == "vmem" else o["placements"]
        for pol in o["policies"]:
            for pl in placements:
                opts = ["--mem", f"{boot}M", "--maxmem", f"{gib(boot + total) + 1}G",
                        "--slots", str(total // unit + 4)]
                if o["wl_icount"]:
                    # One vCPU on an instruction-counted clock: 4 of
                    # these on 2 cores took 35-37 min each here.
                    opts += ["--icount", "0", "--timeout", "3600"]
                else:
                    opts += ["--timeout", "1200"]
                opts += policy_append(pol)
                if kind == "vmem":
                    opts += ["--vmem", f"{total}M"]
                config = {"kind": kind, "policy": pol, "placement": pl, "boot_mib": str(boot),
                          "total_mib": str(total), "unit_mib": str(unit),
                          "wl_seconds": o["wl_seconds"]}
                if o["wl_icount"]:
                    config["icount"] = "1"
                yield config, opts, (f"KIND={kind} TOTAL_MIB={total} UNIT_MIB={unit} POLICY={pol} "
                                     f"PLACEMENT={pl} WL_SECONDS={o['wl_seconds']} "
                                     "bash /mhp/tests/experiment/workload.sh")


def throughput(r, base):
    """A run's workload throughput, with its ratio to base (the
    auto-movable runs' median) when there is one."""
    rate = r.metric("workload-pages-per-s")
    if rate is None:
        return "-"
    return f"{rate:.0f}" + (f" ({rate / base:.3f})" if base else "")


def section(rep):
    rep.w(f"## {TITLE}\n")
    rep.w("Seed anchor (5.9-rc, 4 GiB boot + 56 GiB, 45 minutes of workloads, all ZONE_NORMAL, "
          "tail placement): 413 of 448 blocks (92 %) removable via virtio-mem, 380 of 448 (85 %) via "
          "256 MiB DIMMs. Here scaled to this 2-core TCG machine: boot memory and hot-added memory "
          "keep the seed's 1:14 proportion, the workload (mhp-workload: anonymous memory, tmpfs "
          "files whose dentries and inodes are slab, page tables; 4 workers, sized to 85 % of "
          "MemAvailable after the hot-add) runs for the seconds given instead of 45 minutes, then "
          "stops and its files are deleted. 'removed' counts hot-added blocks gone after the unplug. "
          "OOM kills and allocation failures are counted from the kernel log during the workload; "
          "workers killed/failed from mhp-workload's own report. 'workload pages/s': 4 KiB pages "
          "the workers wrote per second (their throughput), and in brackets relative to the "
          "kernel's auto-movable policy of the same table.\n")
    if all(r.c("icount", "0") == "1" for k in rep.kernels(NUMBER) for r in rep.of(NUMBER, k)):
        rep.w("These guests ran with an instruction-counted clock (`--wl-icount`): a guest "
              "second is a fixed number of guest instructions, so the rates count the work per "
              "instruction and compare across runs, whatever else the host ran.\n")
    else:
        rep.w("Guests share the host's 2 cores, up to 4 at a time, and the rate follows how "
              "many ran next to it (in one run a guest that ran alone at the end wrote twice as "
              "fast): it compares policies only for runs that ran side by side, and is not the "
              "measurement of the workload's cost (`--wl-icount` is).\n")
    cmp = {}
    for k in rep.kernels(NUMBER):
        for kind in ("dimm", "vmem"):
            runs = rep.of(NUMBER, k, kind=kind)
            if runs:
                kind_table(rep, k, kind, runs, cmp)
    if cmp:
        png = rep.compare_plot(
            "s2-removable", "Scenario 2: hot-added blocks removed after the workload",
            "% of hot-added blocks removed",
            [(KIND_TEXT[kind], list(cmp[kind].items()),
              [(SEED_PCT[kind], f"seed (5.9, tail): {SEED_PCT[kind]} %")])
             for kind in ("dimm", "vmem") if kind in cmp], "[0:125]")
        if png:
            rep.w(f"![removable]({png})\n")


def kind_table(rep, k, kind, runs, cmp):
    """The table, commands and block maps of one kernel and device kind;
    adds the fraction removed of each run to cmp for the comparing plot."""
    r0 = runs[0]
    rep.w(f"### Kernel {k} ({r0.release}), {'DIMMs' if kind == 'dimm' else 'virtio-mem'}\n")
    rep.w(f"Guest: {r0.c('boot_mib')} MiB boot memory, hot-add {r0.c('total_mib')} MiB "
          f"({int(r0.c('total_mib')) // int(r0.c('boot_mib'))}x) in {r0.c('unit_mib')} MiB "
          f"{'DIMMs' if kind == 'dimm' else 'virtio-mem steps'}, workload "
          f"{r0.c('wl_seconds')} s. Took {rep.duration(runs)}.\n")
    if kind == "vmem" and not any(r.c("placement") == "head" for r in runs):
        rep.w("Placement head was not run for virtio-mem: virtio_mem keeps the "
              "online_page_callback to itself, so mhp_online's placement cannot apply and "
              "its rows would repeat these; 'tail (not applied)' is the kernel's own tail "
              "placement.\n")
    rows = []
    maps = []
    rates = [r.metric("workload-pages-per-s") for r in runs
             if r.c("policy") == "auto-movable" and not r.status_cell()]
    base = statistics.median(rates) if rates and None not in rates else None
    for r in runs:
        label = f"{POLICY_TEXT.get(r.c('policy'), r.c('policy'))} / {r.c('placement')}{r.tag()}"
        st = r.status_cell()
        if st:
            rows.append([label, st] + [""] * 9)
            continue
        added = r.metric("added-blocks")
        rem = r.metric("removed-blocks")
        if r.metric("module-callback-held") == 0:
            label += " (not applied)" if kind == "vmem" else \
                " (placement not applied: virtio_mem holds the online_page_callback)"
        rows.append([label, f"{r.metric('added-normal')} / {r.metric('added-movable')}",
                     f"{fmt(rem)} of {fmt(added)}", pct(rem, added),
                     f"{fmt(r.metric('removed-mib'))} of {r.c('total_mib')}",
                     f"{fmt(r.metric('oom-kills'))} / {fmt(r.metric('alloc-failures'))}",
                     f"{fmt(r.metric('workload-killed'))} / {fmt(r.metric('workload-failed'))}",
                     conversions(r), throughput(r, base),
                     fmt(r.metric("shrink-seconds"), 1), f"{r.m['seconds']:.0f}"])
        if added:
            cat = f"{POLICY_SHORT.get(r.c('policy'), r.c('policy'))}\\n{r.c('placement')}" + \
                (f" #{r.c('rep')}" if "rep" in r.config else "")
            cmp.setdefault(kind, {}).setdefault(cat, {})[k] = \
                (round(100.0 * rem / added, 1), r.metric("oom-kills"))
        before, after = r.blockmap("added.txt"), r.blockmap("left.txt")
        if before is not None:
            maps.append((f"{r.c('policy')}/{r.c('placement')}", before,
                         set(after) if after is not None else None))
    rep.w(table(["zone policy / placement", "Normal / Movable blocks", "blocks removed",
                 "removed", "MiB unplugged", "OOM kills / alloc failures",
                 "workers killed / failed", "conversions to kernel / back",
                 "workload pages/s", "unplug s", "run s"], rows))
    rep.w()
    repeat_summary(rep, runs)
    rep.reproduce(runs)
    if maps:
        png = rep.blockmap_png(f"s2-{k}-{kind}", f"scenario 2, {k}, {kind}: hot-added "
                               "blocks after the workload (dark = stuck)", maps)
        if png:
            rep.w(f"![block maps {k} {kind}]({png})\n")


def repeat_summary(rep, runs):
    """Configurations run more than once (--repeat): the spread of the
    fraction removed, so one lucky run is not read as the result."""
    groups = {}
    for r in runs:
        if "rep" not in r.config or r.status_cell():
            continue
        added, rem = r.metric("added-blocks"), r.metric("removed-blocks")
        if added:
            groups.setdefault((r.c("policy"), r.c("placement")), []).append(100.0 * rem / added)
    rows = [[f"{POLICY_TEXT.get(pol, pol)} / {pl}", str(len(v)), f"{statistics.median(v):.0f} %",
             f"{min(v):.0f} - {max(v):.0f} %"]
            for (pol, pl), v in groups.items() if len(v) > 1]
    if rows:
        rep.w("Repeated configurations (each repeat is a fresh guest boot):\n")
        rep.w(table(["zone policy / placement", "runs", "removed, median", "removed, min - max"], rows))
        rep.w()
