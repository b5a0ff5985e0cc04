/*
 * reject.c - the reject channel: fd 3 when it was open at start, else the
 * file of --rejects, stdout with --rejects inline, else stderr.  Never
 * silently dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etl.h"
#include "scan.h"

void	etl_stats_reject(const json_t *reasons);

static int	 fd = -1;	/* where rejects go; -1 not decided yet */
static int	 inl;		/* --rejects inline */
static int	 fd3_open = -1;
static const char *path;
static struct etl_buf rbuf;
static struct etl_buf line;

/* Called by etl_init() before any file is opened, which could take fd 3. */
void
etl_rejects_probe(void)
{
	fd3_open = fcntl(3, F_GETFD) != -1;
}

void
etl_rejects_to(const char *p)
{
	path = p;
}

static void
decide(void)
{
	if (fd != -1 || inl)
		return;
	if (path && strcmp(path, "inline") == 0)
		inl = 1;
	else if (path) {
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
		if (fd == -1)
			etl_die(ETL_EX_CANTCREAT, "%s: %s", path, strerror(errno));
	} else if (fd3_open == 1)
		fd = 3;
	else
		fd = STDERR_FILENO;
}

void
etl_rejects_flush(void)
{
	if (rbuf.len == 0)
		return;
	if (etl_write_all(fd, rbuf.p, rbuf.len) == -1) {
		rbuf.len = 0;
		etl_die(ETL_EX_IOERR, "rejects%s%s: %s", path ? " " : "",
		    path ? path : "", strerror(errno));
	}
	rbuf.len = 0;
}

static void
emit(void)
{
	decide();
	if (inl) {
		static struct etl_buf b;

		b.len = 0;
		etl_buf_add(&b, ETL_REJECT_PREFIX, 9);
		etl_buf_add(&b, line.p, line.len);
		etl_out_line(b.p, b.len);
		return;
	}
	etl_buf_add(&rbuf, line.p, line.len);
	etl_buf_addc(&rbuf, '\n');
	/* Unbuffered on stderr, so a person sees them in order with logs. */
	if (rbuf.len >= 65536 || fd == STDERR_FILENO)
		etl_rejects_flush();
}

void
etl_reason(json_t **reasons, const char *p, const char *code,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (*reasons == NULL)
		*reasons = json_array();
	/*
	 * Unchecked: a path or code that is not UTF-8 (a CSV header in
	 * latin1) is written with U+FFFD for its bad bytes, not dropped.
	 */
	r = json_object();
	json_object_set_new_nocheck(r, "path", json_string_nocheck(p));
	json_object_set_new_nocheck(r, "code", json_string_nocheck(code));
	json_object_set_new_nocheck(r, "message",
	    json_stringn_nocheck(msg, etl_utf8_valid(msg, strlen(msg))));
	json_array_append_new(*reasons, r);
}

/*
 * The reasons as JSON.  A reason object shared by many rejects (a tool
 * may keep the reasons a repeated bad value gets) is written from text
 * kept here with a reference, so its address names it while kept;
 * reasons are not changed once made.
 */
static void
dump_reasons(const json_t *rs)
{
	static struct {
		json_t		*r;
		struct etl_buf	 text;
	} memo[16];
	json_t *r;
	size_t i, k;

	if (!json_is_array(rs)) {
		etl_json_dump(&line, rs);
		return;
	}
	etl_buf_addc(&line, '[');
	for (i = 0; i < json_array_size(rs); i++) {
		r = json_array_get(rs, i);
		if (i)
			etl_buf_addc(&line, ',');
		if (r->refcount < 2) {
			etl_json_dump(&line, r);
			continue;
		}
		k = ((uintptr_t)r >> 4) % 16;
		if (memo[k].r != r) {
			json_decref(memo[k].r);
			memo[k].r = json_incref(r);
			memo[k].text.len = 0;
			etl_json_dump(&memo[k].text, r);
		}
		etl_buf_add(&line, memo[k].text.p, memo[k].text.len);
	}
	etl_buf_addc(&line, ']');
}

/* The reject's head: {"tool":…,"run_id":…,"src":{…},"reasons":[…] */
static void
head(const char *file, unsigned long lineno, const json_t *reasons)
{
	static struct etl_buf pre;	/* up to the file, for the last file */
	static char *pre_file;
	char num[24];
	size_t n = sizeof(num);

	if (pre_file == NULL || strcmp(pre_file, file) != 0) {
		pre.len = 0;
		etl_buf_add(&pre, "{\"tool\":", 8);
		etl_json_string(&pre, etl_tool, strlen(etl_tool));
		etl_buf_add(&pre, ",\"run_id\":", 10);
		etl_json_string(&pre, etl_run_id, strlen(etl_run_id));
		etl_buf_add(&pre, ",\"src\":{\"file\":", 15);
		etl_json_string(&pre, file, strlen(file));
		etl_buf_add(&pre, ",\"line\":", 8);
		free(pre_file);
		pre_file = estrdup(file);
	}
	line.len = 0;
	etl_buf_add(&line, pre.p, pre.len);
	do
		num[--n] = (char)('0' + lineno % 10);
	while ((lineno /= 10) > 0);
	etl_buf_add(&line, num + n, sizeof(num) - n);
	etl_buf_add(&line, "},\"reasons\":", 12);
	dump_reasons(reasons);
}

static void
done(json_t *reasons)
{
	etl_stats_reject(reasons);
	json_decref(reasons);
	emit();
}

void
etl_reject(struct etl_rec *r, json_t *reasons)
{
	if (reasons == NULL)
		etl_reason(&reasons, "", "unknown", "rejected");
	head(r->file, r->line, reasons);
	if ((r->json && json_is_object(r->json)) || r->object) {
		etl_buf_add(&line, ",\"record\":", 10);
		etl_buf_add(&line, r->raw, r->len);
	} else {
		etl_buf_add(&line, ",\"raw\":", 7);
		etl_json_string(&line, r->raw, r->len);
	}
	etl_buf_addc(&line, '}');
	done(reasons);
}

void
etl_reject_json(const char *file, unsigned long lineno, const json_t *rec,
    json_t *reasons)
{
	head(file, lineno, reasons);
	etl_buf_add(&line, ",\"record\":", 10);
	etl_json_dump(&line, rec);
	etl_buf_addc(&line, '}');
	done(reasons);
}

void
etl_reject_raw(const char *file, unsigned long lineno, const char *raw,
    size_t len, json_t *reasons)
{
	head(file, lineno, reasons);
	etl_buf_add(&line, ",\"raw\":", 7);
	etl_json_string(&line, raw, len);
	etl_buf_addc(&line, '}');
	done(reasons);
}

/*
 * Only validated, never serialised again: the bytes are the upstream
 * tool's.  The scanner decides most lines without building a tree.
 */
int
etl_reject_pass(const char *p, size_t n)
{
	static struct etl_scan scan;
	const struct etl_field *f;
	json_error_t e;
	json_t *j;
	int ok;

	switch (etl_scan_object(&scan, p, n)) {
	case ETL_SCAN_OK:
		f = etl_scan_get(&scan, "reasons", 7);
		ok = f != NULL && f->type == 'a';
		break;
	case ETL_SCAN_UNSURE:
		j = etl_json_parse(p, n, &e);
		ok = json_is_array(json_object_get(j, "reasons"));
		json_decref(j);
		break;
	default:
		ok = 0;
	}
	if (!ok)
		return -1;
	etl_n_passed++;
	line.len = 0;
	etl_buf_add(&line, p, n);
	emit();
	return 0;
}
