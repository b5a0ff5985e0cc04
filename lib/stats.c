/* stats.c - what went in, out and to the rejects, and why. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "etl.h"

void	etl_rejects_flush(void);

unsigned long long etl_n_in, etl_n_out, etl_n_rejected;
/* Apart from in: in = out + rejected holds for each tool of a chain. */
unsigned long long etl_n_passed;

static json_t	*reasons;	/* code -> count */
static json_t	*extra;		/* tool's own fields */
static struct etl_buf notes;
static const char *stats_path;
static int	 status;

void
etl_stats_to(const char *p)
{
	stats_path = p;
}

void
etl_count_in(unsigned long long n)
{
	etl_n_in += n;
}

static void
bump(json_t *o, const char *key, unsigned long long n)
{
	json_t *v = json_object_get(o, key);

	if (v)
		json_integer_set(v, (json_int_t)(n +
		    (unsigned long long)json_integer_value(v)));
	else
		json_object_set_new(o, key, json_integer((json_int_t)n));
}

/* Each reason code counts once per rejected record. */
void
etl_stats_reject(const json_t *rs)
{
	size_t i, j;
	const char *code, *prev;

	etl_n_rejected++;
	if (reasons == NULL)
		reasons = json_object();
	for (i = 0; i < json_array_size(rs); i++) {
		code = json_string_value(json_object_get(json_array_get(rs, i),
		    "code"));
		if (code == NULL)
			code = "unknown";
		for (j = 0; j < i; j++) {
			prev = json_string_value(json_object_get(
			    json_array_get(rs, j), "code"));
			if (prev && strcmp(prev, code) == 0)
				break;
		}
		if (j == i)
			bump(reasons, code, 1);
	}
}

void
etl_count(const char *group, const char *key, unsigned long long n)
{
	json_t *g;

	if (extra == NULL)
		extra = json_object();
	if ((g = json_object_get(extra, group)) == NULL || !json_is_object(g)) {
		g = json_object();
		json_object_set_new(extra, group, g);
	}
	bump(g, key, n);
}

void
etl_stats_set(const char *key, json_t *v)
{
	if (extra == NULL)
		extra = json_object();
	json_object_set_new(extra, key, v);
}

void
etl_stats_note(const char *fmt, ...)
{
	va_list ap;
	char s[512];

	va_start(ap, fmt);
	vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	etl_buf_adds(&notes, notes.len ? "; " : "");
	etl_buf_adds(&notes, s);
}

void
etl_status(int st)
{
	if (st > status)
		status = st;
}

static void
write_stats(void)
{
	struct etl_buf b = { 0 };
	json_t *o;
	int fd;

	o = json_object();
	json_object_set_new(o, "tool", json_string(etl_tool));
	json_object_set_new(o, "run_id", json_string(etl_run_id));
	json_object_set_new(o, "in", json_integer((json_int_t)etl_n_in));
	json_object_set_new(o, "out", json_integer((json_int_t)etl_n_out));
	json_object_set_new(o, "rejected",
	    json_integer((json_int_t)etl_n_rejected));
	json_object_set_new(o, "passed_rejects",
	    json_integer((json_int_t)etl_n_passed));
	json_object_set_new(o, "reasons",
	    reasons ? json_incref(reasons) : json_object());
	if (notes.len)
		json_object_set_new(o, "notes", json_string(etl_buf_cstr(&notes)));
	json_object_set_new(o, "status", json_integer(status));
	if (extra)
		json_object_update_missing(o, extra);
	etl_json_dump(&b, o);
	etl_buf_addc(&b, '\n');
	json_decref(o);
	fd = open(stats_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd == -1 || etl_write_all(fd, b.p, b.len) == -1 || close(fd) == -1) {
		etl_error("%s: %s", stats_path, strerror(errno));
		etl_status(ETL_EX_IOERR);
	}
	etl_buf_free(&b);
}

int
etl_finish(void)
{
	struct etl_buf b = { 0 };
	const char *k;
	json_t *v;
	int first = 1;

	etl_out_flush();
	etl_rejects_flush();
	if (etl_signalled) {
		etl_stats_note("interrupted by signal %d", (int)etl_signalled);
		etl_status(128 + (int)etl_signalled);
	}
	etl_buf_printf(&b, "%llu in, %llu out, %llu rejected", etl_n_in,
	    etl_n_out, etl_n_rejected);
	if (reasons && json_object_size(reasons)) {
		etl_buf_adds(&b, " (");
		json_object_foreach(reasons, k, v) {
			etl_buf_printf(&b, "%s%s %lld", first ? "" : ", ", k,
			    (long long)json_integer_value(v));
			first = 0;
		}
		etl_buf_adds(&b, ")");
	}
	if (etl_n_passed)
		etl_buf_printf(&b, ", %llu passed rejects", etl_n_passed);
	if (notes.len)
		etl_buf_printf(&b, "; %s", etl_buf_cstr(&notes));
	if (!etl_quiet) {
		json_t *f = json_pack("{sIsIsI}", "in", (json_int_t)etl_n_in,
		    "out", (json_int_t)etl_n_out, "rejected",
		    (json_int_t)etl_n_rejected);
		if (etl_n_passed)
			json_object_set_new(f, "passed_rejects",
			    json_integer((json_int_t)etl_n_passed));
		etl_log("info", f, "%s", etl_buf_cstr(&b));
		json_decref(f);
	}
	etl_buf_free(&b);
	if (stats_path)
		write_stats();
	if (close(STDOUT_FILENO) == -1 && errno != EBADF && errno != EINTR) {
		etl_error("stdout: %s", strerror(errno));
		etl_status(ETL_EX_IOERR);
	}
	return status;
}
