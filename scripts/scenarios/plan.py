"""The experiment's plan as data: reads scripts/experiment's options as one
JSON object on stdin and prints one JSON line per guest run, in run order:

  {"id": "001", "scenario": 1, "kernel": "6.1", "config": {name: value},
   "opts": [scripts/guest options], "cmd": guest command, "jobs": N}

config values are strings (they name the results' rows); jobs is how many
guests of this kind may run at once. Lines starting with "# " are notes for
the experiment's log. The options (all present, checked by scripts/
experiment): kernels, kernel_args (added to every guest's kernel command
line, recorded in config), scenarios (numbers or names), smoke, scale, kinds,
wl_kinds, wl_scale, wl_seconds, wl_icount, placements, policies, rs_seconds,
rs_limit, repeat, first_id, jobs, wl_jobs, host_mib (scale and wl_scale as
strings, as given). Names it does not know are refused: "error: ..." on
stderr, exit status 1.

usage: python3 -m scenarios.plan < options.json   (PYTHONPATH=scripts)
       python3 -m scenarios.plan --self-test      (KTAP)
"""

import json
import os
import sys

from . import ALL, PLAN_ORDER, by_name
from .common import POLICIES

KINDS = ("dimm", "vmem")
PLACEMENTS = ("head", "tail")


def refused(o):
    """Why the options cannot make a plan, or None."""
    for word in o["scenarios"]:
        if by_name(str(word)) is None:
            return f"unknown scenario '{word}' (1-{len(ALL)} or {', '.join(s.NAME for s in ALL)})"
    for p in o["placements"]:
        if p not in PLACEMENTS:
            return f"unknown placement '{p}' ({', '.join(PLACEMENTS)})"
    for k in o["kinds"] + o["wl_kinds"]:
        if k not in KINDS:
            return f"unknown kind '{k}' ({', '.join(KINDS)})"
    for p in o["policies"]:
        if p not in POLICIES:
            return f"unknown policy '{p}' ({', '.join(POLICIES)})"
    return None


def chosen(o):
    """The options as the scenarios see them, and the scenarios that run
    guests, in plan order."""
    want = {by_name(str(w)).NUMBER for w in o["scenarios"]}
    o = dict(o, scale=float(o["scale"]), wl_scale=float(o["wl_scale"]))
    if o["smoke"]:
        # A small scenario 1 in DIMMs only: it checks the pipeline.
        want = {1}
        o = dict(o, kinds=["dimm"])
    return o, [s for s in PLAN_ORDER
               if (s.selected(want) if hasattr(s, "selected") else s.NUMBER in want)]


def runs(o, scens):
    """(scenario number, kernel, config, opts, cmd, jobs) of every run."""
    for s in scens:
        jobs = s.jobs(o) if hasattr(s, "jobs") else o["jobs"]
        for kernel in o["kernels"]:
            for config, opts, cmd in s.plan(o, kernel):
                if o["kernel_args"]:
                    opts = opts + [w for a in o["kernel_args"] for w in ("--append", a)]
                    config = dict(config, kernel_args=" ".join(o["kernel_args"]))
                yield s.NUMBER, kernel, config, opts, cmd, jobs


def plan_lines(o):
    """The notes and the JSON lines of the plan; ValueError when refused."""
    why = refused(o)
    if why:
        raise ValueError(why)
    o, scens = chosen(o)
    notes = [n for s in scens for n in (s.notes(o) if hasattr(s, "notes") else ())]
    lines = []
    for scen, kernel, config, opts, cmd, jobs in runs(o, scens):
        for r in range(1, o["repeat"] + 1):
            # Repeats are kept apart (the report would take a second run
            # of one configuration for a rerun that replaces the first).
            c = config if o["repeat"] == 1 else dict(config, rep=str(r))
            lines.append(json.dumps({"id": f"{o['first_id'] + len(lines):03d}", "scenario": scen,
                                     "kernel": kernel, "config": c, "opts": opts, "cmd": cmd,
                                     "jobs": jobs}, separators=(",", ":")))
    return notes, lines


def self_test():
    """Plans of known options against what the experiment promises; KTAP."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import ktap
    t = ktap.Ktap()
    base = {"kernels": ["6.1", "6.12"], "kernel_args": [], "scenarios": ["1", "2", "3", "4", "5"], "smoke": False,
            "scale": "1", "kinds": ["dimm", "vmem"], "wl_kinds": ["dimm", "vmem"], "wl_scale": "1",
            "wl_seconds": "180", "wl_icount": False, "placements": ["head", "tail"],
            "policies": list(POLICIES), "rs_seconds": "20", "rs_limit": "120", "repeat": 1,
            "first_id": 1, "jobs": 2, "wl_jobs": 4, "host_mib": 24000}

    def plan(**change):
        notes, lines = plan_lines(dict(base, **change))
        return notes, [json.loads(x) for x in lines]

    _, runs_ = plan()
    per = [sum(r["scenario"] == n for r in runs_) for n in range(1, 6)]
    t.check("plan/default-counts", per == [30, 36, 12, 0, 2], f"runs per scenario {per}")
    t.check("plan/ids-in-order", [r["id"] for r in runs_] == [f"{i:03d}" for i in range(1, 81)])
    order = [r["scenario"] for r in runs_]
    t.check("plan/scenario-major", order == sorted(order, key=[1, 5, 2, 3].index),
            "not scenario 1, 5, 2, 3 in turn")
    t.check("plan/config-strings", all(isinstance(v, str) for r in runs_ for v in r["config"].values()))
    t.check("plan/vmem-never-head",
            not any(r["config"].get("kind") == "vmem" and r["config"].get("placement") == "head"
                    for r in runs_), "a virtio-mem run with placement=head")
    s2 = [r for r in runs_ if r["scenario"] == 2]
    t.check("plan/workload-args", s2[0]["opts"][:6] == ["--mem", "256M", "--maxmem", "5G", "--slots", "18"]
            and "WL_SECONDS=180 " in s2[0]["cmd"], " ".join(s2[0]["opts"]))
    notes, runs_ = plan(host_mib=8000)
    t.check("plan/workload-fits-host", {r["jobs"] for r in runs_ if r["scenario"] == 2} == {1}
            and {r["jobs"] for r in runs_ if r["scenario"] != 2} == {2} and len(notes) == 1, str(notes))
    _, runs_ = plan(smoke=True)
    t.check("plan/smoke", [(r["scenario"], r["config"]["kind"], r["config"]["placement"]) for r in runs_]
            == [(1, "dimm", "head"), (1, "dimm", "tail")] * 2)
    _, runs_ = plan(scenarios=["gigantic"], repeat=2, first_id=7, policies=["stock"])
    t.check("plan/gigantic-runs-resize-repeated",
            [(r["id"], r["scenario"], r["config"]["rep"]) for r in runs_]
            == [("007", 3, "1"), ("008", 3, "2"), ("009", 3, "1"), ("010", 3, "2")], str(runs_[:1]))
    _, runs_ = plan(scenarios=["resize"], scale="0.5", policies=["auto-movable"], kernels=["6.1"])
    t.check("plan/resize-scaled", runs_[0]["config"]["steps_mib"] == "256,1024,512,2048,512"
            and "memory_hotplug.online_policy=auto-movable" in runs_[0]["opts"], str(runs_[0]))
    _, runs_ = plan(scenarios=["cost"], kernel_args=["memory_hotplug.memmap_on_memory=1", "a=b"])
    t.check("plan/kernel-args", runs_[0]["opts"][-4:] == ["--append", "memory_hotplug.memmap_on_memory=1",
                                                          "--append", "a=b"]
            and runs_[0]["config"]["kernel_args"] == "memory_hotplug.memmap_on_memory=1 a=b",
            str(runs_[0]))
    for name, change, want in (("policy", {"policies": ["stock", "x"]}, "unknown policy 'x'"),
                               ("kind", {"wl_kinds": ["pmem"]}, "unknown kind 'pmem'"),
                               ("scenario", {"scenarios": ["9"]}, "unknown scenario '9'")):
        try:
            plan(**change)
            t.check(f"plan/refuses-{name}", False, "no error")
        except ValueError as e:
            t.check(f"plan/refuses-{name}", str(e).startswith(want), str(e))
    return t.done()


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    try:
        notes, lines = plan_lines(json.load(sys.stdin))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for n in notes:
        print(f"# {n}")
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
