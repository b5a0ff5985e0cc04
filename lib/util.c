/* util.c - allocation that dies, growable buffers, splitting. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etl.h"

static void
enomem(void)
{
	etl_die(ETL_EX_SOFTWARE, "out of memory");
}

void *
emalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		enomem();
	return p;
}

void *
ecalloc(size_t n, size_t m)
{
	void *p;

	if ((p = calloc(n ? n : 1, m ? m : 1)) == NULL)
		enomem();
	return p;
}

void *
erealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		enomem();
	return p;
}

char *
estrdup(const char *s)
{
	return estrndup(s, strlen(s));
}

char *
estrndup(const char *s, size_t n)
{
	char *p;

	p = emalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
etl_buf_grow(struct etl_buf *b, size_t n)
{
	size_t cap;

	if (b->cap - b->len > n)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= n)
		cap *= 2;
	b->p = erealloc(b->p, cap);
	b->cap = cap;
}

void
etl_buf_adds(struct etl_buf *b, const char *s)
{
	etl_buf_add(b, s, strlen(s));
}

void
etl_buf_printf(struct etl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	etl_buf_grow(b, 64);
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		etl_buf_grow(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

const char *
etl_buf_cstr(struct etl_buf *b)
{
	etl_buf_grow(b, 1);
	b->p[b->len] = '\0';
	return b->p;
}

void
etl_buf_free(struct etl_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char **
etl_split(const char *s, int sep, size_t *np)
{
	char **v;
	const char *e;
	size_t n, i;

	for (n = 1, e = s; *e; e++)
		if (*e == sep)
			n++;
	v = ecalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		if ((e = strchr(s, sep)) == NULL)
			e = s + strlen(s);
		v[i] = estrndup(s, (size_t)(e - s));
		s = *e ? e + 1 : e;
	}
	if (np)
		*np = n;
	return v;
}

void
etl_split_free(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p; p++)
		free(*p);
	free(v);
}

int
etl_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
etl_blank(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

double
etl_arg_number(const char *opt, const char *arg, double min, double max)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(arg, &end);
	if (*arg == '\0' || *end != '\0' || errno || !(d >= min && d <= max)) {
		etl_error("%s %s: expected a number from %g to %g", opt, arg,
		    min, max);
		etl_usage();
	}
	return d;
}

int
etl_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
