/*
 * fuzz-csv - etl-fetch's CSV and TSV reader with its options: the first
 * two bytes choose the delimiter (sniffed, or one of , ; TAB |), CSV or
 * TSV, --no-header, --columns, --fields, --encoding latin1 and
 * --provenance, and a Hive directory; the rest is the file.  Every row
 * must leave as a record or a reject.
 */
#include "fetch.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int delims[] = { 0, ',', ';', '\t', '|', 0, ',', ';' };
	static char *cols[] = { "id", "price", "city", NULL };
	static char *flds[] = { "price", "dt", "column2", "id", NULL };
	static struct hive hv[] = { { "dt", "2024-01-01" }, { "city", NULL } };
	uint8_t a, b;

	fuzz_setup("etl-fetch");
	if (size < 2)
		return 0;
	a = data[0];
	b = data[1];
	data += 2;
	size -= 2;
	memset(&opt, 0, sizeof(opt));
	opt.delim = delims[a & 7];
	opt.noheader = (a >> 3) & 1;
	if ((a >> 4) & 1) {
		opt.columns = cols;
		opt.ncolumns = 3;
	}
	if ((a >> 5) & 1) {
		opt.fields = flds;
		opt.nfields = 4;
	}
	opt.provenance = (a >> 6) & 1;
	opt.encoding = (b & 1) ? "latin1" : (b & 2) ? "UTF-16" : NULL;
	fetch_read((b & 4) ? "fuzz.tsv" : "fuzz.csv", data, size,
	    (b & 4) ? F_TSV : F_CSV, hv, (b & 8) ? 2 : 0);
	return 0;
}
