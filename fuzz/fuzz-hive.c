/*
 * fuzz-hive - the Hive path escaper: unescape(escape(x)) == x, and the
 * segment KEY=escape(x) holds no '/', one '=', no byte below 0x20, and
 * is never "." or "..".  Unescaping any bytes stays in bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct etl_buf seg, copy;
	const char *x = (const char *)data;
	size_t i, n, eq = 0;

	fuzz_setup("fuzz-hive");
	seg.len = 0;
	etl_buf_adds(&seg, "k=");
	etl_hive_escape(&seg, x, size);
	for (i = 0; i < seg.len; i++) {
		unsigned char c = (unsigned char)seg.p[i];

		if (c == '/')
			fuzz_fail("escaped value holds a '/'");
		if (c == '=')
			eq++;
		if (c < 0x20 || c == 0x7f)
			fuzz_fail("escaped value holds byte 0x%02x", c);
	}
	if (eq != 1)
		fuzz_fail("segment holds %zu '='", eq);
	if ((seg.len == 1 && seg.p[0] == '.') ||
	    (seg.len == 2 && memcmp(seg.p, "..", 2) == 0))
		fuzz_fail("segment is a dot name");
	n = etl_hive_unescape(seg.p + 2, seg.len - 2);
	if (n != size || memcmp(seg.p + 2, x, size) != 0)
		fuzz_fail("unescape(escape(x)) != x");

	/* Any bytes unescape in place, no longer than they were. */
	copy.len = 0;
	etl_buf_add(&copy, x, size);
	if (etl_hive_unescape(copy.p, copy.len) > size)
		fuzz_fail("unescape grew");
	return 0;
}
