/*
 * etl-check - validates records against a JSON Schema (a 2020-12 subset).
 * Valid records pass byte for byte; the others go to the rejects with
 * every reason found, not just the first.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"
#include "scan.h"

static const char usage_text[] =
"usage: etl-check [-hq] -s schema [--max-reject-ratio ratio] [--max-rejects n]\n"
"                 [--rejects file | inline] [--stats file] [file ...]\n";

static const char help_text[] =
"  -s, --schema FILE         JSON Schema the records must match\n"
"      --max-reject-ratio R  fail (65) when more than R of the records are rejected\n"
"      --max-rejects N       fail (65) when more than N records are rejected\n"
"      --rejects FILE|inline where rejects go when fd 3 is not open\n"
"      --stats FILE          write the final stats as JSON\n"
"  -q, --quiet               log errors only\n";

enum {
	T_NULL = 1, T_BOOLEAN = 2, T_OBJECT = 4, T_ARRAY = 8, T_NUMBER = 16,
	T_INTEGER = 32, T_STRING = 64
};

static const char *type_names[] = {
	"null", "boolean", "object", "array", "number", "integer", "string"
};

struct prop {
	char		*name;
	size_t		 len;
	struct node	*node;
	unsigned long	 seen;		/* the record that last had it */
};

struct node {
	int		 never;		/* the schema false */
	unsigned	 types;		/* 0: any */
	struct prop	*props;
	size_t		 nprops;
	char		**required;
	size_t		*reqlen;
	size_t		 nrequired;
	int		 addl;		/* -1 any, 0 none, 1 by schema */
	struct node	*addl_node;
	json_t		*enumv;		/* array, or NULL */
	json_t		*constv;
	char		*enum_text;	/* as messages show them */
	struct {
		const char	*s;	/* in enumv */
		size_t		 n;
	}		*enum_s;	/* the strings of enum */
	size_t		 nenum_s;
	char		*const_text;
	int		 has_const;
	double		 min, max, xmin, xmax;
	int		 has_min, has_max, has_xmin, has_xmax;
	long		 minlen, maxlen;	/* characters; -1 unset */
	long		 minitems, maxitems;
	regex_t		 re;
	char		*pattern;
	int		 format;	/* 0, 'd' date, 't' date-time */
	struct node	*items;
	/* For the fast path: */
	size_t		*reqprop;	/* the property of each required name,
					   or nprops when it has none */
	uint64_t	 keymask[4];	/* each property's bit of keymark() */
	unsigned long	 serial;	/* one for each node compiled */
};

static const char *schema_path;

static const char *show(const json_t *);

static void
bad_schema(const char *where, const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	etl_die(ETL_EX_CONFIG, "%s: %s: %s", schema_path, *where ? where : "/",
	    msg);
}

static double
num(json_t *v, const char *where, const char *kw)
{
	if (!json_is_number(v))
		bad_schema(where, "%s must be a number", kw);
	return json_number_value(v);
}

static long
count(json_t *v, const char *where, const char *kw)
{
	double d = 0;

	if (!json_is_number(v) || (d = json_number_value(v)) < 0 ||
	    d != floor(d) || d > 1e15)
		bad_schema(where, "%s must be a non-negative integer", kw);
	return (long)d;
}

static unsigned
type_bit(json_t *v, const char *where)
{
	size_t i;

	if (json_is_string(v))
		for (i = 0; i < sizeof(type_names) / sizeof(*type_names); i++)
			if (strcmp(json_string_value(v), type_names[i]) == 0)
				return 1u << i;
	bad_schema(where, "type: unknown type %s",
	    json_is_string(v) ? json_string_value(v) : "(not a string)");
	return 0;
}

/* Appends "/" and the key, escaped as a JSON Pointer token (RFC 6901). */
static void
pointer_add(struct etl_buf *path, const char *k, size_t n)
{
	size_t i;

	etl_buf_addc(path, '/');
	for (i = 0; i < n; i++) {
		if (k[i] == '~')
			etl_buf_adds(path, "~0");
		else if (k[i] == '/')
			etl_buf_adds(path, "~1");
		else
			etl_buf_addc(path, k[i]);
	}
}

/* A JSON Pointer to a schema place: where + "/" + key (escaped). */
static char *
subpath(const char *where, const char *key)
{
	struct etl_buf b = { 0 };

	etl_buf_adds(&b, where);
	pointer_add(&b, key, strlen(key));
	return (char *)etl_buf_cstr(&b);	/* the buffer is the string */
}

/*
 * The C library compiles a regular expression into an automaton whose
 * size is the product of the nested repetition bounds: (a{1,100}){1,100}
 * takes seconds, a few more levels hours.  Patterns are refused (78)
 * when that size, estimated here, passes PATTERN_MAX, and when two
 * duplication symbols follow each other ("a**"), which POSIX leaves
 * undefined.
 */
#define PATTERN_MAX	1024
#define PATTERN_MAX_S	"1024"

static void
pattern_cost(const char *p, const char *where)
{
	double stack[64], last = 0, size = 0;
	size_t depth = 0;
	int dup = 0;		/* the previous token was a duplication */
	long m, n;
	char *end;

	for (; *p; p++) {
		switch (*p) {
		case '(':
			if (depth == sizeof(stack) / sizeof(*stack))
				bad_schema(where, "%s", "pattern nests too deep");
			stack[depth++] = size;
			size = 0;
			dup = 0;
			last = 0;
			continue;
		case ')':
			if (depth == 0)
				break;		/* regcomp will say */
			last = size;
			size = stack[--depth] + last;
			dup = 0;
			continue;
		case '*':
		case '+':
		case '?':
		case '{':
			if (dup)
				bad_schema(where, "%s", "two repetitions in "
				    "a row (as in a**) are undefined in a POSIX ERE");
			m = 1;
			if (*p == '{') {
				m = strtol(p + 1, &end, 10);
				if (*end == ',' && end[1] != '}') {
					n = strtol(end + 1, &end, 10);
					m = n > m ? n : m;
				}
				if (*end != '}')
					break;		/* regcomp will say */
				p = end;
			}
			/* The repeated part counts m + 1 times in all. */
			size += last * (double)m;
			last *= (double)m + 1;
			dup = 1;
			if (size > PATTERN_MAX)
				break;
			continue;
		case '[':
			/* A bracket expression is one atom: []a] and [^]a] hold ]. */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '[' && (p[1] == ':' || p[1] == '.' ||
				    p[1] == '=')) {
					char close = p[1];

					for (p += 2; *p && !(*p == close &&
					    p[1] == ']'); p++)
						;
					if (*p)
						p++;
				}
				if (*p)
					p++;
			}
			if (*p == '\0')
				return;			/* regcomp will say */
			break;
		case '\\':
			if (p[1])
				p++;
			break;
		}
		last = 1;
		size += 1;
		dup = 0;
		if (size > PATTERN_MAX)
			break;
	}
	if (size > PATTERN_MAX)
		bad_schema(where, "%s", "its repetitions make it too "
		    "large to compile (over " PATTERN_MAX_S " states)");
}

/*
 * A property name's bit among 256, from the scanner's hash of the key:
 * most other fields are told from the properties by it.
 */
static void
keymark(uint64_t *m, const char *k, size_t n)
{
	unsigned b = etl_scan_keyhash(k, n) & 255;

	m[b / 64] |= (uint64_t)1 << b % 64;
}

static int
keymarked(const uint64_t *m, const struct etl_field *f)
{
	unsigned b = f->kh & 255;

	return (m[b / 64] >> b % 64) & 1;
}

static struct node *
compile(json_t *s, const char *where)
{
	static const char *ignored[] = {
		"$schema", "$id", "$comment", "title", "description",
		"default", "examples", "deprecated", "readOnly", "writeOnly",
		NULL
	};
	static unsigned long serial;
	struct node *n;
	const char *k;
	json_t *v;
	size_t i;
	char *sub;

	n = ecalloc(1, sizeof(*n));
	n->serial = ++serial;
	n->addl = -1;
	n->minlen = n->maxlen = n->minitems = n->maxitems = -1;
	if (json_is_true(s))
		return n;
	if (json_is_false(s)) {
		n->never = 1;
		return n;
	}
	if (!json_is_object(s))
		bad_schema(where, "%s", "a schema must be an object or a boolean");
	json_object_foreach(s, k, v) {
		sub = subpath(where, k);
		for (i = 0; ignored[i]; i++)
			if (strcmp(k, ignored[i]) == 0)
				break;
		if (ignored[i])
			;
		else if (strcmp(k, "type") == 0) {
			if (json_is_array(v)) {
				for (i = 0; i < json_array_size(v); i++)
					n->types |= type_bit(json_array_get(v, i), sub);
				if (n->types == 0)
					bad_schema(sub, "%s", "type: empty list");
			} else
				n->types = type_bit(v, sub);
		} else if (strcmp(k, "properties") == 0) {
			const char *pk;
			json_t *pv;

			if (!json_is_object(v))
				bad_schema(sub, "%s", "properties must be an object");
			n->props = ecalloc(json_object_size(v), sizeof(*n->props));
			json_object_foreach(v, pk, pv) {
				char *ps = subpath(sub, pk);

				n->props[n->nprops].name = estrdup(pk);
				n->props[n->nprops].len = strlen(pk);
				n->props[n->nprops++].node = compile(pv, ps);
				free(ps);
			}
		} else if (strcmp(k, "required") == 0) {
			if (!json_is_array(v))
				bad_schema(sub, "%s", "required must be an array of names");
			n->required = ecalloc(json_array_size(v), sizeof(char *));
			n->reqlen = ecalloc(json_array_size(v), sizeof(size_t));
			for (i = 0; i < json_array_size(v); i++) {
				if (!json_is_string(json_array_get(v, i)))
					bad_schema(sub, "%s",
					    "required must be an array of names");
				n->reqlen[n->nrequired] =
				    json_string_length(json_array_get(v, i));
				n->required[n->nrequired++] =
				    estrdup(json_string_value(json_array_get(v, i)));
			}
		} else if (strcmp(k, "additionalProperties") == 0) {
			if (json_is_boolean(v))
				n->addl = json_is_true(v);
			else {
				n->addl = 1;
				n->addl_node = compile(v, sub);
			}
		} else if (strcmp(k, "enum") == 0) {
			if (!json_is_array(v))
				bad_schema(sub, "%s", "enum must be an array");
			n->enumv = json_incref(v);
			n->enum_text = estrdup(show(v));
			n->enum_s = ecalloc(json_array_size(v) + 1,
			    sizeof(*n->enum_s));
			for (i = 0; i < json_array_size(v); i++) {
				json_t *e = json_array_get(v, i);

				if (!json_is_string(e))
					continue;
				n->enum_s[n->nenum_s].s = json_string_value(e);
				n->enum_s[n->nenum_s++].n = json_string_length(e);
			}
		} else if (strcmp(k, "const") == 0) {
			n->constv = json_incref(v);
			n->const_text = estrdup(show(v));
			n->has_const = 1;
		} else if (strcmp(k, "minimum") == 0) {
			n->min = num(v, sub, k);
			n->has_min = 1;
		} else if (strcmp(k, "maximum") == 0) {
			n->max = num(v, sub, k);
			n->has_max = 1;
		} else if (strcmp(k, "exclusiveMinimum") == 0) {
			n->xmin = num(v, sub, k);
			n->has_xmin = 1;
		} else if (strcmp(k, "exclusiveMaximum") == 0) {
			n->xmax = num(v, sub, k);
			n->has_xmax = 1;
		} else if (strcmp(k, "minLength") == 0)
			n->minlen = count(v, sub, k);
		else if (strcmp(k, "maxLength") == 0)
			n->maxlen = count(v, sub, k);
		else if (strcmp(k, "minItems") == 0)
			n->minitems = count(v, sub, k);
		else if (strcmp(k, "maxItems") == 0)
			n->maxitems = count(v, sub, k);
		else if (strcmp(k, "pattern") == 0) {
			int e;

			if (!json_is_string(v))
				bad_schema(sub, "%s", "pattern must be a string");
			n->pattern = estrdup(json_string_value(v));
			pattern_cost(n->pattern, sub);
			if ((e = regcomp(&n->re, n->pattern,
			    REG_EXTENDED | REG_NOSUB)) != 0) {
				char msg[256];

				regerror(e, &n->re, msg, sizeof(msg));
				bad_schema(sub, "pattern is not a POSIX ERE: %s", msg);
			}
		} else if (strcmp(k, "format") == 0) {
			if (json_is_string(v) && strcmp(json_string_value(v), "date") == 0)
				n->format = 'd';
			else if (json_is_string(v) &&
			    strcmp(json_string_value(v), "date-time") == 0)
				n->format = 't';
			else
				bad_schema(sub, "unsupported format %s",
				    json_is_string(v) ? json_string_value(v) : "?");
		} else if (strcmp(k, "items") == 0)
			n->items = compile(v, sub);
		else
			bad_schema(sub, "unsupported keyword %s", k);
		free(sub);
	}
	n->reqprop = ecalloc(n->nrequired + 1, sizeof(*n->reqprop));
	for (i = 0; i < n->nrequired; i++) {
		for (n->reqprop[i] = 0; n->reqprop[i] < n->nprops;
		    n->reqprop[i]++)
			if (strcmp(n->props[n->reqprop[i]].name,
			    n->required[i]) == 0)
				break;
	}
	for (i = 0; i < n->nprops; i++)
		keymark(n->keymask, n->props[i].name, n->props[i].len);
	return n;
}

static void
node_free(struct node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nprops; i++) {
		free(n->props[i].name);
		node_free(n->props[i].node);
	}
	free(n->props);
	for (i = 0; i < n->nrequired; i++)
		free(n->required[i]);
	free(n->required);
	free(n->reqlen);
	free(n->reqprop);
	node_free(n->addl_node);
	node_free(n->items);
	json_decref(n->enumv);
	json_decref(n->constv);
	free(n->enum_text);
	free(n->enum_s);
	free(n->const_text);
	if (n->pattern) {
		regfree(&n->re);
		free(n->pattern);
	}
	free(n);
}

/* A schema bound in its shortest form. */
static const char *
bound(double d)
{
	static struct etl_buf b;

	b.len = 0;
	etl_json_real(&b, d);
	if (b.len > 2 && memcmp(b.p + b.len - 2, ".0", 2) == 0)
		b.len -= 2;
	return etl_buf_cstr(&b);
}

/* The value as short JSON text, for messages. */
static const char *
show(const json_t *v)
{
	static struct etl_buf b;

	b.len = 0;
	etl_json_dump(&b, v);
	/* Integers read as reals (to survive 64-bit overflow) show as integers. */
	if (json_is_real(v) && b.len > 2 && memcmp(b.p + b.len - 2, ".0", 2) == 0)
		b.len -= 2;
	if (b.len > 80) {
		b.len = 77;
		/* Do not cut a UTF-8 sequence in two. */
		while (b.len > 0 && ((unsigned char)b.p[b.len] & 0xc0) == 0x80)
			b.len--;
		etl_buf_adds(&b, "...");
	}
	return etl_buf_cstr(&b);
}

static unsigned
type_of(const json_t *v)
{
	double d;

	switch (json_typeof(v)) {
	case JSON_NULL:
		return T_NULL;
	case JSON_TRUE:
	case JSON_FALSE:
		return T_BOOLEAN;
	case JSON_OBJECT:
		return T_OBJECT;
	case JSON_ARRAY:
		return T_ARRAY;
	case JSON_STRING:
		return T_STRING;
	case JSON_INTEGER:
		return T_NUMBER | T_INTEGER;
	case JSON_REAL:
		d = json_real_value(v);
		return d == floor(d) ? T_NUMBER | T_INTEGER : T_NUMBER;
	}
	return 0;
}

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL: return "null";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	default: return type_of(v) & T_INTEGER ? "integer" : "number";
	}
}

static void
expected(struct etl_buf *b, unsigned types)
{
	size_t i;
	int first = 1;

	for (i = 0; i < sizeof(type_names) / sizeof(*type_names); i++) {
		if (!(types & (1u << i)))
			continue;
		if (!first)
			etl_buf_adds(b, " or ");
		etl_buf_adds(b, type_names[i]);
		first = 0;
	}
}

/* JSON equality where numbers are equal whatever their type (1 == 1.0). */
static int
json_same(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (i = 0; i < json_array_size(a); i++)
			if (!json_same(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, k, v)
			if (json_object_get(b, k) == NULL ||
			    !json_same(v, json_object_get(b, k)))
				return 0;
		return 1;
	}
	return json_equal(a, b);
}

static void
validate(const struct node *n, const json_t *v, struct etl_buf *path,
    json_t **rs)
{
	size_t plen = path->len, i;
	unsigned t = type_of(v);
	const char *p;

	p = etl_buf_cstr(path);
	if (n->never) {
		etl_reason(rs, p, "schema", "no value is allowed here");
		return;
	}
	if (n->types && !(n->types & t)) {
		struct etl_buf e = { 0 };

		expected(&e, n->types);
		etl_reason(rs, p, "type", "expected %s, got %s %s",
		    etl_buf_cstr(&e), type_name(v), show(v));
		etl_buf_free(&e);
		return;	/* the other keywords would only repeat it */
	}
	if (n->enumv) {
		for (i = 0; i < json_array_size(n->enumv); i++)
			if (json_same(json_array_get(n->enumv, i), v))
				break;
		if (i == json_array_size(n->enumv))
			etl_reason(rs, p, "enum", "%s is not one of %s", show(v),
			    n->enum_text);
	}
	if (n->has_const && !json_same(n->constv, v))
		etl_reason(rs, p, "const", "%s is not %s", show(v),
		    n->const_text);
	if (t & T_NUMBER) {
		double d = json_number_value(v);
		char *sv = estrdup(show(v));

		if (n->has_min && !(d >= n->min))
			etl_reason(rs, p, "range", "%s is less than the minimum %s",
			    sv, bound(n->min));
		if (n->has_max && !(d <= n->max))
			etl_reason(rs, p, "range", "%s is greater than the maximum %s",
			    sv, bound(n->max));
		if (n->has_xmin && !(d > n->xmin))
			etl_reason(rs, p, "range", "%s is not greater than %s",
			    sv, bound(n->xmin));
		if (n->has_xmax && !(d < n->xmax))
			etl_reason(rs, p, "range", "%s is not less than %s",
			    sv, bound(n->xmax));
		free(sv);
	}
	if (t & T_STRING) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v), nc = 0;

		if (n->minlen >= 0 || n->maxlen >= 0)
			nc = etl_utf8_chars(s, len);
		if (n->minlen >= 0 && nc < (size_t)n->minlen)
			etl_reason(rs, p, "length", "%s is shorter than %ld characters",
			    show(v), n->minlen);
		if (n->maxlen >= 0 && nc > (size_t)n->maxlen)
			etl_reason(rs, p, "length", "%s is longer than %ld characters",
			    show(v), n->maxlen);
		if (n->pattern && (memchr(s, '\0', len) != NULL ||
		    regexec(&n->re, s, 0, NULL, 0) != 0))
			etl_reason(rs, p, "pattern", "%s does not match %s", show(v),
			    n->pattern);
		if (n->format == 'd') {
			int y, m, d;

			if (etl_date_parse(s, len, &y, &m, &d) == -1)
				etl_reason(rs, p, "format",
				    "%s is not a date (YYYY-MM-DD)", show(v));
		} else if (n->format == 't') {
			int64_t tt;

			if (etl_datetime_parse(s, len, 1, &tt) == -1)
				etl_reason(rs, p, "format",
				    "%s is not a date-time (RFC 3339)", show(v));
		}
	}
	if (t & T_OBJECT) {
		const char *k;
		json_t *fv;

		for (i = 0; i < n->nrequired; i++)
			if (json_object_get(v, n->required[i]) == NULL) {
				path->len = plen;
				pointer_add(path, n->required[i], n->reqlen[i]);
				etl_reason(rs, etl_buf_cstr(path), "required",
				    "missing required field \"%s\"", n->required[i]);
			}
		json_object_foreach((json_t *)v, k, fv) {
			const struct node *sub = NULL;

			for (i = 0; i < n->nprops; i++)
				if (strcmp(n->props[i].name, k) == 0) {
					sub = n->props[i].node;
					break;
				}
			path->len = plen;
			pointer_add(path, k, strlen(k));
			if (sub == NULL && n->addl == 0)
				etl_reason(rs, etl_buf_cstr(path), "additional",
				    "field \"%s\" is not allowed", k);
			else if (sub == NULL && n->addl_node)
				validate(n->addl_node, fv, path, rs);
			else if (sub)
				validate(sub, fv, path, rs);
		}
	}
	if (t & T_ARRAY) {
		size_t na = json_array_size(v);

		path->len = plen;
		if (n->minitems >= 0 && na < (size_t)n->minitems)
			etl_reason(rs, etl_buf_cstr(path), "length",
			    "%zu items, fewer than %ld", na, n->minitems);
		if (n->maxitems >= 0 && na > (size_t)n->maxitems)
			etl_reason(rs, etl_buf_cstr(path), "length",
			    "%zu items, more than %ld", na, n->maxitems);
		for (i = 0; n->items && i < na; i++) {
			path->len = plen;
			etl_buf_printf(path, "/%zu", i);
			validate(n->items, json_array_get(v, i), path, rs);
		}
	}
	path->len = plen;
}

/*
 * The fast path: from the scanner's view of a flat record, is it surely
 * valid?  0 means "ask the full validator", which also writes the reasons.
 */
static int
fast_value(const struct node *n, const struct etl_field *f)
{
	static struct etl_buf str;
	unsigned t;
	double d = 0;
	size_t i;
	int need_num, need_str;

	if (n->never || n->addl_node)
		return 0;
	if (f->type == 'a' || f->type == 'o') {
		/* Containers pass here only where nothing looks inside them. */
		if (n->nprops || n->nrequired || n->addl != -1 || n->items ||
		    n->minitems >= 0 || n->maxitems >= 0 || n->enumv ||
		    n->has_const)
			return 0;
		t = f->type == 'a' ? T_ARRAY : T_OBJECT;
		return !n->types || (n->types & t);
	}
	need_num = f->type == 'n' && (n->has_min || n->has_max ||
	    n->has_xmin || n->has_xmax || n->enumv || n->has_const ||
	    (n->types & (T_INTEGER | T_NUMBER)) == T_INTEGER);
	need_str = f->type == 's' && (n->enumv || n->has_const || n->pattern ||
	    n->format || n->minlen >= 0 || n->maxlen >= 0);
	switch (f->type) {
	case 's': t = T_STRING; break;
	case 't':
	case 'f': t = T_BOOLEAN; break;
	case 'z': t = T_NULL; break;
	default:
		t = T_NUMBER;
		if (need_num) {
			if (etl_scan_number(f, &d) == -1)
				return 0;
			if (d == floor(d))
				t |= T_INTEGER;
		}
	}
	if (n->types && !(n->types & t))
		return 0;
	/* A string without escapes against an enum only: its bytes will do. */
	if (f->type == 's' && !f->esc && n->enumv && !n->has_const &&
	    !n->pattern && !n->format && n->minlen < 0 && n->maxlen < 0) {
		for (i = 0; i < n->nenum_s; i++)
			if (n->enum_s[i].n == f->vlen &&
			    memcmp(n->enum_s[i].s, f->val, f->vlen) == 0)
				return 1;
		return 0;
	}
	if (need_str && etl_scan_string(f, &str) == -1)
		return 0;
	if (n->enumv || n->has_const) {
		const json_t *one = n->has_const ? n->constv : NULL;

		for (i = 0; ; i++) {
			const json_t *e = one ? one : json_array_get(n->enumv, i);

			if (e == NULL)
				return 0;
			if (f->type == 's' && json_is_string(e) &&
			    json_string_length(e) == str.len &&
			    memcmp(json_string_value(e), str.p, str.len) == 0)
				break;
			if (f->type == 'n' && json_is_number(e) &&
			    json_number_value(e) == d)
				break;
			if ((f->type == 't' && json_is_true(e)) ||
			    (f->type == 'f' && json_is_false(e)) ||
			    (f->type == 'z' && json_is_null(e)))
				break;
			if (one)
				return 0;
		}
		if (one && n->enumv)
			return 0;	/* both: rare, let the full path judge */
	}
	if (f->type == 'n') {
		if ((n->has_min && !(d >= n->min)) ||
		    (n->has_max && !(d <= n->max)) ||
		    (n->has_xmin && !(d > n->xmin)) ||
		    (n->has_xmax && !(d < n->xmax)))
			return 0;
	}
	if (f->type == 's' && need_str) {
		size_t nc = etl_utf8_chars(str.p, str.len);
		int y, m, dd;
		int64_t tt;

		if ((n->minlen >= 0 && nc < (size_t)n->minlen) ||
		    (n->maxlen >= 0 && nc > (size_t)n->maxlen))
			return 0;
		if (n->pattern && regexec(&n->re, str.p, 0, NULL, 0) != 0)
			return 0;
		if (n->format == 'd' && etl_date_parse(str.p, str.len, &y, &m, &dd))
			return 0;
		if (n->format == 't' && etl_datetime_parse(str.p, str.len, 1, &tt))
			return 0;
	}
	return 1;
}

/*
 * The scanner's path: the record's top-level fields judged one by one,
 * the sure ones without building anything, the others as single values
 * through validate(), so the reasons are the full validator's.  -1 asks
 * for the full validator (a container under a schema that looks inside
 * it, an integer that may overflow, a root schema beyond properties).
 */
/* The property named as the field, or nprops; *guess remembers it. */
static size_t
find_prop(const struct node *n, const struct etl_field *f, size_t *guess)
{
	size_t j = *guess;

	if (j < n->nprops && n->props[j].len == f->klen &&
	    memcmp(n->props[j].name, f->key, f->klen) == 0)
		return j;
	if (j == n->nprops && !keymarked(n->keymask, f))
		return j;
	for (j = 0; j < n->nprops; j++)
		if (n->props[j].len == f->klen &&
		    memcmp(n->props[j].name, f->key, f->klen) == 0)
			break;
	return *guess = j;
}

/*
 * The reasons a top-level scalar fails its property's schema for, added
 * to *rs.  They depend on the value alone (the property fixes the path),
 * and a stream repeats its bad values ("villa" for an enum of flat
 * types), so the last ones are kept: a repeat costs no validation, and
 * the shared reasons are written from text kept by the reject channel.
 * -1 when the value is one for the full parser.
 */
#define RCACHE	64
#define RCACHE_VAL 64

static int
field_reasons(const struct node *n, const struct etl_field *f, json_t **rs)
{
	static struct {
		unsigned long	 serial;	/* of the node: not its address,
						   which a later schema may reuse */
		int		 type;
		size_t		 vlen;
		char		 val[RCACHE_VAL];
		json_t		*reasons;
	} cache[RCACHE];
	static struct etl_buf path;
	json_t *v, *one = NULL;
	size_t h = n->serial, i;

	for (i = 0; i < f->vlen; i++)
		h = h * 31 + (unsigned char)f->val[i];
	h = (h ^ (size_t)f->type) % RCACHE;
	if (cache[h].serial == n->serial && cache[h].type == f->type &&
	    cache[h].vlen == f->vlen &&
	    memcmp(cache[h].val, f->val, f->vlen) == 0) {
		if (*rs == NULL)
			*rs = json_array();
		json_array_extend(*rs, cache[h].reasons);
		return 0;
	}
	if ((v = etl_scan_json(f)) == NULL)
		return -1;
	path.len = 0;
	pointer_add(&path, f->key, f->klen);
	validate(n, v, &path, &one);
	json_decref(v);
	if (one == NULL)
		return 0;
	if (*rs == NULL)
		*rs = json_array();
	json_array_extend(*rs, one);
	if (f->vlen <= RCACHE_VAL) {
		json_decref(cache[h].reasons);
		cache[h].serial = n->serial;
		cache[h].type = f->type;
		cache[h].vlen = f->vlen;
		memcpy(cache[h].val, f->val, f->vlen);
		cache[h].reasons = one;
	} else
		json_decref(one);
	return 0;
}

static int
flat_validate(struct node *root, const struct etl_scan *s, json_t **rs)
{
	static struct etl_buf path;
	static size_t *guess;		/* by field position: records of a */
	static size_t nguess;		/* stream mostly share one order */
	static unsigned long rec;
	static unsigned long shape, schema;	/* guess[] holds for these */
	const struct etl_field *f;
	json_t *req = NULL;
	size_t i, j;
	int sure;

	if (root->never || root->addl_node || root->enumv || root->has_const ||
	    (root->types && !(root->types & T_OBJECT)))
		return -1;
	if (s->n > nguess) {
		guess = erealloc(guess, s->n * sizeof(*guess));
		for (; nguess < s->n; nguess++)
			guess[nguess] = root->nprops;
	}
	rec++;
	/* Keys of the same shape as the last record's: the same properties. */
	sure = s->shape != 0 && s->shape == shape && root->serial == schema;
	shape = 0;
	for (i = 0; i < s->n; i++) {
		f = &s->f[i];
		j = sure ? guess[i] : find_prop(root, f, &guess[i]);
		if (j == root->nprops) {
			if (root->addl == 0) {
				path.len = 0;
				pointer_add(&path, f->key, f->klen);
				etl_reason(rs, etl_buf_cstr(&path), "additional",
				    "field \"%.*s\" is not allowed", (int)f->klen,
				    f->key);
			}
			continue;
		}
		root->props[j].seen = rec;
		if (fast_value(root->props[j].node, f))
			continue;
		if (f->type == 'a' || f->type == 'o')
			goto full;
		if (field_reasons(root->props[j].node, f, rs) == -1)
			goto full;
	}
	shape = s->shape;	/* every guess[] was made for it */
	schema = root->serial;
	/* Missing required fields come first among the reasons. */
	for (i = 0; i < root->nrequired; i++) {
		j = root->reqprop[i];
		if (j < root->nprops ? root->props[j].seen == rec :
		    etl_scan_get(s, root->required[i], root->reqlen[i]) != NULL)
			continue;
		path.len = 0;
		pointer_add(&path, root->required[i], root->reqlen[i]);
		etl_reason(&req, etl_buf_cstr(&path), "required",
		    "missing required field \"%s\"", root->required[i]);
	}
	if (req) {
		if (*rs)
			json_array_extend(req, *rs);
		json_decref(*rs);
		*rs = req;
	}
	return 0;
full:
	json_decref(*rs);
	*rs = NULL;
	return -1;
}

static int use_fast = 1;

static void
check(struct etl_rec *r, void *arg)
{
	static struct etl_buf path;
	static struct etl_scan scan;
	struct node *schema = arg;
	json_t *o, *rs = NULL;

	if (use_fast && etl_scan_object(&scan, r->raw, r->len) == ETL_SCAN_OK &&
	    flat_validate(schema, &scan, &rs) == 0) {
		r->object = 1;
		if (rs)
			etl_reject(r, rs);
		else
			etl_out_rec(r);
		return;
	}
	if ((o = etl_rec_object(r)) == NULL)
		return;
	path.len = 0;
	validate(schema, o, &path, &rs);
	if (rs)
		etl_reject(r, rs);
	else
		etl_out_rec(r);
}

static unsigned long long
parse_count(const char *s)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-') {
		etl_error("--max-rejects: %s: not a count", s);
		etl_usage();
	}
	return n;
}

int
main(int argc, char *argv[])
{
	enum { OPT_RATIO = ETL_OPT_TOOL, OPT_MAXREJ };
	static struct option longopts[] = {
		{ "max-reject-ratio", required_argument, NULL, OPT_RATIO },
		{ "max-rejects", required_argument, NULL, OPT_MAXREJ },
		{ "schema", required_argument, NULL, 's' },
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct node *schema;
	json_t *j;
	double ratio = -1;
	unsigned long long maxrej = 0;
	int ch, st, has_maxrej = 0;

	etl_init("etl-check", usage_text, help_text);
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS "s:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_RATIO:
			ratio = etl_arg_number("--max-reject-ratio", optarg, 0, 1);
			break;
		case OPT_MAXREJ:
			maxrej = parse_count(optarg);
			has_maxrej = 1;
			break;
		case 's':
			schema_path = optarg;
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (schema_path == NULL)
		etl_usage();

	/* ETL_SCAN=0 turns the fast path off, to compare the two. */
	if (getenv("ETL_SCAN") && strcmp(getenv("ETL_SCAN"), "0") == 0)
		use_fast = 0;
	j = etl_json_load_file(schema_path, "schema");
	schema = compile(j, "");
	json_decref(j);

	st = etl_loop(argc, argv, check, schema);
	etl_status(st);

	/* The gates look at the whole stream, so they are checked at its end. */
	if (has_maxrej && etl_n_rejected > maxrej) {
		etl_stats_note("gate max-rejects tripped: %llu rejected > %llu",
		    etl_n_rejected, maxrej);
		etl_stats_set("gate", json_string("max-rejects"));
		etl_status(ETL_EX_DATAERR);
	}
	if (ratio >= 0 && etl_n_in > 0 &&
	    (double)etl_n_rejected / (double)etl_n_in > ratio) {
		etl_stats_note("gate max-reject-ratio tripped: %.4g rejected > %g",
		    (double)etl_n_rejected / (double)etl_n_in, ratio);
		etl_stats_set("gate", json_string("max-reject-ratio"));
		etl_status(ETL_EX_DATAERR);
	}
	node_free(schema);
	return etl_finish();
}
