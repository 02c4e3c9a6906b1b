/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small JSON writer, after bpftool's json_writer: the writer keeps the
 * nesting and the commas, so a report is written as a sequence of calls
 * and can never be unbalanced or miss a separator.
 *
 * Layout: containers opened at a depth below the writer's compact depth
 * put each member on its own line, indented by two spaces per level;
 * deeper ones are written on one line ("{"a": 1, "b": [2, 3]}"). A report
 * with compact depth 2 thus has one line per top-level key and one line
 * per element of a top-level array.
 *
 * Errors of the stream are the caller's: check ferror()/fclose() after
 * jw_finish().
 */
#ifndef __JSON_WRITER_H
#define __JSON_WRITER_H

#include <stdbool.h>
#include <stdio.h>

#define JW_MAX_DEPTH	16

struct json_writer {
	FILE *f;
	int depth;			/* open containers */
	int compact_depth;		/* containers opened this deep: one line */
	bool has_member[JW_MAX_DEPTH];	/* per open container: a member written */
	bool after_key;			/* a key was written, its value comes next */
};

void jw_init(struct json_writer *w, FILE *f, int compact_depth);
void jw_start_object(struct json_writer *w);
void jw_end_object(struct json_writer *w);
void jw_start_array(struct json_writer *w);
void jw_end_array(struct json_writer *w);
/* The key of the next value; only inside an object. */
void jw_key(struct json_writer *w, const char *key);
void jw_string(struct json_writer *w, const char *s);
void jw_uint(struct json_writer *w, unsigned long long v);
void jw_int(struct json_writer *w, long long v);
void jw_bool(struct json_writer *w, bool v);
void jw_null(struct json_writer *w);
/* A string, or null when s is NULL. */
void jw_string_or_null(struct json_writer *w, const char *s);
/* The newline after the top-level value. */
void jw_finish(struct json_writer *w);

/* key + value in one call, for objects' members. */
static inline void jw_uint_field(struct json_writer *w, const char *key, unsigned long long v)
{
	jw_key(w, key);
	jw_uint(w, v);
}

static inline void jw_int_field(struct json_writer *w, const char *key, long long v)
{
	jw_key(w, key);
	jw_int(w, v);
}

static inline void jw_bool_field(struct json_writer *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

static inline void jw_string_field(struct json_writer *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_string_or_null(w, s);
}

#endif /* __JSON_WRITER_H */
