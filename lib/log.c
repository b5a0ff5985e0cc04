/* log.c - the tool's identity, its logs on stderr, usage and help. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "etl.h"

const char	*etl_tool = "etl";
const char	*etl_run_id = "";
int		 etl_quiet;
int		 etl_log_json;
volatile sig_atomic_t etl_signalled;

void	etl_rejects_probe(void);

static const char *usage_text = "";
static const char *help_text = "";
static char run_id_buf[64];

static void
on_signal(int sig)
{
	etl_signalled = sig;
}

/* A run id sortable by time and unique across concurrent runs. */
static const char *
make_run_id(void)
{
	struct timeval tv;
	struct tm tm;
	char ts[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(run_id_buf, sizeof(run_id_buf), "%s-%06ld-%d", ts,
	    (long)tv.tv_usec, (int)getpid());
	return run_id_buf;
}

void
etl_init(const char *tool, const char *usage, const char *help)
{
	struct sigaction sa;
	const char *s;

	etl_tool = tool;
	usage_text = usage;
	help_text = help ? help : "";
	if ((s = getenv("ETL_RUN_ID")) != NULL && *s)
		etl_run_id = s;
	else
		etl_run_id = make_run_id();
	if ((s = getenv("ETL_LOG")) != NULL && strcmp(s, "json") == 0)
		etl_log_json = 1;

	etl_rejects_probe();
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking read returns EINTR and the loop stops. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

void
etl_usage(void)
{
	fputs(usage_text, stderr);
	exit(ETL_EX_USAGE);
}

void
etl_help(void)
{
	fputs(usage_text, stdout);
	fputs(help_text, stdout);
	if (fflush(stdout) == EOF || ferror(stdout))
		exit(ETL_EX_IOERR);
	exit(0);
}

static void
vlog(const char *level, json_t *fields, const char *fmt, va_list ap)
{
	char msg[4096];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (etl_log_json) {
		struct etl_buf b = { 0 };
		json_t *o;
		struct timeval tv;
		struct tm tm;
		char ts[96];

		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000);
		o = json_object();
		json_object_set_new(o, "ts", json_string(ts));
		json_object_set_new(o, "level", json_string(level));
		json_object_set_new(o, "tool", json_string(etl_tool));
		json_object_set_new(o, "run_id", json_string(etl_run_id));
		json_object_set_new(o, "msg", json_stringn_nocheck(msg,
		    etl_utf8_valid(msg, strlen(msg))));
		if (fields)
			json_object_update_missing(o, fields);
		etl_json_dump(&b, o);
		etl_buf_addc(&b, '\n');
		fwrite(b.p, 1, b.len, stderr);
		etl_buf_free(&b);
		json_decref(o);
	} else if (strcmp(level, "info") == 0) {
		fprintf(stderr, "%s: %s\n", etl_tool, msg);
	} else {
		fprintf(stderr, "%s: %s: %s\n", etl_tool, level, msg);
	}
	fflush(stderr);
	errno = saved;
}

void
etl_log(const char *level, json_t *fields, const char *fmt, ...)
{
	va_list ap;

	if (etl_quiet && strcmp(level, "error") != 0)
		return;
	va_start(ap, fmt);
	vlog(level, fields, fmt, ap);
	va_end(ap);
}

void
etl_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error", NULL, fmt, ap);
	va_end(ap);
	exit(status);
}

void
etl_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error", NULL, fmt, ap);
	va_end(ap);
}

void
etl_warn(const char *fmt, ...)
{
	va_list ap;

	if (etl_quiet)
		return;
	va_start(ap, fmt);
	vlog("warning", NULL, fmt, ap);
	va_end(ap);
}

void
etl_info(const char *fmt, ...)
{
	va_list ap;

	if (etl_quiet)
		return;
	va_start(ap, fmt);
	vlog("info", NULL, fmt, ap);
	va_end(ap);
}
