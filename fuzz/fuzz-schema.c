/*
 * fuzz-schema - etl-check's JSON Schema compiler and validator: the first
 * line is the schema, the other lines are records.  A bad schema must
 * die with status 78 (caught here).  Each record is checked by the tool's
 * callback, and the scanner's path must give exactly the full
 * validator's reasons.
 */
#define main	etl_check_main_unused
#include "../tools/etl-check.c"
#undef main

#include "fuzz.h"

static void
rec(struct etl_rec *r, void *arg)
{
	static struct etl_scan scan;
	static struct etl_buf path;
	struct node *schema = arg;
	json_t *o, *rs = NULL, *fs = NULL;
	int fast;

	fast = etl_scan_object(&scan, r->raw, r->len) == ETL_SCAN_OK &&
	    flat_validate(schema, &scan, &fs) == 0;
	if (fast && (o = etl_json_parse(r->raw, r->len, NULL)) != NULL) {
		path.len = 0;
		validate(schema, o, &path, &rs);
		if (!(rs == NULL && fs == NULL) &&
		    !(rs && fs && json_equal(rs, fs))) {
			char *a = rs ? json_dumps(rs, JSON_COMPACT) : NULL;
			char *b = fs ? json_dumps(fs, JSON_COMPACT) : NULL;

			fuzz_fail("the scanner's path and validate() disagree: "
			    "%s / %s", b ? b : "valid", a ? a : "valid");
		}
		json_decref(o);
	}
	json_decref(rs);
	json_decref(fs);
	check(r, arg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *argv[1];
	struct fuzz_counts c;
	struct node *volatile schema = NULL;
	json_t *volatile j = NULL;
	json_error_t e;
	jmp_buf jb;
	const uint8_t *nl;
	char path[32];
	size_t slen;
	int fd;

	fuzz_setup("etl-check");
	schema_path = "fuzz.schema.json";
	nl = memchr(data, '\n', size);
	slen = nl ? (size_t)(nl - data) : size;
	if ((j = json_loadb((const char *)data, slen, JSON_REJECT_DUPLICATES,
	    &e)) == NULL)
		return 0;
	fuzz_jmp = &jb;
	fuzz_die_ok = FUZZ_OK(ETL_EX_CONFIG);
	if (setjmp(jb) == 0) {
		schema = compile(j, "");
		fuzz_jmp = NULL;
		fd = fuzz_memfd(nl ? nl + 1 : data + size,
		    nl ? size - slen - 1 : 0, path);
		argv[0] = path;
		fuzz_counts_start(&c);
		etl_loop(1, argv, rec, schema);
		fuzz_counts_check(&c, "etl-check");
		close(fd);
		node_free(schema);
	}
	fuzz_jmp = NULL;
	json_decref(j);
	fuzz_flush();
	return 0;
}
