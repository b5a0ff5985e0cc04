/*
 * fuzz-jsonarray - etl-fetch's JSON streamer: arrays cut into records,
 * --json-path, double-encoded documents, and format sniffing.  The first
 * byte chooses the json path (none, items, data.items) and whether the
 * format is given (json) or sniffed from a .json name; the rest is the
 * file.  Every element must leave as a record or a reject.
 */
#include "fetch.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *p1[] = { "items", NULL };
	static char *p2[] = { "data", "items", NULL };
	static struct hive hv[] = { { "dt", "2024-01-01" } };
	uint8_t a;

	fuzz_setup("etl-fetch");
	if (size < 1)
		return 0;
	a = data[0];
	data++;
	size--;
	memset(&opt, 0, sizeof(opt));
	switch (a & 3) {
	case 1:
		opt.jpath = p1;
		opt.njpath = 1;
		opt.jpath_arg = "items";
		break;
	case 2:
		opt.jpath = p2;
		opt.njpath = 2;
		opt.jpath_arg = "data.items";
		break;
	}
	opt.provenance = (a >> 2) & 1;
	if ((a >> 3) & 1) {
		static char *flds[] = { "id", "dt", "price", NULL };

		opt.fields = flds;
		opt.nfields = 3;
	}
	fetch_read("fuzz.json", data, size, (a >> 4) & 1 ? F_JSON : F_JSONISH,
	    hv, (a >> 5) & 1);
	return 0;
}
