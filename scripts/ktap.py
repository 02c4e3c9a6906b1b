"""The KTAP helper of the Python tools (scripts/guest, scripts/report):
the "KTAP version 1" header, the "1..N" plan when the count is known in
advance, one "ok N - name" / "not ok N - name # detail" line per case
("# SKIP why" for a skipped one), and "N passed, N failed" at the end.
"""

import sys
import threading


class Ktap:
    def __init__(self, plan=None, out=None, quiet=False):
        """quiet: print only failing cases (numbers still count every case)."""
        self.out = out or sys.stdout
        self.quiet = quiet
        self.n = self.passed = self.failed = self.skipped = 0
        self.lock = threading.Lock()
        if not quiet:
            self.write("KTAP version 1")
            if plan is not None:
                self.write(f"1..{plan}")

    def write(self, line):
        print(line, file=self.out, flush=True)

    def result(self, status, name, detail=""):
        """status: "ok", "fail" or "skip"; returns the case's number."""
        with self.lock:
            self.n += 1
            if status == "fail":
                self.failed += 1
            elif status == "skip":
                self.skipped += 1
            else:
                self.passed += 1
            if self.quiet and status != "fail":
                return self.n
            word = "not ok" if status == "fail" else "ok"
            tail = " ".join(x for x in ("SKIP" if status == "skip" else "", detail) if x)
            self.write(f"{word} {self.n} - {name}{' # ' + tail if tail else ''}")
            return self.n

    def check(self, name, ok, detail=""):
        """A pass/fail case; detail is shown for a failure only."""
        return self.result("ok" if ok else "fail", name, "" if ok else detail)

    def done(self):
        """The totals line; the exit status of the suite."""
        self.write(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0
