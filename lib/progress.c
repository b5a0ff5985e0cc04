/*
 * progress.c - a status line on a terminal while a long input is read:
 * bytes of the total, records, records/s and the time left.  Never when
 * stderr is not a terminal, with -q or with ETL_LOG=json.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etl.h"

static struct {
	int		 on;		/* -1 not decided yet */
	int		 shown;
	struct etl_input *in;
	const char	*name;
	double		 size, t0, last;
	unsigned long long n0;
} prog = { -1, 0, NULL, NULL, 0, 0, 0, 0 };

double
etl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
etl_progress_start(struct etl_input *in, const char *name, double size)
{
	if (prog.on == -1)
		prog.on = isatty(STDERR_FILENO) && !etl_quiet && !etl_log_json;
	if (!prog.on)
		return;
	prog.in = in;
	prog.name = name;
	prog.size = size;
	prog.t0 = etl_now();
	prog.last = 0;
	prog.shown = 0;
	prog.n0 = etl_n_in;
}

void
etl_progress_tick(void)
{
	char line[512];
	double t, el, rate, got, done;
	unsigned long long n;
	int len;

	if (prog.on != 1 || prog.in == NULL)
		return;
	t = etl_now();
	if (prog.shown && t - prog.last < 0.25)
		return;
	prog.last = t;
	prog.shown = 1;
	el = t - prog.t0;
	n = etl_n_in - prog.n0;
	got = (double)etl_input_raw_bytes(prog.in);
	rate = el > 0 ? n / el : 0;
	len = snprintf(line, sizeof(line), "\r%s: %s: %.1f", etl_tool,
	    prog.name, got / 1e6);
	if (prog.size > 0 && len > 0 && (size_t)len < sizeof(line)) {
		done = got < prog.size ? got : prog.size;
		len += snprintf(line + len, sizeof(line) - len,
		    "/%.1f MB (%d%%), %llu records, %.0f records/s, ETA %d:%02d",
		    prog.size / 1e6, (int)(100 * done / prog.size), n, rate,
		    (int)(el * (prog.size - done) / (got > 0 ? got : 1)) / 60,
		    (int)(el * (prog.size - done) / (got > 0 ? got : 1)) % 60);
	} else if (len > 0 && (size_t)len < sizeof(line))
		len += snprintf(line + len, sizeof(line) - len,
		    " MB, %llu records, %.0f records/s", n, rate);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line) - 4)
		len = (int)sizeof(line) - 4;
	memcpy(line + len, "\033[K", 3);
	/* Not a log line: a status line rewritten in place. */
	if (write(STDERR_FILENO, line, (size_t)len + 3) == -1)
		prog.on = 0;
}

void
etl_progress_end(void)
{
	if (prog.on == 1 && prog.shown &&
	    write(STDERR_FILENO, "\r\033[K", 4) == -1)
		prog.on = 0;
	prog.in = NULL;
}
