/*
 * stream.c - the record loop every tool runs: lines in, one callback per
 * record, parsed only when the tool asks.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etl.h"
#include "scan.h"

static int
run(struct etl_input *in, double size, etl_rec_fn *fn, void *arg)
{
	struct etl_lines *l;
	struct etl_rec r;
	const char *p;
	size_t n;
	int st = 0, toolong, upstream;

	l = etl_lines_new(in);
	etl_progress_start(in, etl_input_name(in), size);
	while (!etl_signalled && (st = etl_lines_next(l, &p, &n, &toolong)) == 1) {
		if ((etl_n_in & 255) == 0)
			etl_progress_tick();
		if (etl_blank(p, n))
			continue;
		upstream = !toolong && etl_reject_prefixed(p, n);
		if (upstream && etl_reject_pass(p + 9, n - 9) == 0)
			continue;
		memset(&r, 0, sizeof(r));
		r.file = etl_input_name(in);
		r.line = etl_lines_lineno(l);
		r.raw = p;
		r.len = n;
		etl_count_in(1);
		if (toolong) {
			json_t *rs = NULL;

			etl_reason(&rs, "", "size",
			    "line longer than %zu bytes (first bytes kept)",
			    ETL_MAX_LINE);
			etl_reject(&r, rs);
			continue;
		}
		if (upstream) {
			json_t *rs = NULL;

			etl_reason(&rs, "", "parse", "a __reject line whose "
			    "text is not a JSON object with a reasons array");
			etl_reject(&r, rs);
			continue;
		}
		fn(&r, arg);
		json_decref(r.json);
	}
	etl_progress_end();
	if (!etl_signalled && st == -1) {
		etl_error("%s:%lu: %s", etl_input_name(in),
		    etl_lines_lineno(l) + 1, etl_input_error(in));
		etl_lines_free(l);
		return etl_input_status(in);
	}
	etl_lines_free(l);
	return 0;
}

int
etl_loop(int argc, char **argv, etl_rec_fn *fn, void *arg)
{
	struct etl_input *in;
	struct stat sb;
	int i, st, ret = 0;

	if (argc == 0) {
		in = etl_input_open("-");
		ret = run(in, 0, fn, arg);
		etl_input_close(in);
		return ret;
	}
	for (i = 0; i < argc && !etl_signalled; i++) {
		if ((in = etl_input_open(argv[i])) == NULL) {
			etl_error("%s: %s", argv[i], strerror(errno));
			if (ret == 0)
				ret = ETL_EX_NOINPUT;
			continue;
		}
		if ((st = run(in, stat(argv[i], &sb) == 0 && S_ISREG(sb.st_mode) ?
		    (double)sb.st_size : 0, fn, arg)) != 0 && ret == 0)
			ret = st;
		etl_input_close(in);
	}
	return ret;
}

json_t *
etl_rec_object(struct etl_rec *r)
{
	json_error_t e;
	json_t *rs = NULL;

	if (r->parsed)
		return json_is_object(r->json) ? r->json : NULL;
	r->parsed = 1;
	r->json = etl_json_parse(r->raw, r->len, &e);
	if (r->json == NULL) {
		etl_reason(&rs, "", "parse", "column %d: %s", e.column, e.text);
		etl_reject(r, rs);
		return NULL;
	}
	if (!json_is_object(r->json)) {
		etl_reason(&rs, "", "parse", "not a JSON object");
		etl_reject(r, rs);
		return NULL;
	}
	return r->json;
}

/* The loop's one scanner: what it found is valid until the next record. */
static struct etl_scan rec_scan;

const struct etl_scan *
etl_rec_scan(struct etl_rec *r)
{
	if (r->scanned == 0)
		r->scanned = etl_scan_on() && etl_scan_object(&rec_scan, r->raw,
		    r->len) == ETL_SCAN_OK ? 1 : -1;
	return r->scanned == 1 ? &rec_scan : NULL;
}

json_t *
etl_rec_fields(struct etl_rec *r, const char *const *names, size_t n)
{
	const struct etl_scan *scan;
	const struct etl_field *f;
	json_t *o, *v;
	size_t i;

	if (!r->parsed && (scan = etl_rec_scan(r)) != NULL) {
		o = json_object();
		for (i = 0; i < n; i++) {
			if ((f = etl_scan_get(scan, names[i],
			    strlen(names[i]))) == NULL)
				continue;
			if ((v = etl_scan_json(f)) == NULL) {
				json_decref(o);
				goto full;
			}
			json_object_set_new(o, names[i], v);
		}
		r->object = 1;
		return o;
	}
full:
	return json_incref(etl_rec_object(r));
}
