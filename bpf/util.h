/* SPDX-License-Identifier: GPL-2.0 */
/* memmap-chains: small helpers shared by the tool's files (util.c). */
#ifndef __UTIL_H
#define __UTIL_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#ifndef __printf
#define __printf(a, b) __attribute__((format(printf, a, b)))
#endif

/* "memmap-chains: <why>" on stderr; the caller decides how to end. */
__printf(1, 2) void err_msg(const char *fmt, ...);
/* A small sysfs/procfs file into buf, trailing white space cut. 0 or -errno. */
int read_file(const char *path, char *buf, size_t len);

#endif /* __UTIL_H */
