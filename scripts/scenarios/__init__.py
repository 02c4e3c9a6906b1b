"""The experiment's scenarios, one module each (scripts/experiment runs
them, scripts/report writes their sections). A module holds:

  NUMBER, NAME, TITLE   the scenario's number (--scenario N), name
                        (--scenario NAME) and section title
  plan(o, kernel)       its guest runs on one kernel line, as (config,
                        scripts/guest options, guest command); o holds the
                        experiment's options (plan.py). Only the scenarios
                        of PLAN_ORDER run guests and have one.
  selected(want)        optional: whether the numbers in want run its
                        guests (default: its own number is in want)
  jobs(o), notes(o)     optional: guests at once (default --jobs), and
                        lines for the experiment's log about the plan
  FROM                  optional: the scenarios whose runs its section
                        reports (default: its own)
  section(rep)          its part of report.md, from the runs rep holds

Its guest side is tests/guest/experiment/<NAME>.sh.
"""

from . import cost, gigantic, idle, resize, workload

# In report order.
ALL = (idle, workload, resize, gigantic, cost)
# In plan order, kernels side by side: the cheap, headline scenarios
# first, so a stopped experiment still has complete comparisons.
PLAN_ORDER = (idle, cost, workload, resize)


def by_name(word):
    """The scenario of a --scenario word (number or name), or None."""
    return next((s for s in ALL if word in (str(s.NUMBER), s.NAME)), None)


def sources(s):
    """The scenarios whose runs s's section reports."""
    return getattr(s, "FROM", (s.NUMBER,))
