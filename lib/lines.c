/*
 * lines.c - lines of any length.  Reads large blocks and finds line ends
 * in place; a line is copied only when it straddles two blocks.
 */
#include <string.h>
#include <stdlib.h>

#include "etl.h"

#define BLOCK	(256 * 1024)
#define KEEP	4096	/* bytes kept of a line longer than ETL_MAX_LINE */

struct etl_lines {
	struct etl_input *in;
	char		*buf;
	size_t		 cap, start, end;
	int		 eof;
	unsigned long	 lineno;
	char		 keep[KEEP];
};

struct etl_lines *
etl_lines_new(struct etl_input *in)
{
	struct etl_lines *l;

	l = ecalloc(1, sizeof(*l));
	l->in = in;
	l->cap = BLOCK;
	l->buf = emalloc(l->cap);
	return l;
}

/* Reads more after what is buffered; -1 error, 0 end, else bytes. */
static ssize_t
more(struct etl_lines *l)
{
	ssize_t n;

	if (l->start > 0 && (l->start == l->end || l->end == l->cap)) {
		memmove(l->buf, l->buf + l->start, l->end - l->start);
		l->end -= l->start;
		l->start = 0;
	}
	if (l->end == l->cap) {
		l->cap *= 2;
		l->buf = erealloc(l->buf, l->cap);
	}
	n = etl_input_read(l->in, l->buf + l->end, l->cap - l->end);
	if (n > 0)
		l->end += (size_t)n;
	else if (n == 0)
		l->eof = 1;
	return n;
}

/* Drops bytes up to the next newline; 1 found, 0 end, -1 error. */
static int
skip_rest(struct etl_lines *l)
{
	char *nl;
	ssize_t n;

	for (;;) {
		nl = memchr(l->buf + l->start, '\n', l->end - l->start);
		if (nl) {
			l->start = (size_t)(nl - l->buf) + 1;
			return 1;
		}
		l->start = l->end = 0;
		if ((n = more(l)) <= 0)
			return (int)n;
	}
}

int
etl_lines_next(struct etl_lines *l, const char **p, size_t *len, int *toolong)
{
	char *nl;
	size_t scanned = 0, n;
	ssize_t r;

	*toolong = 0;
	for (;;) {
		nl = memchr(l->buf + l->start + scanned, '\n',
		    l->end - l->start - scanned);
		if (nl) {
			n = (size_t)(nl - (l->buf + l->start));
			break;
		}
		scanned = l->end - l->start;
		if (l->eof) {
			if (scanned == 0)
				return 0;
			n = scanned;	/* a last line without its newline */
			nl = NULL;
			break;
		}
		if (scanned > ETL_MAX_LINE) {
			memcpy(l->keep, l->buf + l->start, KEEP);
			l->start = l->end;
			if (skip_rest(l) < 0)
				return -1;
			l->lineno++;
			*p = l->keep;
			*len = KEEP;
			*toolong = 1;
			return 1;
		}
		if ((r = more(l)) < 0)
			return -1;
	}
	*p = l->buf + l->start;
	l->start += n + (nl ? 1 : 0);
	l->lineno++;
	if (n > 0 && (*p)[n - 1] == '\r')
		n--;
	*len = n;
	return 1;
}

unsigned long
etl_lines_lineno(struct etl_lines *l)
{
	return l->lineno;
}

void
etl_lines_free(struct etl_lines *l)
{
	if (l == NULL)
		return;
	free(l->buf);
	free(l);
}
