/*
 * etl-load - loads records into a table of SQLite or PostgreSQL, one
 * transaction a run.  The records the database took go out on stdout
 * once committed; those it refused go to the rejects with its own
 * message; a run that fails or is killed leaves the table as it was.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "etl.h"

static const char usage_text[] =
"usage: etl-load [-hq] --db database --table name [-s schema] [--key field[,field]...]\n"
"                [--mode append | replace] [--grant-read role]\n"
"                [--rejects file | inline] [--stats file] [file ...]\n";

static const char help_text[] =
"      --db DB               sqlite:PATH (or PATH.db), or a PostgreSQL URL or conninfo\n"
"      --table NAME          the table: NAME or SCHEMA.NAME\n"
"  -s, --schema FILE         JSON Schema the table is created from when missing\n"
"      --key F[,F]...        the table's primary key: a row with a known key updates it\n"
"      --mode append|replace add the rows (default), or make the table the run's rows\n"
"      --grant-read ROLE     PostgreSQL: ROLE may SELECT the table and nothing else\n"
"      --rejects FILE|inline where rejects go when fd 3 is not open\n"
"      --stats FILE          write the final stats as JSON\n"
"  -q, --quiet               log errors only\n";

#define BUSY_MS		60000		/* SQLite: wait this long for a writer */
#define COPY_CHUNK	(256 * 1024)	/* PostgreSQL: bytes per CopyData */
#define PG_NAMELEN	63		/* longer constraint names are cut */

/* JSON Schema types, as bits. */
enum {
	T_NULL = 1, T_BOOLEAN = 2, T_OBJECT = 4, T_ARRAY = 8, T_NUMBER = 16,
	T_INTEGER = 32, T_STRING = 64
};
static const char *type_names[] = {
	"null", "boolean", "object", "array", "number", "integer", "string"
};

/* What a column holds, so how a value is checked and bound. */
enum { K_ANY, K_TEXT, K_INT, K_REAL, K_BOOL, K_JSON, K_OTHER };

/* A property of the schema: a column of the table it creates. */
struct prop {
	char		*name;
	int		 kind;
	unsigned	 types;		/* allowed JSON types, 0 any */
	int		 notnull;
	json_t		*enumv;		/* borrowed from the schema */
	json_t		*constv;
	double		 min, max, xmin, xmax;
	int		 has_min, has_max, has_xmin, has_xmax;
	long		 minlen, maxlen;	/* -1 unset */
};

/* A column of the table as the database has it. */
struct col {
	char	*name;
	int	 kind;
	int	 precheck;	/* the database would convert another type */
	char	*type;		/* as the database names it */
	char	*cast;		/* PostgreSQL: what staged text is cast to */
	char	*dflt;		/* its default expression, or NULL */
};

/* A row PostgreSQL refused, found after the COPY. */
struct refusal {
	unsigned long long seq;
	char	*path;
	char	*msg;
};

static const char	*db_arg, *table_arg, *schema_path, *grant_role;
static char		*tschema, *tname;	/* --table split */
static struct etl_buf	 qtable;		/* quoted, qualified */
static char		**keys;
static size_t		 nkeys;
static int		 replace, use_pg;

static json_t		*schema_doc;
static struct prop	*props;
static size_t		 nprops;
static int		 addl_false;

static struct col	*cols;
static size_t		 ncols;
static size_t		*keycol;		/* column of each key */
static json_t		*colmap;		/* name -> index */
static json_t		*warned;		/* fields said not to be loaded */

static unsigned long long n_inserted, n_updated, n_unchanged, n_deleted;

/*
 * Statements and names being built live in static buffers: a dying
 * error (etl_die) leaves them reachable, not leaked, for LeakSanitizer.
 */
static struct etl_buf	 sqlb, shown;
static char		*ddl, *table_sql;

/* Helpers */

static void ETL_PRINTF(2, 3) ETL_NORETURN
bad_schema(const char *where, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	etl_die(ETL_EX_CONFIG, "%s: %s: %s", schema_path, *where ? where : "/",
	    msg);
}

/* "name", its quotes doubled: an SQL identifier. */
static void
q_ident(struct etl_buf *b, const char *s)
{
	etl_buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			etl_buf_addc(b, '"');
		etl_buf_addc(b, *s);
	}
	etl_buf_addc(b, '"');
}

/* 'text', its quotes doubled: an SQL string (standard_conforming_strings). */
static void
q_string(struct etl_buf *b, const char *s, size_t n)
{
	size_t i;

	etl_buf_addc(b, '\'');
	for (i = 0; i < n; i++) {
		if (s[i] == '\'')
			etl_buf_addc(b, '\'');
		etl_buf_addc(b, s[i]);
	}
	etl_buf_addc(b, '\'');
}

/* A number in its shortest form, without a ".0". */
static void
num_lit(struct etl_buf *b, double d)
{
	size_t start = b->len;

	etl_json_real(b, d);
	if (b->len - start > 2 && memcmp(b->p + b->len - 2, ".0", 2) == 0)
		b->len -= 2;
}

static int
integral(double d)
{
	return d == floor(d) && fabs(d) < 9.2e18;
}

/* A JSON Pointer to a field, in a buffer that lives until the next call. */
static const char *
ptr(const char *k)
{
	static struct etl_buf b;

	b.len = 0;
	etl_buf_addc(&b, '/');
	for (; *k; k++) {
		if (*k == '~')
			etl_buf_adds(&b, "~0");
		else if (*k == '/')
			etl_buf_adds(&b, "~1");
		else
			etl_buf_addc(&b, *k);
	}
	return etl_buf_cstr(&b);
}

/* A value as short JSON text, for messages. */
static const char *
show(const json_t *v)
{
	static struct etl_buf b;

	b.len = 0;
	etl_json_dump(&b, v);
	if (b.len > 80) {
		b.len = 77;
		while (b.len > 0 && ((unsigned char)b.p[b.len] & 0xc0) == 0x80)
			b.len--;
		etl_buf_adds(&b, "...");
	}
	return etl_buf_cstr(&b);
}

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	default: return "null";
	}
}

static ssize_t
col_index(const char *name)
{
	json_t *i = json_object_get(colmap, name);

	return i ? (ssize_t)json_integer_value(i) : -1;
}

static int
is_key(const char *name)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		if (strcmp(keys[i], name) == 0)
			return 1;
	return 0;
}

/* The schema */

static json_t *
pointer(const char *ref, const char *where)
{
	static struct etl_buf tok;	/* static: reachable when dying */
	const char *p = ref + 1;
	json_t *doc = schema_doc;
	char *end;
	long i;

	while (*p == '/' && doc) {
		tok.len = 0;
		for (p++; *p && *p != '/'; p++) {
			if (*p == '~' && (p[1] == '0' || p[1] == '1')) {
				etl_buf_addc(&tok, p[1] == '1' ? '/' : '~');
				p++;
			} else
				etl_buf_addc(&tok, *p);
		}
		if (json_is_object(doc))
			doc = json_object_get(doc, etl_buf_cstr(&tok));
		else if (json_is_array(doc)) {
			i = strtol(etl_buf_cstr(&tok), &end, 10);
			doc = *end || i < 0 ? NULL : json_array_get(doc, (size_t)i);
		} else
			doc = NULL;
	}
	if (doc == NULL || *p)
		bad_schema(where, "$ref %s: no such place in the schema", ref);
	return doc;
}

/* Follows local $refs ("#/$defs/name"); others are refused. */
static json_t *
resolve(json_t *s, const char *where)
{
	const char *ref;
	json_t *r;
	int depth;

	for (depth = 0; json_is_object(s) &&
	    (r = json_object_get(s, "$ref")) != NULL; depth++) {
		ref = json_string_value(r);
		if (ref == NULL || ref[0] != '#' || (ref[1] && ref[1] != '/'))
			bad_schema(where, "$ref %s: etl-load follows only "
			    "local JSON Pointers (#/...)", ref ? ref : "?");
		if (depth == 32)
			bad_schema(where, "$ref %s: a loop", ref);
		s = pointer(ref, where);
	}
	return s;
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
}

static unsigned
types_of(json_t *t, const char *where)
{
	unsigned m = 0;
	size_t i;

	if (json_is_string(t))
		return type_bit(t, where);
	if (!json_is_array(t) || json_array_size(t) == 0)
		bad_schema(where, "type must be a type name or a list of them");
	for (i = 0; i < json_array_size(t); i++)
		m |= type_bit(json_array_get(t, i), where);
	return m;
}

static unsigned
value_type(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL: return T_NULL;
	case JSON_TRUE:
	case JSON_FALSE: return T_BOOLEAN;
	case JSON_OBJECT: return T_OBJECT;
	case JSON_ARRAY: return T_ARRAY;
	case JSON_STRING: return T_STRING;
	case JSON_INTEGER: return T_INTEGER;
	default: return integral(json_real_value(v)) ? T_INTEGER : T_NUMBER;
	}
}

static int
kind_of(unsigned t)
{
	t &= ~(unsigned)T_NULL;
	if (t == 0)
		return K_JSON;
	if (t == T_STRING)
		return K_TEXT;
	if (t == T_INTEGER)
		return K_INT;
	if ((t & ~(unsigned)(T_NUMBER | T_INTEGER)) == 0)
		return K_REAL;
	if (t == T_BOOLEAN)
		return K_BOOL;
	return K_JSON;
}

static double
num(json_t *s, const char *kw, const char *where, int *has)
{
	json_t *v = json_object_get(s, kw);

	if (v == NULL)
		return 0;
	if (!json_is_number(v))
		bad_schema(where, "%s must be a number", kw);
	*has = 1;
	return json_number_value(v);
}

static long
count(json_t *s, const char *kw, const char *where)
{
	json_t *v = json_object_get(s, kw);
	double d;

	if (v == NULL)
		return -1;
	if (!json_is_number(v) || (d = json_number_value(v)) < 0 ||
	    d != floor(d) || d > 1e15)
		bad_schema(where, "%s must be a non-negative integer", kw);
	return (long)d;
}

static void
add_prop(const char *name, json_t *s, int required)
{
	static struct etl_buf where;
	struct prop *p;
	unsigned t = 0;
	json_t *v;
	size_t i;

	where.len = 0;
	etl_buf_adds(&where, "/properties");
	etl_buf_adds(&where, ptr(name));
	s = resolve(s, etl_buf_cstr(&where));
	if (json_is_false(s))		/* the field may not appear */
		return;
	p = &props[nprops++];
	memset(p, 0, sizeof(*p));
	p->name = estrdup(name);
	p->minlen = p->maxlen = -1;
	if (json_is_true(s)) {
		p->kind = K_JSON;
		return;
	}
	if (!json_is_object(s))
		bad_schema(where.p, "a property's schema must be an object or "
		    "a boolean");
	if ((v = json_object_get(s, "type")) != NULL)
		p->types = types_of(v, where.p);
	if ((v = json_object_get(s, "enum")) != NULL && !json_is_array(v))
		bad_schema(where.p, "enum must be an array");
	p->enumv = v;
	p->constv = json_object_get(s, "const");
	p->min = num(s, "minimum", where.p, &p->has_min);
	p->max = num(s, "maximum", where.p, &p->has_max);
	p->xmin = num(s, "exclusiveMinimum", where.p, &p->has_xmin);
	p->xmax = num(s, "exclusiveMaximum", where.p, &p->has_xmax);
	p->minlen = count(s, "minLength", where.p);
	p->maxlen = count(s, "maxLength", where.p);
	/* No type: the values of enum or const tell it, else any JSON. */
	if (p->types == 0) {
		if (p->constv)
			t |= value_type(p->constv);
		for (i = 0; i < json_array_size(p->enumv); i++)
			t |= value_type(json_array_get(p->enumv, i));
		p->types = t;
	}
	p->kind = kind_of(p->types);
	p->notnull = required && p->types && !(p->types & T_NULL);
}

static void
read_schema(void)
{
	json_t *root, *ps, *req, *v;
	const char *k;
	size_t i, j;
	int required;

	schema_doc = etl_json_load_file(schema_path, "schema");
	root = resolve(schema_doc, "");
	if (!json_is_object(root))
		bad_schema("", "a table's schema must be an object");
	if ((v = json_object_get(root, "type")) != NULL &&
	    !(types_of(v, "/type") & T_OBJECT))
		bad_schema("/type", "a table's schema must be of type object");
	ps = json_object_get(root, "properties");
	if (!json_is_object(ps) || json_object_size(ps) == 0)
		bad_schema("/properties", "etl-load makes a column of each "
		    "property, and the schema has none");
	req = json_object_get(root, "required");
	if (req && !json_is_array(req))
		bad_schema("/required", "required must be an array of names");
	addl_false = json_is_false(json_object_get(root,
	    "additionalProperties"));
	props = ecalloc(json_object_size(ps), sizeof(*props));
	json_object_foreach(ps, k, v) {
		required = 0;
		for (i = 0; i < json_array_size(req); i++) {
			if (!json_is_string(json_array_get(req, i)))
				bad_schema("/required", "required must be an "
				    "array of names");
			if (strcmp(json_string_value(json_array_get(req, i)),
			    k) == 0)
				required = 1;
		}
		add_prop(k, v, required);
	}
	for (i = 0; i < nkeys; i++) {
		for (j = 0; j < nprops; j++)
			if (strcmp(props[j].name, keys[i]) == 0)
				break;
		if (j == nprops)
			etl_die(ETL_EX_CONFIG, "%s: --key %s: not a property of "
			    "the schema", schema_path, keys[i]);
	}
}

/* The DDL */

/* Appends the type names of a JSON column, as each database says them. */
static void
json_types(struct etl_buf *b, unsigned t, int pg)
{
	static const struct {
		unsigned	 bit;
		const char	*pg, *sq;
	} m[] = {
		{ T_STRING, "'string'", "'text'" },
		{ T_INTEGER, "'number'", "'integer'" },
		{ T_NUMBER, "'number'", "'integer', 'real'" },
		{ T_BOOLEAN, "'boolean'", "'true', 'false'" },
		{ T_OBJECT, "'object'", "'object'" },
		{ T_ARRAY, "'array'", "'array'" },
	};
	size_t i;
	int first = 1;

	if ((t & T_NUMBER) && pg)
		t &= ~(unsigned)T_INTEGER;
	for (i = 0; i < sizeof(m) / sizeof(*m); i++) {
		if (!(t & m[i].bit))
			continue;
		if (!first)
			etl_buf_adds(b, ", ");
		etl_buf_adds(b, pg ? m[i].pg : m[i].sq);
		first = 0;
	}
}

/* " (number, string)": the types of a JSON column, for its check's name. */
static void
json_type_names(struct etl_buf *b, unsigned t)
{
	size_t i;
	int first = 1;

	if ((t & ~(unsigned)T_NULL) == 0)
		return;
	etl_buf_adds(b, " (");
	for (i = 1; i < sizeof(type_names) / sizeof(*type_names); i++) {
		if (!(t & (1u << i)))
			continue;
		etl_buf_printf(b, "%s%s", first ? "" : ", ", type_names[i]);
		first = 0;
	}
	etl_buf_addc(b, ')');
}

/* CONSTRAINT "name" CHECK (expr); PostgreSQL cuts names past 63 bytes. */
static void
add_check(struct etl_buf *b, int pg, struct etl_buf *name, struct etl_buf *e)
{
	etl_buf_addc(b, ' ');
	if (!pg || name->len <= PG_NAMELEN) {
		etl_buf_adds(b, "CONSTRAINT ");
		q_ident(b, etl_buf_cstr(name));
		etl_buf_addc(b, ' ');
	}
	etl_buf_adds(b, "CHECK (");
	etl_buf_add(b, e->p, e->len);
	etl_buf_addc(b, ')');
	name->len = e->len = 0;
}

/* A value of enum or const as an SQL literal of the column, or -1. */
static int
enum_lit(struct etl_buf *e, const struct prop *p, json_t *v, int pg)
{
	struct etl_buf t = { 0 };

	switch (p->kind) {
	case K_TEXT:
		if (!json_is_string(v))
			return -1;
		q_string(e, json_string_value(v), json_string_length(v));
		return 0;
	case K_INT:
	case K_REAL:
		if (!json_is_number(v) || (p->kind == K_INT &&
		    !integral(json_number_value(v))))
			return -1;
		if (json_is_integer(v))
			etl_buf_printf(e, "%lld", (long long)json_integer_value(v));
		else
			num_lit(e, json_real_value(v));
		return 0;
	case K_BOOL:
		if (!json_is_boolean(v))
			return -1;
		etl_buf_adds(e, json_is_true(v) ? (pg ? "true" : "1") :
		    (pg ? "false" : "0"));
		return 0;
	default:
		if (json_is_null(v))
			return -1;
		etl_json_dump(&t, v);
		q_string(e, t.p, t.len);
		etl_buf_free(&t);
		if (pg)
			etl_buf_adds(e, "::jsonb");
		return 0;
	}
}

static void
enum_check(struct etl_buf *b, const struct prop *p, const char *qc, int pg,
    json_t *vals, int is_const)
{
	struct etl_buf name = { 0 }, e = { 0 };
	size_t i, n = 0, start;
	json_t *v;

	etl_buf_adds(&name, p->name);
	etl_buf_adds(&name, is_const ? " = " : " in (");
	etl_buf_adds(&e, qc);
	etl_buf_adds(&e, " IN (");
	for (i = 0; i < json_array_size(vals); i++) {
		start = e.len;
		if (n)
			etl_buf_adds(&e, ", ");
		if (enum_lit(&e, p, json_array_get(vals, i), pg) == -1) {
			e.len = start;
			continue;
		}
		if (n)
			etl_buf_adds(&name, ", ");
		v = json_array_get(vals, i);
		etl_buf_adds(&name, json_is_string(v) ? json_string_value(v) :
		    show(v));
		n++;
	}
	etl_buf_addc(&e, ')');
	if (!is_const)
		etl_buf_addc(&name, ')');
	if (n == 0) {		/* no value of the column's type */
		e.len = 0;
		etl_buf_printf(&e, "%s IS NULL", qc);
	}
	if (pg && name.len > PG_NAMELEN) {
		name.len = 0;
		etl_buf_printf(&name, "%s in enum", p->name);
	}
	add_check(b, pg, &name, &e);
	etl_buf_free(&name);
	etl_buf_free(&e);
}

static void
ddl_column(struct etl_buf *b, const struct prop *p, int pg)
{
	static const char *pg_types[] = {
		"jsonb", "text", "bigint", "double precision", "boolean",
		"jsonb", "text"
	};
	static const struct {
		const char *what, *expr;
	} sq_types[] = {
		{ "JSON", "" }, { "a string", "typeof(%s) = 'text'" },
		{ "an integer", "typeof(%s) = 'integer'" },
		{ "a number", "typeof(%s) = 'real'" },
		{ "a boolean", "typeof(%1$s) = 'integer' AND %1$s IN (0, 1)" },
	};
	struct etl_buf qn = { 0 }, name = { 0 }, e = { 0 };
	const char *qc;
	json_t *one;
	size_t i;
	int notnull = p->notnull || is_key(p->name);

	q_ident(&qn, p->name);
	qc = etl_buf_cstr(&qn);
	etl_buf_adds(b, qc);
	etl_buf_addc(b, ' ');
	etl_buf_adds(b, pg ? pg_types[p->kind] : "ANY");
	if (notnull)
		etl_buf_adds(b, " NOT NULL");

	/*
	 * SQLite converts a value to a typed column's type ('12' into an
	 * INTEGER column, even a STRICT one, is 12): columns are ANY, and a
	 * check says the type, so SQLite refuses instead.
	 */
	if (!pg) {
		if (!notnull)
			etl_buf_printf(&e, "%s IS NULL OR ", qc);
		if (p->kind == K_JSON) {
			etl_buf_printf(&name, "%s is JSON", p->name);
			etl_buf_printf(&e, "(typeof(%1$s) = 'text' AND "
			    "json_valid(%1$s)", qc);
			if (p->types & ~(unsigned)T_NULL) {
				etl_buf_printf(&e, " AND json_type(%s) IN (", qc);
				json_types(&e, p->types, 0);
				etl_buf_addc(&e, ')');
			}
			etl_buf_addc(&e, ')');
		} else {
			etl_buf_printf(&name, "%s is %s", p->name,
			    sq_types[p->kind].what);
			etl_buf_adds(&e, notnull ? "" : "(");
			etl_buf_printf(&e, sq_types[p->kind].expr, qc);
			etl_buf_adds(&e, notnull ? "" : ")");
		}
		if (p->kind == K_JSON)
			json_type_names(&name, p->types);
		add_check(b, pg, &name, &e);
	} else if (p->kind == K_JSON && (p->types & ~(unsigned)T_NULL)) {
		etl_buf_printf(&name, "%s is JSON", p->name);
		json_type_names(&name, p->types);
		etl_buf_printf(&e, "jsonb_typeof(%s) IN (", qc);
		json_types(&e, p->types, 1);
		etl_buf_addc(&e, ')');
		add_check(b, pg, &name, &e);
	}

	if (p->kind == K_INT || p->kind == K_REAL) {
		static const char *ops[] = { ">=", "<=", ">", "<" };
		const double *v[] = { &p->min, &p->max, &p->xmin, &p->xmax };
		const int has[] = { p->has_min, p->has_max, p->has_xmin,
		    p->has_xmax };

		for (i = 0; i < 4; i++) {
			if (!has[i])
				continue;
			etl_buf_printf(&name, "%s %s ", p->name, ops[i]);
			num_lit(&name, *v[i]);
			etl_buf_printf(&e, "%s %s ", qc, ops[i]);
			num_lit(&e, *v[i]);
			add_check(b, pg, &name, &e);
		}
	}
	if (p->kind == K_TEXT && p->minlen >= 0) {
		etl_buf_printf(&name, "%s length >= %ld", p->name, p->minlen);
		etl_buf_printf(&e, "%s(%s) >= %ld", pg ? "char_length" : "length",
		    qc, p->minlen);
		add_check(b, pg, &name, &e);
	}
	if (p->kind == K_TEXT && p->maxlen >= 0) {
		etl_buf_printf(&name, "%s length <= %ld", p->name, p->maxlen);
		etl_buf_printf(&e, "%s(%s) <= %ld", pg ? "char_length" : "length",
		    qc, p->maxlen);
		add_check(b, pg, &name, &e);
	}
	if (p->enumv)
		enum_check(b, p, qc, pg, p->enumv, 0);
	if (p->constv) {
		one = json_array();
		json_array_append(one, p->constv);
		enum_check(b, p, qc, pg, one, 1);
		json_decref(one);
	}
	etl_buf_free(&qn);
	etl_buf_free(&name);
	etl_buf_free(&e);
}

/* CREATE TABLE IF NOT EXISTS from the schema: a new string. */
static char *
ddl_table(int pg)
{
	struct etl_buf b = { 0 };
	size_t i;

	etl_buf_printf(&b, "CREATE TABLE IF NOT EXISTS %s (", qtable.p);
	for (i = 0; i < nprops; i++) {
		etl_buf_adds(&b, i ? ",\n  " : "\n  ");
		ddl_column(&b, &props[i], pg);
	}
	if (nkeys) {
		etl_buf_adds(&b, ",\n  PRIMARY KEY (");
		for (i = 0; i < nkeys; i++) {
			if (i)
				etl_buf_adds(&b, ", ");
			q_ident(&b, keys[i]);
		}
		etl_buf_addc(&b, ')');
	}
	etl_buf_adds(&b, pg ? "\n)" : "\n) STRICT");
	return (char *)etl_buf_cstr(&b);
}

/* Columns, as the database has them */

static void
add_col(const char *name, int kind, int precheck, const char *type,
    const char *cast, const char *dflt)
{
	struct col *c;

	cols = erealloc(cols, (ncols + 1) * sizeof(*cols));
	c = &cols[ncols];
	c->name = estrdup(name);
	c->kind = kind;
	c->precheck = precheck;
	c->type = estrdup(type && *type ? type : "no type");
	c->cast = cast ? estrdup(cast) : NULL;
	c->dflt = dflt ? estrdup(dflt) : NULL;
	json_object_set_new(colmap, name, json_integer((json_int_t)ncols));
	ncols++;
}

/* After the columns are known: every property and key is one. */
static void
check_columns(const char *db)
{
	size_t i;
	ssize_t j;

	for (i = 0; i < nprops; i++)
		if (col_index(props[i].name) == -1)
			etl_die(ETL_EX_CONFIG, "%s: table %s has no column %s, "
			    "which %s names (alter the table, or drop it to "
			    "have it created)", db, table_arg, props[i].name,
			    schema_path);
	keycol = ecalloc(nkeys + 1, sizeof(*keycol));
	for (i = 0; i < nkeys; i++) {
		if ((j = col_index(keys[i])) == -1)
			etl_die(ETL_EX_CONFIG, "%s: --key %s: table %s has no "
			    "such column", db, keys[i], table_arg);
		keycol[i] = (size_t)j;
	}
	if (ncols == 0)
		etl_die(ETL_EX_CONFIG, "%s: table %s has no column to load",
		    db, table_arg);
}

/*
 * Values the database would convert rather than refuse ('12' into a
 * number, 5 into text, 1 into a boolean) are refused here.  Returns -1
 * with a reason added.
 */
static int
precheck(const struct col *c, json_t *v, json_t **rs)
{
	const char *what;
	int ok;

	if (!c->precheck || v == NULL || json_is_null(v))
		return 0;
	switch (c->kind) {
	case K_TEXT:
	case K_OTHER:
		ok = json_is_string(v);
		what = "a string";
		break;
	case K_INT:
		/* Integral beyond 64 bits: the database says out of range. */
		ok = json_is_integer(v) || (json_is_real(v) &&
		    json_real_value(v) == floor(json_real_value(v)));
		what = "an integer";
		break;
	case K_REAL:
		ok = json_is_number(v);
		what = "a number";
		break;
	case K_BOOL:
		ok = json_is_boolean(v);
		what = "a boolean";
		break;
	default:
		return 0;
	}
	if (ok)
		return 0;
	etl_reason(rs, ptr(c->name), "load", "column \"%s\" (%s) takes %s, "
	    "not %s %s", c->name, c->type, what, json_type_name(v), show(v));
	return -1;
}

/* The output, held back until the commit */

struct spool_head {
	uint32_t	file;
	uint32_t	pad;
	uint64_t	line;
	uint64_t	len;
};

static FILE		*spool;
static char		**files;
static size_t		 nfiles;
static struct refusal	*refs;
static size_t		 nrefs;

static void
spool_add(const struct etl_rec *r)
{
	static struct etl_buf path;
	struct spool_head h;
	const char *dir;
	int fd;

	if (spool == NULL) {
		if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
			dir = "/tmp";
		etl_buf_printf(&path, "%s/.etl-load.XXXXXX", dir);
		if ((fd = mkstemp(path.p)) == -1 ||
		    (spool = fdopen(fd, "w+")) == NULL)
			etl_die(ETL_EX_CANTCREAT, "%s: %s", path.p, strerror(errno));
		unlink(path.p);
		etl_buf_free(&path);
	}
	if (nfiles == 0 || strcmp(files[nfiles - 1], r->file) != 0) {
		files = erealloc(files, (nfiles + 1) * sizeof(*files));
		files[nfiles++] = estrdup(r->file);
	}
	memset(&h, 0, sizeof(h));
	h.file = (uint32_t)(nfiles - 1);
	h.line = r->line;
	h.len = r->len;
	if (fwrite(&h, sizeof(h), 1, spool) != 1 ||
	    fwrite(r->raw, 1, r->len, spool) != r->len)
		etl_die(ETL_EX_IOERR, "temporary file: %s", strerror(errno));
}

/* Before the commit: a full disk must stop the run, not its output. */
static void
spool_flush(void)
{
	if (spool && (fflush(spool) == EOF || ferror(spool)))
		etl_die(ETL_EX_IOERR, "temporary file: %s", strerror(errno));
}

/* After the commit: the loaded records out, the refused to the rejects. */
static void
spool_replay(void)
{
	static struct etl_buf b;	/* static: reachable when dying */
	struct spool_head h;
	struct etl_rec r;
	unsigned long long seq = 0;
	size_t ri = 0;
	json_t *rs;

	if (spool == NULL)
		return;
	if (fflush(spool) == EOF || fseek(spool, 0, SEEK_SET) == -1)
		etl_die(ETL_EX_IOERR, "temporary file: %s", strerror(errno));
	while (fread(&h, sizeof(h), 1, spool) == 1) {
		b.len = 0;
		etl_buf_grow(&b, h.len);
		if (fread(b.p, 1, h.len, spool) != h.len)
			etl_die(ETL_EX_IOERR, "temporary file: short read");
		seq++;
		if (ri < nrefs && refs[ri].seq == seq) {
			memset(&r, 0, sizeof(r));
			r.file = files[h.file];
			r.line = (unsigned long)h.line;
			r.raw = b.p;
			r.len = h.len;
			r.object = 1;
			rs = NULL;
			etl_reason(&rs, refs[ri].path, "load", "%s", refs[ri].msg);
			etl_reject(&r, rs);
			ri++;
		} else
			etl_out_raw(b.p, h.len);
	}
	if (ferror(spool))
		etl_die(ETL_EX_IOERR, "temporary file: %s", strerror(errno));
	fclose(spool);
	spool = NULL;
	etl_buf_free(&b);
}

/* SQLite */

static sqlite3		*sq;
static sqlite3_stmt	*sq_ins, *sq_exists, *sq_key;
static const char	*sq_path;

static int
sq_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return ETL_EX_TEMPFAIL;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CORRUPT:
	case SQLITE_PROTOCOL:
		return ETL_EX_IOERR;
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return ETL_EX_CANTCREAT;
	case SQLITE_NOTADB:
	case SQLITE_ERROR:
		return ETL_EX_CONFIG;
	default:
		return ETL_EX_SOFTWARE;
	}
}

static void ETL_NORETURN
sq_die(int rc, const char *what)
{
	etl_die(sq_status(rc), "sqlite:%s: %s: %s", sq_path, what,
	    sqlite3_errmsg(sq));
}

static void
sq_exec(const char *sql, const char *what)
{
	int rc;

	if ((rc = sqlite3_exec(sq, sql, NULL, NULL, NULL)) != SQLITE_OK)
		sq_die(rc, what);
}

static sqlite3_stmt *
sq_prepare(const char *sql, const char *what)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sqlite3_prepare_v2(sq, sql, -1, &st, NULL)) != SQLITE_OK)
		sq_die(rc, what);
	return st;
}

/*
 * The kind of a column from its declared type, after SQLite's affinity
 * rules; an ANY column of a STRICT table converts nothing, and the
 * check etl-load gave it says its kind.
 */
static int
sq_kind(const char *type, int strict, const char *sql, const char *name,
    int *precheck)
{
	static const struct {
		const char *s;
		int kind;
	} ours[] = {
		{ "a string\"", K_TEXT }, { "an integer\"", K_INT },
		{ "a number\"", K_REAL }, { "a boolean\"", K_BOOL },
		{ "JSON", K_JSON },
	};
	struct etl_buf needle = { 0 };
	const char *p;
	char u[64];
	size_t i;
	int kind = K_ANY;

	for (i = 0; type[i] && i < sizeof(u) - 1; i++)
		u[i] = (char)(type[i] >= 'a' && type[i] <= 'z' ?
		    type[i] - 32 : type[i]);
	u[i] = '\0';
	*precheck = 1;
	if (strict && strcmp(u, "ANY") == 0) {
		*precheck = 0;
		q_ident(&needle, name);
		needle.len--;		/* the closing quote */
		etl_buf_adds(&needle, " is ");
		p = sql;
		while (p && (p = strstr(p, etl_buf_cstr(&needle))) != NULL) {
			p += needle.len;
			for (i = 0; i < sizeof(ours) / sizeof(*ours); i++)
				if (strncmp(p, ours[i].s, strlen(ours[i].s)) == 0)
					break;
			if (i < sizeof(ours) / sizeof(*ours) &&
			    p - needle.len >= sql + 11 &&
			    strncmp(p - needle.len - 11, "CONSTRAINT ", 11) == 0) {
				kind = ours[i].kind;
				break;
			}
		}
		etl_buf_free(&needle);
		return kind;
	}
	if (strstr(u, "INT"))
		return K_INT;
	if (strstr(u, "CHAR") || strstr(u, "CLOB") || strstr(u, "TEXT"))
		return K_TEXT;
	if (strstr(u, "BLOB") || *u == '\0') {
		*precheck = 0;
		return K_ANY;
	}
	if (strstr(u, "REAL") || strstr(u, "FLOA") || strstr(u, "DOUB"))
		return K_REAL;
	if (strncmp(u, "BOOL", 4) == 0)
		return K_BOOL;
	if (strncmp(u, "JSON", 4) == 0)
		return K_JSON;
	if (strstr(u, "DATE") || strstr(u, "TIME"))
		return K_OTHER;
	return K_REAL;		/* NUMERIC affinity */
}

static void
sq_open(const char *path)
{
	int rc;

	sq_path = path;
	if ((rc = sqlite3_open_v2(path, &sq, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL)) != SQLITE_OK)
		etl_die(ETL_EX_CANTCREAT, "sqlite:%s: cannot open the database: "
		    "%s", path, sq ? sqlite3_errmsg(sq) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(sq, 1);
	sqlite3_busy_timeout(sq, BUSY_MS);
	/* The write lock now: a second writer waits here, not half-way. */
	sq_exec("BEGIN IMMEDIATE", "cannot begin a transaction");
}

/*
 * A value bound as its JSON type, so that the table's checks see it:
 * a number into a boolean column as a real, an object into a text
 * column as a blob, anything into a JSON column as JSON text.
 */
static void
sq_bind(sqlite3_stmt *st, int i, const struct col *c, json_t *v)
{
	struct etl_buf t = { 0 };
	double d;

	if (v == NULL || json_is_null(v)) {
		sqlite3_bind_null(st, i);
		return;
	}
	if (c->kind == K_JSON || ((json_is_object(v) || json_is_array(v)) &&
	    c->kind == K_ANY)) {
		etl_json_dump(&t, v);
		sqlite3_bind_text(st, i, t.p, (int)t.len, SQLITE_TRANSIENT);
		etl_buf_free(&t);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		sqlite3_bind_text(st, i, json_string_value(v),
		    (int)json_string_length(v), SQLITE_TRANSIENT);
		break;
	case JSON_INTEGER:
		if (c->kind == K_REAL || c->kind == K_BOOL)
			sqlite3_bind_double(st, i, (double)json_integer_value(v));
		else
			sqlite3_bind_int64(st, i, json_integer_value(v));
		break;
	case JSON_REAL:
		d = json_real_value(v);
		if (c->kind == K_INT && integral(d))
			sqlite3_bind_int64(st, i, (sqlite3_int64)d);
		else
			sqlite3_bind_double(st, i, d);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		sqlite3_bind_int(st, i, json_is_true(v));
		break;
	default:
		etl_json_dump(&t, v);
		sqlite3_bind_blob(st, i, t.p, (int)t.len, SQLITE_TRANSIENT);
		etl_buf_free(&t);
	}
}

static void
sq_setup(void)
{
	struct etl_buf *b = &sqlb;
	sqlite3_stmt *st;
	const char *schema = tschema ? tschema : "main";
	size_t i;
	int strict, rc, pre, kind;

	etl_buf_printf(&shown, "sqlite:%s", sq_path);
	if (props) {
		ddl = ddl_table(0);
		sq_exec(ddl, "cannot create the table");
	}
	st = sq_prepare("SELECT strict FROM pragma_table_list(?1) "
	    "WHERE schema = ?2 AND type = 'table'", "cannot read the catalog");
	sqlite3_bind_text(st, 1, tname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, schema, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			sq_die(rc, "cannot read the catalog");
		etl_die(ETL_EX_CONFIG, "%s: no table %s (give --schema to "
		    "create it)", shown.p, table_arg);
	}
	strict = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);

	b->len = 0;
	etl_buf_adds(b, "SELECT sql FROM ");
	q_ident(b, schema);
	etl_buf_adds(b, ".sqlite_master WHERE type = 'table' AND "
	    "name = ?1 COLLATE NOCASE");
	st = sq_prepare(etl_buf_cstr(b), "cannot read the catalog");
	sqlite3_bind_text(st, 1, tname, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		table_sql = estrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);

	st = sq_prepare("SELECT name, type, dflt_value, hidden FROM "
	    "pragma_table_xinfo(?1, ?2)", "cannot read the catalog");
	sqlite3_bind_text(st, 1, tname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, schema, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);

		if (sqlite3_column_int(st, 3) != 0)	/* generated, hidden */
			continue;
		kind = sq_kind(type ? type : "", strict,
		    table_sql ? table_sql : "", name, &pre);
		add_col(name, kind, pre, type, NULL,
		    (const char *)sqlite3_column_text(st, 2));
	}
	if (rc != SQLITE_DONE)
		sq_die(rc, "cannot read the catalog");
	sqlite3_finalize(st);
	check_columns(shown.p);

	/* The insert, an upsert by the key. */
	b->len = 0;
	etl_buf_printf(b, "INSERT INTO %s AS t (", qtable.p);
	for (i = 0; i < ncols; i++) {
		if (i)
			etl_buf_adds(b, ", ");
		q_ident(b, cols[i].name);
	}
	etl_buf_adds(b, ") VALUES (");
	for (i = 0; i < ncols; i++) {
		if (i)
			etl_buf_adds(b, ", ");
		if (cols[i].dflt)
			etl_buf_printf(b, "coalesce(?%zu, (%s))", i + 1,
			    cols[i].dflt);
		else
			etl_buf_printf(b, "?%zu", i + 1);
	}
	etl_buf_addc(b, ')');
	if (nkeys) {
		int first = 1;

		etl_buf_adds(b, " ON CONFLICT (");
		for (i = 0; i < nkeys; i++) {
			if (i)
				etl_buf_adds(b, ", ");
			q_ident(b, keys[i]);
		}
		etl_buf_adds(b, ") DO ");
		for (i = 0; i < ncols; i++) {
			if (is_key(cols[i].name))
				continue;
			etl_buf_adds(b, first ? "UPDATE SET " : ", ");
			q_ident(b, cols[i].name);
			etl_buf_adds(b, " = excluded.");
			q_ident(b, cols[i].name);
			first = 0;
		}
		if (first)
			etl_buf_adds(b, "NOTHING");
		else {
			/* An unchanged row is not written again. */
			first = 1;
			for (i = 0; i < ncols; i++) {
				if (is_key(cols[i].name))
					continue;
				etl_buf_adds(b, first ? " WHERE t." : " OR t.");
				q_ident(b, cols[i].name);
				etl_buf_adds(b, " IS NOT excluded.");
				q_ident(b, cols[i].name);
				first = 0;
			}
		}
	}
	sq_ins = sq_prepare(etl_buf_cstr(b), "cannot prepare the insert");

	if (nkeys) {
		b->len = 0;
		etl_buf_printf(b, "SELECT 1 FROM %s WHERE ", qtable.p);
		for (i = 0; i < nkeys; i++) {
			if (i)
				etl_buf_adds(b, " AND ");
			q_ident(b, keys[i]);
			etl_buf_printf(b, " = ?%zu", i + 1);
		}
		sq_exists = sq_prepare(etl_buf_cstr(b), "cannot prepare a "
		    "look-up by the key");
	}
	if (replace && nkeys == 0) {
		b->len = 0;
		etl_buf_printf(b, "DELETE FROM %s", qtable.p);
		sq_exec(etl_buf_cstr(b), "cannot empty the table");
		n_deleted = (unsigned long long)sqlite3_changes64(sq);
	} else if (replace) {
		/* The run's keys: the rows without one go at the end. */
		b->len = 0;
		etl_buf_adds(b, "CREATE TEMP TABLE etl_load_keys (");
		for (i = 0; i < nkeys; i++) {
			q_ident(b, keys[i]);
			etl_buf_adds(b, ", ");
		}
		etl_buf_adds(b, "PRIMARY KEY (");
		for (i = 0; i < nkeys; i++) {
			if (i)
				etl_buf_adds(b, ", ");
			q_ident(b, keys[i]);
		}
		etl_buf_adds(b, "))");
		sq_exec(etl_buf_cstr(b), "cannot create a temporary table");
		b->len = 0;
		etl_buf_adds(b, "INSERT OR IGNORE INTO temp.etl_load_keys "
		    "VALUES (");
		for (i = 0; i < nkeys; i++)
			etl_buf_printf(b, "%s?%zu", i ? ", " : "", i + 1);
		etl_buf_addc(b, ')');
		sq_key = sq_prepare(etl_buf_cstr(b), "cannot prepare an insert");
	}
}

/* The column a refusal names ("NOT NULL constraint failed: t.c"), or "". */
static const char *
sq_path_of(const char *msg)
{
	const char *p, *dot, *ret = "";
	char *name;
	size_t n;

	if ((p = strstr(msg, " constraint failed: ")) == NULL)
		return "";
	p += 20;
	if (strncmp(msg, "CHECK", 5) == 0)
		n = strcspn(p, " ");	/* etl-load names checks "col ..." */
	else
		n = strcspn(p, ",");
	name = estrndup(p, n);
	dot = strncmp(msg, "CHECK", 5) ? strrchr(name, '.') : NULL;
	if (col_index(dot ? dot + 1 : name) != -1)
		ret = ptr(dot ? dot + 1 : name);
	free(name);
	return ret;
}

static void
sq_row(struct etl_rec *r, json_t *o)
{
	static struct etl_buf msg;
	json_t *rs = NULL, *v;
	size_t i;
	int rc, exists = 0;

	for (i = 0; i < ncols; i++) {
		v = json_object_get(o, cols[i].name);
		if (precheck(&cols[i], v, &rs) == 0)
			sq_bind(sq_ins, (int)i + 1, &cols[i], v);
	}
	if (rs) {
		etl_reject(r, rs);
		return;
	}
	if (nkeys) {
		for (i = 0; i < nkeys; i++)
			sq_bind(sq_exists, (int)i + 1, &cols[keycol[i]],
			    json_object_get(o, keys[i]));
		if ((rc = sqlite3_step(sq_exists)) == SQLITE_ROW)
			exists = 1;
		else if (rc != SQLITE_DONE)
			sq_die(rc, "cannot look a key up");
		sqlite3_reset(sq_exists);
	}
	if ((rc = sqlite3_step(sq_ins)) == SQLITE_DONE) {
		sqlite3_reset(sq_ins);
		if (!exists)
			n_inserted++;
		else if (sqlite3_changes(sq))
			n_updated++;
		else
			n_unchanged++;
		if (sq_key) {
			for (i = 0; i < nkeys; i++)
				sq_bind(sq_key, (int)i + 1, &cols[keycol[i]],
				    json_object_get(o, keys[i]));
			if ((rc = sqlite3_step(sq_key)) != SQLITE_DONE)
				sq_die(rc, "cannot keep a key");
			sqlite3_reset(sq_key);
		}
		spool_add(r);
		return;
	}
	msg.len = 0;
	etl_buf_adds(&msg, sqlite3_errmsg(sq));
	etl_buf_cstr(&msg);
	sqlite3_reset(sq_ins);
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
		/* A trigger's RAISE(ROLLBACK) ends the transaction: no good. */
		if (!sqlite3_get_autocommit(sq)) {
			etl_reason(&rs, sq_path_of(msg.p), "load", "%s", msg.p);
			etl_reject(r, rs);
			return;
		}
		break;
	}
	etl_die(sq_status(rc), "sqlite:%s: %s:%lu: %s", sq_path, r->file,
	    r->line, msg.p);
}

static void
sq_commit(void)
{
	struct etl_buf *b = &sqlb;
	size_t i;
	b->len = 0;

	if (sq_key) {
		etl_buf_printf(b, "DELETE FROM %s AS t WHERE NOT EXISTS "
		    "(SELECT 1 FROM temp.etl_load_keys k WHERE ", qtable.p);
		for (i = 0; i < nkeys; i++) {
			if (i)
				etl_buf_adds(b, " AND ");
			etl_buf_adds(b, "k.");
			q_ident(b, keys[i]);
			etl_buf_adds(b, " = t.");
			q_ident(b, keys[i]);
		}
		etl_buf_addc(b, ')');
		sq_exec(etl_buf_cstr(b), "cannot delete the rows the run "
		    "does not have");
		n_deleted = (unsigned long long)sqlite3_changes64(sq);
		}
	sqlite3_finalize(sq_ins);
	sqlite3_finalize(sq_exists);
	sqlite3_finalize(sq_key);
	sq_ins = sq_exists = sq_key = NULL;
	sq_exec("COMMIT", "cannot commit");
}

static void
sq_close(int commit)
{
	if (!commit) {
		sqlite3_finalize(sq_ins);
		sqlite3_finalize(sq_exists);
		sqlite3_finalize(sq_key);
		sqlite3_exec(sq, "ROLLBACK", NULL, NULL, NULL);
	}
	sqlite3_close(sq);
	sq = NULL;
}

/* PostgreSQL */

static PGconn		*pg;
static char		*pg_shown;	/* the database, without password */
static struct etl_buf	 pg_copy;
static unsigned long long pg_seq;	/* rows staged */
static int		 pg_copying, pg_indexed;
static struct {
	char	*con, *col;
}			*pg_cons;	/* one-column constraints */
static size_t		 npg_cons;

/* "postgresql: host=... dbname=..." from a URL or conninfo; usage on error. */
static char *
pg_describe(const char *conninfo)
{
	static const char *said[] = { "host", "hostaddr", "port", "dbname",
	    "user", NULL };
	PQconninfoOption *opts, *o;
	struct etl_buf b = { 0 };
	char *err = NULL;
	size_t i;

	if ((opts = PQconninfoParse(conninfo, &err)) == NULL) {
		if (err) {
			err[strcspn(err, "\n")] = '\0';
			etl_error("--db: %s", err);
			PQfreemem(err);
		} else
			etl_error("--db: out of memory");
		etl_usage();
	}
	etl_buf_adds(&b, "postgresql:");
	for (i = 0; said[i]; i++)
		for (o = opts; o->keyword; o++)
			if (strcmp(o->keyword, said[i]) == 0 && o->val &&
			    *o->val)
				etl_buf_printf(&b, " %s=%s", o->keyword, o->val);
	if (b.len == strlen("postgresql:"))
		etl_buf_adds(&b, " (the PG* environment)");
	PQconninfoFree(opts);
	return (char *)etl_buf_cstr(&b);
}

/* The server's message, on one line, in pgmsg until the next call. */
static struct etl_buf pgmsg;

static const char *
pg_msg(const PGresult *res)
{
	struct etl_buf *b = &pgmsg;
	const char *m = NULL;
	size_t i;

	if (res)
		m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (m == NULL)
		m = PQerrorMessage(pg);
	b->len = 0;
	etl_buf_adds(b, m);
	while (b->len > 0 && (b->p[b->len - 1] == '\n' || b->p[b->len - 1] == ' '))
		b->len--;
	for (i = 0; i < b->len; i++)
		if (b->p[i] == '\n')
			b->p[i] = ' ';
	return etl_buf_cstr(b);
}

static int
pg_status(const char *state)
{
	static const char *temp[] = { "08", "40", "53", "57", "55P03", NULL };
	static const char *conf[] = { "42", "3F", "28", "0A", "3D", "2B", "3B",
	    NULL };
	size_t i;

	if (state == NULL || PQstatus(pg) == CONNECTION_BAD)
		return ETL_EX_TEMPFAIL;
	for (i = 0; temp[i]; i++)
		if (strncmp(state, temp[i], strlen(temp[i])) == 0)
			return ETL_EX_TEMPFAIL;
	for (i = 0; conf[i]; i++)
		if (strncmp(state, conf[i], 2) == 0)
			return ETL_EX_CONFIG;
	if (strncmp(state, "58", 2) == 0)
		return ETL_EX_IOERR;
	return ETL_EX_SOFTWARE;
}

/* Errors a row can cause: the others are the run's. */
static int
pg_row_error(const char *state)
{
	return state && (strncmp(state, "21", 2) == 0 ||
	    strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0 ||
	    strncmp(state, "44", 2) == 0 || strcmp(state, "P0001") == 0);
}

/* Dies with the status the error calls for; res is cleared first. */
static void ETL_NORETURN
pg_die(PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
	    NULL;
	int st = pg_status(state);

	pg_msg(res);		/* into pgmsg, before res goes */
	PQclear(res);
	etl_die(st, "%s: %s: %s", pg_shown, what, pgmsg.p);
}

static PGresult *
pg_params(const char *sql, int n, const char *const *v, ExecStatusType want,
    const char *what)
{
	PGresult *res;

	res = PQexecParams(pg, sql, n, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != want)
		pg_die(res, what);
	return res;
}

/* One or more statements without parameters. */
static void
pg_run(const char *sql, const char *what)
{
	PGresult *res = PQexec(pg, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		pg_die(res, what);
	PQclear(res);
}

static void
pg_notice(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res,
	    PG_DIAG_SEVERITY_NONLOCALIZED);

	(void)arg;
	if (sev && strcmp(sev, "NOTICE") != 0 && strcmp(sev, "DEBUG") != 0 &&
	    strcmp(sev, "LOG") != 0 && strcmp(sev, "INFO") != 0)
		etl_warn("%s: %s", pg_shown, pg_msg(res));
}

static void
pg_open(const char *conninfo)
{
	/* The conninfo may set the timeout, never the encoding. */
	const char *kw[] = { "connect_timeout", "fallback_application_name",
	    "dbname", "client_encoding", NULL };
	const char *val[] = { "10", "etl-load", conninfo, "UTF8", NULL };

	pg_shown = pg_describe(conninfo);
	if ((pg = PQconnectdbParams(kw, val, 1)) == NULL)
		etl_die(ETL_EX_SOFTWARE, "out of memory");
	if (PQstatus(pg) != CONNECTION_OK)
		etl_die(ETL_EX_TEMPFAIL, "%s: cannot connect: %s", pg_shown,
		    pg_msg(NULL));
	PQsetNoticeReceiver(pg, pg_notice, NULL);
	pg_run("SET standard_conforming_strings = on", "cannot set up");
	pg_run("BEGIN", "cannot begin a transaction");
}

static int
pg_kind(long oid, char cat)
{
	switch (oid) {
	case 16:
		return K_BOOL;
	case 20: case 21: case 23:
		return K_INT;
	case 700: case 701: case 1700:
		return K_REAL;
	case 114: case 3802:
		return K_JSON;
	}
	return cat == 'S' ? K_TEXT : K_OTHER;
}

/* The staged text of column i as the column's type. */
static void
pg_expr(struct etl_buf *b, size_t i)
{
	if (cols[i].dflt)
		etl_buf_adds(b, "coalesce(");
	if (cols[i].cast)
		etl_buf_printf(b, "CAST(s.c%zu AS %s)", i, cols[i].cast);
	else
		etl_buf_printf(b, "s.c%zu", i);
	if (cols[i].dflt)
		etl_buf_printf(b, ", %s)", cols[i].dflt);
}

static void
pg_prepare_insert(void)
{
	struct etl_buf *b = &sqlb;
	PGresult *res;
	size_t i;
	int first = 1;
	b->len = 0;

	if (nkeys)
		etl_buf_adds(b, "WITH ins AS (");
	etl_buf_printf(b, "INSERT INTO %s AS t (", qtable.p);
	for (i = 0; i < ncols; i++) {
		if (i)
			etl_buf_adds(b, ", ");
		q_ident(b, cols[i].name);
	}
	etl_buf_adds(b, ") SELECT ");
	for (i = 0; i < ncols; i++) {
		if (i)
			etl_buf_adds(b, ", ");
		pg_expr(b, i);
	}
	etl_buf_adds(b, " FROM pg_temp.etl_load_stage s WHERE s.seq "
	    "BETWEEN $1 AND $2 ORDER BY s.seq");
	if (nkeys) {
		etl_buf_adds(b, " ON CONFLICT (");
		for (i = 0; i < nkeys; i++) {
			if (i)
				etl_buf_adds(b, ", ");
			q_ident(b, keys[i]);
		}
		etl_buf_adds(b, ") DO ");
		for (i = 0; i < ncols; i++) {
			if (is_key(cols[i].name))
				continue;
			etl_buf_adds(b, first ? "UPDATE SET " : ", ");
			q_ident(b, cols[i].name);
			etl_buf_adds(b, " = EXCLUDED.");
			q_ident(b, cols[i].name);
			first = 0;
		}
		if (first)
			etl_buf_adds(b, "NOTHING");
		else {
			/* Compared as text: json has no equality. */
			etl_buf_adds(b, " WHERE ROW(");
			for (i = 0, first = 1; i < ncols; i++) {
				if (is_key(cols[i].name))
					continue;
				etl_buf_adds(b, first ? "t." : ", t.");
				q_ident(b, cols[i].name);
				etl_buf_adds(b, "::text");
				first = 0;
			}
			etl_buf_adds(b, ") IS DISTINCT FROM ROW(");
			for (i = 0, first = 1; i < ncols; i++) {
				if (is_key(cols[i].name))
					continue;
				etl_buf_adds(b, first ? "EXCLUDED." : ", EXCLUDED.");
				q_ident(b, cols[i].name);
				etl_buf_adds(b, "::text");
				first = 0;
			}
			etl_buf_addc(b, ')');
		}
		/* xmax is 0 in a row this statement inserted. */
		etl_buf_adds(b, " RETURNING (t.xmax = 0) AS fresh) SELECT "
		    "count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT "
		    "fresh) FROM ins");
	}
	res = PQprepare(pg, "etl_load_insert", etl_buf_cstr(b), 2, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		pg_die(res, "cannot prepare the insert");
	PQclear(res);
}

static void
pg_setup(void)
{
	struct etl_buf *b = &sqlb;
	PGresult *res;
	const char *v[1];
	char oid[24];
	int i, n;
	b->len = 0;

	etl_buf_printf(b, "etl-load %s", qtable.p);
	v[0] = etl_buf_cstr(b);
	/* Loads of a table, and its creation, one at a time. */
	PQclear(pg_params("SELECT pg_advisory_xact_lock(hashtext($1))", 1, v,
	    PGRES_TUPLES_OK, "cannot lock the table"));
	if (props) {
		ddl = ddl_table(1);
		pg_run(ddl, "cannot create the table");
	}
	v[0] = qtable.p;
	res = pg_params("SELECT to_regclass($1)::oid", 1, v, PGRES_TUPLES_OK,
	    "cannot read the catalog");
	if (PQgetisnull(res, 0, 0)) {
		PQclear(res);
		etl_die(ETL_EX_CONFIG, "%s: no table %s (give --schema to "
		    "create it)", pg_shown, table_arg);
	}
	snprintf(oid, sizeof(oid), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	v[0] = oid;
	res = pg_params("SELECT a.attname, format_type(a.atttypid, "
	    "a.atttypmod), format_type(a.atttypid, NULL), bt.oid, "
	    "bt.typcategory, pg_get_expr(d.adbin, d.adrelid) "
	    "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
	    "JOIN pg_type bt ON bt.oid = coalesce(nullif(t.typbasetype, 0), "
	    "t.oid) LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND "
	    "d.adnum = a.attnum WHERE a.attrelid = $1::oid AND a.attnum > 0 "
	    "AND NOT a.attisdropped AND a.attidentity = '' AND "
	    "a.attgenerated = '' ORDER BY a.attnum", 1, v, PGRES_TUPLES_OK,
	    "cannot read the columns");
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		int kind = pg_kind(strtol(PQgetvalue(res, i, 3), NULL, 10),
		    *PQgetvalue(res, i, 4));

		add_col(PQgetvalue(res, i, 0), kind, 1, PQgetvalue(res, i, 1),
		    kind == K_TEXT ? NULL : PQgetvalue(res, i, 2),
		    PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5));
	}
	PQclear(res);
	res = pg_params("SELECT c.conname, a.attname FROM pg_constraint c "
	    "JOIN pg_attribute a ON a.attrelid = c.conrelid AND "
	    "a.attnum = c.conkey[1] WHERE c.conrelid = $1::oid AND "
	    "cardinality(c.conkey) = 1", 1, v, PGRES_TUPLES_OK,
	    "cannot read the constraints");
	npg_cons = (size_t)PQntuples(res);
	pg_cons = ecalloc(npg_cons + 1, sizeof(*pg_cons));
	for (i = 0; i < (int)npg_cons; i++) {
		pg_cons[i].con = estrdup(PQgetvalue(res, i, 0));
		pg_cons[i].col = estrdup(PQgetvalue(res, i, 1));
	}
	PQclear(res);
	check_columns(pg_shown);

	b->len = 0;
	etl_buf_printf(b, "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE",
	    qtable.p);
	pg_run(etl_buf_cstr(b), "cannot lock the table");
	if (grant_role) {
		/* The loading role owns the table; the reader reads it. */
		b->len = 0;
		etl_buf_printf(b, "REVOKE ALL ON TABLE %s FROM PUBLIC; "
		    "REVOKE ALL ON TABLE %s FROM ", qtable.p, qtable.p);
		q_ident(b, grant_role);
		etl_buf_printf(b, "; GRANT SELECT ON TABLE %s TO ", qtable.p);
		q_ident(b, grant_role);
		if (tschema) {
			etl_buf_adds(b, "; GRANT USAGE ON SCHEMA ");
			q_ident(b, tschema);
			etl_buf_adds(b, " TO ");
			q_ident(b, grant_role);
		}
		pg_run(etl_buf_cstr(b), "cannot grant the reader its right");
	}
	if (replace && nkeys == 0) {
		b->len = 0;
		etl_buf_printf(b, "DELETE FROM %s", qtable.p);
		res = pg_params(etl_buf_cstr(b), 0, NULL, PGRES_COMMAND_OK,
		    "cannot empty the table");
		n_deleted = strtoull(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}

	/* Staged as text: COPY refuses nothing; the insert casts. */
	b->len = 0;
	etl_buf_adds(b, "CREATE TEMP TABLE etl_load_stage (seq bigint");
	for (i = 0; i < (int)ncols; i++)
		etl_buf_printf(b, ", c%d text", i);
	etl_buf_adds(b, ") ON COMMIT DROP");
	pg_run(etl_buf_cstr(b), "cannot create the staging table");
	pg_prepare_insert();
	res = PQexec(pg, "COPY pg_temp.etl_load_stage FROM STDIN");
	if (PQresultStatus(res) != PGRES_COPY_IN)
		pg_die(res, "cannot start the COPY");
	PQclear(res);
	pg_copying = 1;
}

/* COPY's text format: backslash, newline, return and tab escaped. */
static void
copy_text(struct etl_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '\\': etl_buf_add(b, "\\\\", 2); break;
		case '\n': etl_buf_add(b, "\\n", 2); break;
		case '\r': etl_buf_add(b, "\\r", 2); break;
		case '\t': etl_buf_add(b, "\\t", 2); break;
		default: etl_buf_addc(b, s[i]);
		}
	}
}

static void
pg_value(struct etl_buf *b, const struct col *c, json_t *v)
{
	static struct etl_buf t;
	double d;

	if (v == NULL || json_is_null(v)) {
		etl_buf_add(b, "\\N", 2);
		return;
	}
	switch (c->kind) {
	case K_BOOL:
		etl_buf_addc(b, json_is_true(v) ? 't' : 'f');
		return;
	case K_INT:
	case K_REAL:
		if (json_is_integer(v)) {
			etl_buf_printf(b, "%lld", (long long)json_integer_value(v));
			return;
		}
		d = json_real_value(v);
		/* 1e20 as its digits, so bigint says "out of range". */
		if (c->kind == K_INT && d == floor(d) && fabs(d) < 1e30)
			etl_buf_printf(b, "%.0f", d);
		else
			etl_json_real(b, d);
		return;
	case K_TEXT:
	case K_OTHER:
		copy_text(b, json_string_value(v), json_string_length(v));
		return;
	default:
		t.len = 0;
		etl_json_dump(&t, v);
		copy_text(b, t.p, t.len);
	}
}

static void
pg_flush(void)
{
	if (pg_copy.len == 0)
		return;
	if (PQputCopyData(pg, pg_copy.p, (int)pg_copy.len) != 1)
		etl_die(ETL_EX_TEMPFAIL, "%s: COPY: %s", pg_shown, pg_msg(NULL));
	pg_copy.len = 0;
}

static void
pg_row(struct etl_rec *r, json_t *o)
{
	json_t *rs = NULL, *v;
	size_t i, mark = pg_copy.len;

	etl_buf_printf(&pg_copy, "%llu", pg_seq + 1);
	for (i = 0; i < ncols; i++) {
		v = json_object_get(o, cols[i].name);
		if (precheck(&cols[i], v, &rs) == -1)
			continue;
		etl_buf_addc(&pg_copy, '\t');
		pg_value(&pg_copy, &cols[i], v);
	}
	if (rs) {
		pg_copy.len = mark;
		etl_reject(r, rs);
		return;
	}
	etl_buf_addc(&pg_copy, '\n');
	pg_seq++;
	spool_add(r);
	if (pg_copy.len >= COPY_CHUNK)
		pg_flush();
}

static void
pg_refuse(unsigned long long seq, const PGresult *res)
{
	const char *col, *con;
	size_t i;

	col = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
	con = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
	for (i = 0; col == NULL && con && i < npg_cons; i++)
		if (strcmp(pg_cons[i].con, con) == 0)
			col = pg_cons[i].col;
	refs = erealloc(refs, (nrefs + 1) * sizeof(*refs));
	refs[nrefs].seq = seq;
	refs[nrefs].path = estrdup(col ? ptr(col) : "");
	refs[nrefs].msg = estrdup(pg_msg(res));
	nrefs++;
}

/*
 * One attempt at the staged rows lo..hi, in one round trip: 0, or -1
 * with the database's error in *err when a row was refused (the
 * savepoint undoes the attempt).  Any other error ends the run.
 */
static int
pg_try(unsigned long long lo, unsigned long long hi, PGresult **err)
{
	char sql[160];
	PGresult *res;
	const char *state;

	*err = NULL;
	snprintf(sql, sizeof(sql), "SAVEPOINT etl_load; EXECUTE "
	    "etl_load_insert(%llu, %llu); RELEASE SAVEPOINT etl_load", lo, hi);
	if (!PQsendQuery(pg, sql))
		pg_die(NULL, "cannot insert");
	while ((res = PQgetResult(pg)) != NULL) {
		switch (PQresultStatus(res)) {
		case PGRES_TUPLES_OK:
			n_inserted += strtoull(PQgetvalue(res, 0, 0), NULL, 10);
			n_updated += strtoull(PQgetvalue(res, 0, 1), NULL, 10);
			break;
		case PGRES_COMMAND_OK:
			if (strncmp(PQcmdStatus(res), "INSERT", 6) == 0)
				n_inserted += strtoull(PQcmdTuples(res), NULL, 10);
			break;
		default:
			if (*err == NULL) {
				*err = res;
				continue;
			}
		}
		PQclear(res);
	}
	if (*err == NULL)
		return 0;
	state = PQresultErrorField(*err, PG_DIAG_SQLSTATE);
	if (!pg_row_error(state))
		pg_die(*err, "cannot insert");
	pg_run("ROLLBACK TO SAVEPOINT etl_load; RELEASE SAVEPOINT etl_load",
	    "cannot roll back to a savepoint");
	return -1;
}

/*
 * Inserts the staged rows lo..hi in one statement.  When the database
 * refuses a row, the range is cut in FANOUT parts, each tried in turn,
 * until the refused rows stand alone: with k bad rows among n, about
 * 16 k log16(n) statements, and none more when every row is good.
 */
#define FANOUT	16

static void
pg_range(unsigned long long lo, unsigned long long hi)
{
	PGresult *err;
	unsigned long long n, part, a;

	if (etl_signalled || pg_try(lo, hi, &err) == 0)
		return;
	if (lo == hi) {
		pg_refuse(lo, err);
		PQclear(err);
		return;
	}
	PQclear(err);
	if (!pg_indexed) {
		pg_run("CREATE INDEX ON pg_temp.etl_load_stage (seq); "
		    "ANALYZE pg_temp.etl_load_stage", "cannot index the stage");
		pg_indexed = 1;
	}
	n = hi - lo + 1;
	part = (n + FANOUT - 1) / FANOUT;
	for (a = lo; a <= hi && !etl_signalled; a += part)
		pg_range(a, a + part - 1 < hi ? a + part - 1 : hi);
}

static void
pg_load(void)
{
	struct etl_buf *b = &sqlb;
	PGresult *res;
	const char *v[1];
	size_t i;
	b->len = 0;

	pg_flush();
	if (PQputCopyEnd(pg, NULL) != 1)
		etl_die(ETL_EX_TEMPFAIL, "%s: COPY: %s", pg_shown, pg_msg(NULL));
	pg_copying = 0;
	res = PQgetResult(pg);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		/* Text into text: only the database's encoding can say no. */
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		if (state && strncmp(state, "22", 2) == 0) {
			pg_msg(res);
			PQclear(res);
			etl_die(ETL_EX_DATAERR, "%s: COPY: %s (is the database "
			    "UTF8?)", pg_shown, pgmsg.p);
		}
		pg_die(res, "COPY");
	}
	PQclear(res);
	while ((res = PQgetResult(pg)) != NULL)
		PQclear(res);
	if (pg_seq)
		pg_range(1, pg_seq);
	if (etl_signalled || !replace || nkeys == 0)
		return;

	/* replace with a key: the rows whose key the run has not go. */
	if (nrefs) {
		etl_buf_adds(b, "{");
		for (i = 0; i < nrefs; i++)
			etl_buf_printf(b, "%s%llu", i ? "," : "", refs[i].seq);
		etl_buf_adds(b, "}");
		v[0] = etl_buf_cstr(b);
		PQclear(pg_params("DELETE FROM pg_temp.etl_load_stage WHERE "
		    "seq = ANY($1::bigint[])", 1, v, PGRES_COMMAND_OK,
		    "cannot unstage the refused rows"));
	}
	b->len = 0;
	etl_buf_printf(b, "DELETE FROM %s AS t WHERE NOT EXISTS (SELECT 1 "
	    "FROM pg_temp.etl_load_stage s WHERE ", qtable.p);
	for (i = 0; i < nkeys; i++) {
		if (i)
			etl_buf_adds(b, " AND ");
		etl_buf_adds(b, "t.");
		q_ident(b, keys[i]);
		etl_buf_adds(b, " = ");
		pg_expr(b, keycol[i]);
	}
	etl_buf_addc(b, ')');
	res = pg_params(etl_buf_cstr(b), 0, NULL, PGRES_COMMAND_OK,
	    "cannot delete the rows the run does not have");
	n_deleted = strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
}

static void
pg_close(int commit)
{
	PGresult *res;

	if (pg_copying) {
		PQputCopyEnd(pg, "etl-load stopped");
		while ((res = PQgetResult(pg)) != NULL)
			PQclear(res);
	}
	if (commit)
		pg_run("COMMIT", "cannot commit");
	else
		PQclear(PQexec(pg, "ROLLBACK"));
	PQfinish(pg);
	pg = NULL;
}

/* The record loop */

static void
load(struct etl_rec *r, void *arg)
{
	json_t *o, *rs = NULL, *v;
	const char *k;
	size_t i, found = 0;

	(void)arg;
	if ((o = etl_rec_object(r)) == NULL)
		return;
	for (i = 0; i < ncols; i++)
		if (json_object_get(o, cols[i].name))
			found++;
	if (found < json_object_size(o)) {
		json_object_foreach(o, k, v) {
			if (json_object_get(colmap, k))
				continue;
			if (props && !addl_false) {
				/* The schema allows it; the table has no place. */
				if (!json_object_get(warned, k)) {
					etl_warn("%s: field %s is not a column "
					    "of %s: not loaded", r->file, k,
					    table_arg);
					json_object_set_new(warned, k, json_true());
				}
				etl_count("not_loaded", k, 1);
				continue;
			}
			/* The database's words for it. */
			if (use_pg)
				etl_reason(&rs, ptr(k), "load", "column \"%s\" of "
				    "relation \"%s\" does not exist", k, tname);
			else
				etl_reason(&rs, ptr(k), "load", "table %s has no "
				    "column named %s", tname, k);
		}
		if (rs) {
			etl_reject(r, rs);
			return;
		}
	}
	if (use_pg)
		pg_row(r, o);
	else
		sq_row(r, o);
}

/* sqlite:PATH or PATH.db is SQLite; a URL or a conninfo PostgreSQL. */
static const char *
db_target(const char *db, int *pgp)
{
	static const char *exts[] = { ".db", ".sqlite", ".sqlite3", NULL };
	size_t i, n = strlen(db);

	*pgp = 0;
	if (strncmp(db, "sqlite:", 7) == 0)
		db += strncmp(db, "sqlite://", 9) == 0 ? 9 : 7;
	else if (strncmp(db, "postgresql://", 13) == 0 ||
	    strncmp(db, "postgres://", 11) == 0 || strchr(db, '=')) {
		*pgp = 1;
		return db;
	} else {
		for (i = 0; exts[i]; i++)
			if (n > strlen(exts[i]) &&
			    strcmp(db + n - strlen(exts[i]), exts[i]) == 0)
				break;
		if (exts[i] == NULL) {
			etl_error("--db %s: give sqlite:PATH, a PATH ending .db, "
			    "a postgresql:// URL or a conninfo (dbname=...)", db);
			etl_usage();
		}
	}
	if (*db == '\0') {
		etl_error("--db: sqlite: needs a path");
		etl_usage();
	}
	return db;
}

static void
split_table(const char *t)
{
	const char *dot = strchr(t, '.');

	if (*t == '\0' || (dot && (dot == t || dot[1] == '\0' ||
	    strchr(dot + 1, '.')))) {
		etl_error("--table %s: give NAME or SCHEMA.NAME", t);
		etl_usage();
	}
	if (dot) {
		tschema = estrndup(t, (size_t)(dot - t));
		tname = estrdup(dot + 1);
		q_ident(&qtable, tschema);
		etl_buf_addc(&qtable, '.');
	} else
		tname = estrdup(t);
	q_ident(&qtable, tname);
	etl_buf_cstr(&qtable);
}

/* What the database did, for the stats line. */
static void
note(const char *db)
{
	struct etl_buf b = { 0 };

	etl_buf_printf(&b, "%s %s: %llu inserted", db, table_arg, n_inserted);
	if (nkeys)
		etl_buf_printf(&b, ", %llu updated, %llu unchanged", n_updated,
		    n_unchanged);
	if (replace)
		etl_buf_printf(&b, ", %llu deleted", n_deleted);
	etl_stats_note("%s", etl_buf_cstr(&b));
	etl_buf_free(&b);
}

static void
free_all(void)
{
	size_t i;

	for (i = 0; i < nprops; i++)
		free(props[i].name);
	free(props);
	json_decref(schema_doc);
	for (i = 0; i < ncols; i++) {
		free(cols[i].name);
		free(cols[i].type);
		free(cols[i].cast);
		free(cols[i].dflt);
	}
	free(cols);
	free(keycol);
	json_decref(colmap);
	json_decref(warned);
	for (i = 0; i < nrefs; i++) {
		free(refs[i].path);
		free(refs[i].msg);
	}
	free(refs);
	for (i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	for (i = 0; i < npg_cons; i++) {
		free(pg_cons[i].con);
		free(pg_cons[i].col);
	}
	free(pg_cons);
	etl_split_free(keys);
	free(tschema);
	free(tname);
	etl_buf_free(&qtable);
	etl_buf_free(&pg_copy);
	free(pg_shown);
	free(ddl);
	free(table_sql);
	etl_buf_free(&sqlb);
	etl_buf_free(&shown);
	etl_buf_free(&pgmsg);
}

int
main(int argc, char *argv[])
{
	enum { OPT_DB = ETL_OPT_TOOL, OPT_GRANT, OPT_KEY, OPT_MODE, OPT_TABLE };
	static struct option longopts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "grant-read", required_argument, NULL, OPT_GRANT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "schema", required_argument, NULL, 's' },
		{ "table", required_argument, NULL, OPT_TABLE },
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *target, *mode = "append";
	size_t i, j;
	int ch, st, ok;

	etl_init("etl-load", usage_text, help_text);
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS "s:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_DB:
			db_arg = optarg;
			break;
		case OPT_GRANT:
			grant_role = optarg;
			break;
		case OPT_KEY:
			etl_split_free(keys);
			keys = etl_split(optarg, ',', &nkeys);
			break;
		case OPT_MODE:
			mode = optarg;
			break;
		case 's':
			schema_path = optarg;
			break;
		case OPT_TABLE:
			table_arg = optarg;
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (db_arg == NULL || table_arg == NULL) {
		etl_error("%s required: the database and the table, as in "
		    "--db sqlite:demo/etl.db --table offers", db_arg == NULL ?
		    (table_arg == NULL ? "--db and --table are" : "--db is") :
		    "--table is");
		etl_usage();
	}
	if (strcmp(mode, "replace") == 0)
		replace = 1;
	else if (strcmp(mode, "append") != 0) {
		etl_error("--mode %s: append or replace", mode);
		etl_usage();
	}
	for (i = 0; i < nkeys; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(keys[i], keys[j]) == 0)
				break;
		if (*keys[i] == '\0' || j < i) {
			etl_error("--key: empty or repeated field");
			etl_usage();
		}
	}
	if (grant_role && *grant_role == '\0') {
		etl_error("--grant-read: an empty role");
		etl_usage();
	}
	target = db_target(db_arg, &use_pg);
	if (grant_role && !use_pg) {
		etl_error("--grant-read: SQLite has no roles: the database "
		    "file's permissions say who reads it");
		etl_usage();
	}
	split_table(table_arg);
	colmap = json_object();
	warned = json_object();
	if (schema_path)
		read_schema();

	if (use_pg) {
		pg_open(target);
		pg_setup();
	} else {
		sq_open(target);
		sq_setup();
	}
	st = etl_loop(argc, argv, load, NULL);
	ok = st == 0 && !etl_signalled;
	if (ok)
		spool_flush();
	if (ok && use_pg)
		pg_load();
	ok = ok && !etl_signalled;
	if (ok && !use_pg)
		sq_commit();
	if (use_pg)
		pg_close(ok);
	else
		sq_close(ok);
	etl_status(st);
	if (ok) {
		spool_replay();
		if (use_pg)
			n_unchanged = pg_seq - nrefs - n_inserted - n_updated;
		etl_stats_set("table", json_string(table_arg));
		etl_stats_set("database", json_string(use_pg ? "postgresql" :
		    "sqlite"));
		etl_stats_set("inserted", json_integer((json_int_t)n_inserted));
		if (nkeys) {
			etl_stats_set("updated",
			    json_integer((json_int_t)n_updated));
			etl_stats_set("unchanged",
			    json_integer((json_int_t)n_unchanged));
		}
		if (replace)
			etl_stats_set("deleted",
			    json_integer((json_int_t)n_deleted));
		note(use_pg ? pg_shown : sq_path);
	} else {
		etl_stats_note("rolled back: nothing loaded into %s", table_arg);
		if (spool)
			fclose(spool);
	}
	free_all();
	return etl_finish();
}
