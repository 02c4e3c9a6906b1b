/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KTAP helper of the C host tests: a test is a table of cases, each a
 * function that checks with ktap_expect(); ktap_run() runs them and prints
 * the "KTAP version 1" header, the "1..N" plan, one "ok N - name" or
 * "not ok N - name" per case (a failed check's message as a "# FAIL:"
 * line before it), and "N passed, N failed"; it returns the exit status.
 * Built with -DMHP_TEST_BREAK, the first case fails on purpose, so that
 * "make can-fail" shows a failure is reported.
 */
#ifndef __KTAP_H
#define __KTAP_H

#include <stdarg.h>
#include <stdio.h>

struct ktap_case {
	const char *name;
	void (*run)(void);
};

static int ktap_failed_checks;

static __attribute__((format(printf, 2, 3), unused))
void ktap_expect(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	ktap_failed_checks++;
	printf("# FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static __attribute__((unused))
int ktap_run(const struct ktap_case *cases, int n)
{
	int i, passed = 0, failed = 0;

	printf("KTAP version 1\n1..%d\n", n);
	for (i = 0; i < n; i++) {
		ktap_failed_checks = 0;
		cases[i].run();
#ifdef MHP_TEST_BREAK
		if (i == 0)
			ktap_expect(0, "broken on purpose");
#endif
		printf("%s %d - %s\n", ktap_failed_checks ? "not ok" : "ok", i + 1, cases[i].name);
		if (ktap_failed_checks)
			failed++;
		else
			passed++;
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif /* __KTAP_H */
