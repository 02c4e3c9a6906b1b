"""Scenario 1, idle: hot-add in 128 MiB units one at a time into an idle
guest, then unplug as much as possible; how many blocks stay, for the
kernel's own zone choice with each placement and for every other zone
policy once. Guest side: tests/guest/experiment/idle.sh."""

from .common import (KIND_TEXT, PLACEMENT_TEXT, POLICY_SHORT, POLICY_TEXT, conversions, fmt,
                     gib, pct, policy_append, scaled, table)

NUMBER = 1
NAME = "idle"
TITLE = "Scenario 1: idle add + online, then unplug as much as possible (seed 000, example a)"
# The seed (virtio-mem, 5.9): without the fix about every other block
# stayed, with tail placement none.
SEED_REFS = {"vmem": [(50, "seed 5.9 without the fix: about 50 %"),
                      (100, "seed with tail placement: 100 %")]}


def plan(o, kernel):
    """The guest runs on one kernel line: (config, scripts/guest options,
    guest command)."""
    total = 512 if o["smoke"] else scaled(8192, 128, o["scale"])
    for kind in o["kinds"]:
        # virtio_mem keeps the online_page_callback to itself, so the
        # module's placement cannot apply: one module run shows that.
        modes = ["none", "tail"] if kind == "vmem" else ["none", "head", "tail"]
        # The smoke run checks the pipeline: the pair that differs.
        if o["smoke"]:
            modes = ["head", "tail"]
        # The placements with the kernel choosing zones, then every other
        # selected zone policy once: the kernel's with its own placement,
        # the module's with placement=tail.
        runs = [("stock", m) for m in modes]
        if not o["smoke"]:
            runs += [(p, "tail" if p.startswith("mod-") else "none")
                     for p in o["policies"] if p != "stock"]
        for pol, mode in runs:
            opts = ["--mem", "1G", "--maxmem", f"{1 + gib(total) + 1}G",
                    "--slots", str(total // 128 + 4), "--timeout", "600"]
            opts += policy_append(pol)
            if kind == "vmem":
                opts += ["--vmem", f"{total}M"]
            config = {"kind": kind, "policy": pol, "placement": mode, "boot_mib": "1024",
                      "total_mib": str(total), "unit_mib": "128"}
            yield config, opts, (f"KIND={kind} TOTAL_MIB={total} UNIT_MIB=128 POLICY={pol} "
                                 f"PLACEMENT={mode} TRACE=1 bash /mhp/tests/experiment/idle.sh")


def key(r):
    """A row's short name: the placement for the kernel's default zone
    choice (the names of docs/experiment.md's block maps), policy-placement
    for the other zone policies."""
    pol, pl = r.c("policy", "stock"), r.c("placement")
    return pl if pol == "stock" else f"{pol}-{pl}"


def label(r):
    pol, pl = r.c("policy", "stock"), r.c("placement")
    text = PLACEMENT_TEXT.get(pl, pl)
    if pol == "stock":
        return text
    return f"{POLICY_TEXT.get(pol, pol)}, {text if pol.startswith('mod-') else 'kernel placement'}"


def short(r):
    """A row's name on the plot's x axis."""
    pol, pl = r.c("policy", "stock"), r.c("placement")
    if pol == "stock":
        return "stock" if pl == "none" else pl
    return f"{POLICY_SHORT.get(pol, pol)}\\n{pl}"


def section(rep):
    rep.w(f"## {TITLE}\n")
    rep.w("Seed: on 5.9 without the fix, virtio-mem left about every other block; with tail "
          "placement none. Here: stock (the kernel as shipped, which already places onlined "
          "pages at the freelist tail), `placement=head` (mhp_online recreating the pre-5.10 "
          "behaviour) and `placement=tail` (mhp_online), module zone policy off so the kernel "
          "picks zones as it does without us; then each other zone policy of the run once "
          "(the kernel's with its own placement, mhp_online's with `placement=tail`). Blocks "
          "are onlined by `memhp_default_state=online` (all-movable: `online_movable`). "
          "Unplug: DIMMs offline + `device_del`, repeated newest first while a pass makes "
          "progress; virtio-mem `requested-size` 0, waiting until the plugged size stops "
          "shrinking for 20 s.\n")
    cmp = {}
    for k in rep.kernels(NUMBER):
        runs = rep.of(NUMBER, k)
        r0 = runs[0]
        rep.w(f"### Kernel {k} ({r0.release})\n")
        rep.w(f"Guest: {int(r0.c('boot_mib')) // 1024} GiB boot memory, hot-add "
              f"{r0.c('total_mib')} MiB in {r0.c('unit_mib')} MiB units one at a time, "
              f"2 vCPUs (TCG). Took {rep.duration(runs)}.\n")
        rows = []
        for r in runs:
            st = r.status_cell()
            name = f"{r.c('kind')} / {label(r)}{r.tag()}"
            if st:
                rows.append([name] + [st] + [""] * 7)
                continue
            added = r.metric("added-blocks")
            left = r.metric("left-blocks")
            if r.metric("module-callback-held") == 0:
                name += " (not applied: virtio_mem holds the online_page_callback)"
            rows.append([name, f"{r.metric('added-normal')} / {r.metric('added-movable')}",
                         fmt(added), fmt(left), pct(r.metric("removed-blocks"), added),
                         fmt(r.metric("left-plugged-mib")), conversions(r),
                         fmt(r.metric("grow-seconds"), 2), f"{r.m['seconds']:.0f}"])
            if added:
                cmp.setdefault(r.c("kind"), {}).setdefault(short(r), {})[k] = \
                    (round(100.0 * (r.metric("removed-blocks") or 0) / added, 1), r.metric("oom-kills"))
        rep.w(table(["hot-add kind / zone policy, placement", "Normal / Movable blocks",
                     "blocks added", "blocks left after unplug", "removed",
                     "MiB still plugged", "conversions to kernel / back", "hot-add s",
                     "run s"], rows))
        rep.w()
        rep.reproduce(runs)
        for kind in ("dimm", "vmem"):
            block_maps(rep, k, kind)
    if cmp:
        png = rep.compare_plot(
            "s1-removed", "Scenario 1: hot-added blocks removed, idle guest",
            "% of hot-added blocks removed",
            [(KIND_TEXT[kind], list(cmp[kind].items()), SEED_REFS.get(kind, []))
             for kind in ("dimm", "vmem") if kind in cmp], "[0:125]")
        if png:
            rep.w(f"![blocks removed]({png})\n")


def block_maps(rep, k, kind):
    """One block map per run of a kind on kernel k, ours (with the tracer's
    memmap edges as arcs) and the tracer's own."""
    sel = {key(r): r for r in rep.of(NUMBER, k, kind=kind) if not r.status_cell()}
    maps = []
    for pl, r in sel.items():
        before, after = r.blockmap("added.txt"), r.blockmap("left.txt")
        if before is None:
            continue
        name = f"s1-{k}-{kind}-{pl}"
        left = set(after) if after is not None else None
        png = rep.blockmap_png(
            name, f"{k} {kind}: {label(r)} - "
                  f"{len(left) if left is not None else '?'} of {len(before)} blocks stuck",
            [(label(r), before, left)], rep.memmap_edges(r.chains()))
        tpng = rep.tracer_png(r, name + "-tracer")
        maps.append((pl, png, tpng))
    if not maps:
        return
    rep.w(f"Block maps, {kind}, kernel {k} (dark = stuck after the unplug; red arcs = "
          "the tracer's memmap edges host -> dependent at the end of the hot-add):\n")
    for pl, png, tpng in maps:
        if png:
            rep.w(f"![{k} {kind} {pl}]({png})\n")
    tr = [f"[{pl}]({t})" for pl, _, t in maps if t]
    if tr:
        rep.w("The tracer's own block maps (memmap-chains --dot, rendered with "
              "graphviz): " + ", ".join(tr) + "\n")
