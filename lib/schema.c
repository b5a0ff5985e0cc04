/*
 * schema.c - JSON Schema 2020-12: a schema compiled once into a graph of
 * nodes, then values validated against it, every reason kept.
 *
 * Compiling walks the document, gives each schema object a node, and
 * registers its resources ($id) and anchors; references are resolved
 * once every node exists, loading the documents --ref-dir maps and no
 * other.  Validation carries the dynamic scope (the resources entered
 * so far, for $dynamicRef) and, where unevaluatedProperties or
 * unevaluatedItems need them, the keys and items the subschemas
 * evaluated.  A lazy path judges the flat records of simple schemas from
 * the scanner's view of a line (lib/scan.h) without building them; it
 * gives the full validator's reasons exactly.
 */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "etl.h"
#include "scan.h"

enum {
	T_NULL = 1, T_BOOLEAN = 2, T_OBJECT = 4, T_ARRAY = 8, T_NUMBER = 16,
	T_INTEGER = 32, T_STRING = 64
};

static const char *type_names[] = {
	"null", "boolean", "object", "array", "number", "integer", "string"
};

/*
 * Bounds: in-place subschemas ($ref, allOf, anyOf …) may expand to so
 * many evaluations of one value; validating one record may take so many
 * steps (and more for a large record), after which it is rejected with
 * code "limit" rather than left to run for hours.
 */
#define COST_MAX	1000000
#define STEPS_MIN	1000000ULL
#define STEPS_PER_VALUE	1000ULL

struct node;

struct prop {
	char		*name;
	size_t		 len;
	struct node	*node;
	unsigned long	 seen;		/* the record that last had it */
};

struct pprop {
	char		*src;
	struct etl_regex *re;
	struct node	*node;
};

struct depreq {
	char		*name;
	json_t		*names;		/* array of strings */
};

struct depsch {
	char		*name;
	struct node	*node;
};

struct anchor {
	char		*name;
	struct node	*node;
	int		 dynamic;
};

struct resource {
	char		*uri;		/* absolute, without a fragment */
	json_t		*json;		/* its root (borrowed from a document) */
	struct node	*root;
	const char	*doc;		/* the file, for messages */
	struct anchor	*anchors;
	size_t		 nanchors;
};

struct ref {
	char		*uri;		/* absolute */
	struct node	*target;
	char		*dynamic;	/* $dynamicRef to a $dynamicAnchor */
	const char	*doc;
	char		*where;
	int		 dyn;		/* $dynamicRef */
};

struct node {
	unsigned long	 serial;	/* one for each node compiled */
	char		*where;		/* JSON Pointer in its document */
	struct resource	*res;
	int		 any;		/* true or {}: nothing to check */
	int		 never;		/* the schema false */
	unsigned	 types;		/* 0: any */
	/* objects */
	struct prop	*props;
	size_t		 nprops;
	struct pprop	*pprops;
	size_t		 npprops;
	int		 addl;		/* -1 absent, 0 false, 1 schema, 2 true */
	struct node	*addl_node;
	struct node	*names;		/* propertyNames */
	char		**required;
	size_t		*reqlen;
	size_t		 nrequired;
	struct depreq	*depreq;
	size_t		 ndepreq;
	struct depsch	*depsch;
	size_t		 ndepsch;
	long		 minprops, maxprops;
	struct node	*uprops;	/* unevaluatedProperties */
	/* arrays */
	struct node	**prefix;
	size_t		 nprefix;
	struct node	*items;
	struct node	*contains;
	long		 mincontains, maxcontains;
	long		 minitems, maxitems;
	int		 unique;
	struct node	*uitems;	/* unevaluatedItems */
	/* in place */
	struct node	**allof, **anyof, **oneof;
	size_t		 nallof, nanyof, noneof;
	struct node	*not, *if_, *then_, *else_;
	struct ref	*ref, *dynref;
	/* values */
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
	double		 min, max, xmin, xmax, mult;
	int		 has_min, has_max, has_xmin, has_xmax, has_mult;
	long long	 mult_int;	/* multipleOf as an integer, or 0 */
	long		 minlen, maxlen;	/* characters; -1 unset */
	struct etl_regex *re;
	char		*pattern;
	int		 format;	/* etl_format_id(), or 0 */
	struct bound {
		int		 set;
		int64_t		 t;
		const char	*frac;
		size_t		 fraclen;
		char		*text;
	}		 fmin, fmax, fxmin, fxmax;
	/* What the paths may do with it: */
	int		 simple;	/* fast_value() knows every keyword */
	int		 flat;		/* a root flat_validate() handles */
	int		 tracks;	/* unevaluated*: collects evaluations */
	/* For the fast path: */
	size_t		*reqprop;	/* the property of each required name,
					   or nprops when it has none */
	uint64_t	 keymask[4];	/* each property's bit of keymark() */
	/* For the graph passes: */
	int		 state;
	double		 cost;
};

struct etl_schema {
	struct node	*root;
	struct node	**nodes;
	size_t		 nnodes, capnodes;
	struct resource	**res;
	size_t		 nres, capres;
	struct {
		const json_t	*json;
		struct node	*node;
	}		*map;		/* schema objects to their nodes */
	size_t		 nmap, capmap;
	json_t		**docs;		/* documents held */
	char		**docnames;
	size_t		 ndocs;
	struct ref	**pending;
	size_t		 npending, cappending;
	struct etl_schema_opts opts;
};

/* The document being compiled, for messages. */
static const char *cur_doc;

static void bad(const char *, const char *, ...) ETL_PRINTF(2, 3)
    ETL_NORETURN;

static void
bad(const char *where, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	etl_die(ETL_EX_CONFIG, "%s: %s: %s", cur_doc, *where ? where : "/", msg);
}

/* A keyword's string that is used as a C string: no NUL in it. */
static const char *
name_of(json_t *v, const char *where, const char *what)
{
	if (!json_is_string(v))
		bad(where, "%s must be a string", what);
	if (strlen(json_string_value(v)) != json_string_length(v))
		bad(where, "%s: a NUL character in a name", what);
	return json_string_value(v);
}

/* ---- helpers: paths, messages, JSON values ---- */

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

/*
 * Strings made while compiling (places, URIs) are kept here until the
 * compile ends, so that one which dies (78) leaves nothing a fuzzing
 * harness that catches the death cannot free: etl_schema_discard().
 */
static struct {
	char	**p;
	size_t	 n, cap;
} scratch;

static char *
scratch_keep(char *s)
{
	if (scratch.n == scratch.cap) {
		scratch.cap = scratch.cap ? scratch.cap * 2 : 64;
		scratch.p = erealloc(scratch.p, scratch.cap * sizeof(*scratch.p));
	}
	return scratch.p[scratch.n++] = s;
}

static void
scratch_free(void)
{
	while (scratch.n > 0)
		free(scratch.p[--scratch.n]);
	free(scratch.p);
	scratch.p = NULL;
	scratch.cap = 0;
}

/* A JSON Pointer to a schema place: where + "/" + key (escaped). */
static char *
subpath(const char *where, const char *key)
{
	struct etl_buf b = { 0 };

	etl_buf_adds(&b, where);
	pointer_add(&b, key, strlen(key));
	return scratch_keep((char *)etl_buf_cstr(&b));
}

static char *
subindex(const char *where, size_t i)
{
	struct etl_buf b = { 0 };

	etl_buf_printf(&b, "%s/%zu", where, i);
	return scratch_keep((char *)etl_buf_cstr(&b));
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

/*
 * The JSON text of v, as etl_json_dump() writes it, but only so much of
 * it as reaches past max bytes: messages show a value's beginning.
 */
static void
dump_short(struct etl_buf *b, const json_t *v, size_t max)
{
	const char *k;
	json_t *x;
	size_t i, n;
	int first = 1;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		etl_buf_addc(b, '{');
		json_object_foreach((json_t *)v, k, x) {
			if (b->len > max)
				return;
			if (!first)
				etl_buf_addc(b, ',');
			first = 0;
			etl_json_string(b, k, strlen(k));
			etl_buf_addc(b, ':');
			dump_short(b, x, max);
		}
		etl_buf_addc(b, '}');
		break;
	case JSON_ARRAY:
		etl_buf_addc(b, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (b->len > max)
				return;
			if (i)
				etl_buf_addc(b, ',');
			dump_short(b, json_array_get(v, i), max);
		}
		etl_buf_addc(b, ']');
		break;
	case JSON_STRING:
		/* Escapes only lengthen it: its first max bytes will do. */
		n = json_string_length(v);
		etl_json_string(b, json_string_value(v), n > max + 8 ? max + 8 : n);
		break;
	default:
		etl_json_dump(b, v);
	}
}

/* The value as short JSON text, for messages. */
static const char *
show(const json_t *v)
{
	static struct etl_buf b;

	b.len = 0;
	dump_short(&b, v, 80);
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

	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
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

/* A hash that json_same() values share. */
static uint64_t
json_hash(const json_t *v)
{
	uint64_t h = 1469598103934665603ULL, s;
	const char *k, *p;
	json_t *x;
	double d;
	size_t i, n;

	switch (json_typeof(v)) {
	case JSON_INTEGER:
	case JSON_REAL:
		d = json_number_value(v);
		if (d == 0)
			d = 0;		/* -0 */
		memcpy(&s, &d, sizeof(s));
		return s * 0x9e3779b97f4a7c15ULL + 7;
	case JSON_STRING:
		p = json_string_value(v);
		n = json_string_length(v);
		for (i = 0; i < n; i++)
			h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
		return h;
	case JSON_ARRAY:
		for (i = 0; i < json_array_size(v); i++)
			h = (h ^ json_hash(json_array_get(v, i))) * 1099511628211ULL;
		return h + 3;
	case JSON_OBJECT:
		s = 5;
		json_object_foreach((json_t *)v, k, x) {
			uint64_t kh = 1469598103934665603ULL;

			for (p = k; *p; p++)
				kh = (kh ^ (unsigned char)*p) * 1099511628211ULL;
			s += (kh * 31) ^ json_hash(x);	/* any order */
		}
		return s;
	default:
		return (uint64_t)json_typeof(v) + 11;
	}
}

/* ---- URIs (RFC 3986 5.2) ---- */

struct uparts {
	const char	*scheme, *auth, *path, *query, *frag;
	size_t		 nscheme, nauth, npath, nquery, nfrag;
	int		 has_scheme, has_auth, has_query, has_frag;
};

static void
uri_split(const char *s, struct uparts *u)
{
	const char *p = s, *q;

	memset(u, 0, sizeof(*u));
	for (q = p; *q && !strchr(":/?#", *q); q++)
		;
	if (*q == ':' && q > p) {
		u->has_scheme = 1;
		u->scheme = p;
		u->nscheme = (size_t)(q - p);
		p = q + 1;
	}
	if (p[0] == '/' && p[1] == '/') {
		u->has_auth = 1;
		u->auth = p + 2;
		u->nauth = strcspn(p + 2, "/?#");
		p = u->auth + u->nauth;
	}
	u->path = p;
	u->npath = strcspn(p, "?#");
	p += u->npath;
	if (*p == '?') {
		u->has_query = 1;
		u->query = p + 1;
		u->nquery = strcspn(p + 1, "#");
		p = u->query + u->nquery;
	}
	if (*p == '#') {
		u->has_frag = 1;
		u->frag = p + 1;
		u->nfrag = strlen(p + 1);
	}
}

/* remove_dot_segments of RFC 3986 5.2.4, into out. */
static void
dot_segments(const char *path, size_t n, struct etl_buf *out)
{
	char *buf = estrndup(path, n), *in = buf;
	size_t start = out->len, k;

	while (*in) {
		if (strncmp(in, "../", 3) == 0)
			in += 3;
		else if (strncmp(in, "./", 2) == 0)
			in += 2;
		else if (strncmp(in, "/./", 3) == 0)
			in += 2;
		else if (strcmp(in, "/.") == 0)
			in[1] = '\0';
		else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
			if (in[3] == '/')
				in += 3;
			else {
				in += 2;
				*in = '/';
			}
			while (out->len > start && out->p[out->len - 1] != '/')
				out->len--;
			if (out->len > start)
				out->len--;
		} else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0)
			in += strlen(in);
		else {
			k = *in == '/';
			k += strcspn(in + k, "/");
			etl_buf_add(out, in, k);
			in += k;
		}
	}
	free(buf);
}

/* The reference resolved against the base: a new string. */
static char *
uri_resolve(const char *base, const char *ref)
{
	struct uparts b, r;
	struct etl_buf t = { 0 }, m = { 0 };
	const char *slash;

	uri_split(base, &b);
	uri_split(ref, &r);
	if (r.has_scheme) {
		etl_buf_add(&t, r.scheme, r.nscheme);
		etl_buf_addc(&t, ':');
		if (r.has_auth) {
			etl_buf_adds(&t, "//");
			etl_buf_add(&t, r.auth, r.nauth);
		}
		dot_segments(r.path, r.npath, &t);
		if (r.has_query) {
			etl_buf_addc(&t, '?');
			etl_buf_add(&t, r.query, r.nquery);
		}
	} else {
		if (b.has_scheme) {
			etl_buf_add(&t, b.scheme, b.nscheme);
			etl_buf_addc(&t, ':');
		}
		if (r.has_auth) {
			etl_buf_adds(&t, "//");
			etl_buf_add(&t, r.auth, r.nauth);
			dot_segments(r.path, r.npath, &t);
			if (r.has_query) {
				etl_buf_addc(&t, '?');
				etl_buf_add(&t, r.query, r.nquery);
			}
		} else {
			if (b.has_auth) {
				etl_buf_adds(&t, "//");
				etl_buf_add(&t, b.auth, b.nauth);
			}
			if (r.npath == 0) {
				etl_buf_add(&t, b.path, b.npath);
				if (r.has_query || b.has_query)
					etl_buf_addc(&t, '?');
				if (r.has_query)
					etl_buf_add(&t, r.query, r.nquery);
				else if (b.has_query)
					etl_buf_add(&t, b.query, b.nquery);
			} else {
				if (r.path[0] == '/')
					etl_buf_add(&m, r.path, r.npath);
				else {
					if (b.has_auth && b.npath == 0)
						etl_buf_addc(&m, '/');
					else {
						slash = NULL;
						for (size_t i = 0; i < b.npath; i++)
							if (b.path[i] == '/')
								slash = b.path + i;
						if (slash)
							etl_buf_add(&m, b.path,
							    (size_t)(slash - b.path) + 1);
					}
					etl_buf_add(&m, r.path, r.npath);
				}
				dot_segments(m.p ? m.p : "", m.len, &t);
				if (r.has_query) {
					etl_buf_addc(&t, '?');
					etl_buf_add(&t, r.query, r.nquery);
				}
			}
		}
	}
	if (r.has_frag) {
		etl_buf_addc(&t, '#');
		etl_buf_add(&t, r.frag, r.nfrag);
	}
	etl_buf_free(&m);
	return (char *)etl_buf_cstr(&t);
}

/* %XX decoded in place. */
static void
pct_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		int h, l;

		if (s[0] == '%' && s[1] && s[2] &&
		    (h = (s[1] >= 'a' ? s[1] - 'a' + 10 : s[1] >= 'A' ?
		    s[1] - 'A' + 10 : s[1] - '0')) >= 0 && h < 16 &&
		    (l = (s[2] >= 'a' ? s[2] - 'a' + 10 : s[2] >= 'A' ?
		    s[2] - 'A' + 10 : s[2] - '0')) >= 0 && l < 16) {
			*o++ = (char)(h * 16 + l);
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
}

/* ---- the registry: nodes, resources, anchors ---- */

static struct node *
node_new(struct etl_schema *S, const char *where, struct resource *res)
{
	static unsigned long serial;
	struct node *n;

	n = ecalloc(1, sizeof(*n));
	n->serial = ++serial;
	n->where = estrdup(where);
	n->res = res;
	n->addl = -1;
	n->minlen = n->maxlen = n->minitems = n->maxitems = -1;
	n->minprops = n->maxprops = n->maxcontains = -1;
	n->mincontains = 1;
	if (S->nnodes == S->capnodes) {
		S->capnodes = S->capnodes ? S->capnodes * 2 : 64;
		S->nodes = erealloc(S->nodes, S->capnodes * sizeof(*S->nodes));
	}
	S->nodes[S->nnodes++] = n;
	return n;
}

static size_t
map_slot(const struct etl_schema *S, const json_t *j)
{
	return ((uintptr_t)j >> 4) * 0x9e3779b97f4a7c15ULL % S->capmap;
}

static struct node *
map_get(const struct etl_schema *S, const json_t *j)
{
	size_t i;

	if (S->capmap == 0)
		return NULL;
	for (i = map_slot(S, j); S->map[i].json; i = (i + 1) % S->capmap)
		if (S->map[i].json == j)
			return S->map[i].node;
	return NULL;
}

static void
map_put(struct etl_schema *S, const json_t *j, struct node *n)
{
	size_t i, old = S->capmap;

	if ((S->nmap + 1) * 2 > S->capmap) {
		__typeof__(S->map) m = S->map;

		S->capmap = old ? old * 2 : 64;
		S->map = ecalloc(S->capmap, sizeof(*S->map));
		S->nmap = 0;
		for (i = 0; i < old; i++)
			if (m[i].json)
				map_put(S, m[i].json, m[i].node);
		free(m);
	}
	for (i = map_slot(S, j); S->map[i].json; i = (i + 1) % S->capmap)
		;
	S->map[i].json = j;
	S->map[i].node = n;
	S->nmap++;
}

static struct resource *
resource_find(const struct etl_schema *S, const char *uri)
{
	size_t i;

	for (i = 0; i < S->nres; i++)
		if (strcmp(S->res[i]->uri, uri) == 0)
			return S->res[i];
	return NULL;
}

static struct resource *
resource_new(struct etl_schema *S, const char *uri, json_t *json,
    const char *where)
{
	struct resource *r;

	if ((r = resource_find(S, uri)) != NULL) {
		if (r->json == json)
			return r;
		bad(where, "$id %s: another schema has it already", uri);
	}
	r = ecalloc(1, sizeof(*r));
	r->uri = estrdup(uri);
	r->json = json;
	r->doc = cur_doc;
	if (S->nres == S->capres) {
		S->capres = S->capres ? S->capres * 2 : 8;
		S->res = erealloc(S->res, S->capres * sizeof(*S->res));
	}
	S->res[S->nres++] = r;
	return r;
}

static struct anchor *
anchor_find(const struct resource *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nanchors; i++)
		if (strcmp(r->anchors[i].name, name) == 0)
			return &r->anchors[i];
	return NULL;
}

static void
anchor_add(struct resource *r, json_t *v, struct node *n, int dynamic,
    const char *where)
{
	const char *a, *kw = dynamic ? "$dynamicAnchor" : "$anchor";
	struct anchor *old;

	a = name_of(v, where, kw);
	/* NCName-like, as 2020-12 says: [A-Za-z_][-A-Za-z0-9._]* */
	if (!((*a >= 'A' && *a <= 'Z') || (*a >= 'a' && *a <= 'z') || *a == '_') ||
	    a[strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._")] != '\0')
		bad(where, "%s %s is not a plain name", kw, a);
	if ((old = anchor_find(r, a)) != NULL) {
		if (old->node == n) {
			old->dynamic |= dynamic;
			return;
		}
		bad(where, "%s %s: the resource has it already", kw, a);
	}
	r->anchors = erealloc(r->anchors, (r->nanchors + 1) * sizeof(*r->anchors));
	r->anchors[r->nanchors].name = estrdup(a);
	r->anchors[r->nanchors].node = n;
	r->anchors[r->nanchors++].dynamic = dynamic;
}

/* ---- compiling ---- */

static double
num(json_t *v, const char *where, const char *kw)
{
	if (!json_is_number(v))
		bad(where, "%s must be a number", kw);
	return json_number_value(v);
}

static long
count(json_t *v, const char *where, const char *kw)
{
	double d = 0;

	if (!json_is_number(v) || (d = json_number_value(v)) < 0 ||
	    d != floor(d) || d > 1e15)
		bad(where, "%s must be a non-negative integer", kw);
	return (long)d;
}

static unsigned
type_bit(json_t *v, const char *where)
{
	size_t i;

	if (json_is_string(v) && strlen(json_string_value(v)) ==
	    json_string_length(v))
		for (i = 0; i < sizeof(type_names) / sizeof(*type_names); i++)
			if (strcmp(json_string_value(v), type_names[i]) == 0)
				return 1u << i;
	bad(where, "type: unknown type %s",
	    json_is_string(v) ? json_string_value(v) : "(not a string)");
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

enum kw {
	K_IGNORED, K_ID, K_ANCHOR, K_DEFS, K_REF, K_DYNREF, K_TYPE, K_ENUM,
	K_CONST, K_MULT, K_MAX, K_XMAX, K_MIN, K_XMIN, K_MAXLEN, K_MINLEN,
	K_PATTERN, K_MAXITEMS, K_MINITEMS, K_UNIQUE, K_MAXCONTAINS,
	K_MINCONTAINS, K_MAXPROPS, K_MINPROPS, K_REQUIRED, K_DEPREQ, K_ALLOF,
	K_ANYOF, K_ONEOF, K_NOT, K_IF, K_THEN, K_ELSE, K_DEPSCH, K_PREFIX,
	K_ITEMS, K_CONTAINS, K_PROPS, K_PPROPS, K_ADDL, K_NAMES, K_UITEMS,
	K_UPROPS, K_FORMAT, K_FMIN, K_FMAX, K_FXMIN, K_FXMAX
};

static const struct {
	const char	*name;
	enum kw		 kw;
	/*
	 * What the fast paths allow: 's' a property node fast_value()
	 * judges, 'f' also a root flat_validate() judges, 'r' only a
	 * root (it does not apply to objects), 0 neither.
	 */
	char		 fast;
} keywords[] = {
	{ "$schema", K_IGNORED, 'f' }, { "$comment", K_IGNORED, 'f' },
	{ "$vocabulary", K_IGNORED, 'f' }, { "title", K_IGNORED, 'f' },
	{ "description", K_IGNORED, 'f' }, { "default", K_IGNORED, 'f' },
	{ "examples", K_IGNORED, 'f' }, { "deprecated", K_IGNORED, 'f' },
	{ "readOnly", K_IGNORED, 'f' }, { "writeOnly", K_IGNORED, 'f' },
	{ "contentEncoding", K_IGNORED, 'f' },
	{ "contentMediaType", K_IGNORED, 'f' },
	{ "contentSchema", K_IGNORED, 'f' },
	{ "$id", K_ID, 'f' }, { "$anchor", K_ANCHOR, 'f' },
	{ "$dynamicAnchor", K_ANCHOR, 'f' }, { "$defs", K_DEFS, 'f' },
	{ "$ref", K_REF, 0 }, { "$dynamicRef", K_DYNREF, 0 },
	{ "type", K_TYPE, 'f' }, { "enum", K_ENUM, 's' },
	{ "const", K_CONST, 's' }, { "multipleOf", K_MULT, 'r' },
	{ "maximum", K_MAX, 'f' }, { "exclusiveMaximum", K_XMAX, 'f' },
	{ "minimum", K_MIN, 'f' }, { "exclusiveMinimum", K_XMIN, 'f' },
	{ "maxLength", K_MAXLEN, 'f' }, { "minLength", K_MINLEN, 'f' },
	{ "pattern", K_PATTERN, 'f' }, { "maxItems", K_MAXITEMS, 'f' },
	{ "minItems", K_MINITEMS, 'f' }, { "uniqueItems", K_UNIQUE, 'r' },
	{ "maxContains", K_MAXCONTAINS, 'r' },
	{ "minContains", K_MINCONTAINS, 'r' },
	{ "maxProperties", K_MAXPROPS, 0 }, { "minProperties", K_MINPROPS, 0 },
	{ "required", K_REQUIRED, 'f' },
	{ "dependentRequired", K_DEPREQ, 0 }, { "allOf", K_ALLOF, 0 },
	{ "anyOf", K_ANYOF, 0 }, { "oneOf", K_ONEOF, 0 }, { "not", K_NOT, 0 },
	{ "if", K_IF, 0 }, { "then", K_THEN, 0 }, { "else", K_ELSE, 0 },
	{ "dependentSchemas", K_DEPSCH, 0 }, { "prefixItems", K_PREFIX, 'r' },
	{ "items", K_ITEMS, 'f' }, { "contains", K_CONTAINS, 'r' },
	{ "properties", K_PROPS, 'f' }, { "patternProperties", K_PPROPS, 0 },
	{ "additionalProperties", K_ADDL, 'f' },
	{ "propertyNames", K_NAMES, 0 }, { "unevaluatedItems", K_UITEMS, 'r' },
	{ "unevaluatedProperties", K_UPROPS, 0 }, { "format", K_FORMAT, 'f' },
	{ "formatMinimum", K_FMIN, 'r' }, { "formatMaximum", K_FMAX, 'r' },
	{ "formatExclusiveMinimum", K_FXMIN, 'r' },
	{ "formatExclusiveMaximum", K_FXMAX, 'r' },
};

static struct node *compile(struct etl_schema *, json_t *, const char *,
    struct resource *);

/* A list of schemas into *l, *np counting those compiled so far. */
static void
compile_list(struct etl_schema *S, json_t *v, const char *where,
    const char *kw, struct resource *res, struct node ***l, size_t *np)
{
	size_t i;

	if (!json_is_array(v) || json_array_size(v) == 0)
		bad(where, "%s must be a non-empty array of schemas", kw);
	*l = ecalloc(json_array_size(v), sizeof(**l));
	for (i = 0; i < json_array_size(v); i++) {
		(*l)[i] = compile(S, json_array_get(v, i), subindex(where, i), res);
		*np = i + 1;
	}
}

static struct ref *
ref_new(struct etl_schema *S, json_t *v, const char *where, const char *kw,
    struct resource *res, int dyn)
{
	const char *to = name_of(v, where, kw);
	struct ref *r;

	r = ecalloc(1, sizeof(*r));
	r->uri = uri_resolve(res->uri, to);
	r->doc = cur_doc;
	r->where = estrdup(where);
	r->dyn = dyn;
	if (S->npending == S->cappending) {
		S->cappending = S->cappending ? S->cappending * 2 : 16;
		S->pending = erealloc(S->pending, S->cappending * sizeof(*S->pending));
	}
	S->pending[S->npending++] = r;
	return r;
}

static void
format_bound(struct node *n, struct bound *b, json_t *v, const char *where,
    const char *kw, int annotation)
{
	const char *s;

	s = name_of(v, where, kw);
	if (annotation)
		return;
	if (n->format != etl_format_id("date") &&
	    n->format != etl_format_id("date-time"))
		bad(where, "%s needs format date or date-time beside it", kw);
	b->text = estrdup(s);
	if (etl_format_instant(b->text, strlen(b->text),
	    n->format == etl_format_id("date-time"), &b->t, &b->frac,
	    &b->fraclen) == -1)
		bad(where, "%s: %s is not %s", kw, s, etl_format_what(n->format));
	b->set = 1;
}

/* Keywords that hold one number or count: where each goes in a node. */
#define AT(f)	offsetof(struct node, f)
static const struct {
	int	 kw;
	size_t	 value, set;	/* set: 0 for counts, whose unset is -1 */
} bounds[] = {
	{ K_MIN, AT(min), AT(has_min) }, { K_MAX, AT(max), AT(has_max) },
	{ K_XMIN, AT(xmin), AT(has_xmin) }, { K_XMAX, AT(xmax), AT(has_xmax) },
	{ K_MINLEN, AT(minlen), 0 }, { K_MAXLEN, AT(maxlen), 0 },
	{ K_MINITEMS, AT(minitems), 0 }, { K_MAXITEMS, AT(maxitems), 0 },
	{ K_MINCONTAINS, AT(mincontains), 0 },
	{ K_MAXCONTAINS, AT(maxcontains), 0 },
	{ K_MINPROPS, AT(minprops), 0 }, { K_MAXPROPS, AT(maxprops), 0 },
};
#undef AT

static int
compile_bound(struct node *n, int kw, json_t *v, const char *sub,
    const char *k)
{
	char *base = (char *)n;
	size_t i;

	if (kw == K_MULT) {
		n->mult = num(v, sub, k);
		if (!(n->mult > 0) || !isfinite(n->mult))
			bad(sub, "%s", "multipleOf must be greater than 0");
		n->has_mult = 1;
		if (json_is_integer(v))
			n->mult_int = json_integer_value(v);
		return 1;
	}
	for (i = 0; i < sizeof(bounds) / sizeof(*bounds); i++) {
		if (bounds[i].kw != kw)
			continue;
		if (bounds[i].set) {
			*(double *)(base + bounds[i].value) = num(v, sub, k);
			*(int *)(base + bounds[i].set) = 1;
		} else
			*(long *)(base + bounds[i].value) = count(v, sub, k);
		return 1;
	}
	return 0;
}

/* $defs, properties, dependentSchemas: an object of subschemas. */
static void
compile_map(struct etl_schema *S, struct node *n, int kw, json_t *v,
    const char *sub, struct resource *res)
{
	const char *pk;
	json_t *pv;
	size_t size;

	if (!json_is_object(v))
		bad(sub, "%s must be an object%s", kw == K_DEFS ? "$defs" :
		    kw == K_PROPS ? "properties" : "dependentSchemas",
		    kw == K_DEFS ? " of schemas" : "");
	size = json_object_size(v);
	if (kw == K_PROPS)
		n->props = ecalloc(size, sizeof(*n->props));
	else if (kw == K_DEPSCH)
		n->depsch = ecalloc(size, sizeof(*n->depsch));
	json_object_foreach(v, pk, pv) {
		char *ps = subpath(sub, pk);
		struct node *c = compile(S, pv, ps, res);

		if (kw == K_PROPS) {
			n->props[n->nprops].name = estrdup(pk);
			n->props[n->nprops].len = strlen(pk);
			n->props[n->nprops++].node = c;
		} else if (kw == K_DEPSCH) {
			n->depsch[n->ndepsch].name = estrdup(pk);
			n->depsch[n->ndepsch++].node = c;
		}
	}
}

static void
compile_pprops(struct etl_schema *S, struct node *n, json_t *v,
    const char *sub, struct resource *res)
{
	const char *pk;
	json_t *pv;
	char err[256];

	if (!json_is_object(v))
		bad(sub, "%s", "patternProperties must be an object");
	n->pprops = ecalloc(json_object_size(v), sizeof(*n->pprops));
	json_object_foreach(v, pk, pv) {
		char *ps = subpath(sub, pk);
		struct pprop *pp = &n->pprops[n->npprops++];

		pp->src = estrdup(pk);
		if ((pp->re = etl_regex_new(pk, strlen(pk), err,
		    sizeof(err))) == NULL)
			bad(ps, "not an ECMA-262 regular expression "
			    "PCRE2 can run: %s", err);
		pp->node = compile(S, pv, ps, res);
	}
}

/* Keywords that hold subschemas; clears *flat where one makes a record deep. */
static int
compile_applicator(struct etl_schema *S, struct node *n, int kw, json_t *v,
    const char *sub, const char *k, struct resource *res, int *flat)
{
	struct node **one[] = {
		[K_NOT] = &n->not, [K_IF] = &n->if_, [K_THEN] = &n->then_,
		[K_ELSE] = &n->else_, [K_ITEMS] = &n->items,
		[K_CONTAINS] = &n->contains, [K_NAMES] = &n->names,
		[K_UITEMS] = &n->uitems, [K_UPROPS] = &n->uprops,
	};

	switch (kw) {
	case K_DEFS:
	case K_PROPS:
	case K_DEPSCH:
		compile_map(S, n, kw, v, sub, res);
		break;
	case K_PPROPS:
		compile_pprops(S, n, v, sub, res);
		break;
	case K_ALLOF:
		compile_list(S, v, sub, k, res, &n->allof, &n->nallof);
		break;
	case K_ANYOF:
		compile_list(S, v, sub, k, res, &n->anyof, &n->nanyof);
		break;
	case K_ONEOF:
		compile_list(S, v, sub, k, res, &n->oneof, &n->noneof);
		break;
	case K_PREFIX:
		compile_list(S, v, sub, k, res, &n->prefix, &n->nprefix);
		break;
	case K_NOT: case K_IF: case K_THEN: case K_ELSE: case K_ITEMS:
	case K_CONTAINS: case K_NAMES: case K_UITEMS: case K_UPROPS:
		*one[kw] = compile(S, v, sub, res);
		if (kw == K_UITEMS || kw == K_UPROPS)
			n->tracks = 1;
		break;
	case K_ADDL:
		if (json_is_false(v))
			n->addl = 0;
		else if (json_is_true(v))
			n->addl = 2;
		else {
			n->addl = 1;
			n->addl_node = compile(S, v, sub, res);
			*flat = 0;
		}
		break;
	default:
		return 0;
	}
	return 1;
}

static void
compile_enum(struct node *n, json_t *v, const char *sub)
{
	size_t j;

	if (!json_is_array(v))
		bad(sub, "%s", "enum must be an array");
	n->enumv = json_incref(v);
	n->enum_text = estrdup(show(v));
	n->enum_s = ecalloc(json_array_size(v) + 1, sizeof(*n->enum_s));
	for (j = 0; j < json_array_size(v); j++) {
		json_t *e = json_array_get(v, j);

		if (!json_is_string(e))
			continue;
		n->enum_s[n->nenum_s].s = json_string_value(e);
		n->enum_s[n->nenum_s++].n = json_string_length(e);
	}
}

static void
compile_required(struct node *n, json_t *v, const char *sub, const char *k)
{
	size_t j;

	if (!json_is_array(v))
		bad(sub, "%s", "required must be an array of names");
	n->required = ecalloc(json_array_size(v), sizeof(char *));
	n->reqlen = ecalloc(json_array_size(v), sizeof(size_t));
	for (j = 0; j < json_array_size(v); j++) {
		if (!json_is_string(json_array_get(v, j)))
			bad(sub, "%s", "required must be an array of names");
		name_of(json_array_get(v, j), sub, k);
		n->reqlen[n->nrequired] =
		    json_string_length(json_array_get(v, j));
		n->required[n->nrequired++] =
		    estrdup(json_string_value(json_array_get(v, j)));
	}
}

static void
compile_depreq(struct node *n, json_t *v, const char *sub, const char *k)
{
	const char *dk;
	json_t *dv;
	size_t j;

	if (!json_is_object(v))
		bad(sub, "%s", "dependentRequired must be an object");
	n->depreq = ecalloc(json_object_size(v), sizeof(*n->depreq));
	json_object_foreach(v, dk, dv) {
		if (!json_is_array(dv))
			bad(sub, "dependentRequired: %s: not an array of names",
			    dk);
		for (j = 0; j < json_array_size(dv); j++) {
			if (!json_is_string(json_array_get(dv, j)))
				bad(sub, "dependentRequired: %s: not an array "
				    "of names", dk);
			name_of(json_array_get(dv, j), sub, k);
		}
		n->depreq[n->ndepreq].name = estrdup(dk);
		n->depreq[n->ndepreq++].names = json_incref(dv);
	}
}

/* The keywords on values: types, enum, const, strings, names. */
static void
compile_assertion(struct etl_schema *S, struct node *n, int kw, json_t *v,
    const char *sub, const char *k, struct resource *res, json_t **fbounds)
{
	char err[256];
	size_t j;

	switch (kw) {
	case K_REF:
		n->ref = ref_new(S, v, sub, k, res, 0);
		break;
	case K_DYNREF:
		n->dynref = ref_new(S, v, sub, k, res, 1);
		break;
	case K_TYPE:
		if (json_is_array(v)) {
			for (j = 0; j < json_array_size(v); j++)
				n->types |= type_bit(json_array_get(v, j), sub);
			if (n->types == 0)
				bad(sub, "%s", "type: empty list");
		} else
			n->types = type_bit(v, sub);
		break;
	case K_ENUM:
		compile_enum(n, v, sub);
		break;
	case K_CONST:
		n->constv = json_incref(v);
		n->const_text = estrdup(show(v));
		n->has_const = 1;
		break;
	case K_UNIQUE:
		if (!json_is_boolean(v))
			bad(sub, "%s", "uniqueItems must be a boolean");
		n->unique = json_is_true(v);
		break;
	case K_PATTERN:
		if (!json_is_string(v))
			bad(sub, "%s", "pattern must be a string");
		n->pattern = estrdup(json_string_value(v));
		if ((n->re = etl_regex_new(json_string_value(v),
		    json_string_length(v), err, sizeof(err))) == NULL)
			bad(sub, "pattern is not an ECMA-262 regular "
			    "expression PCRE2 can run: %s", err);
		break;
	case K_FORMAT:
		name_of(v, sub, k);
		if (S->opts.format_annotation)
			break;
		if ((n->format = etl_format_id(json_string_value(v))) == 0)
			bad(sub, "unsupported format %s (etl-check(1) "
			    "lists the formats it checks; "
			    "--format-annotation checks none)",
			    json_string_value(v));
		break;
	case K_FMIN:
	case K_FMAX:
	case K_FXMIN:
	case K_FXMAX:
		/* After the others: they need format. */
		fbounds[kw - K_FMIN] = v;
		break;
	case K_REQUIRED:
		compile_required(n, v, sub, k);
		break;
	case K_DEPREQ:
		compile_depreq(n, v, sub, k);
		break;
	}
}

/* What the keywords together give: format bounds, required, fast paths. */
static void
compile_finish(struct etl_schema *S, struct node *n, json_t *s,
    const char *where, json_t **fbounds, int simple, int flat)
{
	static const char *names[] = { "formatMinimum", "formatMaximum",
	    "formatExclusiveMinimum", "formatExclusiveMaximum" };
	struct bound *b[] = { &n->fmin, &n->fmax, &n->fxmin, &n->fxmax };
	size_t i;

	for (i = 0; i < 4; i++)
		if (fbounds[i] != NULL)
			format_bound(n, b[i], fbounds[i],
			    subpath(where, names[i]), names[i],
			    S->opts.format_annotation);
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
	n->simple = simple && n->addl != 1;
	n->flat = flat && !n->enumv && !n->has_const;
	n->any = json_object_size(s) == 0;
}

static struct node *
compile(struct etl_schema *S, json_t *s, const char *where,
    struct resource *res)
{
	struct node *n;
	const char *k;
	json_t *v;
	size_t i;
	char *sub;
	int simple = 1, flat = 1, kw;
	json_t *fbounds[4] = { NULL, NULL, NULL, NULL };

	n = node_new(S, where, res);
	if (json_is_true(s)) {
		n->any = n->simple = n->flat = 1;
		return n;
	}
	if (json_is_false(s)) {
		n->never = 1;
		return n;
	}
	if (!json_is_object(s))
		bad(where, "%s", "a schema must be an object or a boolean");
	map_put(S, s, n);
	/* Identity first: $id is the base of every other keyword's URI. */
	if ((v = json_object_get(s, "$id")) != NULL) {
		char *uri, *hash;

		uri = scratch_keep(uri_resolve(res->uri, name_of(v, where, "$id")));
		if ((hash = strchr(uri, '#')) != NULL) {
			if (hash[1])
				bad(where, "$id %s: a fragment is not allowed",
				    json_string_value(v));
			*hash = '\0';
		}
		n->res = res = resource_new(S, uri, s, where);
		res->root = n;
	}
	if ((v = json_object_get(s, "$anchor")) != NULL)
		anchor_add(res, v, n, 0, where);
	if ((v = json_object_get(s, "$dynamicAnchor")) != NULL)
		anchor_add(res, v, n, 1, where);
	json_object_foreach(s, k, v) {
		for (i = 0; i < sizeof(keywords) / sizeof(*keywords); i++)
			if (strcmp(k, keywords[i].name) == 0)
				break;
		sub = subpath(where, k);
		if (i == sizeof(keywords) / sizeof(*keywords))
			bad(sub, "unsupported keyword %s", k);
		if (keywords[i].fast == 0 || keywords[i].fast == 'r')
			simple = 0;
		if (keywords[i].fast != 'f' && keywords[i].fast != 'r')
			flat = 0;
		kw = keywords[i].kw;
		if (!compile_bound(n, kw, v, sub, k) &&
		    !compile_applicator(S, n, kw, v, sub, k, res, &flat))
			compile_assertion(S, n, kw, v, sub, k, res, fbounds);
	}
	compile_finish(S, n, s, where, fbounds, simple, flat);
	return n;
}

/* ---- resolving references ---- */

/* The JSON at a JSON Pointer (decoded) from root, or NULL. */
static json_t *
pointer_get(json_t *root, const char *ptr)
{
	struct etl_buf tok = { 0 };
	json_t *j = root;
	const char *p = ptr, *e;

	while (j && *p == '/') {
		p++;
		e = p + strcspn(p, "/");
		tok.len = 0;
		for (; p < e; p++) {
			if (*p == '~' && p + 1 < e && (p[1] == '0' || p[1] == '1')) {
				etl_buf_addc(&tok, p[1] == '0' ? '~' : '/');
				p++;
			} else
				etl_buf_addc(&tok, *p);
		}
		etl_buf_cstr(&tok);
		if (json_is_object(j))
			j = json_object_get(j, tok.p);
		else if (json_is_array(j)) {
			char *end;
			unsigned long i;

			errno = 0;
			i = strtoul(tok.p, &end, 10);
			if (tok.len == 0 || *end || errno ||
			    (tok.p[0] == '0' && tok.len > 1) || tok.p[0] == '-' ||
			    tok.p[0] == '+')
				j = NULL;
			else
				j = json_array_get(j, i);
		} else
			j = NULL;
	}
	etl_buf_free(&tok);
	return *p ? NULL : j;
}

static char *
mapped_file(const struct etl_schema *S, const char *uri)
{
	size_t i, plen;
	const char *eq, *rest;
	struct etl_buf b = { 0 };

	for (i = 0; i < S->opts.nref_dirs; i++) {
		const char *m = S->opts.ref_dirs[i];

		if ((eq = strchr(m, '=')) == NULL)
			continue;
		plen = (size_t)(eq - m);
		if (plen == 0 || strncmp(uri, m, plen) != 0)
			continue;
		rest = uri + plen;
		while (*rest == '/')
			rest++;
		if (strstr(rest, "..") != NULL || strchr(rest, '?'))
			continue;
		etl_buf_adds(&b, eq + 1);
		if (b.len > 0 && b.p[b.len - 1] != '/')
			etl_buf_addc(&b, '/');
		etl_buf_adds(&b, rest);
		return (char *)etl_buf_cstr(&b);
	}
	return NULL;
}

static json_t *
load_doc(const char *path)
{
	json_error_t e;
	json_t *j;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		etl_die(errno == ENOENT ? ETL_EX_NOINPUT : ETL_EX_CONFIG,
		    "%s: cannot open schema: %s", path, strerror(errno));
	/* NUL in strings: a const may hold one (records never do). */
	j = json_loadf(f, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, &e);
	/* Integers beyond 64 bits, as records may hold them: as reals. */
	if (j == NULL && json_error_code(&e) == json_error_numeric_overflow) {
		rewind(f);
		j = json_loadf(f, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
		    JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &e);
	}
	fclose(f);
	if (j == NULL)
		etl_die(ETL_EX_CONFIG, "%s:%d:%d: bad schema: %s", path, e.line,
		    e.column, e.text);
	return j;
}

/* A document: held, its root compiled with base uri. */
static struct node *
add_doc(struct etl_schema *S, json_t *doc, const char *name, const char *uri)
{
	struct resource *r;
	const char *saved = cur_doc;
	struct node *n;

	S->docs = erealloc(S->docs, (S->ndocs + 1) * sizeof(*S->docs));
	S->docnames = erealloc(S->docnames, (S->ndocs + 1) * sizeof(char *));
	S->docs[S->ndocs] = doc;
	S->docnames[S->ndocs] = estrdup(name);
	cur_doc = S->docnames[S->ndocs++];
	r = resource_new(S, uri, doc, "");
	n = compile(S, doc, "", r);
	if (r->root == NULL)
		r->root = n;
	cur_doc = saved;
	return n;
}

static void
resolve(struct etl_schema *S, struct ref *ref, int dynamic)
{
	struct resource *r;
	struct anchor *a;
	char *base, *frag, *file;
	json_t *j;
	size_t i;

	base = scratch_keep(estrdup(ref->uri));
	frag = strchr(base, '#');
	if (frag)
		*frag++ = '\0';
	if ((r = resource_find(S, base)) == NULL) {
		cur_doc = ref->doc;
		if ((file = scratch_keep(mapped_file(S, base))) == NULL)
			bad(ref->where, "%s %s: a remote reference (another "
			    "document) is not supported; --ref-dir maps URIs "
			    "to local files", dynamic ? "$dynamicRef" : "$ref",
			    ref->uri);
		if (access(file, R_OK) == -1)
			bad(ref->where, "$ref %s: %s: %s", ref->uri, file,
			    strerror(errno));
		add_doc(S, load_doc(file), file, base);
		r = resource_find(S, base);
	}
	if (frag == NULL || *frag == '\0')
		ref->target = r->root;
	else if (*frag == '/') {
		pct_decode(frag);
		if ((j = pointer_get(r->json, frag)) == NULL) {
			cur_doc = ref->doc;
			bad(ref->where, "$ref %s: nothing at that pointer",
			    ref->uri);
		}
		if ((ref->target = map_get(S, j)) == NULL) {
			/* Not a place compiled as a schema: compile it so. */
			const char *saved = cur_doc;

			cur_doc = r->doc;
			ref->target = compile(S, j, frag, r);
			cur_doc = saved;
		}
	} else {
		pct_decode(frag);
		/* A document's retrieval URI names its root resource too. */
		a = anchor_find(r, frag);
		for (i = 0; a == NULL && i < S->nres; i++)
			if (S->res[i] != r && S->res[i]->root == r->root)
				a = anchor_find(S->res[i], frag);
		if (a == NULL) {
			cur_doc = ref->doc;
			bad(ref->where, "%s %s: no anchor %s in %s",
			    dynamic ? "$dynamicRef" : "$ref", ref->uri, frag,
			    r->uri);
		}
		ref->target = a->node;
		if (dynamic && a->dynamic)
			ref->dynamic = estrdup(frag);
	}
}

static double cost(const struct etl_schema *, struct node *);

static double
cost_add(const struct etl_schema *S, double c, struct node *x)
{
	return c > COST_MAX ? c : c + cost(S, x);
}

/*
 * What evaluating the node on one value may cost, in node evaluations,
 * through the subschemas it evaluates in place (on the same value); a
 * cycle of them never ends.  $dynamicRef counts every anchor it may
 * reach.
 */
static double
cost(const struct etl_schema *S, struct node *n)
{
	const struct resource *r;
	double c = 1;
	size_t i, j;

	if (n->state == 2)
		return n->cost;
	if (n->state == 1) {
		cur_doc = n->res->doc;
		bad(n->where, "%s", "a cycle of $ref (or allOf, anyOf …) that "
		    "comes back to this schema without going into the value: "
		    "validation would never end");
	}
	n->state = 1;
	for (i = 0; i < n->nallof; i++)
		c = cost_add(S, c, n->allof[i]);
	for (i = 0; i < n->nanyof; i++)
		c = cost_add(S, c, n->anyof[i]);
	for (i = 0; i < n->noneof; i++)
		c = cost_add(S, c, n->oneof[i]);
	for (i = 0; i < n->ndepsch; i++)
		c = cost_add(S, c, n->depsch[i].node);
	if (n->not)
		c = cost_add(S, c, n->not);
	if (n->if_)
		c = cost_add(S, c, n->if_);
	if (n->then_)
		c = cost_add(S, c, n->then_);
	if (n->else_)
		c = cost_add(S, c, n->else_);
	if (n->ref)
		c = cost_add(S, c, n->ref->target);
	if (n->dynref) {
		c = cost_add(S, c, n->dynref->target);
		for (i = 0; n->dynref->dynamic && i < S->nres; i++)
			for (r = S->res[i], j = 0; j < r->nanchors; j++)
				if (r->anchors[j].dynamic && strcmp(r->anchors[j].name,
				    n->dynref->dynamic) == 0)
					c = cost_add(S, c, r->anchors[j].node);
	}
	if (c > COST_MAX) {
		cur_doc = n->res->doc;
		bad(n->where, "its subschemas evaluated in place ($ref, allOf, "
		    "anyOf …) expand to over %d evaluations of one value",
		    COST_MAX);
	}
	n->state = 2;
	n->cost = c;
	return c;
}

static void
link_all(struct etl_schema *S)
{
	size_t i;

	/* Resolving may load documents and add references: to the end. */
	for (i = 0; i < S->npending; i++)
		resolve(S, S->pending[i], S->pending[i]->dyn);
	for (i = 0; i < S->nnodes; i++)
		cost(S, S->nodes[i]);
}

static void
node_free(struct node *n)
{
	size_t i;

	for (i = 0; i < n->nprops; i++)
		free(n->props[i].name);
	free(n->props);
	for (i = 0; i < n->npprops; i++) {
		free(n->pprops[i].src);
		etl_regex_free(n->pprops[i].re);
	}
	free(n->pprops);
	for (i = 0; i < n->nrequired; i++)
		free(n->required[i]);
	free(n->required);
	free(n->reqlen);
	free(n->reqprop);
	for (i = 0; i < n->ndepreq; i++) {
		free(n->depreq[i].name);
		json_decref(n->depreq[i].names);
	}
	free(n->depreq);
	for (i = 0; i < n->ndepsch; i++)
		free(n->depsch[i].name);
	free(n->depsch);
	free(n->prefix);
	free(n->allof);
	free(n->anyof);
	free(n->oneof);
	json_decref(n->enumv);
	json_decref(n->constv);
	free(n->enum_text);
	free(n->enum_s);
	free(n->const_text);
	etl_regex_free(n->re);
	free(n->pattern);
	free(n->fmin.text);
	free(n->fmax.text);
	free(n->fxmin.text);
	free(n->fxmax.text);
	free(n->where);
	free(n);
}

void
etl_schema_free(struct etl_schema *S)
{
	size_t i, j;

	if (S == NULL)
		return;
	for (i = 0; i < S->nnodes; i++)
		node_free(S->nodes[i]);
	free(S->nodes);
	for (i = 0; i < S->nres; i++) {
		for (j = 0; j < S->res[i]->nanchors; j++)
			free(S->res[i]->anchors[j].name);
		free(S->res[i]->anchors);
		free(S->res[i]->uri);
		free(S->res[i]);
	}
	free(S->res);
	for (i = 0; i < S->npending; i++) {
		free(S->pending[i]->uri);
		free(S->pending[i]->dynamic);
		free(S->pending[i]->where);
		free(S->pending[i]);
	}
	free(S->pending);
	free(S->map);
	for (i = 0; i < S->ndocs; i++) {
		json_decref(S->docs[i]);
		free(S->docnames[i]);
	}
	free(S->docs);
	free(S->docnames);
	free(S);
}

/* The base URI of a file: file:// and its absolute path. */
static char *
file_uri(const char *path)
{
	struct etl_buf b = { 0 };
	char *abs, cwd[4096];

	etl_buf_adds(&b, "file://");
	if ((abs = realpath(path, NULL)) != NULL) {
		etl_buf_adds(&b, abs);
		free(abs);
	} else {
		if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL) {
			etl_buf_adds(&b, cwd);
			etl_buf_addc(&b, '/');
		}
		etl_buf_adds(&b, path);
	}
	return (char *)etl_buf_cstr(&b);
}

/* The schema being compiled, for etl_schema_discard(). */
static struct etl_schema *compiling;

static struct etl_schema *
schema_new(json_t *doc, const char *name, const char *uri,
    const struct etl_schema_opts *o)
{
	struct etl_schema *S;

	S = compiling = ecalloc(1, sizeof(*S));
	if (o)
		S->opts = *o;
	S->root = add_doc(S, doc, name, uri);
	link_all(S);
	scratch_free();
	compiling = NULL;
	return S;
}

void
etl_schema_discard(void)
{
	scratch_free();
	etl_schema_free(compiling);
	compiling = NULL;
}

struct etl_schema *
etl_schema_compile(json_t *doc, const char *name,
    const struct etl_schema_opts *o)
{
	return schema_new(json_incref(doc), name, scratch_keep(file_uri(name)), o);
}

struct etl_schema *
etl_schema_load(const char *path, const struct etl_schema_opts *o)
{
	return schema_new(load_doc(path), path, scratch_keep(file_uri(path)), o);
}

/* ---- validating ---- */

/* The resources entered so far, innermost first: the dynamic scope. */
struct scope {
	const struct resource	*res;
	const struct scope	*up;
};

/* What was evaluated of an object's keys or an array's items, by index. */
struct ann {
	size_t		 n;
	uint64_t	*bits;
	uint64_t	 small[4];
};

static void
ann_init(struct ann *a, size_t n)
{
	a->n = n;
	memset(a->small, 0, sizeof(a->small));
	a->bits = n <= 256 ? a->small : ecalloc((n + 63) / 64, sizeof(uint64_t));
}

static void
ann_free(struct ann *a)
{
	if (a->bits != a->small)
		free(a->bits);
}

static void
ann_set(struct ann *a, size_t i)
{
	a->bits[i / 64] |= (uint64_t)1 << i % 64;
}

static int
ann_get(const struct ann *a, size_t i)
{
	return (a->bits[i / 64] >> i % 64) & 1;
}

static void
ann_or(struct ann *a, const struct ann *b)
{
	size_t i;

	for (i = 0; i < (a->n + 63) / 64; i++)
		a->bits[i] |= b->bits[i];
}

/*
 * Inside anyOf and oneOf only each alternative's first reason is told:
 * past it, the alternative is evaluated as for a verdict alone.
 */
static int one_reason;

/* Whether the rest of a schema can be skipped once it failed. */
static int
enough(json_t **rs)
{
	return rs == NULL || (one_reason && *rs != NULL);
}

/* The steps of one validation, and whether it gave up. */
static unsigned long long steps, step_limit;
static const json_t *step_value;
static int gaveup;

/*
 * Validation recurses along the value and the schema's references: it
 * gives up (code "limit") before it takes half the stack, however large
 * the frames (a sanitizer's are).
 */
static char *stack_top;
static size_t stack_budget;

static unsigned long long
values(const json_t *v)
{
	unsigned long long n = 1;
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_array(v))
		for (i = 0; i < json_array_size(v); i++)
			n += values(json_array_get(v, i));
	else if (json_is_object(v))
		json_object_foreach((json_t *)v, k, x)
			n += values(x);
	return n;
}

static void
begin(const json_t *v)
{
	steps = 0;
	step_limit = STEPS_MIN;
	step_value = v;
	gaveup = 0;
	one_reason = 0;
	stack_top = __builtin_frame_address(0);
	if (stack_budget == 0) {
		struct rlimit rl;

		stack_budget = (size_t)64 << 20;
		if (getrlimit(RLIMIT_STACK, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < stack_budget)
			stack_budget = rl.rlim_cur;
		stack_budget /= 2;
	}
}

/* One more step: 0 while within the bounds. */
static int
step(void)
{
	if (gaveup)
		return -1;
	if (++steps > step_limit) {
		if (step_limit == STEPS_MIN && step_value)
			step_limit = STEPS_MIN + STEPS_PER_VALUE * values(step_value);
		if (steps > step_limit) {
			gaveup = 1;
			return -1;
		}
	}
	return 0;
}

static void say(json_t **, struct etl_buf *, const char *, const char *, ...)
    ETL_PRINTF(4, 5);

static void
say(json_t **rs, struct etl_buf *path, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (rs == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	etl_reason(rs, etl_buf_cstr(path), code, "%s", msg);
}

static const struct node *
dyn_target(const struct ref *r, const struct scope *sc)
{
	const struct node *t = r->target;
	const struct anchor *a;

	/* The outermost resource of the dynamic scope with the anchor. */
	for (; sc; sc = sc->up)
		if ((a = anchor_find(sc->res, r->dynamic)) != NULL && a->dynamic)
			t = a->node;
	return t;
}

static int multiple(const struct node *, const json_t *);
static int instant_cmp(int64_t, const char *, size_t, const struct bound *);

static int validate(const struct node *, const json_t *, struct etl_buf *,
    json_t **, struct ann *, const struct scope *);

/* A short account of why each alternative failed, for anyOf and oneOf. */
static void
alternatives(struct etl_buf *m, json_t **brs, size_t n, size_t plen)
{
	size_t i;

	for (i = 0; i < n && m->len < 600; i++) {
		json_t *r = brs[i] ? json_array_get(brs[i], 0) : NULL;
		const char *p;

		if (r == NULL)
			continue;
		p = json_string_value(json_object_get(r, "path"));
		etl_buf_printf(m, "%s[%zu] ", i ? "; " : "", i);
		if (p && strlen(p) > plen)
			etl_buf_printf(m, "%s: ", p + plen);
		etl_buf_adds(m, json_string_value(json_object_get(r, "message")));
	}
	if (i < n)
		etl_buf_adds(m, "; …");
}

/* required and dependentRequired. */
static int
check_present(const struct node *n, const json_t *v, struct etl_buf *path,
    json_t **rs)
{
	size_t plen = path->len, i, j;
	int ok = 1;

	for (i = 0; i < n->nrequired; i++)
		if (json_object_get(v, n->required[i]) == NULL) {
			path->len = plen;
			pointer_add(path, n->required[i], n->reqlen[i]);
			say(rs, path, "required", "missing required field \"%s\"",
			    n->required[i]);
			ok = 0;
			if (enough(rs))
				goto out;
		}
	for (i = 0; i < n->ndepreq; i++) {
		if (json_object_get(v, n->depreq[i].name) == NULL)
			continue;
		for (j = 0; j < json_array_size(n->depreq[i].names); j++) {
			json_t *dn = json_array_get(n->depreq[i].names, j);

			if (json_object_get(v, json_string_value(dn)) != NULL)
				continue;
			path->len = plen;
			pointer_add(path, json_string_value(dn),
			    json_string_length(dn));
			say(rs, path, "dependent", "missing field \"%s\", "
			    "required when \"%s\" is present",
			    json_string_value(dn), n->depreq[i].name);
			ok = 0;
			if (enough(rs))
				goto out;
		}
	}
out:
	path->len = plen;
	return ok;
}

/*
 * One field (its pointer in path) against properties, patternProperties,
 * additionalProperties and propertyNames; *matched: whether one of the
 * first three evaluated it.  Stops at the first failure when that is enough.
 */
static int
check_field(const struct node *n, const char *k, size_t klen, json_t *fv,
    struct etl_buf *path, json_t **rs, const struct scope *sc, int *matched)
{
	const struct node *sub = NULL;
	size_t j;
	int ok = 1, m;

	*matched = 0;
	for (j = 0; j < n->nprops; j++)
		if (n->props[j].len == klen &&
		    memcmp(n->props[j].name, k, klen) == 0) {
			sub = n->props[j].node;
			break;
		}
	if (sub) {
		*matched = 1;
		if (!validate(sub, fv, path, rs, NULL, sc) &&
		    (ok = 0, enough(rs)))
			return 0;
	}
	for (j = 0; j < n->npprops; j++) {
		if ((m = etl_regex_match(n->pprops[j].re, k, klen)) == 0)
			continue;
		*matched = 1;
		if (m == -1) {
			say(rs, path, "pattern", "field name \"%s\": "
			    "matching %s gave up (PCRE2 match limit)", k,
			    n->pprops[j].src);
			ok = 0;
		} else if (!validate(n->pprops[j].node, fv, path, rs, NULL, sc))
			ok = 0;
		if (!ok && enough(rs))
			return 0;
	}
	if (!*matched && n->addl == 0) {
		say(rs, path, "additional", "field \"%s\" is not allowed", k);
		if (enough(rs))
			return 0;
		ok = 0;
	} else if (!*matched && n->addl == 1) {
		*matched = 1;
		if (!validate(n->addl_node, fv, path, rs, NULL, sc) &&
		    (ok = 0, enough(rs)))
			return 0;
	} else if (!*matched && n->addl == 2)
		*matched = 1;
	if (n->names) {
		json_t *name = json_stringn_nocheck(k, klen), *nrs = NULL;

		if (!validate(n->names, name, path, rs ? &nrs : NULL, NULL,
		    sc)) {
			json_t *r0 = nrs ? json_array_get(nrs, 0) : NULL;

			say(rs, path, "name", "field name \"%s\": %s", k,
			    r0 ? json_string_value(json_object_get(r0,
			    "message")) : "not allowed");
			ok = 0;
		}
		json_decref(nrs);
		json_decref(name);
	}
	return ok;
}

static int
check_object(const struct node *n, const json_t *v, struct etl_buf *path,
    json_t **rs, struct ann *a, const struct scope *sc)
{
	size_t plen = path->len, i, klen, nk = json_object_size(v);
	const char *k;
	json_t *fv;
	int ok, matched;

	if (!(ok = check_present(n, v, path, rs)) && enough(rs))
		goto out;
	if (n->minprops >= 0 && nk < (size_t)n->minprops) {
		say(rs, path, "length", "%zu fields, fewer than %ld", nk,
		    n->minprops);
		ok = 0;
		if (enough(rs))
			goto out;
	}
	if (n->maxprops >= 0 && nk > (size_t)n->maxprops) {
		say(rs, path, "length", "%zu fields, more than %ld", nk,
		    n->maxprops);
		ok = 0;
		if (enough(rs))
			goto out;
	}
	if (!n->nprops && !n->npprops && n->addl == -1 && !n->names && !a)
		goto out;
	i = 0;
	json_object_foreach((json_t *)v, k, fv) {
		klen = strlen(k);
		path->len = plen;
		pointer_add(path, k, klen);
		if (!check_field(n, k, klen, fv, path, rs, sc, &matched)) {
			ok = 0;
			if (enough(rs))
				goto out;
		}
		if (matched && a)
			ann_set(a, i);
		i++;
	}
out:
	path->len = plen;
	return ok;
}

/* uniqueItems: 0 with the first equal pair, else 1. */
static int
unique_items(const json_t *v, size_t *first, size_t *second)
{
	size_t n = json_array_size(v), i, j, k;
	struct hi {
		uint64_t	h;
		size_t		i;
	} *h, tmp;
	int ok = 1;

	if (n < 2)
		return 1;
	if (n <= 16) {
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++)
				if (json_same(json_array_get(v, i),
				    json_array_get(v, j))) {
					*first = i;
					*second = j;
					return 0;
				}
		return 1;
	}
	h = emalloc(n * sizeof(*h));
	for (i = 0; i < n; i++) {
		h[i].h = json_hash(json_array_get(v, i));
		h[i].i = i;
	}
	/* Shell sort by hash, then index: no callback state needed. */
	for (k = n / 2; k > 0; k /= 2)
		for (i = k; i < n; i++)
			for (j = i; j >= k && (h[j - k].h > h[j].h ||
			    (h[j - k].h == h[j].h && h[j - k].i > h[j].i)); j -= k) {
				tmp = h[j];
				h[j] = h[j - k];
				h[j - k] = tmp;
			}
	*first = *second = n;
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && h[j].h == h[i].h; j++)
			;
		for (k = i; k < j; k++) {
			size_t l;

			for (l = k + 1; l < j; l++)
				if (json_same(json_array_get(v, h[k].i),
				    json_array_get(v, h[l].i)) &&
				    (h[k].i < *first || (h[k].i == *first &&
				    h[l].i < *second))) {
					*first = h[k].i;
					*second = h[l].i;
					ok = 0;
				}
		}
	}
	free(h);
	return ok;
}

static int
check_array(const struct node *n, const json_t *v, struct etl_buf *path,
    json_t **rs, struct ann *a, const struct scope *sc)
{
	size_t plen = path->len, na = json_array_size(v), i, f, s, matches;
	int ok = 1;

	if (n->minitems >= 0 && na < (size_t)n->minitems) {
		say(rs, path, "length", "%zu items, fewer than %ld", na,
		    n->minitems);
		ok = 0;
		if (enough(rs))
			goto out;
	}
	if (n->maxitems >= 0 && na > (size_t)n->maxitems) {
		say(rs, path, "length", "%zu items, more than %ld", na,
		    n->maxitems);
		ok = 0;
		if (enough(rs))
			goto out;
	}
	if (n->unique && !unique_items(v, &f, &s)) {
		say(rs, path, "unique", "items %zu and %zu are equal: %s", f, s,
		    show(json_array_get(v, f)));
		ok = 0;
		if (enough(rs))
			goto out;
	}
	for (i = 0; i < na && i < n->nprefix; i++) {
		path->len = plen;
		etl_buf_printf(path, "/%zu", i);
		if (!validate(n->prefix[i], json_array_get(v, i), path, rs, NULL,
		    sc)) {
			ok = 0;
			if (enough(rs))
				goto out;
		}
		if (a)
			ann_set(a, i);
	}
	for (i = n->nprefix; n->items && i < na; i++) {
		path->len = plen;
		etl_buf_printf(path, "/%zu", i);
		if (n->items->never) {
			say(rs, path, "items", "item %zu is not allowed: at most "
			    "%zu items", i, n->nprefix);
			ok = 0;
		} else if (!validate(n->items, json_array_get(v, i), path, rs,
		    NULL, sc))
			ok = 0;
		if (!ok && enough(rs))
			goto out;
		if (a)
			ann_set(a, i);
	}
	if (n->contains) {
		for (i = 0, matches = 0; i < na; i++) {
			path->len = plen;
			etl_buf_printf(path, "/%zu", i);
			if (validate(n->contains, json_array_get(v, i), path, NULL,
			    NULL, sc)) {
				matches++;
				if (a)
					ann_set(a, i);
				else if (n->maxcontains < 0 &&
				    matches >= (size_t)n->mincontains)
					break;
			}
			if (gaveup)
				break;
		}
		path->len = plen;
		if (matches < (size_t)n->mincontains) {
			if (matches == 0)
				say(rs, path, "contains", "no item matches "
				    "contains (%s/contains)", n->where);
			else
				say(rs, path, "contains", "%zu items match "
				    "contains, fewer than minContains %ld",
				    matches, n->mincontains);
			ok = 0;
		} else if (n->maxcontains >= 0 &&
		    matches > (size_t)n->maxcontains) {
			say(rs, path, "contains", "%zu items match contains, "
			    "more than maxContains %ld", matches, n->maxcontains);
			ok = 0;
		}
	}
out:
	path->len = plen;
	return ok;
}

static int
check_string(const struct node *n, const json_t *v, struct etl_buf *path,
    json_t **rs)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v), nc = 0;
	int ok = 1, m;

	if (n->minlen >= 0 || n->maxlen >= 0)
		nc = etl_utf8_chars(s, len);
	if (n->minlen >= 0 && nc < (size_t)n->minlen) {
		say(rs, path, "length", "%s is shorter than %ld characters",
		    show(v), n->minlen);
		ok = 0;
	}
	if (n->maxlen >= 0 && nc > (size_t)n->maxlen) {
		say(rs, path, "length", "%s is longer than %ld characters",
		    show(v), n->maxlen);
		ok = 0;
	}
	if (n->re && (m = etl_regex_match(n->re, s, len)) != 1) {
		if (m == 0)
			say(rs, path, "pattern", "%s does not match %s", show(v),
			    n->pattern);
		else
			say(rs, path, "pattern", "%s: matching %s gave up "
			    "(PCRE2 match limit)", show(v), n->pattern);
		ok = 0;
	}
	if (n->format) {
		int64_t t;
		const char *frac;
		size_t fl;

		if (!etl_format_check(n->format, s, len)) {
			say(rs, path, "format", "%s is not %s", show(v),
			    etl_format_what(n->format));
			ok = 0;
		} else if ((n->fmin.set || n->fmax.set || n->fxmin.set ||
		    n->fxmax.set) && etl_format_instant(s, len,
		    n->format == etl_format_id("date-time"), &t, &frac, &fl) == 0) {
			char *sv = estrdup(show(v));

			if (n->fmin.set && instant_cmp(t, frac, fl, &n->fmin) < 0) {
				say(rs, path, "range", "%s is before the "
				    "formatMinimum %s", sv, n->fmin.text);
				ok = 0;
			}
			if (n->fmax.set && instant_cmp(t, frac, fl, &n->fmax) > 0) {
				say(rs, path, "range", "%s is after the "
				    "formatMaximum %s", sv, n->fmax.text);
				ok = 0;
			}
			if (n->fxmin.set && instant_cmp(t, frac, fl, &n->fxmin) <= 0) {
				say(rs, path, "range", "%s is not after %s", sv,
				    n->fxmin.text);
				ok = 0;
			}
			if (n->fxmax.set && instant_cmp(t, frac, fl, &n->fxmax) >= 0) {
				say(rs, path, "range", "%s is not before %s", sv,
				    n->fxmax.text);
				ok = 0;
			}
			free(sv);
		}
	}
	return ok;
}

static int
check_number(const struct node *n, const json_t *v, struct etl_buf *path,
    json_t **rs)
{
	double d = json_number_value(v);
	char *sv;
	int ok = 1;

	if (!n->has_min && !n->has_max && !n->has_xmin && !n->has_xmax &&
	    !n->has_mult)
		return 1;
	sv = estrdup(show(v));
	if (n->has_min && !(d >= n->min)) {
		say(rs, path, "range", "%s is less than the minimum %s", sv,
		    bound(n->min));
		ok = 0;
	}
	if (n->has_max && !(d <= n->max)) {
		say(rs, path, "range", "%s is greater than the maximum %s", sv,
		    bound(n->max));
		ok = 0;
	}
	if (n->has_xmin && !(d > n->xmin)) {
		say(rs, path, "range", "%s is not greater than %s", sv,
		    bound(n->xmin));
		ok = 0;
	}
	if (n->has_xmax && !(d < n->xmax)) {
		say(rs, path, "range", "%s is not less than %s", sv,
		    bound(n->xmax));
		ok = 0;
	}
	if (n->has_mult && !multiple(n, v)) {
		say(rs, path, "multiple", "%s is not a multiple of %s", sv,
		    bound(n->mult));
		ok = 0;
	}
	free(sv);
	return ok;
}

/* anyOf: one alternative, or all of them when annotations are gathered. */
static int
check_anyof(const struct node *n, const json_t *v, struct etl_buf *path,
    json_t **rs, struct ann *a, const struct scope *sc)
{
	size_t i, nv, plen = path->len;
	struct ann ba;
	json_t **brs = NULL;
	int ok = 1, r;

	/* Each alternative's first reason, at the outermost only. */
	if (rs && !one_reason)
		brs = ecalloc(n->nanyof, sizeof(*brs));
	if (rs)
		one_reason++;
	for (i = 0, nv = 0; i < n->nanyof; i++) {
		if (a)
			ann_init(&ba, a->n);
		r = validate(n->anyof[i], v, path, brs ? &brs[i] : NULL,
		    a ? &ba : NULL, sc);
		if (a) {
			if (r)
				ann_or(a, &ba);
			ann_free(&ba);
		}
		if (r) {
			nv++;
			if (!a)
				break;	/* all needed only for annotations */
		}
	}
	if (rs)
		one_reason--;
	if (nv == 0) {
		struct etl_buf m = { 0 };

		if (brs) {
			alternatives(&m, brs, n->nanyof, plen);
			say(rs, path, "anyOf", "%s matches none of the "
			    "anyOf alternatives: %s", show(v),
			    etl_buf_cstr(&m));
		} else
			say(rs, path, "anyOf", "%s matches none of the "
			    "anyOf alternatives", show(v));
		etl_buf_free(&m);
		ok = 0;
	}
	for (i = 0; brs && i < n->nanyof; i++)
		json_decref(brs[i]);
	free(brs);
	return ok;
}

/* oneOf: exactly one alternative. */
static int
check_oneof(const struct node *n, const json_t *v, struct etl_buf *path,
    json_t **rs, struct ann *a, const struct scope *sc)
{
	size_t i, nv, first, second, plen = path->len;
	struct ann ba;
	json_t **brs = NULL;
	int ok = 1, r;

	if (rs && !one_reason)
		brs = ecalloc(n->noneof, sizeof(*brs));
	if (rs)
		one_reason++;
	first = second = n->noneof;
	for (i = 0, nv = 0; i < n->noneof; i++) {
		if (a)
			ann_init(&ba, a->n);
		r = validate(n->oneof[i], v, path, brs ? &brs[i] : NULL,
		    a ? &ba : NULL, sc);
		if (r) {
			if (nv == 0) {
				first = i;
				if (a)
					ann_or(a, &ba);
			} else if (nv == 1)
				second = i;
			nv++;
		}
		if (a)
			ann_free(&ba);
		if (nv == 2)
			break;
	}
	if (rs)
		one_reason--;
	if (nv != 1) {
		struct etl_buf m = { 0 };

		if (brs && nv == 0) {
			alternatives(&m, brs, n->noneof, plen);
			say(rs, path, "oneOf", "%s matches none of the "
			    "oneOf alternatives: %s", show(v),
			    etl_buf_cstr(&m));
		} else if (nv == 0)
			say(rs, path, "oneOf", "%s matches none of the "
			    "oneOf alternatives", show(v));
		else
			say(rs, path, "oneOf", "%s matches oneOf "
			    "alternatives %zu and %zu: exactly one must "
			    "match", show(v), first, second);
		etl_buf_free(&m);
		ok = 0;
	}
	for (i = 0; brs && i < n->noneof; i++)
		json_decref(brs[i]);
	free(brs);
	return ok;
}

/* The in-place applicators: $ref, allOf, anyOf, oneOf, not, if, … */
static int
check_inplace(const struct node *n, const json_t *v, struct etl_buf *path,
    json_t **rs, struct ann *a, const struct scope *sc)
{
	size_t i;
	struct ann ba;
	int ok = 1, r;

	if (n->ref && !validate(n->ref->target, v, path, rs, a, sc)) {
		ok = 0;
		if (enough(rs))
			return 0;
	}
	if (n->dynref && !validate(n->dynref->dynamic ?
	    dyn_target(n->dynref, sc) : n->dynref->target, v, path, rs, a, sc)) {
		ok = 0;
		if (enough(rs))
			return 0;
	}
	for (i = 0; i < n->nallof; i++)
		if (!validate(n->allof[i], v, path, rs, a, sc)) {
			ok = 0;
			if (enough(rs))
				return 0;
		}
	if (n->nanyof && !check_anyof(n, v, path, rs, a, sc)) {
		ok = 0;
		if (enough(rs))
			return 0;
	}
	if (n->noneof && !check_oneof(n, v, path, rs, a, sc)) {
		ok = 0;
		if (enough(rs))
			return 0;
	}
	if (n->not && validate(n->not, v, path, NULL, NULL, sc) && !gaveup) {
		say(rs, path, "not", "%s matches the schema it must not match "
		    "(%s/not)", show(v), n->where);
		ok = 0;
		if (enough(rs))
			return 0;
	}
	if (n->if_) {
		if (a)
			ann_init(&ba, a->n);
		r = validate(n->if_, v, path, NULL, a ? &ba : NULL, sc);
		if (a) {
			if (r)
				ann_or(a, &ba);
			ann_free(&ba);
		}
		if (r && n->then_ && !validate(n->then_, v, path, rs, a, sc))
			ok = 0;
		if (!r && n->else_ && !validate(n->else_, v, path, rs, a, sc))
			ok = 0;
		if (!ok && enough(rs))
			return 0;
	}
	if (n->ndepsch && json_is_object(v))
		for (i = 0; i < n->ndepsch; i++)
			if (json_object_get(v, n->depsch[i].name) != NULL &&
			    !validate(n->depsch[i].node, v, path, rs, a, sc)) {
				ok = 0;
				if (enough(rs))
					return 0;
			}
	return ok;
}

/* unevaluatedProperties and unevaluatedItems, after the rest marked ma. */
static int
check_unevaluated(const struct node *n, const json_t *v, unsigned t,
    struct etl_buf *path, json_t **rs, struct ann *ma, const struct scope *sc)
{
	size_t plen = path->len, k;
	int ok = 1;

	if (n->uprops && (t & T_OBJECT)) {
		const char *key;
		json_t *fv;

		k = 0;
		json_object_foreach((json_t *)v, key, fv) {
			if (!ann_get(ma, k)) {
				path->len = plen;
				pointer_add(path, key, strlen(key));
				if (n->uprops->never) {
					say(rs, path, "unevaluated", "field \"%s\" "
					    "is not allowed (unevaluatedProperties)",
					    key);
					ok = 0;
				} else if (!validate(n->uprops, fv, path, rs, NULL,
				    sc))
					ok = 0;
				if (!ok && enough(rs))
					break;
				ann_set(ma, k);
			}
			k++;
		}
		path->len = plen;
		if (!ok && enough(rs))
			return 0;
	}
	if (n->uitems && (t & T_ARRAY)) {
		for (k = 0; k < json_array_size(v); k++) {
			if (ann_get(ma, k))
				continue;
			path->len = plen;
			etl_buf_printf(path, "/%zu", k);
			if (n->uitems->never) {
				say(rs, path, "unevaluated", "item %zu is not "
				    "allowed (unevaluatedItems)", k);
				ok = 0;
			} else if (!validate(n->uitems, json_array_get(v, k), path,
			    rs, NULL, sc))
				ok = 0;
			if (!ok && enough(rs))
				break;
			ann_set(ma, k);
		}
		path->len = plen;
	}
	return ok;
}

/*
 * Validates v against n: 1 valid, 0 not, with the reasons appended to
 * *rs unless rs is NULL (a verdict alone, which may stop at the first
 * failure).  a, when given, receives the keys or items evaluated.
 */
static int
validate(const struct node *n, const json_t *v, struct etl_buf *path,
    json_t **rs, struct ann *a, const struct scope *up)
{
	struct scope here;
	const struct scope *sc = up;
	struct ann mine, *ma = a;
	size_t plen = path->len, i;
	unsigned t;
	int ok = 1, tracking = 0;

	if (n->any)
		return 1;
	if (n->never) {
		say(rs, path, "schema", "no value is allowed here");
		return 0;
	}
	if (step() == -1)
		return 0;
	if ((size_t)(stack_top - (char *)__builtin_frame_address(0)) >
	    stack_budget) {
		gaveup = 2;
		return 0;
	}
	t = type_of(v);
	if (n->types && !(n->types & t)) {
		struct etl_buf e = { 0 };

		if (rs) {
			expected(&e, n->types);
			say(rs, path, "type", "expected %s, got %s %s",
			    etl_buf_cstr(&e), type_name(v), show(v));
			etl_buf_free(&e);
		}
		return 0;	/* the other keywords would only repeat it */
	}
	if (n->res != up->res) {
		here.res = n->res;
		here.up = up;
		sc = &here;
	}
	if (n->tracks && (t & (T_OBJECT | T_ARRAY))) {
		ann_init(&mine, t & T_OBJECT ? json_object_size(v) :
		    json_array_size(v));
		ma = &mine;
		tracking = 1;
	} else if (!(t & (T_OBJECT | T_ARRAY)))
		ma = NULL;
	if (n->enumv) {
		for (i = 0; i < json_array_size(n->enumv); i++)
			if (json_same(json_array_get(n->enumv, i), v))
				break;
		if (i == json_array_size(n->enumv)) {
			say(rs, path, "enum", "%s is not one of %s", show(v),
			    n->enum_text);
			ok = 0;
			if (enough(rs))
				goto out;
		}
	}
	if (n->has_const && !json_same(n->constv, v)) {
		say(rs, path, "const", "%s is not %s", show(v), n->const_text);
		ok = 0;
		if (enough(rs))
			goto out;
	}
	if ((t & T_NUMBER) && !check_number(n, v, path, rs))
		ok = 0;
	if ((t & T_STRING) && !check_string(n, v, path, rs))
		ok = 0;
	if ((t & T_OBJECT) && !check_object(n, v, path, rs, ma, sc))
		ok = 0;
	if ((t & T_ARRAY) && !check_array(n, v, path, rs, ma, sc))
		ok = 0;
	if (!ok && enough(rs))
		goto out;
	if (!check_inplace(n, v, path, rs, ma, sc))
		ok = 0;
	if (!ok && enough(rs))
		goto out;
	if ((n->uprops || n->uitems) &&
	    !check_unevaluated(n, v, t, path, rs, ma, sc))
		ok = 0;
out:
	if (tracking) {
		if (a && ok)
			ann_or(a, &mine);
		ann_free(&mine);
	}
	path->len = plen;
	return ok && !gaveup;
}

/* multipleOf, exact for integers, to a few ulps of the value for reals. */
static int
multiple(const struct node *n, const json_t *v)
{
	double d, q, r;

	if (n->mult_int > 0 && json_is_integer(v))
		return json_integer_value(v) % n->mult_int == 0;
	d = json_number_value(v);
	if (d == 0)
		return 1;
	q = d / n->mult;
	if (!isfinite(q))
		return fmod(d, n->mult) == 0;
	r = nearbyint(q);
	return fabs(d - r * n->mult) <= fabs(d) * 8 * DBL_EPSILON;
}

/* Compares an instant to a bound: <0, 0, >0. */
static int
instant_cmp(int64_t t, const char *f, size_t fl, const struct bound *b)
{
	size_t i;
	int x, y;

	if (t != b->t)
		return t < b->t ? -1 : 1;
	for (i = 0; i < fl || i < b->fraclen; i++) {
		x = i < fl ? f[i] : '0';
		y = i < b->fraclen ? b->frac[i] : '0';
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

static void
gave_up(json_t **rs)
{
	json_decref(*rs);
	*rs = NULL;
	if (gaveup == 2)
		etl_reason(rs, "", "limit", "validation stopped: the schema's "
		    "references recurse deeper than half the stack allows");
	else
		etl_reason(rs, "", "limit", "validation stopped after %llu "
		    "steps: the schema's alternatives multiply on this record",
		    steps);
}

int
etl_schema_validate(struct etl_schema *S, const json_t *v, json_t **reasons)
{
	static struct etl_buf path;
	struct scope top = { S->root->res, NULL };
	json_t *rs = NULL;
	int ok;

	begin(v);
	path.len = 0;
	ok = validate(S->root, v, &path, &rs, NULL, &top);
	if (gaveup)
		gave_up(&rs);
	if (ok) {
		json_decref(rs);
		return 1;
	}
	if (rs == NULL)
		etl_reason(&rs, "", "schema", "invalid");
	if (*reasons == NULL)
		*reasons = json_array();
	json_array_extend(*reasons, rs);
	json_decref(rs);
	return 0;
}

/* ---- the lazy path ---- */

/*
 * From the scanner's view of a field, is it surely valid?  0 means "ask
 * the full validator", which also writes the reasons.
 */
static int
fast_value(const struct node *n, const struct etl_field *f)
{
	static struct etl_buf str;
	unsigned t;
	double d = 0;
	size_t i;
	int need_num, need_str;

	if (!n->simple)
		return 0;
	if (n->any)
		return 1;
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
	need_str = f->type == 's' && (n->enumv || n->has_const || n->re ||
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
	    !n->re && !n->format && n->minlen < 0 && n->maxlen < 0) {
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

		if ((n->minlen >= 0 && nc < (size_t)n->minlen) ||
		    (n->maxlen >= 0 && nc > (size_t)n->maxlen))
			return 0;
		if (n->re && etl_regex_match(n->re, str.p, str.len) != 1)
			return 0;
		if (n->format && !etl_format_check(n->format, str.p, str.len))
			return 0;
	}
	return 1;
}

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
field_reasons(const struct node *n, const struct etl_field *f,
    const struct scope *top, json_t **rs)
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
	begin(v);
	validate(n, v, &path, &one, NULL, top);
	json_decref(v);
	if (gaveup) {
		json_decref(one);
		return -1;	/* the full path says it once, for the record */
	}
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

/*
 * The scanner's path: the record's top-level fields judged one by one,
 * the sure ones without building anything, the others as single values
 * through validate(), so the reasons are the full validator's.  -1 asks
 * for the full validator (a container under a schema that looks inside
 * it, an integer that may overflow, a root schema beyond properties).
 */
static int
flat_validate(struct node *root, const struct etl_scan *s, json_t **rs)
{
	static struct etl_buf path;
	static size_t *guess;		/* by field position: records of a */
	static size_t nguess;		/* stream mostly share one order */
	static unsigned long rec;
	static unsigned long shape, schema;	/* guess[] holds for these */
	static size_t *hits, nhits;	/* the shape's fields that are properties */
	struct scope top = { root->res, NULL };
	const struct etl_field *f;
	json_t *req = NULL;
	size_t i, j, k;
	int sure, quick;

	if (!root->flat || (root->types && !(root->types & T_OBJECT)))
		return -1;
	if (s->n > nguess) {
		guess = erealloc(guess, s->n * sizeof(*guess));
		hits = erealloc(hits, s->n * sizeof(*hits));
		for (; nguess < s->n; nguess++)
			guess[nguess] = root->nprops;
	}
	rec++;
	/* Keys of the same shape as the last record's: the same properties. */
	sure = s->shape != 0 && s->shape == shape && root->serial == schema;
	shape = 0;
	/* Sure, and other fields allowed: only the properties need a look. */
	quick = sure && root->addl != 0;
	for (k = 0; k < (quick ? nhits : s->n); k++) {
		i = quick ? hits[k] : k;
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
		if (field_reasons(root->props[j].node, f, &top, rs) == -1)
			goto full;
	}
	if (!sure)
		for (i = 0, nhits = 0; i < s->n; i++)
			if (guess[i] != root->nprops)
				hits[nhits++] = i;
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

int
etl_schema_validate_scan(struct etl_schema *S, const struct etl_scan *s,
    json_t **reasons)
{
	json_t *rs = NULL;

	/* The usual call, with no reasons yet: they go straight to it. */
	if (*reasons == NULL) {
		if (flat_validate(S->root, s, reasons) == -1)
			return -1;
		return *reasons == NULL;
	}
	if (flat_validate(S->root, s, &rs) == -1)
		return -1;
	if (rs == NULL)
		return 1;
	if (*reasons == NULL)
		*reasons = json_array();
	json_array_extend(*reasons, rs);
	json_decref(rs);
	return 0;
}
