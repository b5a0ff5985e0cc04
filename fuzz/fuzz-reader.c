/*
 * fuzz-reader - the NDJSON record loop: bytes (plain, zstd or gzip) in a
 * file read by etl_loop(), each record parsed as the tools do; every
 * record must leave on stdout or the rejects.  A second pass reads the
 * same bytes by etl_input_peek() and etl_lines_next() directly.
 */
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static void
rec(struct etl_rec *r, void *arg)
{
	(void)arg;
	if (etl_rec_object(r) != NULL)
		etl_out_rec(r);
}

static void
lines(int fd)
{
	struct etl_input *in;
	struct etl_lines *l;
	const char *p;
	size_t n;
	int toolong;

	in = etl_input_fd(fd, "fuzz");
	etl_input_peek(in, &p);
	l = etl_lines_new(in);
	while (etl_lines_next(l, &p, &n, &toolong) == 1)
		if (memchr(p, '\n', n) != NULL)
			fuzz_fail("line %lu holds a newline",
			    etl_lines_lineno(l));
	etl_lines_free(l);
	etl_input_close(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_counts c;
	char path[32];
	char *argv[1];
	int fd;

	fuzz_setup("fuzz-reader");
	fd = fuzz_memfd(data, size, path);
	argv[0] = path;
	fuzz_counts_start(&c);
	etl_loop(1, argv, rec, NULL);
	fuzz_counts_check(&c, "etl_loop");
	lseek(fd, 0, SEEK_SET);
	lines(fd);		/* closes fd */
	fuzz_flush();
	return 0;
}
