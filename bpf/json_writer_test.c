// SPDX-License-Identifier: GPL-2.0
/*
 * Host test of json_writer.c: writes one document that exercises nesting,
 * every value type, escapes and empty containers; bpf/check-host parses
 * it and compares it with what these calls must give.
 */
#include <limits.h>

#include "json_writer.h"

int main(void)
{
	struct json_writer w;

	jw_init(&w, stdout, 2);
	jw_start_object(&w);
	jw_uint_field(&w, "u", ULLONG_MAX);
	jw_int_field(&w, "i", LLONG_MIN);
	jw_bool_field(&w, "t", true);
	jw_string_field(&w, "esc", "q\" b\\ n\n t\t c\x01 é");
	jw_string_field(&w, "none", NULL);
	jw_key(&w, "empty_object");
	jw_start_object(&w);
	jw_end_object(&w);
	jw_key(&w, "empty_array");
	jw_start_array(&w);
	jw_end_array(&w);
	jw_key(&w, "rows");
	jw_start_array(&w);
	for (int r = 0; r < 2; r++) {
		jw_start_object(&w);
		jw_int_field(&w, "r", r);
		jw_key(&w, "inner");
		jw_start_object(&w);
		jw_bool_field(&w, "f", false);
		jw_key(&w, "list");
		jw_start_array(&w);
		jw_uint(&w, 1);
		jw_null(&w);
		jw_string(&w, "x");
		jw_end_array(&w);
		jw_end_object(&w);
		jw_end_object(&w);
	}
	jw_end_array(&w);
	jw_end_object(&w);
	jw_finish(&w);
	return ferror(stdout) ? 1 : 0;
}
