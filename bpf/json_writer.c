// SPDX-License-Identifier: GPL-2.0
/* A small JSON writer; see json_writer.h for the layout it produces. */
#include <stdlib.h>

#include "json_writer.h"

void jw_init(struct json_writer *w, FILE *f, int compact_depth)
{
	w->f = f;
	w->depth = 0;
	w->compact_depth = compact_depth;
	w->after_key = false;
	w->has_member[0] = false;
}

/* Are the members of the innermost open container written on one line? */
static bool jw_compact(const struct json_writer *w)
{
	return w->depth > w->compact_depth;
}

/* Line break and indentation before a member or a closing bracket. */
static void jw_newline(struct json_writer *w, int depth)
{
	fputc('\n', w->f);
	for (int i = 0; i < depth; i++)
		fputs("  ", w->f);
}

/* What goes before a value: nothing after a key, else a separator. */
static void jw_before_value(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->depth)
		return;
	if (w->has_member[w->depth - 1])
		fputc(',', w->f);
	if (jw_compact(w)) {
		if (w->has_member[w->depth - 1])
			fputc(' ', w->f);
	} else {
		jw_newline(w, w->depth);
	}
	w->has_member[w->depth - 1] = true;
}

static void jw_open(struct json_writer *w, char c)
{
	if (w->depth >= JW_MAX_DEPTH) {
		/* A report's shape is fixed: this is a bug of the caller. */
		fputs("json_writer: nested deeper than JW_MAX_DEPTH\n", stderr);
		abort();
	}
	jw_before_value(w);
	fputc(c, w->f);
	w->has_member[w->depth] = false;
	w->depth++;
}

static void jw_close(struct json_writer *w, char c)
{
	bool had = w->has_member[w->depth - 1], compact = jw_compact(w);

	w->depth--;
	if (had && !compact)
		jw_newline(w, w->depth);
	fputc(c, w->f);
}

void jw_start_object(struct json_writer *w)
{
	jw_open(w, '{');
}

void jw_end_object(struct json_writer *w)
{
	jw_close(w, '}');
}

void jw_start_array(struct json_writer *w)
{
	jw_open(w, '[');
}

void jw_end_array(struct json_writer *w)
{
	jw_close(w, ']');
}

static void jw_quoted(struct json_writer *w, const char *s)
{
	fputc('"', w->f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(w->f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", w->f);
		else if (c == '\t')
			fputs("\\t", w->f);
		else if (c < 0x20)
			fprintf(w->f, "\\u%04x", c);
		else
			fputc(c, w->f);
	}
	fputc('"', w->f);
}

void jw_key(struct json_writer *w, const char *key)
{
	jw_before_value(w);
	jw_quoted(w, key);
	fputs(": ", w->f);
	w->after_key = true;
}

void jw_string(struct json_writer *w, const char *s)
{
	jw_before_value(w);
	jw_quoted(w, s);
}

void jw_string_or_null(struct json_writer *w, const char *s)
{
	if (s)
		jw_string(w, s);
	else
		jw_null(w);
}

void jw_uint(struct json_writer *w, unsigned long long v)
{
	jw_before_value(w);
	fprintf(w->f, "%llu", v);
}

void jw_int(struct json_writer *w, long long v)
{
	jw_before_value(w);
	fprintf(w->f, "%lld", v);
}

void jw_bool(struct json_writer *w, bool v)
{
	jw_before_value(w);
	fputs(v ? "true" : "false", w->f);
}

void jw_null(struct json_writer *w)
{
	jw_before_value(w);
	fputs("null", w->f);
}

void jw_finish(struct json_writer *w)
{
	fputc('\n', w->f);
}
