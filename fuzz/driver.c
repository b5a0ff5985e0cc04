/*
 * driver.c - replays files through a fuzz target without libFuzzer:
 * each FILE operand is read whole and given to LLVMFuzzerTestOneInput
 * once.  A crash or sanitizer report is the failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

int
main(int argc, char *argv[])
{
	struct etl_buf b = { 0 };
	char chunk[65536];
	size_t n;
	FILE *f;
	int i;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if ((f = fopen(argv[i], "rb")) == NULL) {
			perror(argv[i]);
			return 66;
		}
		b.len = 0;
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			etl_buf_add(&b, chunk, n);
		if (ferror(f)) {
			perror(argv[i]);
			return 74;
		}
		fclose(f);
		/* A copy of exactly the file's size, so ASan sees overreads. */
		{
			uint8_t *p = malloc(b.len ? b.len : 1);

			memcpy(p, b.p ? b.p : "", b.len);
			LLVMFuzzerTestOneInput(p, b.len);
			free(p);
		}
	}
	etl_buf_free(&b);
	return 0;
}
