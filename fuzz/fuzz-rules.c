/*
 * fuzz-rules - etl-clean's rules loader, and the records it cleans: the
 * first line is the rules file, the other lines are records run through
 * the tool's callback (and dedupe flushed).  A bad rules file must die
 * with status 78 (caught here); every record must leave as a record or
 * a reject.
 */
#include "clean.h"

/* The rules and the dedupe state, released between inputs. */
static void
reset(void)
{
	rules_free();
	json_decref(dindex);
	dindex = NULL;
	held = NULL;
	nheld = capheld = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *argv[1];
	struct fuzz_counts c;
	jmp_buf jb;
	const uint8_t *nl;
	char path[32], rpath[32];
	size_t rlen;
	int fd, rfd;

	fuzz_setup("etl-clean");
	if (marker == NULL)
		marker = json_object();
	nl = memchr(data, '\n', size);
	rlen = nl ? (size_t)(nl - data) : size;
	rfd = fuzz_memfd(data, rlen, rpath);
	fd = fuzz_memfd(nl ? nl + 1 : data + size, nl ? size - rlen - 1 : 0,
	    path);
	fuzz_jmp = &jb;
	fuzz_die_ok = FUZZ_OK(ETL_EX_CONFIG);
	if (setjmp(jb) == 0) {
		load_rules(rpath);
		fuzz_jmp = NULL;
		if (R.dkey)
			dindex = json_object();
		argv[0] = path;
		fuzz_counts_start(&c);
		etl_loop(1, argv, clean, NULL);
		if (R.dkey)
			dedupe_flush();
		fuzz_counts_check(&c, "etl-clean");
	}
	fuzz_jmp = NULL;
	reset();
	fuzz_flush();
	close(fd);
	close(rfd);
	return 0;
}
