/*
 * scan-diff - the lazy scanner against jansson, line by line: where the
 * scanner is sure, jansson must agree on validity, keys and values.
 * Prints each disagreement; exits 1 when there was one.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "etl.h"
#include "scan.h"

static int
same(const struct etl_field *f, json_t *v, struct etl_buf *b)
{
	double d;

	switch (f->type) {
	case 's':
		return json_is_string(v) && etl_scan_string(f, b) == 0 &&
		    b->len == json_string_length(v) &&
		    memcmp(b->p, json_string_value(v), b->len) == 0;
	case 'n':
		return json_is_number(v) && etl_scan_number(f, &d) == 0 &&
		    d == json_number_value(v);
	case 't':
		return json_is_true(v);
	case 'f':
		return json_is_false(v);
	case 'z':
		return json_is_null(v);
	case 'a':
		return json_is_array(v);
	case 'o':
		return json_is_object(v);
	}
	return 0;
}

/* 0 agree, 1 disagree. */
int
scan_diff(const char *p, size_t n, const char **why)
{
	static struct etl_scan s;
	static struct etl_buf b;
	json_error_t e;
	json_t *j;
	size_t i;
	int r, bad = 0;

	r = etl_scan_object(&s, p, n);
	j = etl_json_parse(p, n, &e);
	*why = NULL;
	if (r == ETL_SCAN_INVALID && j != NULL) {
		*why = "scanner refused what jansson accepts";
		bad = 1;
	} else if (r == ETL_SCAN_OK) {
		if (j == NULL || !json_is_object(j)) {
			*why = "scanner accepted what jansson refuses";
			bad = 1;
		} else if (json_object_size(j) != s.n) {
			*why = "field counts differ";
			bad = 1;
		} else
			for (i = 0; i < s.n && !bad; i++) {
				char *k = estrndup(s.f[i].key, s.f[i].klen);
				json_t *v = json_object_get(j, k);

				if (v == NULL || !same(&s.f[i], v, &b)) {
					*why = "a field's value differs";
					bad = 1;
				}
				free(k);
			}
	}
	json_decref(j);
	return bad;
}

#ifndef SCAN_DIFF_NO_MAIN
int
main(int argc, char *argv[])
{
	struct etl_input *in;
	struct etl_lines *l;
	const char *p, *why;
	size_t n;
	int toolong, bad = 0;
	unsigned long counts[3] = { 0 }, lines = 0;

	etl_init("scan-diff", "usage: scan-diff [file]\n", NULL);
	if ((in = etl_input_open(argc > 1 ? argv[1] : "-")) == NULL)
		etl_die(ETL_EX_NOINPUT, "%s: cannot open", argv[1]);
	l = etl_lines_new(in);
	while (etl_lines_next(l, &p, &n, &toolong) == 1) {
		static struct etl_scan s;

		lines++;
		counts[etl_scan_object(&s, p, n) + 1]++;
		if (scan_diff(p, n, &why)) {
			bad = 1;
			printf("line %lu: %s: %.*s\n", lines, why,
			    (int)(n > 200 ? 200 : n), p);
		}
	}
	printf("%lu lines: %lu ok, %lu unsure, %lu invalid\n", lines,
	    counts[2], counts[1], counts[0]);
	etl_lines_free(l);
	etl_input_close(in);
	return bad;
}
#endif
