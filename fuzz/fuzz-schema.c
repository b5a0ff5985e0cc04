/*
 * fuzz-schema - lib/schema.c, the JSON Schema compiler and validator
 * (with lib/regex.c and lib/format.c): the first line is the schema, the
 * other lines are records.  A bad schema must die with status 78 (caught
 * here); a schema line of odd length is compiled with formats as
 * annotations.  Each record is checked as etl-check checks it, and where
 * the scanner's path judges a record it must give exactly the full
 * validator's verdict and reasons.  A line that is JSON but not an
 * object is validated too, as etl-check --any would.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etl.h"
#include "scan.h"
#include "fuzz.h"

static void
rec(struct etl_rec *r, void *arg)
{
	static struct etl_scan scan;
	struct etl_schema *schema = arg;
	json_t *o, *rs = NULL, *fs = NULL;
	int fast = -1, ok;

	if (etl_scan_object(&scan, r->raw, r->len) == ETL_SCAN_OK)
		fast = etl_schema_validate_scan(schema, &scan, &fs);
	if (fast != -1 && (o = etl_json_parse(r->raw, r->len, NULL)) != NULL) {
		ok = etl_schema_validate(schema, o, &rs);
		if (ok != fast || !((rs == NULL && fs == NULL) ||
		    (rs && fs && json_equal(rs, fs)))) {
			char *a = rs ? json_dumps(rs, JSON_COMPACT) : NULL;
			char *b = fs ? json_dumps(fs, JSON_COMPACT) : NULL;

			fuzz_fail("the scanner's path and the validator disagree: "
			    "%d %s / %d %s", fast, b ? b : "valid", ok,
			    a ? a : "valid");
		}
		json_decref(o);
	}
	json_decref(rs);
	json_decref(fs);
	rs = NULL;

	/* etl-check's callback. */
	if (fast != -1) {
		r->object = 1;
		if (etl_schema_validate_scan(schema, &scan, &rs) == 1)
			etl_out_rec(r);
		else
			etl_reject(r, rs);
		return;
	}
	if ((o = json_loadb(r->raw, r->len, JSON_DECODE_ANY |
	    JSON_REJECT_DUPLICATES, NULL)) != NULL && !json_is_object(o)) {
		/* --any */
		if (etl_schema_validate(schema, o, &rs))
			etl_out_rec(r);
		else
			etl_reject(r, rs);
		json_decref(o);
		return;
	}
	json_decref(o);
	if ((o = etl_rec_object(r)) == NULL)
		return;
	if (etl_schema_validate(schema, o, &rs))
		etl_out_rec(r);
	else
		etl_reject(r, rs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *argv[1];
	struct etl_schema_opts opts = { 0 };
	struct fuzz_counts c;
	struct etl_schema *volatile schema = NULL;
	json_t *volatile j = NULL;
	json_error_t e;
	jmp_buf jb;
	const uint8_t *nl;
	char path[32];
	size_t slen;
	int fd;

	fuzz_setup("etl-check");
	nl = memchr(data, '\n', size);
	slen = nl ? (size_t)(nl - data) : size;
	if ((j = json_loadb((const char *)data, slen, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY, &e)) == NULL)
		return 0;
	opts.format_annotation = slen % 2;
	fuzz_jmp = &jb;
	fuzz_die_ok = FUZZ_OK(ETL_EX_CONFIG);
	if (setjmp(jb) == 0) {
		schema = etl_schema_compile(j, "fuzz.schema.json", &opts);
		fuzz_jmp = NULL;
		fd = fuzz_memfd(nl ? nl + 1 : data + size,
		    nl ? size - slen - 1 : 0, path);
		argv[0] = path;
		fuzz_counts_start(&c);
		etl_loop(1, argv, rec, schema);
		fuzz_counts_check(&c, "etl-check");
		close(fd);
		etl_schema_free(schema);
	} else
		etl_schema_discard();	/* a schema that died (78) */
	fuzz_jmp = NULL;
	json_decref(j);
	fuzz_flush();
	return 0;
}
