/*
 * fuzz-clean-values - etl-clean's value parsers: read_number() (any
 * grouping, multipliers, currencies, units), read_date() (strptime
 * formats, ISO 8601 date-times), truthy() and the case and accent
 * folding.  The first byte chooses the field's rule, the rest is the
 * value.  A number read must be a finite JSON number, an integer for
 * type integer; a date read must be a real day, written back the same.
 */
#include "clean.h"

static const char *fmts_a[] = { "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", NULL };
static const char *fmts_b[] = { "%d %B %Y", "%Y-%m-%dT%H:%M:%S%z",
    "%m/%d/%y %I:%M %p", NULL };

static void
number(uint8_t a, const char *s, size_t n)
{
	struct field f;
	json_t *out = NULL;
	const char *cur, *why = NULL;

	memset(&f, 0, sizeof(f));
	f.name = "v";
	f.type = (a & 1) ? T_INTEGER : T_NUMBER;
	f.decimal = "\0.,\0"[(a >> 1) & 3];
	f.unit_m2 = (a >> 3) & 1;
	f.currency_field = (a >> 4) & 1 ? "currency" : NULL;
	if (read_number(s, n, &f, &out, &cur, &why) == 0) {
		if (!json_is_number(out))
			fuzz_fail("read_number: not a number");
		if (f.type == T_INTEGER && !json_is_integer(out))
			fuzz_fail("read_number: type integer gave a real");
		if (json_is_real(out) && !isfinite(json_real_value(out)))
			fuzz_fail("read_number: not finite");
		if (cur && strlen(cur) != 3)
			fuzz_fail("read_number: currency \"%s\"", cur);
		json_decref(out);
	} else if (why == NULL || out != NULL)
		fuzz_fail("read_number: failed without a reason");
}

static void
date(uint8_t a, const char *s, size_t n)
{
	struct field f;
	json_t *out;
	const char *why = NULL, *p;
	int y, m, d;
	int64_t t;

	memset(&f, 0, sizeof(f));
	f.name = "v";
	f.type = (a & 1) ? T_DATETIME : T_DATE;
	f.formats = (a & 2) ? fmts_b : fmts_a;
	f.nformats = 3;
	if (f.type == T_DATETIME && (a & 4))
		f.nformats = 0;
	if ((out = read_date(&f, s, n, &why)) == NULL) {
		if (why == NULL)
			fuzz_fail("read_date: failed without a reason");
		return;
	}
	p = json_string_value(out);
	if (f.type == T_DATE ?
	    etl_date_parse(p, strlen(p), &y, &m, &d) != 0 :
	    etl_datetime_parse(p, strlen(p), 1, &t) != 0)
		fuzz_fail("read_date: \"%s\" does not read back", p);
	json_decref(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct etl_buf s;
	int b;

	fuzz_setup("etl-clean");
	if (size < 1)
		return 0;
	/* The values are NUL-terminated strings of a JSON document. */
	s.len = 0;
	etl_buf_add(&s, data + 1, size - 1);
	etl_buf_cstr(&s);
	switch (data[0] >> 6) {
	case 0:
	case 1:
		number(data[0], s.p, s.len);
		break;
	case 2:
		date(data[0], s.p, s.len);
		break;
	default:
		truthy(s.p, s.len, &b);
		recase(&tbuf, s.p, s.len, (data[0] & 1) ? 'u' : 'l');
		fold(&kbuf, s.p, s.len);
		if (etl_utf8_valid(s.p, s.len) == s.len &&
		    etl_utf8_valid(kbuf.p, kbuf.len) != kbuf.len)
			fuzz_fail("fold: UTF-8 in, not UTF-8 out");
	}
	return 0;
}
