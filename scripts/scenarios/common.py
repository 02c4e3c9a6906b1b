"""What the experiment's scenarios share: the zone policies (how a guest is
booted for each, their names in tables and plots), the sizes' scaling, and
the small formatting helpers of the report's tables.

A scenario module (idle.py, workload.py, ...) holds its plan (which guest
runs, with which scripts/guest options and guest command) and its report
section; this file holds what more than one of them needs.
"""

# The zone policies scripts/experiment --policies accepts, in plan order.
POLICIES = ("stock", "auto-movable", "movable", "mod-block", "mod-1g", "mod-adaptive")
POLICY_TEXT = {
    "stock": "stock default (contig-zones: Normal)",
    "auto-movable": "kernel online_policy=auto-movable (ratio 301)",
    "movable": "all online_movable",
    "mod-block": "mhp_online ratio 301, granule = block",
    "mod-1g": "mhp_online ratio 301, granule = 1 GiB",
    "mod-adaptive": "mhp_online adaptive: movable first, kernel on demand",
}
# Short names for the x axis of the comparing plots.
POLICY_SHORT = {"stock": "stock", "auto-movable": "auto-movable", "movable": "all movable",
                "mod-block": "ratio (block)", "mod-1g": "ratio (1 GiB)", "mod-adaptive": "adaptive"}
PLACEMENT_TEXT = {"none": "stock (no module)", "head": "placement=head", "tail": "placement=tail"}
KIND_TEXT = {"dimm": "DIMMs", "vmem": "virtio-mem"}


def policy_append(policy):
    """The guest kernel command line of a zone policy, as scripts/guest
    --append options (the module's policies load the module in the guest,
    tests/guest/experiment/lib.sh)."""
    line = ["memhp_default_state=online"]
    if policy == "auto-movable":
        line.append("memory_hotplug.online_policy=auto-movable")
    elif policy == "movable":
        line = ["memhp_default_state=online_movable"]
    return [w for x in line for w in ("--append", x)]


def scaled(mib, unit, factor):
    """mib * factor, rounded down to whole units (at least one)."""
    return max(int(mib * factor / unit), 1) * unit


def gib(mib):
    """Whole GiB that hold mib, rounded up."""
    return (mib + 1023) // 1024


def kernel_order(line):
    """Sort key of a kernel line: 6.1 before 6.12, any name allowed."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in line.split(".")]


def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def pct(a, b):
    if a is None or not b:
        return "n/a"
    return f"{100.0 * a / b:.0f} %"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |")
    return "\n".join(out)


def conversions(r):
    """The adaptive policy's conversions of a run, '-' for the
    other policies (their runs have no such metrics)."""
    to_kernel, back = r.metric("adaptive-to-kernel"), r.metric("adaptive-to-movable")
    if r.c("policy") != "mod-adaptive" or (to_kernel is None and back is None):
        return "-"
    return f"{fmt(to_kernel)} / {fmt(back)}"
