"""Scenario 4, gigantic: how many 1 GiB hugetlb pages a grown guest can
allocate at run time, next to what its ZONE_MOVABLE total would allow.
No guests of its own: scenario 3's guests measure it at their largest
step and scenario 2's right after their hot-add (tests/guest/experiment/
lib.sh, exp_gigantic)."""

from .common import KIND_TEXT, POLICY_SHORT, POLICY_TEXT, fmt, kernel_order, table

NUMBER = 4
NAME = "gigantic"
TITLE = "Scenario 4: gigantic (1 GiB) pages after growing"


# Measured by the guests of scenarios 2 and 3; it runs none of its own
# (not in PLAN_ORDER).
FROM = (2, 3)


def section(rep):
    rep.w(f"## {TITLE}\n")
    rep.w("At the largest step of scenario 3 (after that step's workload stopped) and right after "
          "the hot-add of scenario 2, the guest asks for more 1 GiB hugetlb pages than it has "
          "memory (`/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages`) and reads back "
          "what it got, then frees them. 'MOVABLE allows' is the ZONE_MOVABLE total in whole GiB. "
          "Note: on both stock kernels `hugepage_movable_supported()` is false for gigantic pages, "
          "so they are allocated without `__GFP_MOVABLE` and never come from ZONE_MOVABLE; what "
          "bounds them is the number of 1 GiB-aligned hot-added ranges that are entirely in a "
          "kernel zone (last column).\n")
    any_rows = False
    plot_lines = []
    for k in sorted(set(rep.kernels(3)) | set(rep.kernels(2)), key=kernel_order):
        rows = []
        runs = []
        for r in rep.of(3, k):
            runs.append(r)
            peak = max(int(x) for x in r.c("steps_mib").split(",")) if r.c("steps_mib") != "-" else "?"
            label = f"scenario 3 peak ({peak} MiB), {POLICY_TEXT.get(r.c('policy'), r.c('policy'))}{r.tag()}"
            rows.append(row(r, "peak", label, plot_lines, k))
        for r in rep.of(2, k):
            runs.append(r)
            label = f"scenario 2 after hot-add, {r.c('kind')}, {r.c('policy')}/{r.c('placement')}{r.tag()}"
            rows.append(row(r, "grown", label, plot_lines, k))
        if not rows:
            continue
        any_rows = True
        rep.w(f"### Kernel {k} ({runs[0].release})\n")
        rep.w("Guests as in scenarios 2 and 3 above (same runs; their commands are listed there).\n")
        rep.w(table(["where, zone policy", "1 GiB pages allocated", "ZONE_MOVABLE MiB",
                     "MOVABLE allows (GiB)", "MemTotal MiB", "kernel-zone 1 GiB ranges"], rows))
        rep.w()
    if not any_rows:
        rep.w("not run: scenarios 2 and 3 were not part of this experiment.\n")
    if plot_lines:
        panels = {}
        for k, where, cat, got in plot_lines:
            panels.setdefault(where, {}).setdefault(cat, {})[k] = (got, None)
        png = rep.compare_plot(
            "s4-gigantic", "Scenario 4: 1 GiB pages allocated", "1 GiB pages",
            [(where, list(cats.items()), []) for where, cats in panels.items()], "[0:*]")
        if png:
            rep.w(f"![gigantic]({png})\n")


def row(r, prefix, label, plot_lines, k):
    """A table row of run r's probe ("peak" or "grown"); adds its count to
    plot_lines."""
    st = r.status_cell()
    for d in r.skips():
        if "gigantic" in d or "hugetlb" in d:
            st = d
    if st:
        return [label, st, "", "", "", ""]
    got = r.metric(f"{prefix}-gig-pages")
    if got is None:
        return [label, "not measured (the run did not get there)", "", "", "", ""]
    if prefix == "peak":
        plot_lines.append((k, "scenario 3, at the peak", POLICY_SHORT.get(r.c("policy"), r.c("policy")), got))
    else:
        plot_lines.append((k, f"scenario 2 after the hot-add, {KIND_TEXT.get(r.c('kind'), r.c('kind'))}",
                           f"{POLICY_SHORT.get(r.c('policy'), r.c('policy'))}\\n{r.c('placement')}", got))
    return [label, fmt(got), fmt(r.metric(f"{prefix}-gig-movable-mib")),
            fmt(r.metric(f"{prefix}-gig-movable-max")), fmt(r.metric(f"{prefix}-gig-memtotal-mib")),
            fmt(r.metric(f"{prefix}-gig-kernel-granules"))]
