/*
 * fuzz-model-state - etl-model fit --merge's partial-state reader: lines
 * KEY<TAB>STATE checked, merged by group and fitted into models (or
 * written as states again when the first byte says --partial).  Each
 * line is merged or rejected, never lost; the state is reset between
 * inputs.
 */
#define main	etl_model_main_unused
#include "../tools/etl-model.c"
#undef main

#include "fuzz.h"

static int partial_out;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned long long rej0;
	unsigned long line;
	size_t i;

	fuzz_setup("etl-model");
	if (size < 1)
		return 0;
	partial_out = data[0] & 1;
	ridge_set = (data[0] >> 1) & 1;
	ridge_opt = ridge_set ? 0.5 : 0;
	gindex = json_object();
	rej0 = etl_n_rejected;
	n_merged = 0;
	line = fuzz_lines((const char *)data + 1, size - 1, merge_rec, NULL);
	if (n_merged + (etl_n_rejected - rej0) != line)
		fuzz_fail("%lu lines, %llu merged, %llu rejected", line,
		    n_merged, etl_n_rejected - rej0);
	if (ngroups > 1)
		qsort(groups, ngroups, sizeof(*groups), groupcmp);
	for (i = 0; i < ngroups; i++) {
		if (partial_out)
			write_state(groups[i]);
		else
			write_model(groups[i]);
		group_free(groups[i]);
	}
	free(groups);
	groups = NULL;
	ngroups = 0;
	json_decref(gindex);
	gindex = NULL;
	spec_free(&spec);
	have_spec = 0;
	fuzz_flush();
	return 0;
}
