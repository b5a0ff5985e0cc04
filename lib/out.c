/*
 * out.c - records out.  One large buffer written with write(2); a closed
 * stdout ends the tool quietly, any other write error is status 74.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etl.h"

#define OUTSZ	(1024 * 1024)

static struct etl_buf out;
static struct etl_buf tmp;

void	etl_rejects_flush(void);

void
etl_out_flush(void)
{
	static int tuned;

	if (!tuned) {
		tuned = 1;
#ifdef F_SETPIPE_SZ
		fcntl(STDOUT_FILENO, F_SETPIPE_SZ, OUTSZ);	/* may be refused */
#endif
	}
	if (out.len == 0)
		return;
	if (etl_write_all(STDOUT_FILENO, out.p, out.len) == -1) {
		if (errno == EPIPE) {
			/* The reader is gone (| head): end quietly. */
			etl_rejects_flush();
			_exit(0);
		}
		etl_die(ETL_EX_IOERR, "stdout: %s", strerror(errno));
	}
	out.len = 0;
}

void
etl_out_line(const char *p, size_t n)
{
	if (out.cap == 0)
		etl_buf_grow(&out, OUTSZ + 1);
	etl_buf_add(&out, p, n);
	etl_buf_addc(&out, '\n');
	if (out.len >= OUTSZ)
		etl_out_flush();
}

void
etl_out_raw(const char *p, size_t n)
{
	etl_n_out++;
	etl_out_line(p, n);
}

void
etl_out_rec(struct etl_rec *r)
{
	etl_out_raw(r->raw, r->len);
}

void
etl_out_json(const json_t *j)
{
	tmp.len = 0;
	etl_json_dump(&tmp, j);
	etl_out_raw(tmp.p, tmp.len);
}

int
etl_out_fd(void)
{
	return STDOUT_FILENO;
}
