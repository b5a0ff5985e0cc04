/*
 * fuzz.c - the harness every fuzz target and replay driver links.  It
 * replaces lib/log.c's etl_die() (compiled as etl_die_lib for these
 * builds) so a configuration loader that dies on a bad file returns to
 * the target instead of ending the fuzzer.
 */
#include <sys/mman.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

void	etl_rejects_to(const char *);
void	etl_rejects_flush(void);

jmp_buf		*fuzz_jmp;
unsigned	 fuzz_die_ok;

void
etl_die(int status, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	if (fuzz_jmp && status >= 64 && status < 96 &&
	    (fuzz_die_ok & FUZZ_OK(status)))
		longjmp(*fuzz_jmp, status);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	etl_error("fuzz: unexpected etl_die(%d): %s", status, msg);
	abort();
}

void
fuzz_fail(const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	etl_error("fuzz: %s", msg);
	abort();
}

void
fuzz_setup(const char *tool)
{
	static int done;
	int fd;

	if (done)
		return;
	done = 1;
	setenv("ETL_RUN_ID", "fuzz", 1);
	etl_init(tool, "usage: fuzz\n", NULL);
	etl_quiet = 1;
	/* Records and rejects are written for real, to /dev/null. */
	if ((fd = open("/dev/null", O_WRONLY)) == -1 ||
	    dup2(fd, STDOUT_FILENO) == -1)
		fuzz_fail("/dev/null: %s", strerror(errno));
	close(fd);
	etl_rejects_to("/dev/null");
}

int
fuzz_memfd(const void *p, size_t n, char path[32])
{
	const char *c = p;
	ssize_t w;
	int fd;

	if ((fd = memfd_create("fuzz", MFD_CLOEXEC)) == -1)
		fuzz_fail("memfd_create: %s", strerror(errno));
	while (n > 0) {
		if ((w = write(fd, c, n)) < 0) {
			if (errno == EINTR)
				continue;
			fuzz_fail("memfd write: %s", strerror(errno));
		}
		c += w;
		n -= (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) == -1)
		fuzz_fail("memfd lseek: %s", strerror(errno));
	snprintf(path, 32, "/dev/fd/%d", fd);
	return fd;
}

void
fuzz_counts_start(struct fuzz_counts *c)
{
	c->in = etl_n_in;
	c->out = etl_n_out;
	c->rej = etl_n_rejected;
}

void
fuzz_counts_check(const struct fuzz_counts *c, const char *what)
{
	unsigned long long in = etl_n_in - c->in, out = etl_n_out - c->out,
	    rej = etl_n_rejected - c->rej;

	if (in != out + rej)
		fuzz_fail("%s: %llu in != %llu out + %llu rejected", what, in,
		    out, rej);
}

void
fuzz_flush(void)
{
	etl_out_flush();
	etl_rejects_flush();
}

unsigned long
fuzz_lines(const char *p, size_t n, etl_rec_fn *fn, void *arg)
{
	const char *e = p + n, *nl;
	struct etl_rec r;
	unsigned long line = 0;

	for (; p < e; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		memset(&r, 0, sizeof(r));
		r.file = "fuzz";
		r.line = ++line;
		r.raw = p;
		r.len = (size_t)(nl - p);
		fn(&r, arg);
	}
	return line;
}
