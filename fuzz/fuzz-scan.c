/*
 * fuzz-scan - the lazy scanner of lib/scan.c against jansson, the
 * differential of tests/scan-diff.c: where the scanner is sure, jansson
 * must agree on validity, keys and values.
 */
#define SCAN_DIFF_NO_MAIN
#include "../tests/scan-diff.c"

#include <stdlib.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;

	fuzz_setup("fuzz-scan");
	if (scan_diff((const char *)data, size, &why))
		fuzz_fail("scan-diff: %s", why);
	return 0;
}
