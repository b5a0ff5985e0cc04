/*
 * etl-fetch - reads raw sources (files, directories, globs, stdin, URLs)
 * in NDJSON, JSON, CSV or TSV, compressed or not, and writes one NDJSON
 * record per row or object.  JSON arrays are cut into elements by a small
 * scanner, so memory holds one element, never the document.
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <iconv.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <csv.h>
#include <curl/curl.h>

#include "etl.h"

static const char usage_text[] =
"usage: etl-fetch [-hq] [-d C] [-f ndjson|json|csv|tsv] [-w EXPR] [--columns LIST]\n"
"                 [--encoding NAME] [--fields LIST] [--json-path PATH]\n"
"                 [--no-header] [--provenance] [--replay FILE] [--retries N]\n"
"                 [--timeout S] [--rejects FILE | inline] [--stats FILE]\n"
"                 [SOURCE ...]\n";

static const char help_text[] =
"  -d, --delimiter C      CSV field separator (default: sniffed; TSV: tab)\n"
"  -f, --format FMT       ndjson, json, csv or tsv (default: by name, then content)\n"
"  -w, --where EXPR       prune Hive directories: KEY=V, KEY!=V, KEY<V, KEY<=V,\n"
"                         KEY>V, KEY>=V (repeatable, all must hold)\n"
"      --columns LIST     names of the CSV columns, comma-separated\n"
"      --encoding NAME    CSV/TSV character set, converted to UTF-8 (iconv)\n"
"      --fields LIST      keep only these fields, in this order\n"
"      --json-path PATH   the records are the array under KEY[.KEY...]\n"
"      --no-header        the first CSV row is data\n"
"      --provenance       add \"_src\":{\"file\":...,\"line\":...}\n"
"      --replay FILE      emit the records of a reject file (repeatable)\n"
"      --retries N        URL attempts after the first (default 3)\n"
"      --timeout S        give up a URL after S seconds in all (default none)\n"
"  -q, --quiet            errors only\n"
"      --rejects FILE     rejects to FILE (default fd 3, else stderr)\n"
"      --stats FILE       write the final stats as JSON\n";

enum fmt { F_AUTO, F_NDJSON, F_JSON, F_CSV, F_TSV, F_JSONISH };

enum {
	OPT_COLUMNS = ETL_OPT_TOOL,
	OPT_ENCODING,
	OPT_FIELDS,
	OPT_JSON_PATH,
	OPT_NO_HEADER,
	OPT_PROVENANCE,
	OPT_REPLAY,
	OPT_RETRIES,
	OPT_TIMEOUT
};

#define BLK		(256 * 1024)
#define KEEP		4096		/* bytes kept of an oversized value */
#define MAXDECODE	4		/* strings holding strings holding JSON */

struct where {
	char	*key;
	char	*val;
	int	 op;	/* '=', '!', '<', 'l' (<=), '>', 'g' (>=) */
};

struct hive {
	char	*key;
	char	*val;	/* NULL: Hive's default partition, read as null */
};

/* One byte stream being read. */
struct src {
	const char	*name;
	struct etl_input *in;
	struct hive	*hive;
	size_t		 nhive;
	uint64_t	 size;		/* 0 when unknown */
	int		 depth;		/* decodings of a double-encoded string */
};

static struct {
	enum fmt	 fmt;
	char		**jpath;
	const char	*jpath_arg;
	size_t		 njpath;
	int		 delim;
	int		 noheader;
	char		**columns;
	size_t		 ncolumns;
	const char	*encoding;
	struct where	*where;
	size_t		 nwhere;
	char		**fields;
	size_t		 nfields;
	int		 provenance;
	long		 retries;
	double		 timeout;
} opt = { .retries = 3 };

static unsigned long long nfiles, npruned, nbytes, nempty;
static struct etl_buf tmp;

static void	read_input(struct src *, enum fmt);


/* The status a failed read leaves: corrupt data 65, else 74. */
static void
read_failed(struct src *s, unsigned long line)
{
	const char *e = etl_input_error(s->in);

	etl_error("%s:%lu: %s", s->name, line, e);
	etl_status(etl_input_status(s->in));
}

static json_t *
parse_record(const char *p, size_t n, json_error_t *e)
{
	json_t *j;

	/* Integers stay integers; only beyond 64 bits do they become reals. */
	j = json_loadb(p, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, e);
	if (j == NULL && strstr(e->text, "too big") != NULL)
		j = etl_json_parse(p, n, e);
	return j;
}

static int
modifying(const struct src *s)
{
	return s->nhive > 0 || opt.nfields > 0 || opt.provenance;
}

static void
reject_raw(const char *file, unsigned long line, const char *p, size_t n,
    const char *code, const char *fmt, const char *arg)
{
	json_t *rs = NULL;

	etl_reason(&rs, "", code, fmt, arg);
	etl_reject_raw(file, line, p, n, rs);
}

/*
 * Hive fields replace the record's own, --fields projects in its order,
 * _src comes last.  Steals o; returns a new reference.
 */
static json_t *
shape(const struct src *s, const json_t *srcobj, const char *file,
    unsigned long line, json_t *o)
{
	json_t *r, *v;
	size_t i;

	for (i = 0; i < s->nhive; i++)
		json_object_set_new(o, s->hive[i].key, s->hive[i].val ?
		    json_stringn_nocheck(s->hive[i].val,
		    strlen(s->hive[i].val)) : json_null());
	if (opt.nfields) {
		r = json_object();
		for (i = 0; i < opt.nfields; i++)
			if ((v = json_object_get(o, opt.fields[i])) != NULL)
				json_object_set(r, opt.fields[i], v);
		json_decref(o);
		o = r;
	}
	if (opt.provenance) {
		if (srcobj)
			json_object_set(o, "_src", (json_t *)srcobj);
		else
			json_object_set_new(o, "_src", json_pack("{s:o,s:I}",
			    "file", json_stringn_nocheck(file, strlen(file)),
			    "line", (json_int_t)line));
	}
	return o;
}

static const struct hive *hive_find(const struct src *, const char *);

/* Would adding the Hive fields or _src replace one of the record's own? */
static int
clashes(const struct src *s, json_t *o)
{
	size_t i;

	for (i = 0; i < s->nhive; i++)
		if (json_object_get(o, s->hive[i].key) != NULL)
			return 1;
	return opt.provenance && json_object_get(o, "_src") != NULL;
}

/*
 * A record out: as it came when nothing is added; with fields added to
 * its text when they are new, so its numbers stay exactly as written;
 * else rebuilt.  o borrowed.
 */
static void
emit_object(const struct src *s, unsigned long line, const char *p, size_t n,
    json_t *o)
{
	const struct hive *h;
	size_t i;
	int first;

	if (!modifying(s)) {
		etl_out_raw(p, n);
		return;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	if (opt.nfields == 0 && !clashes(s, o) && n > 0 && p[n - 1] == '}') {
		tmp.len = 0;
		etl_buf_add(&tmp, p, n - 1);
		first = json_object_size(o) == 0;
		for (i = 0; i < s->nhive; i++) {
			h = &s->hive[i];
			if (hive_find(s, h->key) != h)
				continue;
			if (!first)
				etl_buf_addc(&tmp, ',');
			first = 0;
			etl_json_string(&tmp, h->key, strlen(h->key));
			etl_buf_addc(&tmp, ':');
			if (h->val)
				etl_json_string(&tmp, h->val, strlen(h->val));
			else
				etl_buf_adds(&tmp, "null");
		}
		if (opt.provenance) {
			etl_buf_adds(&tmp, first ? "\"_src\":{\"file\":" :
			    ",\"_src\":{\"file\":");
			etl_json_string(&tmp, s->name, strlen(s->name));
			etl_buf_printf(&tmp, ",\"line\":%lu}", line);
		}
		etl_buf_addc(&tmp, '}');
		etl_out_raw(tmp.p, tmp.len);
		return;
	}
	o = shape(s, NULL, s->name, line, json_incref(o));
	tmp.len = 0;
	etl_json_dump(&tmp, o);
	etl_out_raw(tmp.p, tmp.len);
	json_decref(o);
}

/* NDJSON: one record a line, passed byte for byte when nothing is added. */
static void
read_ndjson(struct src *s)
{
	struct etl_lines *l;
	struct etl_rec r;
	json_error_t e;
	json_t *o, *rs;
	const char *p;
	size_t n;
	int st = 0, toolong;

	l = etl_lines_new(s->in);
	while (!etl_signalled && (st = etl_lines_next(l, &p, &n, &toolong)) == 1) {
		if (etl_blank(p, n))
			continue;
		/* An upstream tool's reject goes on as it came (etl(7)). */
		if (!toolong && etl_reject_prefixed(p, n) &&
		    etl_reject_pass(p + 9, n - 9) == 0)
			continue;
		etl_count_in(1);
		if ((etl_n_in & 4095) == 0)
			etl_progress_tick();
		memset(&r, 0, sizeof(r));
		r.file = s->name;
		r.line = etl_lines_lineno(l);
		r.raw = p;
		r.len = n;
		r.parsed = 1;
		rs = NULL;
		if (toolong) {
			etl_reason(&rs, "", "size",
			    "line longer than %zu bytes (first bytes kept)",
			    ETL_MAX_LINE);
			etl_reject(&r, rs);
			continue;
		}
		if ((o = parse_record(p, n, &e)) == NULL) {
			etl_reason(&rs, "", "parse", "column %d: %s", e.column,
			    e.text);
			etl_reject(&r, rs);
			continue;
		}
		if (!json_is_object(o)) {
			etl_reason(&rs, "", "parse", "not a JSON object");
			etl_reject(&r, rs);
		} else
			emit_object(s, r.line, p, n, o);
		json_decref(o);
	}
	if (!etl_signalled && st == -1)
		read_failed(s, etl_lines_lineno(l) + 1);
	etl_lines_free(l);
}

/*
 * JSON: a scanner that finds each value's bytes (strings, escapes and
 * bracket depth tracked), keeps them without the blanks between tokens,
 * and hands one element at a time to jansson.
 */
struct jr {
	struct src	*s;
	char		*buf;
	size_t		 pos, len;
	int		 eof, err;
	unsigned long	 line;		/* of the next byte */
	unsigned long	 vline;		/* where the last value began */
	struct etl_buf	 el;
	int		 keep, toolong;
	int		 found;		/* --json-path matched */
	int		 warned;
};

static int
jfill(struct jr *j)
{
	ssize_t n;

	if (j->eof || j->err)
		return 0;
	if (j->s == NULL || etl_signalled) {
		j->eof = 1;
		return 0;
	}
	n = etl_input_read(j->s->in, j->buf, BLK);
	if (n <= 0) {
		if (n < 0)
			j->err = 1;
		j->eof = 1;
		return 0;
	}
	j->pos = 0;
	j->len = (size_t)n;
	etl_progress_tick();
	return 1;
}

static inline int
jpeek(struct jr *j)
{
	if (j->pos == j->len && !jfill(j))
		return -1;
	return (unsigned char)j->buf[j->pos];
}

static inline int
jget(struct jr *j)
{
	int c;

	if ((c = jpeek(j)) >= 0) {
		j->pos++;
		if (c == '\n')
			j->line++;
	}
	return c;
}

static inline void
jadd(struct jr *j, int c)
{
	if (!j->keep)
		return;
	if (j->el.len < ETL_MAX_LINE)
		etl_buf_addc(&j->el, c);
	else
		j->toolong = 1;
}

static int
jws(struct jr *j)
{
	int c;

	while ((c = jpeek(j)) == ' ' || c == '\t' || c == '\n' || c == '\r')
		jget(j);
	return c;
}

/* The rest of a string after its quote: 1, or -1 at the end of input. */
static int
jstring(struct jr *j)
{
	const char *q, *e;
	int c;

	for (;;) {
		/* Plain runs copied at once: strings are most of the bytes. */
		if (j->pos < j->len) {
			q = j->buf + j->pos;
			e = j->buf + j->len;
			while (q < e && *q != '"' && *q != '\\' && *q != '\n')
				q++;
			if (j->keep && q > j->buf + j->pos) {
				size_t n = (size_t)(q - (j->buf + j->pos));

				if (j->el.len + n <= ETL_MAX_LINE)
					etl_buf_add(&j->el, j->buf + j->pos, n);
				else
					j->toolong = 1;
			}
			j->pos = (size_t)(q - j->buf);
		}
		if ((c = jget(j)) < 0)
			return -1;
		jadd(j, c);
		if (c == '"')
			return 1;
		if (c == '\\') {
			if ((c = jget(j)) < 0)
				return -1;
			jadd(j, c);
		}
	}
}

/*
 * Scans the next value into j->el (when keep): 1 done, 0 no value before
 * the end, -1 the input ended inside it.  A stray ',' ']' '}' or ':' is a
 * value of its own, so the caller always moves on.
 */
static int
jvalue(struct jr *j, int keep)
{
	int c, depth;

	j->keep = keep;
	j->toolong = 0;
	j->el.len = 0;
	if ((c = jws(j)) < 0)
		return 0;
	j->vline = j->line;
	c = jget(j);
	jadd(j, c);
	switch (c) {
	case '{':
	case '[':
		for (depth = 1; depth > 0; ) {
			if ((c = jget(j)) < 0)
				return -1;
			if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
				continue;
			jadd(j, c);
			if (c == '"') {
				if (jstring(j) < 0)
					return -1;
			} else if (c == '{' || c == '[')
				depth++;
			else if (c == '}' || c == ']')
				depth--;
		}
		return 1;
	case '"':
		return jstring(j) < 0 ? -1 : 1;
	case ',':
	case ']':
	case '}':
	case ':':
		return 1;
	default:
		while ((c = jpeek(j)) >= 0 && strchr(" \t\r\n,]}:[{\"", c) == NULL)
			jadd(j, jget(j));
		return 1;
	}
}

/* The value just scanned, as one record. */
static void
jrecord(struct jr *j)
{
	json_error_t e;
	json_t *o, *rs = NULL;
	char msg[300];

	etl_count_in(1);
	if (j->toolong) {
		etl_reason(&rs, "", "size",
		    "value longer than %zu bytes (first bytes kept)", ETL_MAX_LINE);
		etl_reject_raw(j->s->name, j->vline, j->el.p, KEEP, rs);
		return;
	}
	if ((o = parse_record(j->el.p, j->el.len, &e)) == NULL) {
		snprintf(msg, sizeof(msg), "%s", e.text);
		reject_raw(j->s->name, j->vline, j->el.p, j->el.len, "parse",
		    "%s", msg);
		return;
	}
	if (!json_is_object(o))
		reject_raw(j->s->name, j->vline, j->el.p, j->el.len, "parse",
		    "%s", "not a JSON object");
	else
		emit_object(j->s, j->vline, j->el.p, j->el.len, o);
	json_decref(o);
}

/* The input ended inside a value: what was read of it is rejected. */
static void
jtruncated(struct jr *j)
{
	etl_count_in(1);
	reject_raw(j->s->name, j->vline, j->el.p, j->el.len < KEEP ?
	    j->el.len : KEEP, "parse", "%s", "unexpected end of input");
}

static void
jwarn(struct jr *j, const char *what)
{
	if (j->warned++ == 0)
		etl_warn("%s:%lu: %s", j->s->name, j->line, what);
}

/* The elements of an array whose '[' was read; -1 when input ended early. */
static int
jarray(struct jr *j)
{
	int c, r, comma = 0;

	for (;;) {
		if ((c = jws(j)) == ']') {
			/* JSON has no trailing ',': a reject, never silence. */
			if (comma) {
				etl_count_in(1);
				reject_raw(j->s->name, j->line, ",", 1, "parse",
				    "%s", "a ',' before the array's ']': JSON "
				    "allows none (the elements before it are "
				    "read)");
			}
			jget(j);
			return 0;
		}
		if ((r = jvalue(j, 1)) == 0) {
			jwarn(j, "array not closed");
			return -1;
		}
		if (r < 0) {
			jtruncated(j);
			return -1;
		}
		jrecord(j);
		if ((c = jws(j)) == ',') {
			jget(j);
			comma = 1;
			continue;
		}
		if (c == ']') {
			jget(j);
			return 0;
		}
		if (c < 0) {
			jwarn(j, "array not closed");
			return -1;
		}
		jwarn(j, "missing ',' between array elements");
	}
}

static int
jdecode_key(struct jr *j, struct etl_buf *key)
{
	json_error_t e;
	json_t *k;

	key->len = 0;
	if (j->el.len == 0 || j->el.p[0] != '"' ||
	    (k = json_loadb(j->el.p, j->el.len, JSON_DECODE_ANY, &e)) == NULL)
		return -1;
	etl_buf_add(key, json_string_value(k), json_string_length(k));
	etl_buf_addc(key, '\0');
	json_decref(k);
	return 0;
}

/* Members of an object whose '{' was read, down --json-path. */
static int
jpath(struct jr *j, size_t level)
{
	struct etl_buf key = { 0 };
	const char *want = opt.jpath[level];
	int c, r = 0;

	for (;;) {
		if ((c = jws(j)) == '}') {
			jget(j);
			break;
		}
		if (c < 0 || jvalue(j, 1) <= 0 || jdecode_key(j, &key) < 0 ||
		    jws(j) != ':') {
			r = -1;
			break;
		}
		jget(j);
		if (strlen(key.p) == key.len - 1 && strcmp(key.p, want) == 0) {
			j->found |= level + 1 == opt.njpath;
			c = jws(j);
			if (level + 1 == opt.njpath && c == '[') {
				jget(j);
				if (jarray(j) < 0) {
					r = -2;
					break;
				}
			} else if (level + 1 < opt.njpath && c == '{') {
				jget(j);
				if ((r = jpath(j, level + 1)) < 0)
					break;
			} else if (level + 1 == opt.njpath) {
				if ((r = jvalue(j, 1)) < 0) {
					jtruncated(j);
					r = -2;
					break;
				}
				jrecord(j);
			} else if (jvalue(j, 0) < 0) {
				r = -1;
				break;
			}
		} else if (jvalue(j, 0) < 0) {
			r = -1;
			break;
		}
		if ((c = jws(j)) == ',') {
			jget(j);
			continue;
		}
		if (c == '}') {
			jget(j);
			break;
		}
		r = -1;
		break;
	}
	if (r == -1) {
		etl_error("%s:%lu: not a JSON object where --json-path leads",
		    j->s->name, j->line);
		etl_status(ETL_EX_DATAERR);
	}
	etl_buf_free(&key);
	return r;
}

static int
tmpfd(void)
{
	const char *d = getenv("TMPDIR");
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/etl-fetch.XXXXXX", d && *d ? d : "/tmp");
	if ((fd = mkstemp(path)) == -1)
		etl_die(ETL_EX_CANTCREAT, "%s: %s", path, strerror(errno));
	unlink(path);
	return fd;
}

/* A document that is a JSON string holding JSON: decoded and read again. */
static void
jdecode_doc(struct jr *j)
{
	struct src sub;
	json_error_t e;
	json_t *str;
	const char *p;
	size_t n, i;
	int fd;

	str = json_loadb(j->el.p, j->el.len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    &e);
	p = json_string_value(str);
	n = json_string_length(str);
	for (i = 0; p && i < n && strchr(" \t\r\n", p[i]); i++)
		;
	if (str == NULL || j->s->depth >= MAXDECODE || i == n ||
	    strchr("[{\"", p[i]) == NULL) {
		etl_count_in(1);
		reject_raw(j->s->name, j->vline, j->el.p, j->el.len < KEEP ?
		    j->el.len : KEEP, "parse", "%s", str ? "not a JSON object" :
		    e.text);
		json_decref(str);
		return;
	}
	etl_warn("%s:%lu: the document is a JSON string holding JSON; "
	    "decoded once more", j->s->name, j->vline);
	fd = tmpfd();
	if (etl_write_all(fd, p, n) == -1 || lseek(fd, 0, SEEK_SET) == -1)
		etl_die(ETL_EX_IOERR, "temporary file: %s", strerror(errno));
	json_decref(str);
	sub = *j->s;
	sub.depth++;
	sub.in = etl_input_fd(fd, j->s->name);
	read_input(&sub, F_JSONISH);
	etl_input_close(sub.in);
}

static void
read_json(struct src *s)
{
	struct jr j;
	int c, r, objects = 0;

	memset(&j, 0, sizeof(j));
	j.s = s;
	j.line = 1;
	j.buf = emalloc(BLK);
	/* A stream of values: arrays give their elements, objects themselves. */
	while (!etl_signalled && (c = jws(&j)) >= 0) {
		if (c == '[') {
			jget(&j);
			if (jarray(&j) < 0)
				break;
		} else if (c == '{' && opt.njpath) {
			jget(&j);
			objects++;
			if (jpath(&j, 0) < 0)
				break;
		} else if ((r = jvalue(&j, 1)) < 0) {
			jtruncated(&j);
			break;
		} else if (c == '"' && !j.toolong)
			jdecode_doc(&j);
		else
			jrecord(&j);
	}
	if (j.err)
		read_failed(s, j.line);
	else if (objects && !j.found) {
		etl_error("%s: nothing at --json-path %s", s->name,
		    opt.jpath_arg);
		etl_status(ETL_EX_DATAERR);
	}
	etl_buf_free(&j.el);
	free(j.buf);
}

/*
 * CSV and TSV through libcsv.  The bytes are fed a line at a time so each
 * row knows the line it began on and its raw text for a reject.
 */
struct col {
	struct etl_buf	 key;	/* "name": */
	int		 field;	/* index in the row, -1 for a constant */
	struct etl_buf	 val;	/* the constant's JSON */
};

struct csvr {
	struct src	*s;
	struct csv_parser p;
	int		 header;	/* the next row names the fields */
	size_t		 ncols;		/* 0: not known yet */
	char		**names;
	struct col	*cols;
	size_t		 ncol;
	struct etl_buf	 src;		/* ,"_src":{"file":"…","line": */
	struct etl_buf	 row;		/* the field values */
	size_t		*off, *len, nf, cap;
	struct etl_buf	 raw;
	int		 rowdone;	/* the next bytes begin a row */
	unsigned long	 line, rowline;
	struct etl_buf	 out;
	int		 bom, badutf8;
	char		 cut[4];	/* a character cut by a block's end */
	size_t		 ncut;
	int		 delim;
};

/*
 * When a row does not split into the header's fields, whether another
 * delimiter would split its first line into as many: the hint a person
 * needs (rows in ';' under a ',' header), or "".
 */
static const char *
delim_hint(const struct csvr *c, const char *raw, size_t n)
{
	static char hint[96];
	const char *cand = ",;\t|", *e;
	size_t k;

	if ((e = memchr(raw, '\n', n)) != NULL)
		n = (size_t)(e - raw);
	for (; *cand; cand++) {
		if (*cand == c->delim)
			continue;
		for (k = 0, e = raw; e < raw + n; e++)
			k += *e == *cand;
		if (k > 0 && k + 1 == c->ncols) {
			snprintf(hint, sizeof(hint), "; split on '%s' it has "
			    "%zu: is that the delimiter? (-d '%s')",
			    *cand == '\t' ? "\\t" : (char[]){ *cand, 0 },
			    c->ncols, *cand == '\t' ? "\\t" :
			    (char[]){ *cand, 0 });
			return hint;
		}
	}
	return "";
}

static void
csv_field(void *p, size_t n, void *arg)
{
	struct csvr *c = arg;

	if (c->nf == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->off = erealloc(c->off, c->cap * sizeof(*c->off));
		c->len = erealloc(c->len, c->cap * sizeof(*c->len));
	}
	c->off[c->nf] = c->row.len;
	c->len[c->nf] = n;
	c->nf++;
	if (n > 0)
		etl_buf_add(&c->row, p, n);
}

/* Hive's value for the key, the deepest directory's; NULL when none. */
static const struct hive *
hive_find(const struct src *s, const char *key)
{
	size_t i;

	for (i = s->nhive; i > 0; i--)
		if (strcmp(s->hive[i - 1].key, key) == 0)
			return &s->hive[i - 1];
	return NULL;
}

static void
col_add(struct csvr *c, const char *name, int field, const struct hive *h)
{
	struct col *k;

	c->cols = erealloc(c->cols, (c->ncol + 1) * sizeof(*c->cols));
	k = &c->cols[c->ncol++];
	memset(k, 0, sizeof(*k));
	etl_json_string(&k->key, name, strlen(name));
	etl_buf_addc(&k->key, ':');
	k->field = field;
	if (h && h->val)
		etl_json_string(&k->val, h->val, strlen(h->val));
	else if (h)
		etl_buf_adds(&k->val, "null");
}

/* Field names: the header's, --columns, or column1…; repeats get _2, _3. */
static void
csv_names(struct csvr *c)
{
	struct etl_buf b = { 0 };
	size_t i, j, k;
	char *nm;

	c->ncols = opt.ncolumns ? opt.ncolumns : c->nf;
	c->names = ecalloc(c->ncols + 1, sizeof(*c->names));
	for (i = 0; i < c->ncols; i++) {
		if (opt.ncolumns)
			nm = estrdup(opt.columns[i]);
		else if (!opt.noheader && c->len[i] > 0)
			nm = estrndup(c->row.p + c->off[i], c->len[i]);
		else {
			nm = emalloc(32);
			snprintf(nm, 32, "column%zu", i + 1);
		}
		for (k = 1; ; k++) {
			b.len = 0;
			etl_buf_adds(&b, nm);
			if (k > 1)
				etl_buf_printf(&b, "_%zu", k);
			for (j = 0; j < i; j++)
				if (strcmp(c->names[j], etl_buf_cstr(&b)) == 0)
					break;
			if (j == i)
				break;
		}
		free(nm);
		c->names[i] = estrdup(etl_buf_cstr(&b));
	}
	etl_buf_free(&b);
}

/* What each record is made of: columns, Hive constants, in output order. */
static void
csv_plan(struct csvr *c)
{
	const struct hive *h;
	size_t i, j;

	if (opt.nfields) {
		for (i = 0; i < opt.nfields; i++) {
			if ((h = hive_find(c->s, opt.fields[i])) != NULL) {
				col_add(c, opt.fields[i], -1, h);
				continue;
			}
			for (j = 0; j < c->ncols; j++)
				if (strcmp(c->names[j], opt.fields[i]) == 0) {
					col_add(c, opt.fields[i], (int)j, NULL);
					break;
				}
		}
		return;
	}
	for (j = 0; j < c->ncols; j++)
		if (hive_find(c->s, c->names[j]) == NULL)
			col_add(c, c->names[j], (int)j, NULL);
	for (i = 0; i < c->s->nhive; i++)
		if (hive_find(c->s, c->s->hive[i].key) == &c->s->hive[i])
			col_add(c, c->s->hive[i].key, -1, &c->s->hive[i]);
}

static void
csv_row(int term, void *arg)
{
	struct csvr *c = arg;
	struct col *k;
	json_t *rs = NULL;
	size_t i, n;

	(void)term;
	c->rowdone = 1;
	if (c->ncols == 0) {
		csv_names(c);
		csv_plan(c);
		if (!opt.noheader) {
			c->nf = c->row.len = 0;
			return;
		}
	}
	etl_count_in(1);
	if (c->nf != c->ncols) {
		n = c->raw.len;
		while (n > 0 && (c->raw.p[n - 1] == '\n' || c->raw.p[n - 1] == '\r'))
			n--;
		etl_reason(&rs, "", "columns", "expected %zu fields, got %zu%s",
		    c->ncols, c->nf, delim_hint(c, c->raw.p, n));
		etl_reject_raw(c->s->name, c->rowline, c->raw.p, n, rs);
	} else {
		c->out.len = 0;
		etl_buf_addc(&c->out, '{');
		for (i = 0; i < c->ncol; i++) {
			k = &c->cols[i];
			if (i > 0)
				etl_buf_addc(&c->out, ',');
			etl_buf_add(&c->out, k->key.p, k->key.len);
			if (k->field >= 0 && c->len[k->field] == 0)
				etl_buf_add(&c->out, "\"\"", 2);	/* row.p may be NULL */
			else if (k->field >= 0)
				etl_json_string(&c->out, c->row.p + c->off[k->field],
				    c->len[k->field]);
			else
				etl_buf_add(&c->out, k->val.p, k->val.len);
		}
		if (opt.provenance) {
			if (c->ncol > 0)
				etl_buf_addc(&c->out, ',');
			etl_buf_add(&c->out, c->src.p, c->src.len);
			etl_buf_printf(&c->out, "%lu}", c->rowline);
		}
		etl_buf_addc(&c->out, '}');
		etl_out_raw(c->out.p, c->out.len);
	}
	c->nf = c->row.len = 0;
}

static int
csv_nospace(unsigned char ch)
{
	(void)ch;
	return 0;	/* values are kept as they are; trimming is etl-clean's */
}

/* Warns, once, of bytes that are not UTF-8 from that line on. */
static void
csv_badutf8(struct csvr *c, unsigned long line)
{
	c->badutf8 = 1;
	c->ncut = 0;
	etl_warn("%s:%lu: bytes that are not UTF-8 become U+FFFD "
	    "(see --encoding)", c->s->name, line);
}

/*
 * Warns, once, of bytes that are not UTF-8: they become U+FFFD in the
 * fields that hold them.  A character cut by the end of a block is
 * checked whole with the start of the next.
 */
static void
csv_utf8(struct csvr *c, const char *p, size_t n)
{
	unsigned long line = c->line;
	char t[4];
	size_t k = 0, m, i;

	if (c->badutf8)
		return;
	if (c->ncut > 0) {
		memcpy(t, c->cut, m = c->ncut);
		for (i = 0; i < n && m < 4; )
			t[m++] = p[i++];
		if ((k = etl_utf8_valid(t, m)) <= c->ncut) {
			if (i == n && etl_utf8_partial(t, m)) {
				memcpy(c->cut, t, c->ncut = m);
				return;		/* still cut */
			}
			goto bad;
		}
		k -= c->ncut;
		c->ncut = 0;
	}
	k += etl_utf8_valid(p + k, n - k);
	if (k == n)
		return;
	if (etl_utf8_partial(p + k, n - k)) {
		memcpy(c->cut, p + k, c->ncut = n - k);
		return;
	}
	for (i = 0; i < k; i++)
		line += p[i] == '\n';
bad:
	csv_badutf8(c, line);
}

static void
csv_feed(struct csvr *c, const char *p, size_t n)
{
	const char *nl, *e;
	size_t k;

	if (!c->bom) {
		c->bom = 1;
		if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
			p += 3;
			n -= 3;
		}
	}
	csv_utf8(c, p, n);
	for (e = p + n; p < e; p += k) {
		nl = memchr(p, '\n', (size_t)(e - p));
		k = nl ? (size_t)(nl - p) + 1 : (size_t)(e - p);
		if (c->rowdone && !(k == 1 && *p == '\n') &&
		    !(k == 2 && p[0] == '\r' && p[1] == '\n')) {
			c->rowdone = 0;
			c->rowline = c->line;
			c->raw.len = 0;
		}
		if (c->raw.len < 16 * KEEP)
			etl_buf_add(&c->raw, p, k);
		if (csv_parse(&c->p, p, k, csv_field, csv_row, c) != k)
			etl_die(ETL_EX_SOFTWARE, "%s:%lu: %s", c->s->name, c->line,
			    csv_strerror(csv_error(&c->p)));
		if (nl)
			c->line++;
	}
}

/*
 * Ends the parse.  A quoted field still open at the end of the input is
 * the rest of the file swallowed by a stray quote: that row is a parse
 * reject, not a record.  Strict mode is set only here, so libcsv's
 * lenient reading of other stray quotes is kept.
 */
static void
csv_end(struct csvr *c)
{
	json_t *rs = NULL;
	size_t n;

	if (c->ncut > 0 && !c->badutf8)
		csv_badutf8(c, c->line);	/* the input ends inside one */
	csv_set_opts(&c->p, CSV_STRICT | CSV_STRICT_FINI);
	if (csv_fini(&c->p, csv_field, csv_row, c) == 0)
		return;
	etl_count_in(1);
	n = c->raw.len;
	while (n > 0 && (c->raw.p[n - 1] == '\n' || c->raw.p[n - 1] == '\r'))
		n--;
	etl_reason(&rs, "", "parse", "quoted field not closed at end of "
	    "input%s", delim_hint(c, c->raw.p, n));
	etl_reject_raw(c->s->name, c->rowline, c->raw.p, n, rs);
	c->nf = c->row.len = 0;
}

/* Converts to UTF-8 and feeds; returns how many bytes wait for more. */
static size_t
csv_convert(struct csvr *c, iconv_t cd, char *raw, size_t n, int eof)
{
	static char ubuf[BLK];
	char *ip = raw, *op;
	size_t il = n, ol, r;

	while (il > 0 || eof) {
		op = ubuf;
		ol = sizeof(ubuf);
		r = il > 0 ? iconv(cd, &ip, &il, &op, &ol) :
		    iconv(cd, NULL, NULL, &op, &ol);
		if (op > ubuf)
			csv_feed(c, ubuf, (size_t)(op - ubuf));
		if (r != (size_t)-1) {
			if (il == 0)
				break;
			continue;
		}
		if (errno == E2BIG)
			continue;
		if (errno == EINVAL && !eof)
			break;
		if (il == 0)
			break;
		if (!c->badutf8) {
			c->badutf8 = 1;
			etl_warn("%s:%lu: bytes that are not %s become U+FFFD",
			    c->s->name, c->line, opt.encoding);
		}
		csv_feed(c, "\xef\xbf\xbd", 3);
		ip++;
		il--;
	}
	memmove(raw, ip, il);
	return il;
}

static void
read_csv(struct src *s, int delim)
{
	struct csvr c;
	iconv_t cd = (iconv_t)-1;
	char *raw;
	size_t rlen = 0, i;
	ssize_t n;

	memset(&c, 0, sizeof(c));
	c.s = s;
	c.line = 1;
	c.rowdone = 1;
	if (csv_init(&c.p, 0) != 0)
		etl_die(ETL_EX_SOFTWARE, "out of memory");
	csv_set_delim(&c.p, (unsigned char)delim);
	c.delim = delim;
	csv_set_space_func(&c.p, csv_nospace);
	etl_buf_adds(&c.src, "\"_src\":{\"file\":");
	etl_json_string(&c.src, s->name, strlen(s->name));
	etl_buf_adds(&c.src, ",\"line\":");
	if (opt.encoding && (cd = iconv_open("UTF-8", opt.encoding)) ==
	    (iconv_t)-1)
		etl_die(ETL_EX_USAGE, "%s: unknown encoding", opt.encoding);
	raw = emalloc(BLK);
	for (;;) {
		if (etl_signalled)
			break;
		if ((n = etl_input_read(s->in, raw + rlen, BLK - rlen)) < 0) {
			read_failed(s, c.line);
			break;
		}
		etl_progress_tick();
		rlen += (size_t)n;
		if (cd == (iconv_t)-1) {
			if (rlen > 0)
				csv_feed(&c, raw, rlen);
			rlen = 0;
		} else
			rlen = csv_convert(&c, cd, raw, rlen, n == 0);
		if (n == 0)
			break;
	}
	if (!etl_signalled)
		csv_end(&c);
	csv_free(&c.p);
	if (cd != (iconv_t)-1)
		iconv_close(cd);
	free(raw);
	for (i = 0; i < c.ncol; i++) {
		etl_buf_free(&c.cols[i].key);
		etl_buf_free(&c.cols[i].val);
	}
	free(c.cols);
	for (i = 0; i < c.ncols; i++)
		free(c.names[i]);
	free(c.names);
	free(c.off);
	free(c.len);
	etl_buf_free(&c.src);
	etl_buf_free(&c.row);
	etl_buf_free(&c.raw);
	etl_buf_free(&c.out);
}

/* The format of a name, after .zst and .gz; F_AUTO when it says nothing. */
static enum fmt
fmt_of_name(const char *name)
{
	static const struct {
		const char	*ext;
		enum fmt	 fmt;
	} exts[] = {
		{ ".ndjson", F_NDJSON }, { ".jsonl", F_NDJSON },
		{ ".ldjson", F_NDJSON }, { ".json", F_JSONISH },
		{ ".csv", F_CSV }, { ".tsv", F_TSV }, { ".tab", F_TSV }
	};
	char b[NAME_MAX + 1];
	const char *p;
	size_t n, i, k;

	if ((p = strrchr(name, '/')) != NULL)
		name = p + 1;
	n = strcspn(name, "?#");
	if (n > NAME_MAX)
		return F_AUTO;
	memcpy(b, name, n);
	b[n] = '\0';
	for (k = 0; k < 2; k++)
		for (i = 0; i < 4; i++) {
			static const char *z[] = { ".zst", ".zstd", ".gz",
			    ".gzip" };
			size_t zl = strlen(z[i]);

			if (n > zl && strcasecmp(b + n - zl, z[i]) == 0) {
				n -= zl;
				b[n] = '\0';
			}
		}
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		k = strlen(exts[i].ext);
		if (n > k && strcasecmp(b + n - k, exts[i].ext) == 0)
			return exts[i].fmt;
	}
	return F_AUTO;
}

static enum fmt
sniff(const char *p, size_t n, int jsonish)
{
	const char *nl;
	json_error_t e;
	json_t *j;
	size_t i;
	enum fmt f;

	for (i = 0; i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    p[i] == '\n'); i++)
		;
	if (i == n)
		return F_NDJSON;
	switch (p[i]) {
	case '[':
	case '"':
		return F_JSON;
	case '_':
		if (etl_reject_prefixed(p + i, n - i))
			return F_NDJSON;
		return jsonish ? F_NDJSON : F_CSV;
	case '{':
		if (opt.njpath)
			return F_JSON;
		/* NDJSON when the first line is a whole object. */
		nl = memchr(p + i, '\n', n - i);
		j = json_loadb(p + i, nl ? (size_t)(nl - (p + i)) : n - i,
		    JSON_DECODE_INT_AS_REAL, &e);
		f = json_is_object(j) ? F_NDJSON : F_JSON;
		json_decref(j);
		return f;
	default:
		return jsonish ? F_NDJSON : F_CSV;
	}
}

/* The most frequent of , ; TAB | on the first line, outside quotes. */
static int
sniff_delim(const char *p, size_t n)
{
	static const char cand[] = ",;\t|";
	size_t cnt[4] = { 0 }, i, k, best = 0;
	int q = 0;

	for (i = 0; i < n && (q || (p[i] != '\n' && p[i] != '\r')); i++) {
		if (p[i] == '"')
			q = !q;
		else if (!q)
			for (k = 0; k < 4; k++)
				cnt[k] += p[i] == cand[k];
	}
	for (k = 1; k < 4; k++)
		if (cnt[k] > cnt[best])
			best = k;
	return cand[best];
}

static void
read_input(struct src *s, enum fmt f)
{
	const char *p;
	char bom[3];
	size_t n;

	n = etl_input_peek(s->in, &p);
	if (n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0 &&
	    etl_input_read(s->in, bom, 3) == 3) {
		p += 3;
		n -= 3;
	}
	if (f == F_AUTO || f == F_JSONISH)
		f = sniff(p, n, f == F_JSONISH);
	switch (f) {
	case F_JSON:
		read_json(s);
		break;
	case F_CSV:
		read_csv(s, opt.delim ? opt.delim : sniff_delim(p, n));
		break;
	case F_TSV:
		read_csv(s, opt.delim ? opt.delim : '\t');
		break;
	default:
		read_ndjson(s);
	}
}

static void
read_stream(struct src *s, enum fmt f)
{
	nfiles++;
	etl_progress_start(s->in, s->name, s->size);
	read_input(s, opt.fmt != F_AUTO ? opt.fmt : f);
	etl_progress_end();
	nbytes += etl_input_raw_bytes(s->in);
}

/* A path segment KEY=VALUE with KEY of [A-Za-z0-9_]: 1, and its parts. */
static int
hive_segment(const char *seg, size_t n, struct hive *h)
{
	size_t i;

	for (i = 0; i < n && seg[i] != '='; i++)
		if (!(seg[i] == '_' || (seg[i] >= '0' && seg[i] <= '9') ||
		    (seg[i] >= 'a' && seg[i] <= 'z') ||
		    (seg[i] >= 'A' && seg[i] <= 'Z')))
			return 0;
	if (i == 0 || i == n)
		return 0;
	h->key = estrndup(seg, i);
	h->val = estrndup(seg + i + 1, n - i - 1);
	h->val[etl_hive_unescape(h->val, n - i - 1)] = '\0';
	if (strcmp(h->val, ETL_HIVE_DEFAULT) == 0) {
		free(h->val);
		h->val = NULL;
	}
	return 1;
}

static void
hive_free(struct hive *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(h[i].key);
		free(h[i].val);
	}
	free(h);
}

/* The Hive fields of the directories of a path (all segments when dir). */
static size_t
hive_parse(const char *path, int dir, struct hive **hv)
{
	const char *p, *e;
	struct hive h;
	size_t n = 0;

	*hv = NULL;
	for (p = path; *p; p = *e ? e + 1 : e) {
		e = p + strcspn(p, "/");
		if (*e == '\0' && !dir)
			break;
		if (hive_segment(p, (size_t)(e - p), &h)) {
			*hv = erealloc(*hv, (n + 1) * sizeof(**hv));
			(*hv)[n++] = h;
		}
	}
	return n;
}

/* Does a partition value pass every --where on its key? */
static int
where_ok(const struct hive *h)
{
	size_t i;
	int c;

	for (i = 0; i < opt.nwhere; i++) {
		if (strcmp(opt.where[i].key, h->key) != 0)
			continue;
		if (h->val == NULL)
			return 0;	/* null: no comparison holds, as in SQL */
		c = strcmp(h->val, opt.where[i].val);
		switch (opt.where[i].op) {
		case '=': if (c != 0) return 0; break;
		case '!': if (c == 0) return 0; break;
		case '<': if (c >= 0) return 0; break;
		case 'l': if (c > 0) return 0; break;
		case '>': if (c <= 0) return 0; break;
		case 'g': if (c < 0) return 0; break;
		}
	}
	return 1;
}

static int
path_ok(const char *path, int dir)
{
	struct hive *hv;
	size_t i, n;
	int ok = 1;

	if (opt.nwhere == 0)
		return 1;
	n = hive_parse(path, dir, &hv);
	for (i = 0; i < n && ok; i++)
		ok = where_ok(&hv[i]);
	hive_free(hv, n);
	return ok;
}

static void
read_file(const char *path, const struct stat *st)
{
	struct src s;

	memset(&s, 0, sizeof(s));
	if ((s.in = etl_input_open(path)) == NULL) {
		etl_error("%s: %s", path, strerror(errno));
		etl_status(ETL_EX_NOINPUT);
		return;
	}
	s.name = path;
	s.size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	s.nhive = hive_parse(path, 0, &s.hive);
	read_stream(&s, fmt_of_name(path));
	etl_input_close(s.in);
	hive_free(s.hive, s.nhive);
}

struct anc {
	dev_t		 dev;
	ino_t		 ino;
	const struct anc *up;
};

static int
name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Seconds a reader waits for a store's writer to finish its commit. */
#define STORE_WAIT	600

/* A directory, depth first in byte order; . and _ names skipped. */
static void
walk(const char *dir, const struct stat *dst, const struct anc *up)
{
	static int finished;	/* this directory's commits, just now */
	struct dirent **ents;
	struct stat st;
	struct anc me = { dst->st_dev, dst->st_ino, up };
	const struct anc *a;
	struct hive h;
	char *path;
	int i, n, ok;

	for (a = up; a; a = a->up)
		if (a->dev == dst->st_dev && a->ino == dst->st_ino) {
			etl_warn("%s: directory loop, skipped", dir);
			return;
		}
	if ((n = scandir(dir, &ents, NULL, name_cmp)) < 0) {
		etl_error("%s: %s", dir, strerror(errno));
		etl_status(ETL_EX_NOINPUT);
		return;
	}
	/*
	 * A store whose writer died in its commit is finished first, so the
	 * table reads as before or after that run, never between.
	 */
	for (i = 0; i < n && strcmp(ents[i]->d_name, "_commits") != 0; i++)
		;
	if (i < n && !finished) {
		finished = 1;
		etl_journal_finish(dir, STORE_WAIT);
		walk(dir, dst, up);
		finished = 0;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;

		if (nm[0] == '.' || nm[0] == '_' || etl_signalled)
			continue;
		path = emalloc(strlen(dir) + strlen(nm) + 2);
		sprintf(path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ?
		    "" : "/", nm);
		if (stat(path, &st) == -1) {
			etl_error("%s: %s", path, strerror(errno));
			etl_status(ETL_EX_NOINPUT);
		} else if (S_ISDIR(st.st_mode)) {
			ok = 1;
			if (hive_segment(nm, strlen(nm), &h)) {
				ok = where_ok(&h);
				free(h.key);
				free(h.val);
			}
			if (ok)
				walk(path, &st, &me);
			else
				npruned++;
		} else if (S_ISREG(st.st_mode))
			read_file(path, &st);
		free(path);
	}
out:
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
}

static void
read_path(const char *path, int globbed)
{
	unsigned long long before;
	struct stat st;

	if (stat(path, &st) == -1) {
		etl_error("%s: %s", path, strerror(errno));
		etl_status(ETL_EX_NOINPUT);
		return;
	}
	if (!path_ok(path, S_ISDIR(st.st_mode))) {
		npruned++;
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		before = nfiles;
		walk(path, &st, NULL);
		/* Nothing is read without a word. */
		if (nfiles == before && !etl_signalled) {
			etl_warn("%s: no file to read in this directory (empty, "
			    "pruned by --where, or only names starting with . "
			    "or _)", path);
			nempty++;
		}
	} else if (!globbed || S_ISREG(st.st_mode))
		read_file(path, &st);
}

static void
read_glob(const char *pat)
{
	glob_t g;
	const char *b;
	size_t i;
	int r;

	if ((r = glob(pat, GLOB_BRACE, NULL, &g)) != 0) {
		etl_error("%s: %s", pat, r == GLOB_NOMATCH ? "no match" :
		    strerror(errno));
		etl_status(r == GLOB_NOMATCH ? ETL_EX_NOINPUT : ETL_EX_IOERR);
		return;
	}
	for (i = 0; i < g.gl_pathc && !etl_signalled; i++) {
		b = strrchr(g.gl_pathv[i], '/');
		b = b ? b + 1 : g.gl_pathv[i];
		if (b[0] != '.' && b[0] != '_')
			read_path(g.gl_pathv[i], 1);
	}
	globfree(&g);
}

static size_t
dl_write(char *p, size_t sz, size_t nm, void *arg)
{
	return etl_write_all(*(int *)arg, p, sz * nm) == 0 ? sz * nm : 0;
}

static int
dl_abort(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)arg; (void)a; (void)b; (void)c; (void)d;
	return etl_signalled != 0;
}

static int
transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

/*
 * A URL is downloaded to an unlinked temporary file, then read as a file:
 * a retry starts clean, and no record leaves before the transfer is whole.
 */
static void
read_url(const char *url)
{
	char errbuf[CURL_ERROR_SIZE], why[CURL_ERROR_SIZE + 32];
	double deadline, left, wait = 0.5;
	struct timespec ts;
	struct stat st;
	struct src s;
	CURLcode rc;
	CURL *h;
	long attempt, code;
	int fd, retry;

	deadline = opt.timeout > 0 ? etl_now() + opt.timeout : 0;
	if ((h = curl_easy_init()) == NULL)
		etl_die(ETL_EX_SOFTWARE, "curl_easy_init failed");
	for (attempt = 0; ; attempt++) {
		fd = tmpfd();
		errbuf[0] = '\0';
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dl_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &fd);
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
		curl_easy_setopt(h, CURLOPT_USERAGENT, "etl-fetch/" ETL_VERSION);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, dl_abort);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
		if (deadline) {
			left = deadline - etl_now();
			curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
			    (long)(left > 0.001 ? left * 1000 : 1));
		} else {
			/* No deadline: give up on a transfer stalled a minute. */
			curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
			curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
		}
		rc = curl_easy_perform(h);
		code = 0;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if (rc == CURLE_OK && (code == 0 || (code >= 200 && code < 300)))
			break;
		close(fd);
		if (etl_signalled) {
			curl_easy_cleanup(h);
			return;
		}
		if (rc == CURLE_OK) {
			snprintf(why, sizeof(why), "HTTP status %ld", code);
			retry = code == 408 || code == 429 || code >= 500;
		} else {
			snprintf(why, sizeof(why), "%s", errbuf[0] ? errbuf :
			    curl_easy_strerror(rc));
			retry = transient(rc);
		}
		left = deadline ? deadline - etl_now() : 1e9;
		if (!retry || attempt >= opt.retries || left <= 0) {
			if (retry)
				etl_error("%s: %s (gave up after %ld attempts)",
				    url, why, attempt + 1);
			else
				etl_error("%s: %s", url, why);
			etl_status(retry ? ETL_EX_TEMPFAIL :
			    rc == CURLE_WRITE_ERROR ? ETL_EX_IOERR :
			    ETL_EX_NOINPUT);
			curl_easy_cleanup(h);
			return;
		}
		if (wait > left)
			wait = left;
		etl_warn("%s: %s; retrying in %.1f s", url, why, wait);
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
		if (etl_signalled) {
			curl_easy_cleanup(h);
			return;
		}
		wait = wait * 2 > 60 ? 60 : wait * 2;
	}
	curl_easy_cleanup(h);
	if (lseek(fd, 0, SEEK_SET) == -1 || fstat(fd, &st) == -1)
		etl_die(ETL_EX_IOERR, "%s: temporary file: %s", url,
		    strerror(errno));
	memset(&s, 0, sizeof(s));
	s.name = url;
	s.size = (uint64_t)st.st_size;
	s.in = etl_input_fd(fd, url);
	read_stream(&s, fmt_of_name(url));
	etl_input_close(s.in);
}

static int
is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0;
}

static void
read_source(const char *arg)
{
	struct stat st;
	struct src s;

	if (strcmp(arg, "-") == 0) {
		memset(&s, 0, sizeof(s));
		s.in = etl_input_open("-");
		s.name = etl_input_name(s.in);
		if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode))
			s.size = (uint64_t)st.st_size;
		read_stream(&s, F_AUTO);
		etl_input_close(s.in);
	} else if (is_url(arg))
		read_url(arg);
	else if (strpbrk(arg, "*?[{") != NULL && stat(arg, &st) == -1)
		read_glob(arg);
	else
		read_path(arg, 0);
}

/* The bytes of a top-level member's value in one JSON object's text. */
static int
member_span(const char *p, size_t n, const char *name, const char **vp,
    size_t *vn)
{
	struct etl_buf key = { 0 };
	struct jr j;
	size_t start;
	int found = 0;

	memset(&j, 0, sizeof(j));
	j.buf = (char *)p;
	j.len = n;
	if (jws(&j) != '{')
		return 0;
	jget(&j);
	while (!found && jws(&j) == '"' && jvalue(&j, 1) > 0 &&
	    jdecode_key(&j, &key) == 0 && jws(&j) == ':') {
		jget(&j);
		jws(&j);
		start = j.pos;
		if (jvalue(&j, 0) <= 0)
			break;
		if (strcmp(key.p, name) == 0) {
			*vp = p + start;
			*vn = j.pos - start;
			found = 1;
		}
		if (jws(&j) != ',')
			break;
		jget(&j);
	}
	etl_buf_free(&key);
	etl_buf_free(&j.el);
	return found;
}

/*
 * A reject file back into records: each reject's "record"; one with only
 * "raw" is replayed when the raw text is now an object, else rejected
 * again, so nothing is lost.
 */
static void
read_replay(const char *path)
{
	struct src rs_src;
	struct etl_input *in;
	struct etl_lines *l;
	json_error_t e;
	json_t *j, *rec, *src, *raw, *o, *rs;
	const char *p, *file, *rp;
	unsigned long line;
	size_t n, rn;
	int st = 0, toolong;

	if ((in = etl_input_open(path)) == NULL) {
		etl_error("%s: %s", path, strerror(errno));
		etl_status(ETL_EX_NOINPUT);
		return;
	}
	nfiles++;
	l = etl_lines_new(in);
	while (!etl_signalled && (st = etl_lines_next(l, &p, &n, &toolong)) == 1) {
		if (etl_blank(p, n))
			continue;
		etl_count_in(1);
		if (n > 9 && memcmp(p, "__reject\t", 9) == 0) {
			p += 9;
			n -= 9;
		}
		j = toolong ? NULL : parse_record(p, n, &e);
		if (!json_is_object(j)) {
			reject_raw(path, etl_lines_lineno(l), p, n, "parse", "%s",
			    "not a reject");
			json_decref(j);
			continue;
		}
		src = json_object_get(j, "src");
		file = json_string_value(json_object_get(src, "file"));
		line = (unsigned long)json_integer_value(json_object_get(src,
		    "line"));
		if (file == NULL || line == 0) {
			file = path;
			line = etl_lines_lineno(l);
			src = NULL;
		}
		raw = json_object_get(j, "raw");
		if ((rec = json_object_get(j, "record")) != NULL)
			o = json_incref(rec);
		else if (json_is_string(raw))
			o = parse_record(json_string_value(raw),
			    json_string_length(raw), &e);
		else
			o = NULL;
		if (json_is_object(o)) {
			memset(&rs_src, 0, sizeof(rs_src));
			rs_src.name = file;
			if (rec == NULL || !member_span(p, n, "record", &rp, &rn))
				rp = NULL;
			if (rp && opt.nfields == 0)
				emit_object(&rs_src, line, rp, rn, o);
			else {
				o = shape(&rs_src, src, file, line, o);
				tmp.len = 0;
				etl_json_dump(&tmp, o);
				etl_out_raw(tmp.p, tmp.len);
			}
		} else if (json_is_string(raw)) {
			rs = NULL;
			etl_reason(&rs, "", "parse", "%s",
			    "replayed a line that is still not a JSON object");
			etl_reject_raw(file, line, json_string_value(raw),
			    json_string_length(raw), rs);
		} else
			reject_raw(path, etl_lines_lineno(l), p, n, "parse", "%s",
			    "a reject with neither a record nor raw text");
		json_decref(o);
		json_decref(j);
	}
	if (!etl_signalled && st == -1) {
		etl_error("%s:%lu: %s", path, etl_lines_lineno(l) + 1,
		    etl_input_error(in));
		etl_status(ETL_EX_IOERR);
	}
	etl_lines_free(l);
	etl_input_close(in);
}

static void
add_where(const char *arg)
{
	static const struct {
		const char	*s;
		int		 op;
	} ops[] = { { ">=", 'g' }, { "<=", 'l' }, { "!=", '!' }, { "=", '=' },
	    { "<", '<' }, { ">", '>' } };
	struct where *w;
	size_t k, i;

	k = strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_");
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strncmp(arg + k, ops[i].s, strlen(ops[i].s)) == 0)
			break;
	if (k == 0 || i == sizeof(ops) / sizeof(ops[0])) {
		etl_error("--where %s: expected KEY=V, KEY!=V, KEY<V, KEY<=V, "
		    "KEY>V or KEY>=V", arg);
		etl_usage();
	}
	opt.where = erealloc(opt.where, (opt.nwhere + 1) * sizeof(*w));
	w = &opt.where[opt.nwhere++];
	w->key = estrndup(arg, k);
	w->op = ops[i].op;
	w->val = estrdup(arg + k + strlen(ops[i].s));
}

int
main(int argc, char *argv[])
{
	static struct option longopts[] = {
		{ "columns",	required_argument,	NULL, OPT_COLUMNS },
		{ "delimiter",	required_argument,	NULL, 'd' },
		{ "encoding",	required_argument,	NULL, OPT_ENCODING },
		{ "fields",	required_argument,	NULL, OPT_FIELDS },
		{ "format",	required_argument,	NULL, 'f' },
		{ "json-path",	required_argument,	NULL, OPT_JSON_PATH },
		{ "no-header",	no_argument,		NULL, OPT_NO_HEADER },
		{ "provenance",	no_argument,		NULL, OPT_PROVENANCE },
		{ "replay",	required_argument,	NULL, OPT_REPLAY },
		{ "retries",	required_argument,	NULL, OPT_RETRIES },
		{ "timeout",	required_argument,	NULL, OPT_TIMEOUT },
		{ "where",	required_argument,	NULL, 'w' },
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	char **replay = NULL;
	size_t nreplay = 0, i;
	iconv_t cd;
	int ch, urls = 0;

	etl_init("etl-fetch", usage_text, help_text);
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS "d:f:w:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			if (strcmp(optarg, "\\t") == 0 ||
			    strcmp(optarg, "tab") == 0)
				opt.delim = '\t';
			else if (strlen(optarg) == 1 && *optarg != '"' &&
			    *optarg != '\n' && *optarg != '\r')
				opt.delim = (unsigned char)*optarg;
			else {
				etl_error("--delimiter %s: expected one character",
				    optarg);
				etl_usage();
			}
			break;
		case 'f':
			if (strcmp(optarg, "ndjson") == 0)
				opt.fmt = F_NDJSON;
			else if (strcmp(optarg, "json") == 0)
				opt.fmt = F_JSON;
			else if (strcmp(optarg, "csv") == 0)
				opt.fmt = F_CSV;
			else if (strcmp(optarg, "tsv") == 0)
				opt.fmt = F_TSV;
			else {
				etl_error("--format %s: expected ndjson, json, csv "
				    "or tsv", optarg);
				etl_usage();
			}
			break;
		case 'w':
			add_where(optarg);
			break;
		case OPT_COLUMNS:
			etl_split_free(opt.columns);
			opt.columns = etl_split(optarg, ',', &opt.ncolumns);
			break;
		case OPT_ENCODING:
			if ((cd = iconv_open("UTF-8", optarg)) == (iconv_t)-1) {
				etl_error("--encoding %s: unknown character set",
				    optarg);
				etl_usage();
			}
			iconv_close(cd);
			opt.encoding = optarg;
			break;
		case OPT_FIELDS:
			etl_split_free(opt.fields);
			opt.fields = etl_split(optarg, ',', &opt.nfields);
			break;
		case OPT_JSON_PATH:
			etl_split_free(opt.jpath);
			opt.jpath = etl_split(optarg, '.', &opt.njpath);
			opt.jpath_arg = optarg;
			break;
		case OPT_NO_HEADER:
			opt.noheader = 1;
			break;
		case OPT_PROVENANCE:
			opt.provenance = 1;
			break;
		case OPT_REPLAY:
			replay = erealloc(replay, (nreplay + 1) * sizeof(*replay));
			replay[nreplay++] = optarg;
			break;
		case OPT_RETRIES:
			opt.retries = (long)etl_arg_number("--retries", optarg, 0, 100);
			break;
		case OPT_TIMEOUT:
			opt.timeout = etl_arg_number("--timeout", optarg, 0, 1e7);
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	for (i = 0; i < opt.ncolumns; i++)
		if (*opt.columns[i] == '\0') {
			etl_error("--columns: empty name");
			etl_usage();
		}

	for (ch = 0; ch < argc; ch++)
		urls |= is_url(argv[ch]);
	if (urls && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		etl_die(ETL_EX_SOFTWARE, "curl_global_init failed");
	for (i = 0; i < nreplay && !etl_signalled; i++)
		read_replay(replay[i]);
	if (argc == 0 && nreplay == 0)
		read_source("-");
	for (ch = 0; ch < argc && !etl_signalled; ch++)
		read_source(argv[ch]);
	if (urls)
		curl_global_cleanup();

	etl_stats_set("files", json_integer((json_int_t)nfiles));
	if (nempty)
		etl_stats_set("empty_sources", json_integer((json_int_t)nempty));
	etl_stats_set("bytes", json_integer((json_int_t)nbytes));
	if (opt.nwhere)
		etl_stats_set("pruned", json_integer((json_int_t)npruned));
	free(replay);
	etl_buf_free(&tmp);
	return etl_finish();
}
