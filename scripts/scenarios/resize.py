"""Scenario 3, resize: one virtio-mem device resized up and down (the
seed's 2-8-4-16-4 GiB, divided by 4 by default) while mhp-workload runs:
the size reached against the size requested, the time it took and the OOM
kills, per zone policy. Its guests also measure scenario 4 at the peak.
Guest side: tests/guest/experiment/resize.sh."""

from .common import POLICY_SHORT, POLICY_TEXT, conversions, fmt, gib, policy_append, scaled, table

NUMBER = 3
NAME = "resize"
TITLE = "Scenario 3: dynamic VM resizing with virtio-mem (seed 002)"
SEED_STEPS_MIB = [2048, 8192, 4096, 16384, 4096]
# The default steps: the seed's divided by 4.
STEPS_MIB = [512, 2048, 1024, 4096, 1024]


def selected(want):
    """Scenario 4 is measured by these guests: selecting it alone runs them."""
    return NUMBER in want or 4 in want


def plan(o, kernel):
    steps = [scaled(m, 128, o["scale"]) for m in STEPS_MIB]
    # Every step may take the step limit plus its workload; boot and the
    # peak's gigantic-page probe come on top.
    timeout = max(600 + 5 * (int(o["rs_limit"]) + int(o["rs_seconds"])), 1200)
    for pol in o["policies"]:
        opts = ["--mem", "1G", "--maxmem", f"{1 + gib(max(steps)) + 1}G",
                "--vmem", f"{max(steps)}M", "--timeout", str(timeout)]
        opts += policy_append(pol)
        config = {"kind": "vmem", "policy": pol, "placement": "none", "boot_mib": "1024",
                  "steps_mib": ",".join(map(str, steps)), "wl_seconds": o["rs_seconds"],
                  "step_limit_s": o["rs_limit"]}
        yield config, opts, (f"STEPS_MIB='{' '.join(map(str, steps))}' POLICY={pol} PLACEMENT=none "
                             f"WL_SECONDS={o['rs_seconds']} STEP_LIMIT={o['rs_limit']} "
                             "bash /mhp/tests/experiment/resize.sh")


def seed_scale(steps):
    """How the requested sizes relate to the seed's 2-8-4-16-4 GiB."""
    try:
        got = [int(x) for x in steps]
    except ValueError:
        return "sizes not recorded"
    if len(got) != len(SEED_STEPS_MIB):
        return "not the seed's steps"
    ratios = {s / g for s, g in zip(SEED_STEPS_MIB, got) if g}
    if len(ratios) != 1 or 0 in got:
        return "not the seed's steps"
    r = ratios.pop()
    return "the seed's sizes" if r == 1 else \
        (f"the seed's divided by {r:g}" if r > 1 else f"the seed's times {1 / r:g}")


def section(rep):
    rep.w(f"## {TITLE}\n")
    rep.w("Seed: a VM resized 2 -> 8 -> 4 -> 16 -> 4 GiB with virtio-mem; all-MOVABLE "
          "risks zone imbalance, all-NORMAL fails to shrink. Here with the requested sizes each "
          "table states (virtio-mem requested size in MiB, on top of the boot memory; the "
          "default divides the seed's by 4, `--scale 4` gives the seed's). mhp-workload runs "
          "while each step is carried out (started just before the request, sized to 70 % of "
          "MemAvailable less what a shrinking step takes away). A step ends when the plugged "
          "size equals the request, after 20 s without progress, or at the step limit each "
          "table states; 'seconds' is the time until the last change.\n")
    plot_lines = {}
    steps_cmp = {}
    # One table per kernel and series (requested sizes, step limit); runs
    # from before the limit was recorded had 120 s.
    groups = [(k, series) for k in rep.kernels(NUMBER)
              for series in dict.fromkeys((r.c("steps_mib"), r.c("step_limit_s"))
                                          for r in rep.of(NUMBER, k))]
    several = len({series for _, series in groups}) > 1
    for k, (steps_key, limit) in groups:
        runs = rep.of(NUMBER, k, steps_mib=steps_key, step_limit_s=limit)
        r0 = runs[0]
        steps = steps_key.split(",")
        title = f", {seed_scale(steps)}, step limit {r0.c('step_limit_s', '120')} s" if several else ""
        rep.w(f"### Kernel {k} ({r0.release}){title}\n")
        rep.w(f"Guest: {r0.c('boot_mib')} MiB boot memory, one virtio-mem device, requested "
              f"sizes {' -> '.join(steps)} MiB ({seed_scale(steps)}), workload "
              f"{r0.c('wl_seconds')} s per step, step limit "
              f"{r0.c('step_limit_s', '120')} s. Took {rep.duration(runs)}.\n")
        rows = []
        for r in runs:
            label = POLICY_TEXT.get(r.c("policy"), r.c("policy")) + r.tag()
            st = r.status_cell()
            if st:
                rows.append([label, st] + [""] * (len(steps) + 1))
                continue
            cells = []
            for i in range(1, len(steps) + 1):
                req, got = r.metric(f"step{i}-requested-mib"), r.metric(f"step{i}-reached-mib")
                if req is None:
                    cells.append("not reached (run ended)")
                    continue
                mark = "" if req == got else " **short**"
                cells.append(f"{got}/{req} in {fmt(r.metric(f'step{i}-seconds'), 1)} s"
                             f" ({r.metric(f'step{i}-normal')}N/{r.metric(f'step{i}-movable')}M)"
                             f"{mark}")
                name = f"{k} {r.c('policy')}" + (f" {seed_scale(steps)}, {limit} s" if several else "")
                plot_lines.setdefault(name, []).append(f"{i} {req} {got}")
            reached = sum(r.metric(f"step{i}-requested-mib") is not None and
                          r.metric(f"step{i}-requested-mib") == r.metric(f"step{i}-reached-mib")
                          for i in range(1, len(steps) + 1))
            cat = POLICY_SHORT.get(r.c("policy"), r.c("policy")) + r.tag() + \
                (f"\\n{seed_scale(steps).replace('the seed', 'seed')}" if several else "")
            steps_cmp.setdefault(cat, {})[k] = (reached, r.metric("total-oom-kills"))
            rows.append([label] + cells + [f"{fmt(r.metric('total-oom-kills'))} / "
                                           f"{fmt(r.metric('total-alloc-failures'))}",
                                           conversions(r)])
        rep.w(table(["zone policy"] + [f"step {i + 1}: reached/requested MiB" for i in range(len(steps))]
                    + ["OOM kills / alloc failures", "conversions to kernel / back"], rows))
        rep.w("\n(N/M: hot-added blocks in Normal / Movable after the step.)\n")
        rep.reproduce(runs)
    if plot_lines:
        size_plot(rep, plot_lines)
    if steps_cmp:
        nsteps = max(len(series[0].split(",")) for _, series in groups)
        png = rep.compare_plot(
            "s3-steps", "Scenario 3: requested sizes reached while the workload ran",
            f"steps reached (of {nsteps})", [("virtio-mem", list(steps_cmp.items()), [])],
            f"[0:{nsteps + 1.5}]")
        if png:
            rep.w(f"![steps reached]({png})\n")


def size_plot(rep, plot_lines):
    """The size reached at each step, one line per kernel and policy, over
    the requested sizes."""
    data = {}
    series = []
    for n, (name, pts) in enumerate(plot_lines.items()):
        fname = f"s3-resize-{n}.dat"
        data[fname] = "\n".join(pts) + "\n"
        off = 0.06 * (n - (len(plot_lines) - 1) / 2)
        series.append(f"'{fname}' using ($1+{off:.3f}):3 with linespoints pt 7 ps 0.9 "
                      f"title \"{name}\"")
    first = next(iter(data))
    png = rep.plot("s3-resize", f"""
set title "Scenario 3: virtio-mem size reached per step (grey: requested)"
set xlabel "step"
set ylabel "MiB plugged"
set key outside right
set xtics 1
plot '{first}' using 1:2 with lines lc rgb "#999999" lw 6 title "requested", \\
     """ + ", \\\n     ".join(series) + "\n", data)
    if png:
        rep.w(f"![resize]({png})\n")
