// SPDX-License-Identifier: GPL-2.0
/* memmap-chains: small helpers shared by the tool's files (util.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "util.h"

/* "memmap-chains: <why>" on stderr; the caller decides how to end. */
void err_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "memmap-chains: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = 0;
	return 0;
}
