/*
 * fetch.h - etl-fetch's readers for the csv and jsonarray targets: the
 * tool's source with its main() renamed, and a src over the bytes.
 */
#define main	etl_fetch_main_unused
#include "../tools/etl-fetch.c"
#undef main

#include "fuzz.h"

/* Reads the bytes as the tool reads a file of that format. */
static void
fetch_read(const char *name, const uint8_t *data, size_t size, enum fmt f,
    const struct hive *hv, size_t nhive)
{
	struct fuzz_counts c;
	struct src s;
	char path[32];
	int fd;

	fd = fuzz_memfd(data, size, path);
	memset(&s, 0, sizeof(s));
	s.name = name;
	s.in = etl_input_fd(fd, name);
	s.hive = (struct hive *)hv;
	s.nhive = nhive;
	fuzz_counts_start(&c);
	read_stream(&s, f);
	fuzz_counts_check(&c, name);
	etl_input_close(s.in);
	fuzz_flush();
}
