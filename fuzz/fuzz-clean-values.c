/*
 * fuzz-clean-values - the value engines etl-clean drives, from lib/:
 * etl_number_read() (any grouping, multipliers, ranges, currencies and a
 * rule's signs, periods, units of area and a rule's units),
 * etl_date_read() and etl_date_epoch() (strptime formats with month
 * names in four languages, ISO 8601, epochs, a time zone with DST), and
 * the folding of text.  The first byte chooses the options, the rest is
 * the value.  A number read must be a finite JSON number (an integer for
 * type integer) with a currency of three letters and a known period; a
 * date read must be a real day, written back the same.
 *
 * Byte 0: bits 7-6 the engine (0 and 1 number, 2 date, 3 text).  Number:
 * bit 0 integer, bits 1-2 the decimal mark, bit 3 area, bit 4 currency,
 * bit 5 period, bit 6 extras in byte 1 (bits 0-1 the range choice, bit 2
 * the rule's signs, bit 3 the rule's units, bit 4 default unit sqft).
 * Date: bit 0 date-time, bits 1-2 the format set, bit 3 a zone, bit 4 the
 * value read as a JSON number, bit 5 no formats.
 */
#include <math.h>
#include <stdlib.h>

#include "fuzz.h"

static const char *fmts_a[] = { "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", NULL };
static const char *fmts_b[] = { "%d %B %Y", "%Y-%m-%dT%H:%M:%S%z",
    "%m/%d/%y %I:%M %p", NULL };
static const char *fmts_c[] = { "epoch", "%B %d, %Y", "epoch_ms", NULL };
static const char *fmts_d[] = { "%d. %b. %Y %H:%M", "%Y-%m-%d %H:%M:%S",
    "%d %h %Y", NULL };
static const char *const *fmts[] = { fmts_a, fmts_b, fmts_c, fmts_d };

static void
number(uint8_t a, uint8_t x, const char *s, size_t n)
{
	static json_t *symbols, *units;
	struct etl_numopt o;
	struct etl_number r;
	const char *p;

	if (symbols == NULL) {
		symbols = json_pack("{s:s,s:s}", "$", "CHF", "Fr.", "CHF");
		units = json_pack("{s:s,s:s}", "bigha", "1337.8", "kanal",
		    "5.05857e2");
	}
	memset(&o, 0, sizeof(o));
	o.integer = a & 1;
	o.decimal = "\0.,\0"[(a >> 1) & 3];
	o.area = (a >> 3) & 1;
	o.currency = (a >> 4) & 1;
	o.period = (a >> 5) & 1;
	if (a & 0x40) {
		o.range = x & 3;
		o.symbols = x & 4 ? symbols : NULL;
		o.units = x & 8 ? units : NULL;
		o.bare = x & 16 ? etl_unit_m2("sqft") : NULL;
	}
	if (etl_number_read(s, n, &o, &r) == 0) {
		if (!json_is_number(r.value))
			fuzz_fail("etl_number_read: not a number");
		if (o.integer && !json_is_integer(r.value))
			fuzz_fail("etl_number_read: type integer gave a real");
		if (json_is_real(r.value) && !isfinite(json_real_value(r.value)))
			fuzz_fail("etl_number_read: not finite");
		if (r.currency && strlen(r.currency) != 3)
			fuzz_fail("etl_number_read: currency \"%s\"", r.currency);
		if ((r.currency && !o.currency) || (r.period && !o.period))
			fuzz_fail("etl_number_read: found what was not asked");
		p = r.period;
		if (p && strcmp(p, "day") && strcmp(p, "week") &&
		    strcmp(p, "month") && strcmp(p, "year"))
			fuzz_fail("etl_number_read: period \"%s\"", p);
		json_decref(r.value);
	} else if (r.why == NULL || r.value != NULL)
		fuzz_fail("etl_number_read: failed without a reason");
}

static void
date(uint8_t a, const char *s, size_t n)
{
	struct etl_dateopt o;
	char out[21];
	const char *why = NULL;
	int y, m, d, r;
	int64_t t;

	memset(&o, 0, sizeof(o));
	o.datetime = a & 1;
	o.formats = fmts[(a >> 1) & 3];
	o.nformats = 3;
	o.tz = (a & 8) ? "Europe/Zurich" : NULL;
	if (o.datetime && (a & 32))
		o.nformats = 0;
	if (a & 16)
		r = etl_date_epoch(&o, strtod(s, NULL), out, &why);
	else
		r = etl_date_read(&o, s, n, out, &why);
	if (r == -1) {
		if (why == NULL)
			fuzz_fail("etl_date_read: failed without a reason");
		return;
	}
	if (o.datetime ?
	    etl_datetime_parse(out, strlen(out), 1, &t) != 0 :
	    etl_date_parse(out, strlen(out), &y, &m, &d) != 0)
		fuzz_fail("etl_date_read: \"%s\" does not read back", out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct etl_buf s, b;
	size_t skip = 1;

	fuzz_setup("etl-clean");
	if (size < 1)
		return 0;
	if ((data[0] >> 6) <= 1 && (data[0] & 0x40))
		skip = 2;
	if (size < skip)
		return 0;
	/* The values are NUL-terminated strings of a JSON document. */
	s.len = 0;
	etl_buf_add(&s, data + skip, size - skip);
	etl_buf_cstr(&s);
	switch (data[0] >> 6) {
	case 0:
	case 1:
		number(data[0], skip == 2 ? data[1] : 0, s.p, s.len);
		break;
	case 2:
		date(data[0], s.p, s.len);
		break;
	default:
		etl_recase(&b, s.p, s.len, (data[0] & 1) ? 'u' : 'l');
		etl_fold(&b, s.p, s.len);
		if (etl_utf8_valid(s.p, s.len) == s.len &&
		    etl_utf8_valid(b.p, b.len) != b.len)
			fuzz_fail("fold: UTF-8 in, not UTF-8 out");
		etl_unit_key(&b, s.p, s.len);
		etl_month_name(s.p, s.len);
	}
	return 0;
}
