/*
 * etl-check - validates records against a JSON Schema (2020-12, the
 * validator in lib/schema.c).  Valid records pass byte for byte; the
 * others go to the rejects with every reason found, not just the first.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"
#include "scan.h"

static const char usage_text[] =
"usage: etl-check [-hq] -s schema [--any] [--format-annotation]\n"
"                 [--max-reject-ratio ratio] [--max-rejects n]\n"
"                 [--ref-dir uri=dir] [--rejects file | inline]\n"
"                 [--stats file] [file ...]\n";

static const char help_text[] =
"  -s, --schema FILE         JSON Schema the records must match\n"
"      --any                 a record may be any JSON value, not only an object\n"
"      --format-annotation   format is an annotation: no format is checked\n"
"      --max-reject-ratio R  fail (65) when more than R of the records are rejected\n"
"      --max-rejects N       fail (65) when more than N records are rejected\n"
"      --ref-dir URI=DIR     read $ref to URIs under URI from files under DIR\n"
"      --rejects FILE|inline where rejects go when fd 3 is not open\n"
"      --stats FILE          write the final stats as JSON\n"
"  -q, --quiet               log errors only\n";

static int use_fast = 1;	/* ETL_SCAN=0 turns the scanner's path off */
static int any_value;		/* --any */

/*
 * The record as any JSON value (--any), parsed as etl_json_parse() does
 * but with scalars allowed at the top; NULL, rejected, when it is not
 * JSON.  Borrowed: the record loop frees it.
 */
static json_t *
rec_value(struct etl_rec *r)
{
	json_error_t e;
	json_t *rs = NULL;
	int flags = JSON_REJECT_DUPLICATES | JSON_DECODE_ANY;

	r->parsed = 1;
	if (memchr(r->raw, '\0', r->len) != NULL) {
		etl_reason(&rs, "", "parse", "NUL byte in the line");
		etl_reject(r, rs);
		return NULL;
	}
	r->json = json_loadb(r->raw, r->len, flags, &e);
	if (r->json == NULL && json_error_code(&e) == json_error_numeric_overflow)
		r->json = json_loadb(r->raw, r->len,
		    flags | JSON_DECODE_INT_AS_REAL, &e);
	if (r->json == NULL) {
		etl_reason(&rs, "", "parse", "column %d: %s", e.column, e.text);
		etl_reject(r, rs);
		return NULL;
	}
	r->object = 1;		/* JSON: the reject embeds it as "record" */
	return r->json;
}

static void
check(struct etl_rec *r, void *arg)
{
	static struct etl_scan scan;
	struct etl_schema *schema = arg;
	json_t *v, *rs = NULL;

	if (use_fast && etl_scan_object(&scan, r->raw, r->len) == ETL_SCAN_OK &&
	    etl_schema_validate_scan(schema, &scan, &rs) != -1) {
		r->object = 1;
		if (rs)
			etl_reject(r, rs);
		else
			etl_out_rec(r);
		return;
	}
	if ((v = any_value ? rec_value(r) : etl_rec_object(r)) == NULL)
		return;
	if (etl_schema_validate(schema, v, &rs))
		etl_out_rec(r);
	else
		etl_reject(r, rs);
}

static unsigned long long
parse_count(const char *s)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-') {
		etl_error("--max-rejects: %s: not a count", s);
		etl_usage();
	}
	return n;
}

int
main(int argc, char *argv[])
{
	enum {
		OPT_ANY = ETL_OPT_TOOL, OPT_FORMAT_ANNOTATION, OPT_RATIO,
		OPT_MAXREJ, OPT_REF_DIR
	};
	static struct option longopts[] = {
		{ "any", no_argument, NULL, OPT_ANY },
		{ "format-annotation", no_argument, NULL, OPT_FORMAT_ANNOTATION },
		{ "max-reject-ratio", required_argument, NULL, OPT_RATIO },
		{ "max-rejects", required_argument, NULL, OPT_MAXREJ },
		{ "ref-dir", required_argument, NULL, OPT_REF_DIR },
		{ "schema", required_argument, NULL, 's' },
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct etl_schema_opts opts = { 0 };
	struct etl_schema *schema;
	const char **dirs = NULL;
	const char *schema_path = NULL;
	double ratio = -1;
	unsigned long long maxrej = 0;
	int ch, st, has_maxrej = 0;

	etl_init("etl-check", usage_text, help_text);
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS "s:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_ANY:
			any_value = 1;
			break;
		case OPT_FORMAT_ANNOTATION:
			opts.format_annotation = 1;
			break;
		case OPT_RATIO:
			ratio = etl_arg_number("--max-reject-ratio", optarg, 0, 1);
			break;
		case OPT_MAXREJ:
			maxrej = parse_count(optarg);
			has_maxrej = 1;
			break;
		case OPT_REF_DIR:
			if (strchr(optarg, '=') == NULL || *optarg == '=') {
				etl_error("--ref-dir: %s: not URI=DIR", optarg);
				etl_usage();
			}
			dirs = erealloc(dirs, (opts.nref_dirs + 1) * sizeof(*dirs));
			dirs[opts.nref_dirs++] = optarg;
			opts.ref_dirs = dirs;
			break;
		case 's':
			schema_path = optarg;
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (schema_path == NULL) {
		etl_error("-s is required: the JSON Schema to check against, as "
		    "in -s pipelines/schemas/offers.schema.json");
		etl_usage();
	}

	if (getenv("ETL_SCAN") && strcmp(getenv("ETL_SCAN"), "0") == 0)
		use_fast = 0;
	schema = etl_schema_load(schema_path, &opts);

	st = etl_loop(argc, argv, check, schema);
	etl_status(st);

	/* The gates look at the whole stream, so they are checked at its end. */
	if (has_maxrej && etl_n_rejected > maxrej) {
		etl_stats_note("gate max-rejects tripped: %llu rejected > %llu",
		    etl_n_rejected, maxrej);
		etl_stats_set("gate", json_string("max-rejects"));
		etl_status(ETL_EX_DATAERR);
	}
	if (ratio >= 0 && etl_n_in > 0 &&
	    (double)etl_n_rejected / (double)etl_n_in > ratio) {
		etl_stats_note("gate max-reject-ratio tripped: %.4g rejected > %g",
		    (double)etl_n_rejected / (double)etl_n_in, ratio);
		etl_stats_set("gate", json_string("max-reject-ratio"));
		etl_status(ETL_EX_DATAERR);
	}
	etl_schema_free(schema);
	free(dirs);
	return etl_finish();
}
