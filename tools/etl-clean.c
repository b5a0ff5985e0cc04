/*
 * etl-clean - normalises records by a JSON rules file: renames fields,
 * reads numbers, areas, categories and dates out of human-typed text,
 * derives fields, projects and deduplicates.  Records the rules leave
 * unchanged pass byte for byte; a value that cannot be read is a reject.
 * The readers are lib's: number.c and units.c (numbers, currencies,
 * periods, areas), date.c and tz.c (dates, zones), text.c (folding).
 */
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"
#include "scan.h"

static const char usage_text[] =
"usage: etl-clean [-hq] -r FILE [--rejects FILE | inline] [--stats FILE]\n"
"                 [FILE ...]\n";

static const char help_text[] =
"  -r, --rules FILE          the JSON rules records are cleaned by\n"
"  -q, --quiet               log errors only\n"
"      --rejects FILE|inline where rejects go when fd 3 is closed\n"
"      --stats FILE          write the final stats as JSON\n"
"      --version             print the version\n";

enum ftype { T_STRING, T_NUMBER, T_INTEGER, T_BOOLEAN, T_DATE, T_DATETIME };
enum onerr { ON_REJECT, ON_NULL, ON_KEEP };
enum op { OP_DIVIDE, OP_MULTIPLY, OP_ADD, OP_SUBTRACT };

struct field {
	const char	*name;		/* borrowed from the rules document */
	char		*path;		/* JSON pointer, for reasons */
	enum ftype	 type;
	const char	*currency_field;
	const char	*currency_default; /* ISO code of a number without one */
	json_t		*symbols;	/* sign -> ISO code (borrowed from doc) */
	const char	*period_field;
	char		 decimal;	/* '.' or ',', 0 to guess */
	int		 unit_m2;
	const char	*default_unit;	/* as the rule writes it */
	json_t		*units;		/* unit key -> m² text (owned) */
	int		 range;		/* ETL_RANGE_*, -1: not given */
	const char	*tz;
	int		 tcase;		/* 0, 'l' or 'u' */
	json_t		*map;		/* folded key -> value (owned) */
	const char	**formats;
	size_t		 nformats;
	enum onerr	 on_error;
	struct etl_numopt num;		/* what the engines are given */
	struct etl_dateopt date;
};

struct operand {
	const char	*field;		/* NULL: a constant */
	double		 c;
};

struct derive {
	const char	*name;
	enum op		 op;
	struct operand	 arg[2];
	int		 round;		/* -1: none */
};

struct rules {
	const char	*path;
	json_t		*doc;
	json_t		*rename;	/* borrowed from doc */
	int		 trim;
	int		 empty_as_null;
	struct field	*fields;
	size_t		 nfields;
	struct derive	*derives;
	size_t		 nderives;
	const char	**keep;
	size_t		 nkeep;
	json_t		*drop;		/* name -> true */
	const char	**dkey;		/* dedupe key fields, NULL: no dedupe */
	size_t		 ndkey;
	int		 dlast;
	const char	*dby;
};

/* A record dedupe holds: one per distinct key. */
struct held {
	char		*out;		/* bytes to write (keep last) */
	size_t		 outlen;
	char		*raw;
	size_t		 rawlen;
	const char	*file;		/* interned */
	unsigned long	 line;
	json_t		*by;
};

static struct rules R;
static json_t	*dindex;		/* dedupe key -> index into held */
static struct held *held;
static size_t	 nheld, capheld;
static char	**files;		/* interned file names */
static size_t	 nfiles;
static json_t	*marker;		/* makes etl_reject() write "record" */
static struct etl_buf kbuf, tbuf;

/* An ISO 4217 code's form: three capital letters. */
static int
iso_code(const char *s)
{
	return strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' &&
	    s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z';
}

/* ---- Rules ---- */

static void bad(const char *, const char *, ...) ETL_PRINTF(2, 3)
    ETL_NORETURN;

static void
bad(const char *key, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	etl_die(ETL_EX_CONFIG, "%s: %s: %s", R.path, key, msg);
}

static const char *
type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static void
want(const json_t *j, json_type t, const char *key)
{
	static const char *const names[] = {
		"an object", "an array", "a string", "an integer", "a number",
		"a boolean", "a boolean", "null"
	};

	if (json_typeof(j) == t || (t == JSON_TRUE && json_is_boolean(j)) ||
	    (t == JSON_REAL && json_is_number(j)))
		return;
	bad(key, "expected %s, got %s", names[t], type_name(j));
}

static const char **
string_list(json_t *a, const char *key, size_t *np)
{
	const char **v;
	char k[512];
	size_t i;

	want(a, JSON_ARRAY, key);
	v = ecalloc(json_array_size(a) + 1, sizeof(*v));
	for (i = 0; i < json_array_size(a); i++) {
		snprintf(k, sizeof(k), "%s[%zu]", key, i);
		want(json_array_get(a, i), JSON_STRING, k);
		v[i] = json_string_value(json_array_get(a, i));
	}
	*np = i;
	return v;
}

static char *
pointer(const char *name)
{
	struct etl_buf b = { 0 };

	etl_buf_addc(&b, '/');
	for (; *name; name++)
		if (*name == '~')
			etl_buf_adds(&b, "~0");
		else if (*name == '/')
			etl_buf_adds(&b, "~1");
		else
			etl_buf_addc(&b, *name);
	etl_buf_cstr(&b);
	return b.p;
}

static void
load_field(struct field *f, const char *name, json_t *spec)
{
	static const char *const tnames[] = {
		"string", "number", "integer", "boolean", "date", "datetime", NULL
	};
	const char *k, *s;
	char key[512], sub[600];
	json_t *v, *mv;
	size_t i;

	snprintf(key, sizeof(key), "fields.%s", name);
	want(spec, JSON_OBJECT, key);
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->path = pointer(name);
	f->range = -1;
	if ((v = json_object_get(spec, "type")) != NULL) {
		snprintf(sub, sizeof(sub), "%s.type", key);
		want(v, JSON_STRING, sub);
		for (i = 0; tnames[i]; i++)
			if (strcmp(json_string_value(v), tnames[i]) == 0)
				break;
		if (tnames[i] == NULL)
			bad(sub, "unknown type \"%s\"", json_string_value(v));
		f->type = (enum ftype)i;
	}
	json_object_foreach(spec, k, v) {
		snprintf(sub, sizeof(sub), "%s.%s", key, k);
		if (strcmp(k, "type") == 0)
			continue;
		if (strcmp(k, "currency_field") == 0) {
			want(v, JSON_STRING, sub);
			f->currency_field = json_string_value(v);
			if (*f->currency_field == '\0' ||
			    strcmp(f->currency_field, name) == 0)
				bad(sub, "must name another field");
		} else if (strcmp(k, "currency_default") == 0) {
			want(v, JSON_STRING, sub);
			f->currency_default = json_string_value(v);
			if (!iso_code(f->currency_default))
				bad(sub, "\"%s\" is not an ISO 4217 code (\"CHF\")",
				    f->currency_default);
		} else if (strcmp(k, "symbols") == 0) {
			const char *sk;
			json_t *sv;

			want(v, JSON_OBJECT, sub);
			json_object_foreach(v, sk, sv) {
				if (*sk == '\0')
					bad(sub, "an empty sign");
				if (!json_is_string(sv) ||
				    !iso_code(json_string_value(sv)))
					bad(sub, "\"%s\": the value must be an ISO "
					    "4217 code (\"CHF\")", sk);
			}
			f->symbols = json_object_size(v) ? v : NULL;
		} else if (strcmp(k, "period_field") == 0) {
			want(v, JSON_STRING, sub);
			f->period_field = json_string_value(v);
			if (*f->period_field == '\0' ||
			    strcmp(f->period_field, name) == 0)
				bad(sub, "must name another field");
		} else if (strcmp(k, "default_unit") == 0) {
			want(v, JSON_STRING, sub);
			f->default_unit = json_string_value(v);
		} else if (strcmp(k, "units") == 0) {
			const char *uk;
			json_t *uv;

			want(v, JSON_OBJECT, sub);
			f->units = json_object();
			json_object_foreach(v, uk, uv) {
				double x = json_number_value(uv);

				etl_unit_key(&kbuf, uk, strlen(uk));
				if (kbuf.len == 0)
					bad(sub, "\"%s\" is no unit's name", uk);
				if (!json_is_number(uv) || !(x > 0) || !isfinite(x))
					bad(sub, "\"%s\": the value must be the "
					    "square metres of one, a number > 0", uk);
				tbuf.len = 0;
				if (json_is_integer(uv))
					etl_buf_printf(&tbuf, "%lld",
					    (long long)json_integer_value(uv));
				else
					etl_json_real(&tbuf, x);
				/* "bigha" is also "bighas": by the unit's name */
				json_object_set_new(f->units,
				    etl_unit_name(etl_buf_cstr(&kbuf)) ?
				    etl_unit_name(kbuf.p) : kbuf.p,
				    json_string(etl_buf_cstr(&tbuf)));
			}
		} else if (strcmp(k, "range") == 0) {
			static const char *const rn[] = {
				"reject", "min", "max", "mean", NULL
			};

			want(v, JSON_STRING, sub);
			s = json_string_value(v);
			for (i = 0; rn[i]; i++)
				if (strcmp(s, rn[i]) == 0)
					break;
			if (rn[i] == NULL)
				bad(sub, "must be \"reject\", \"min\", \"max\" or "
				    "\"mean\", not \"%s\"", s);
			f->range = (int)i;
		} else if (strcmp(k, "tz") == 0) {
			want(v, JSON_STRING, sub);
			f->tz = json_string_value(v);
			if (!etl_tz_known(f->tz))
				bad(sub, "unknown time zone \"%s\" (none such in "
				    "the tz database, TZDIR or /usr/share/zoneinfo)",
				    f->tz);
		} else if (strcmp(k, "decimal") == 0) {
			want(v, JSON_STRING, sub);
			s = json_string_value(v);
			if (strcmp(s, ".") != 0 && strcmp(s, ",") != 0)
				bad(sub, "must be \".\" or \",\", not \"%s\"", s);
			f->decimal = s[0];
		} else if (strcmp(k, "unit") == 0) {
			want(v, JSON_STRING, sub);
			s = json_string_value(v);
			if (strcmp(s, "m2") != 0)
				bad(sub, "unknown unit \"%s\"", s);
			f->unit_m2 = 1;
		} else if (strcmp(k, "case") == 0) {
			want(v, JSON_STRING, sub);
			s = json_string_value(v);
			if (strcmp(s, "lower") == 0)
				f->tcase = 'l';
			else if (strcmp(s, "upper") == 0)
				f->tcase = 'u';
			else
				bad(sub, "must be \"lower\" or \"upper\", not \"%s\"",
				    s);
		} else if (strcmp(k, "map") == 0) {
			const char *mk;

			want(v, JSON_OBJECT, sub);
			f->map = json_object();
			json_object_foreach(v, mk, mv) {
				json_t *old;

				if (json_is_object(mv) || json_is_array(mv))
					bad(sub, "\"%s\": a value must be a string, "
					    "number, boolean or null", mk);
				etl_fold(&kbuf, mk, strlen(mk));
				if ((old = json_object_getn(f->map, kbuf.p,
				    kbuf.len)) != NULL && !json_equal(old, mv))
					bad(sub, "\"%s\" is another key once case "
					    "and accents are folded", mk);
				json_object_setn_nocheck(f->map, kbuf.p, kbuf.len,
				    mv);
			}
		} else if (strcmp(k, "formats") == 0) {
			f->formats = string_list(v, sub, &f->nformats);
			if (f->nformats == 0)
				bad(sub, "no format");
			for (i = 0; i < f->nformats; i++)
				if (*f->formats[i] == '\0')
					bad(sub, "an empty format");
		} else if (strcmp(k, "on_error") == 0) {
			want(v, JSON_STRING, sub);
			s = json_string_value(v);
			if (strcmp(s, "reject") == 0)
				f->on_error = ON_REJECT;
			else if (strcmp(s, "null") == 0)
				f->on_error = ON_NULL;
			else if (strcmp(s, "keep") == 0)
				f->on_error = ON_KEEP;
			else
				bad(sub, "must be \"reject\", \"null\" or \"keep\", "
				    "not \"%s\"", s);
		} else
			bad(sub, "unknown key");
	}
	/* Impossible combinations. */
	if ((f->currency_field || f->decimal || f->unit_m2 ||
	    f->period_field || f->range != -1) &&
	    f->type != T_NUMBER && f->type != T_INTEGER)
		bad(key, "%s needs type number or integer",
		    f->currency_field ? "currency_field" :
		    f->decimal ? "decimal" : f->unit_m2 ? "unit" :
		    f->period_field ? "period_field" : "range");
	if ((f->currency_default || f->symbols) && !f->currency_field)
		bad(key, "%s needs currency_field", f->currency_default ?
		    "currency_default" : "symbols");
	if (f->period_field && f->currency_field &&
	    strcmp(f->period_field, f->currency_field) == 0)
		bad(key, "period_field and currency_field must differ");
	if ((f->default_unit || f->units) && !f->unit_m2)
		bad(key, "%s needs unit", f->default_unit ? "default_unit" :
		    "units");
	if (f->tz && f->type != T_DATE && f->type != T_DATETIME)
		bad(key, "tz needs type date or datetime");
	f->num.integer = f->type == T_INTEGER;
	f->num.decimal = f->decimal;
	f->num.currency = f->currency_field != NULL;
	f->num.symbols = f->symbols;
	f->num.period = f->period_field != NULL;
	f->num.area = f->unit_m2;
	f->num.units = f->units;
	f->num.range = f->range == -1 ? ETL_RANGE_REJECT : f->range;
	if (f->default_unit) {
		snprintf(sub, sizeof(sub), "%s.default_unit", key);
		etl_unit_key(&kbuf, f->default_unit, strlen(f->default_unit));
		if ((f->num.bare = etl_unit_find(f->units, kbuf.p)) == NULL)
			bad(sub, "unknown unit \"%s\"", f->default_unit);
	}
	if (f->tcase && f->type != T_STRING)
		bad(key, "case needs type string");
	if (f->formats && f->type != T_DATE && f->type != T_DATETIME)
		bad(key, "formats needs type date or datetime");
	if (f->type == T_DATE && f->formats == NULL) {
		static const char *iso[] = { "%Y-%m-%d", NULL };

		f->formats = emalloc(sizeof(iso));
		memcpy(f->formats, iso, sizeof(iso));
		f->nformats = 1;
	}
	f->date.formats = f->formats;
	f->date.nformats = f->nformats;
	f->date.datetime = f->type == T_DATETIME;
	f->date.tz = f->tz;
}

static void
load_operand(struct operand *o, json_t *v, const char *key)
{
	if (json_is_string(v))
		o->field = json_string_value(v);
	else if (json_is_number(v))
		o->c = json_number_value(v);
	else
		bad(key, "expected a field name or a number, got %s",
		    type_name(v));
}

static void
load_derive(struct derive *d, const char *name, json_t *spec)
{
	static const char *const ops[] = {
		"divide", "multiply", "add", "subtract", NULL
	};
	char key[512], sub[600];
	const char *k;
	json_t *v;
	int i, nop = 0;

	snprintf(key, sizeof(key), "derive.%s", name);
	want(spec, JSON_OBJECT, key);
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->round = -1;
	json_object_foreach(spec, k, v) {
		snprintf(sub, sizeof(sub), "%s.%s", key, k);
		if (strcmp(k, "round") == 0) {
			want(v, JSON_INTEGER, sub);
			if (json_integer_value(v) < 0 || json_integer_value(v) > 15)
				bad(sub, "must be 0 to 15 decimal places");
			d->round = (int)json_integer_value(v);
			continue;
		}
		for (i = 0; ops[i]; i++)
			if (strcmp(k, ops[i]) == 0)
				break;
		if (ops[i] == NULL)
			bad(sub, "unknown key");
		if (nop++)
			bad(sub, "one operation per derived field");
		d->op = (enum op)i;
		want(v, JSON_ARRAY, sub);
		if (json_array_size(v) != 2)
			bad(sub, "expected 2 operands, got %zu",
			    json_array_size(v));
		load_operand(&d->arg[0], json_array_get(v, 0), sub);
		load_operand(&d->arg[1], json_array_get(v, 1), sub);
	}
	if (nop == 0)
		bad(key, "no operation (divide, multiply, add or subtract)");
}

static void
load_rules(const char *path)
{
	const char *k;
	json_t *v, *x;
	char sub[600];
	size_t i;

	R.path = path;
	R.doc = etl_json_load_file(path, "rules");
	if (!json_is_object(R.doc))
		bad("(top)", "expected an object, got %s", type_name(R.doc));
	json_object_foreach(R.doc, k, v) {
		if (strcmp(k, "rename") == 0) {
			json_t *targets = json_object();
			const char *from;

			want(v, JSON_OBJECT, k);
			json_object_foreach(v, from, x) {
				snprintf(sub, sizeof(sub), "rename.%s", from);
				want(x, JSON_STRING, sub);
				if (json_object_get(targets, json_string_value(x)))
					bad(sub, "two fields renamed to \"%s\"",
					    json_string_value(x));
				json_object_set_new(targets, json_string_value(x),
				    json_true());
			}
			json_decref(targets);
			R.rename = json_object_size(v) ? v : NULL;
		} else if (strcmp(k, "trim") == 0) {
			want(v, JSON_TRUE, k);
			R.trim = json_is_true(v);
		} else if (strcmp(k, "empty_as_null") == 0) {
			want(v, JSON_TRUE, k);
			R.empty_as_null = json_is_true(v);
		} else if (strcmp(k, "fields") == 0) {
			const char *name;

			want(v, JSON_OBJECT, k);
			R.fields = ecalloc(json_object_size(v) + 1,
			    sizeof(*R.fields));
			json_object_foreach(v, name, x)
				load_field(&R.fields[R.nfields++], name, x);
		} else if (strcmp(k, "derive") == 0) {
			const char *name;

			want(v, JSON_OBJECT, k);
			R.derives = ecalloc(json_object_size(v) + 1,
			    sizeof(*R.derives));
			json_object_foreach(v, name, x)
				load_derive(&R.derives[R.nderives++], name, x);
		} else if (strcmp(k, "keep") == 0) {
			R.keep = string_list(v, k, &R.nkeep);
		} else if (strcmp(k, "drop") == 0) {
			size_t nd;
			const char **d = string_list(v, k, &nd);

			R.drop = json_object();
			for (i = 0; i < nd; i++)
				json_object_set_new(R.drop, d[i], json_true());
			free(d);
		} else if (strcmp(k, "dedupe") == 0) {
			const char *dk;

			want(v, JSON_OBJECT, k);
			json_object_foreach(v, dk, x) {
				snprintf(sub, sizeof(sub), "dedupe.%s", dk);
				if (strcmp(dk, "key") == 0) {
					if (json_is_string(x)) {
						R.dkey = ecalloc(2, sizeof(*R.dkey));
						R.dkey[0] = json_string_value(x);
						R.ndkey = 1;
					} else
						R.dkey = string_list(x, sub, &R.ndkey);
				} else if (strcmp(dk, "keep") == 0) {
					want(x, JSON_STRING, sub);
					if (strcmp(json_string_value(x), "last") == 0)
						R.dlast = 1;
					else if (strcmp(json_string_value(x),
					    "first") != 0)
						bad(sub, "must be \"first\" or "
						    "\"last\", not \"%s\"",
						    json_string_value(x));
				} else if (strcmp(dk, "by") == 0) {
					want(x, JSON_STRING, sub);
					R.dby = json_string_value(x);
				} else
					bad(sub, "unknown key");
			}
			if (R.dkey == NULL || R.ndkey == 0)
				bad("dedupe.key", "missing: the fields that "
				    "identify a record");
			if (R.dby && !R.dlast)
				bad("dedupe.by", "only with \"keep\": \"last\"");
		} else
			bad(k, "unknown key");
	}
	if (R.keep && R.drop)
		bad("drop", "keep and drop cannot be used together");
}

/* ---- Cleaning ---- */

struct ctx {
	struct etl_rec	*rec;
	json_t		*o;
	json_t		*reasons;
	int		 changed;
};

/* The string as JSON, with its length kept. */
static json_t *
jstr(const char *s, size_t n)
{
	return json_stringn_nocheck(s, n);
}

static void
quote(struct etl_buf *b, const json_t *v)
{
	b->len = 0;
	if (json_is_string(v) && json_string_length(v) > 200) {
		etl_json_string(b, json_string_value(v), 200);
		b->len--;
		etl_buf_adds(b, "...\"");
	} else
		etl_json_dump(b, v);
	etl_buf_cstr(b);
}

/* Marks a failed value: rejects the record, or nulls or keeps it. */
static void
fail(struct ctx *c, const struct field *f, const json_t *v, const char *as,
    const char *why)
{
	struct etl_buf b = { 0 };

	if (f->on_error == ON_NULL) {
		json_object_set_new(c->o, f->name, json_null());
		etl_count("nulls", f->name, 1);
		c->changed = 1;
		return;
	}
	if (f->on_error == ON_KEEP) {
		etl_count("kept", f->name, 1);
		return;
	}
	quote(&b, v);
	etl_reason(&c->reasons, f->path, "coerce", "%s: cannot read %s as %s: %s",
	    f->name, b.p, as, why);
	etl_count("field_rejects", f->name, 1);
	etl_buf_free(&b);
}

/* Sets the field when its value changes (steals nv). */
static void
set(struct ctx *c, const struct field *f, json_t *old, json_t *nv)
{
	if (json_equal(old, nv) && json_typeof(old) == json_typeof(nv)) {
		json_decref(nv);
		return;
	}
	json_object_set_new(c->o, f->name, nv);
	etl_count("coerced", f->name, 1);
	c->changed = 1;
}

/*
 * Writes the text to another field of the record (the currency or the
 * period a value names); only_empty: unless that field holds a value.
 */
static void
set_text(struct ctx *c, const char *field, const char *text, int only_empty)
{
	json_t *old = json_object_get(c->o, field);

	if (only_empty && old && !json_is_null(old) &&
	    !(json_is_string(old) && json_string_length(old) == 0))
		return;
	if (json_is_string(old) && strcmp(json_string_value(old), text) == 0)
		return;
	json_object_set_new(c->o, field, json_string(text));
	c->changed = 1;
}

static int
truthy(const char *s, size_t n, int *b)
{
	static const char *const yes[] = {
		"true", "yes", "y", "t", "1", "on", "ja", "j", "oui", "si", "sim",
		"x", NULL
	};
	static const char *const no[] = {
		"false", "no", "n", "f", "0", "off", "nein", "non", "nao", NULL
	};
	size_t i;

	etl_fold(&kbuf, s, n);
	for (i = 0; yes[i]; i++)
		if (strcmp(kbuf.p, yes[i]) == 0) {
			*b = 1;
			return 0;
		}
	for (i = 0; no[i]; i++)
		if (strcmp(kbuf.p, no[i]) == 0) {
			*b = 0;
			return 0;
		}
	return -1;
}

/* A number as its shortest text. */
static void
number_text(struct etl_buf *b, const json_t *v)
{
	b->len = 0;
	if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
	    fabs(json_real_value(v)) < 9.2e18)
		etl_buf_printf(b, "%lld", (long long)json_real_value(v));
	else
		etl_json_dump(b, v);
	etl_buf_cstr(b);
}

static void
clean_field(struct ctx *c, const struct field *f)
{
	json_t *orig, *v, *nv, *mv;
	const char *why = NULL, *cur = NULL, *period = NULL;
	char out[21];
	int b, mapped = 0;

	if ((orig = json_object_get(c->o, f->name)) == NULL ||
	    json_is_null(orig))
		return;
	json_incref(orig);
	v = json_incref(orig);
	/* map first: its keys are the values people type */
	if (f->map && json_is_string(v)) {
		etl_fold(&kbuf, json_string_value(v), json_string_length(v));
		if ((mv = json_object_getn(f->map, kbuf.p, kbuf.len)) != NULL) {
			if (f->type == T_STRING || json_is_null(mv)) {
				set(c, f, orig, json_incref(mv));
				if (json_is_null(mv))
					etl_count("nulls", f->name, 1);
				goto out;
			}
			json_decref(v);
			v = json_incref(mv);
			mapped = 1;
		}
	}
	switch (f->type) {
	case T_STRING:
		if (json_is_number(v)) {
			number_text(&tbuf, v);
			nv = jstr(tbuf.p, tbuf.len);
		} else if (json_is_boolean(v))
			nv = json_string(json_is_true(v) ? "true" : "false");
		else if (json_is_string(v))
			nv = json_incref(v);
		else {
			fail(c, f, orig, "a string", "not a scalar");
			break;
		}
		if (f->tcase) {
			etl_recase(&tbuf, json_string_value(nv),
			    json_string_length(nv), f->tcase);
			json_decref(nv);
			nv = jstr(tbuf.p, tbuf.len);
		}
		if (f->map && !json_is_string(v)) {
			etl_fold(&kbuf, json_string_value(nv), json_string_length(nv));
			if ((mv = json_object_getn(f->map, kbuf.p, kbuf.len))) {
				json_decref(nv);
				nv = json_incref(mv);
			}
		}
		set(c, f, orig, nv);
		break;
	case T_NUMBER:
	case T_INTEGER:
		/* a bare number is in the rule's default unit: 1000 sqft */
		if (json_is_number(v) && f->num.bare &&
		    strcmp(f->num.bare, "1") != 0) {
			number_text(&tbuf, v);
			json_decref(v);
			v = jstr(tbuf.p, tbuf.len);
		}
		if (json_is_integer(v)) {
			set(c, f, orig, json_incref(v));
		} else if (json_is_real(v)) {
			double d = json_real_value(v);

			if (d == floor(d) && fabs(d) < 9.2e18) {
				nv = json_integer((json_int_t)d);
				if (mapped)
					set(c, f, orig, nv);
				else	/* same value, written 84 if the record changes */
					json_object_set_new(c->o, f->name, nv);
			} else if (f->type == T_INTEGER) {
				fail(c, f, orig, "an integer", "not an integer");
				break;
			} else
				set(c, f, orig, json_incref(v));
		} else if (json_is_string(v)) {
			struct etl_number r;

			if (etl_number_read(json_string_value(v),
			    json_string_length(v), &f->num, &r) == -1) {
				fail(c, f, orig, f->type == T_INTEGER ?
				    "an integer" : "a number", r.why);
				break;
			}
			set(c, f, orig, r.value);
			cur = r.currency;
			period = r.period;
		} else {
			fail(c, f, orig, f->type == T_INTEGER ? "an integer" :
			    "a number", "not a number or text");
			break;
		}
		if (cur)
			set_text(c, f->currency_field, cur, 0);
		else if (f->currency_default)
			set_text(c, f->currency_field, f->currency_default, 1);
		if (period)
			set_text(c, f->period_field, period, 0);
		break;
	case T_BOOLEAN:
		if (json_is_boolean(v))
			set(c, f, orig, json_incref(v));
		else if (json_is_number(v) && (json_number_value(v) == 0 ||
		    json_number_value(v) == 1))
			set(c, f, orig, json_boolean(json_number_value(v) == 1));
		else if (json_is_string(v) && truthy(json_string_value(v),
		    json_string_length(v), &b) == 0)
			set(c, f, orig, json_boolean(b));
		else
			fail(c, f, orig, "a boolean", "not a yes or no");
		break;
	case T_DATE:
	case T_DATETIME:
		if (json_is_number(v) ? etl_date_epoch(&f->date,
		    json_number_value(v), out, &why) == -1 :
		    !json_is_string(v) ? (why = "not a text") != NULL :
		    etl_date_read(&f->date, json_string_value(v),
		    json_string_length(v), out, &why) == -1) {
			fail(c, f, orig, f->type == T_DATE ? "a date" :
			    "a date-time", why);
			break;
		}
		set(c, f, orig, json_string(out));
		break;
	}
out:
	json_decref(v);
	json_decref(orig);
}

static void
rename_fields(struct ctx *c)
{
	const char *k, *nk;
	json_t *v, *no, *t;
	int any = 0;

	json_object_foreach(c->o, k, v)
		if (json_object_get(R.rename, k)) {
			any = 1;
			break;
		}
	if (!any)
		return;
	no = json_object();
	json_object_foreach(c->o, k, v) {
		if ((t = json_object_get(R.rename, k)) != NULL)
			nk = json_string_value(t);
		else {
			/* a field a rename overwrites loses */
			const char *from;
			json_t *to;
			int lost = 0;

			json_object_foreach(R.rename, from, to)
				if (strcmp(json_string_value(to), k) == 0 &&
				    json_object_get(c->o, from)) {
					lost = 1;
					break;
				}
			if (lost)
				continue;
			nk = k;
		}
		json_object_set_nocheck(no, nk, v);
	}
	json_decref(c->o);
	c->o = no;
	c->rec->json = no;
	c->changed = 1;
}

static void
trim_fields(struct ctx *c)
{
	const char *k, *s;
	json_t *v;
	size_t n;

	json_object_foreach(c->o, k, v) {
		if (!json_is_string(v))
			continue;
		s = json_string_value(v);
		n = json_string_length(v);
		if (R.trim) {
			etl_trim(&s, &n);
			if (n != json_string_length(v)) {
				json_string_setn_nocheck(v, s, n);
				c->changed = 1;
			}
		}
		if (R.empty_as_null && n == 0) {
			json_object_set_new_nocheck(c->o, k, json_null());
			etl_count("nulls", k, 1);
			c->changed = 1;
		}
	}
}

static int
operand(json_t *o, const struct operand *a, double *x)
{
	json_t *v;

	if (a->field == NULL) {
		*x = a->c;
		return 0;
	}
	if ((v = json_object_get(o, a->field)) == NULL || !json_is_number(v))
		return -1;
	*x = json_number_value(v);
	return 0;
}

static json_t *
number_json(double d)
{
	if (d == 0)
		d = 0;	/* no -0 */
	if (d == floor(d) && fabs(d) < 9.2e18)
		return json_integer((json_int_t)d);
	return json_real(d);
}

static void
derive(struct ctx *c, const struct derive *d)
{
	json_t *nv, *old;
	double a, b, x = NAN;

	if (operand(c->o, &d->arg[0], &a) == 0 &&
	    operand(c->o, &d->arg[1], &b) == 0) {
		switch (d->op) {
		case OP_DIVIDE:
			x = b == 0 ? NAN : a / b;
			break;
		case OP_MULTIPLY:
			x = a * b;
			break;
		case OP_ADD:
			x = a + b;
			break;
		case OP_SUBTRACT:
			x = a - b;
			break;
		}
	}
	if (isfinite(x) && d->round >= 0) {
		/* printf rounds the exact binary value, as Python's round() */
		char s[400];

		snprintf(s, sizeof(s), "%.*f", d->round, x);
		x = strtod(s, NULL);
	}
	if (isfinite(x))
		nv = number_json(x);
	else {
		nv = json_null();
		etl_count("nulls", d->name, 1);
	}
	old = json_object_get(c->o, d->name);
	if (old && json_equal(old, nv) && json_typeof(old) == json_typeof(nv)) {
		json_decref(nv);
		return;
	}
	json_object_set_new_nocheck(c->o, d->name, nv);
	c->changed = 1;
}

static void
project(struct ctx *c)
{
	json_t *no, *v;
	const char *k;
	void *it;
	size_t i;
	int same = 1;

	if (R.drop) {
		json_object_foreach_safe(c->o, it, k, v)
			if (json_object_get(R.drop, k)) {
				json_object_del(c->o, k);
				c->changed = 1;
			}
		return;
	}
	no = json_object();
	for (i = 0; i < R.nkeep; i++)
		if ((v = json_object_get(c->o, R.keep[i])) != NULL)
			json_object_set_nocheck(no, R.keep[i], v);
	/* unchanged when nothing was dropped and the order is the same */
	if (json_object_size(no) != json_object_size(c->o))
		same = 0;
	else {
		it = json_object_iter(c->o);
		json_object_foreach(no, k, v) {
			if (strcmp(k, json_object_iter_key(it)) != 0) {
				same = 0;
				break;
			}
			it = json_object_iter_next(c->o, it);
		}
	}
	if (same) {
		json_decref(no);
		return;
	}
	json_decref(c->o);
	c->o = no;
	c->rec->json = no;
	c->changed = 1;
}

/* ---- Dedupe ---- */

static const char *
intern(const char *file)
{
	if (nfiles && strcmp(files[nfiles - 1], file) == 0)
		return files[nfiles - 1];
	files = erealloc(files, (nfiles + 1) * sizeof(*files));
	return files[nfiles++] = estrdup(file);
}

static void
key_value(struct etl_buf *b, const json_t *v)
{
	if (v == NULL)
		etl_buf_adds(b, "null");
	else if (json_is_number(v))
		number_text(&tbuf, v), etl_buf_add(b, tbuf.p, tbuf.len);
	else
		etl_json_dump(b, v);
}

/* JSON ordering: null < false < true < numbers < strings < others. */
static int
rank(const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_false(v))
		return 1;
	if (json_is_true(v))
		return 2;
	if (json_is_number(v))
		return 3;
	if (json_is_string(v))
		return 4;
	return 5;
}

static int
by_cmp(const json_t *a, const json_t *b)
{
	int ra = rank(a), rb = rank(b);
	double x, y;

	if (ra != rb)
		return ra < rb ? -1 : 1;
	if (ra == 3) {
		x = json_number_value(a);
		y = json_number_value(b);
		return x < y ? -1 : x > y;
	}
	if (ra == 4) {
		size_t la = json_string_length(a), lb = json_string_length(b);
		int r = memcmp(json_string_value(a), json_string_value(b),
		    la < lb ? la : lb);

		return r ? r : la < lb ? -1 : la > lb;
	}
	return 0;
}

static void
reject_held(struct held *h, const char *fmt, const char *key,
    const char *file, unsigned long line)
{
	struct etl_rec r;
	json_t *rs = NULL;

	memset(&r, 0, sizeof(r));
	r.file = h->file;
	r.line = h->line;
	r.raw = h->raw;
	r.len = h->rawlen;
	r.json = marker;
	etl_reason(&rs, "", "duplicate", fmt, key, file, line);
	etl_reject(&r, rs);
}

static void
dedupe(struct ctx *c)
{
	struct etl_rec *r = c->rec;
	struct held nh, *h;
	json_t *ix, *by;
	size_t i;

	kbuf.len = 0;
	etl_buf_addc(&kbuf, '[');
	for (i = 0; i < R.ndkey; i++) {
		if (i)
			etl_buf_addc(&kbuf, ',');
		key_value(&kbuf, json_object_get(c->o, R.dkey[i]));
	}
	etl_buf_addc(&kbuf, ']');
	etl_buf_cstr(&kbuf);
	ix = json_object_getn(dindex, kbuf.p, kbuf.len);
	memset(&nh, 0, sizeof(nh));
	nh.file = intern(r->file);
	nh.line = r->line;
	if (!R.dlast) {
		if (ix) {
			h = &held[json_integer_value(ix)];
			nh.raw = (char *)r->raw;
			nh.rawlen = r->len;
			reject_held(&nh, "duplicate key %s: kept the first, %s:%lu",
			    kbuf.p, h->file, h->line);
			return;
		}
	} else {
		by = R.dby ? json_object_get(c->o, R.dby) : NULL;
		if (ix) {
			h = &held[json_integer_value(ix)];
			if (R.dby && by_cmp(by, h->by) < 0) {
				nh.raw = (char *)r->raw;
				nh.rawlen = r->len;
				reject_held(&nh, "duplicate key %s: kept %s:%lu, "
				    "its greater by value", kbuf.p, h->file,
				    h->line);
				return;
			}
			reject_held(h, "duplicate key %s: superseded by %s:%lu",
			    kbuf.p, nh.file, nh.line);
			free(h->out);
			free(h->raw);
			json_decref(h->by);
		} else
			h = NULL;
		nh.by = json_incref(by);
		nh.raw = estrndup(r->raw, r->len);
		nh.rawlen = r->len;
		if (c->changed) {
			tbuf.len = 0;
			etl_json_dump(&tbuf, c->o);
			nh.out = estrndup(tbuf.p, tbuf.len);
			nh.outlen = tbuf.len;
		} else {
			nh.out = estrndup(r->raw, r->len);
			nh.outlen = r->len;
		}
		if (h) {
			*h = nh;
			return;
		}
	}
	if (nheld == capheld) {
		capheld = capheld ? capheld * 2 : 1024;
		held = erealloc(held, capheld * sizeof(*held));
	}
	held[nheld] = nh;
	json_object_setn_new_nocheck(dindex, kbuf.p, kbuf.len,
	    json_integer((json_int_t)nheld));
	nheld++;
	if (!R.dlast) {
		/* the first is kept: out now, only the key stays in memory */
		held[nheld - 1].raw = NULL;
		if (c->changed)
			etl_out_json(c->o);
		else
			etl_out_rec(r);
	}
}

static void
dedupe_flush(void)
{
	size_t i;

	for (i = 0; i < nheld; i++) {
		if (R.dlast)
			etl_out_raw(held[i].out, held[i].outlen);
		free(held[i].out);
		free(held[i].raw);
		json_decref(held[i].by);
	}
	free(held);
}

/* Integral reals below 2^53 back to integers, in place. */
static void
integral(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;
	double d;

	if (json_is_object(j)) {
		json_object_foreach(j, k, v) {
			d = json_real_value(v);
			if (json_is_real(v) && d == floor(d) && fabs(d) < 9007199254740992.0)
				json_object_set_new_nocheck(j, k,
				    json_integer((json_int_t)d));
			else
				integral(v);
		}
	} else if (json_is_array(j)) {
		for (i = 0; i < json_array_size(j); i++) {
			v = json_array_get(j, i);
			d = json_real_value(v);
			if (json_is_real(v) && d == floor(d) && fabs(d) < 9007199254740992.0)
				json_array_set_new(j, i, json_integer((json_int_t)d));
			else
				integral(v);
		}
	}
}

/*
 * With "keep", the fields a record is read for: the kept ones and those
 * the rules read or write.  The others are never written, so they are
 * not parsed; only an empty one is counted, as trim_fields() would.
 */
static const char **need;
static size_t nneed;

static void
need_add(const char *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < nneed; i++)
		if (strcmp(need[i], k) == 0)
			return;
	need = erealloc(need, (nneed + 1) * sizeof(*need));
	need[nneed++] = k;
}

static void
need_rules(void)
{
	const char *k;
	json_t *v;
	size_t i;

	/* ETL_SCAN=0 parses every record whole, to compare the two. */
	if (!R.keep || R.drop ||
	    (getenv("ETL_SCAN") && strcmp(getenv("ETL_SCAN"), "0") == 0))
		return;
	for (i = 0; i < R.nkeep; i++)
		need_add(R.keep[i]);
	if (R.rename)
		json_object_foreach(R.rename, k, v) {
			need_add(k);
			need_add(json_string_value(v));
		}
	for (i = 0; i < R.nfields; i++) {
		need_add(R.fields[i].name);
		need_add(R.fields[i].currency_field);
		need_add(R.fields[i].period_field);
	}
	for (i = 0; i < R.nderives; i++) {
		need_add(R.derives[i].name);
		need_add(R.derives[i].arg[0].field);
		need_add(R.derives[i].arg[1].field);
	}
	for (i = 0; i < R.ndkey; i++)
		need_add(R.dkey[i]);
	need_add(R.dby);
}

/* The index in need of the field's name, or nneed. */
static size_t
needed(const struct etl_field *f)
{
	size_t j;

	for (j = 0; j < nneed; j++)
		if (strlen(need[j]) == f->klen &&
		    memcmp(need[j], f->key, f->klen) == 0)
			break;
	return j;
}

/* A field left out: counted if it is a string empty_as_null would null. */
static void
count_empty(const struct etl_field *f)
{
	const char *s;
	size_t n;

	if (!R.empty_as_null || f->type != 's')
		return;
	if (f->vlen > 0) {
		/* Only a string that may start with a space can trim to "". */
		if (!R.trim || ((unsigned char)f->val[0] > ' ' &&
		    f->val[0] != '\\' && (unsigned char)f->val[0] < 0x80))
			return;
		if (etl_scan_string(f, &tbuf) == -1)
			return;
		s = tbuf.p;
		n = tbuf.len;
		etl_trim(&s, &n);
		if (n != 0)
			return;
	}
	kbuf.len = 0;
	etl_buf_add(&kbuf, f->key, f->klen);
	etl_count("nulls", etl_buf_cstr(&kbuf), 1);
}

/*
 * The record's needed fields, in its order, read by the lazy scanner;
 * NULL when the scanner leaves the line to jansson.  *partial says
 * whether fields were left out.
 */
static json_t *
projected(struct etl_rec *r, int *partial)
{
	static struct etl_scan scan;
	json_t *o, *v;
	size_t i, j;

	if (etl_scan_object(&scan, r->raw, r->len) != ETL_SCAN_OK)
		return NULL;
	o = json_object();
	*partial = 0;
	for (i = 0; i < scan.n; i++) {
		if ((j = needed(&scan.f[i])) == nneed) {
			*partial = 1;
			continue;
		}
		if ((v = etl_scan_json(&scan.f[i])) == NULL) {
			json_decref(o);
			return NULL;
		}
		json_object_set_new_nocheck(o, need[j], v);
	}
	/* Counted once the record is surely read here, not by jansson. */
	for (i = 0; i < scan.n && *partial; i++)
		if (needed(&scan.f[i]) == nneed)
			count_empty(&scan.f[i]);
	return o;
}

static void
clean(struct etl_rec *r, void *arg)
{
	struct ctx c;
	json_error_t e;
	size_t i;
	int partial = 0;

	(void)arg;
	memset(&c, 0, sizeof(c));
	c.rec = r;
	if (nneed && (c.o = projected(r, &partial)) != NULL) {
		r->json = c.o;
		r->parsed = 1;
		/* What was left out is dropped by keep: the record changes. */
		c.changed = partial;
	/* Integers as integers, so a changed record keeps "3" as 3. */
	} else if ((c.o = json_loadb(r->raw, r->len, JSON_REJECT_DUPLICATES,
	    &e)) && json_is_object(c.o)) {
		r->json = c.o;
		r->parsed = 1;
	} else {
		json_decref(c.o);
		if ((c.o = etl_rec_object(r)) == NULL)
			return;
		/* an integer beyond 64 bits made every number a real */
		integral(c.o);
	}
	if (R.rename)
		rename_fields(&c);
	if (R.trim || R.empty_as_null)
		trim_fields(&c);
	for (i = 0; i < R.nfields; i++)
		clean_field(&c, &R.fields[i]);
	if (c.reasons) {
		etl_reject(r, c.reasons);
		return;
	}
	for (i = 0; i < R.nderives; i++)
		derive(&c, &R.derives[i]);
	if (R.keep || R.drop)
		project(&c);
	if (R.dkey)
		dedupe(&c);
	else if (c.changed)
		etl_out_json(c.o);
	else
		etl_out_rec(r);
}

/* Releases what load_rules() built; R is empty again. */
static void
rules_free(void)
{
	size_t i;

	for (i = 0; i < R.nfields; i++) {
		free(R.fields[i].path);
		json_decref(R.fields[i].map);
		json_decref(R.fields[i].units);
		free(R.fields[i].formats);
	}
	free(R.fields);
	free(R.derives);
	free(R.keep);
	free(R.dkey);
	json_decref(R.drop);
	json_decref(R.doc);
	memset(&R, 0, sizeof(R));
	free(need);		/* its names were the document's */
	need = NULL;
	nneed = 0;
}

int
main(int argc, char *argv[])
{
	static struct option longopts[] = {
		{ "rules", required_argument, NULL, 'r' },
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *rules = NULL;
	int ch, st;
	size_t i;

	etl_init("etl-clean", usage_text, help_text);
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS "r:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'r':
			rules = optarg;
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (rules == NULL) {
		etl_error("--rules is required: the rules file, as in --rules "
		    "pipelines/rules/offers.rules.json");
		etl_usage();
	}

	load_rules(rules);
	need_rules();
	marker = json_object();
	if (R.dkey)
		dindex = json_object();
	st = etl_loop(argc, argv, clean, NULL);
	etl_status(st);
	if (R.dkey)
		dedupe_flush();
	st = etl_finish();

	json_decref(dindex);
	json_decref(marker);
	rules_free();
	for (i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	etl_buf_free(&kbuf);
	etl_buf_free(&tbuf);
	return st;
}
