/*
 * fuzz-agg-state - etl-agg --merge's partial-state reader: lines
 * KEY<TAB>STATE loaded, merged and written out as results or states
 * again, for -g city -a with every aggregate on one field.  The first
 * byte chooses --approx, --partial and the streaming (sorted) form;
 * the rest is the input.  A line is merged or rejected, never lost.
 */
#define main	etl_agg_main_unused
#include "../tools/etl-agg.c"
#undef main

#include "fuzz.h"

static void
merge_one(struct etl_rec *r, void *stream)
{
	merge_line(r, *(int *)stream);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	unsigned long long rej0, agg0;
	unsigned long line;
	int stream;

	fuzz_setup("etl-agg");
	if (!ready) {
		ready = 1;
		parse_groups("city");
		parse_aggs("count,sum:price,mean:price,min:price,max:price,"
		    "median:price,p90:price,stddev:price,var:price,"
		    "distinct:price,first:price,last:price");
		check_names();
		merge = 1;
	}
	if (size < 1)
		return 0;
	approx = data[0] & 1;
	partial = (data[0] >> 1) & 1;
	stream = (data[0] >> 2) & 1;
	rej0 = etl_n_rejected;
	agg0 = aggregated;
	line = fuzz_lines((const char *)data + 1, size - 1, merge_one, &stream);
	if (cur) {
		emit(cur);
		group_free(cur);
		cur = NULL;
	}
	emit_table();
	if ((etl_n_rejected - rej0) + (aggregated - agg0) != line)
		fuzz_fail("%lu lines, %llu merged, %llu rejected", line,
		    aggregated - agg0, etl_n_rejected - rej0);
	fuzz_flush();
	return 0;
}
