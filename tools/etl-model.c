/*
 * etl-model - a hedonic price model: least squares of a numeric field on
 * numeric features and one-hot categories, per group, fitted from
 * sufficient statistics in one pass (fit), and applied to records
 * (predict).  Fit states merge, so a fit can run split across processes.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"

static const char usage_text[] =
"usage: etl-model fit [-hq] -y FIELD -x FIELD,... [-c FIELD,...] [-g KEY,...]\n"
"                 [--log-y] [--ridge L] [--partial] [--rejects FILE | inline]\n"
"                 [--stats FILE] [FILE ...]\n"
"       etl-model fit --merge [-hq] [-y FIELD -x FIELD,... [-c FIELD,...]\n"
"                 [-g KEY,...] [--log-y]] [--ridge L] [--partial]\n"
"                 [--rejects FILE | inline] [--stats FILE] [FILE ...]\n"
"       etl-model predict [-hq] -m MODELS [--rejects FILE | inline]\n"
"                 [--stats FILE] [FILE ...]\n";

static const char help_text[] =
"  -y FIELD          the numeric field to explain (fit)\n"
"  -x FIELD,...      numeric features (fit)\n"
"  -c FIELD,...      categorical features, one-hot encoded (fit)\n"
"  -g KEY,...        fit one model per value of these fields (fit)\n"
"  --log-y           fit log(y); predictions are on the original scale\n"
"  --ridge L         add L times the squared coefficients to the loss\n"
"  --partial         write mergeable KEY<TAB>STATE lines, not models\n"
"  --merge           read KEY<TAB>STATE lines and write the models (with\n"
"                    -y, -x, ...: each state must fit that model; with\n"
"                    --partial: write the merged states, a combiner)\n"
"  -m, --models MODELS  the models written by fit (predict)\n";

/* A term is dropped when this share of its variance, or less, is left
 * after the terms before it explain it. */
#define COLLINEAR_TOL	1e-10

/* Names a model line uses for itself, so no group key may take them. */
static const char *reserved[] = {
	"y", "x", "c", "g", "log_y", "ridge", "n", "p", "r2", "rmse",
	"coef", "dropped", "levels", NULL
};

struct spec {
	char	*y;
	char	**x, **c, **g;
	size_t	 nx, nc, ng;
	int	 log_y;
	double	 ridge;
};

/*
 * The sufficient statistics of one group: the count, the means and the
 * co-moments (sums of products of deviations from the means) of the
 * columns y, x..., then one column per category level in the order the
 * levels were met.  Updated per row as Welford does and merged with
 * Chan's formula, so year ~ 2000 beside a 0/1 level loses no precision.
 */
struct group {
	json_t	*key;		/* array of the key values */
	char	*keystr;	/* canonical text of key, the index */
	unsigned long long n;
	size_t	 k, cap;
	double	*mean;
	double	*com;		/* cap x cap, upper triangle used */
	size_t	*lcat;		/* per column: its category (levels only) */
	char	**lname;	/* per column: its level (levels only) */
	json_t	*lindex;	/* "cat\tlevel" -> column */
};

static struct spec spec;
static int	 have_spec;
static int	 ridge_set;
static double	 ridge_opt;
static json_t	*gindex;	/* keystr -> index into groups */
static struct group **groups;
static size_t	 ngroups;
static unsigned long long n_used, n_skipped, n_merged, n_from_text;
static int spec_given;		/* --merge with the fit's options */

/* predict */
struct model {
	double	 icpt;
	double	*bx;
	json_t	**lv;		/* per category: level -> coefficient */
	double	 rmse;		/* NAN when the model has none */
};
static json_t	*mindex;	/* keystr -> index into models */
static struct model *models;
static size_t	 nmodels;
static char	*f_pred, *f_resid, *f_z;

/* A JSON pointer to a top-level field. */
static const char *
ptr(const char *field)
{
	static struct etl_buf b;
	const char *s;

	b.len = 0;
	etl_buf_addc(&b, '/');
	for (s = field; *s; s++) {
		if (*s == '~')
			etl_buf_adds(&b, "~0");
		else if (*s == '/')
			etl_buf_adds(&b, "~1");
		else
			etl_buf_addc(&b, *s);
	}
	return etl_buf_cstr(&b);
}

static int
integral(double d)
{
	return d == floor(d) && fabs(d) < 9007199254740992.0;
}

/* A group key value as written: integral numbers as integers.  New. */
static json_t *
keyval(json_t *v)
{
	double d;

	if (v == NULL)
		return json_null();
	if (json_is_number(v)) {
		d = json_number_value(v);
		if (integral(d))
			return json_integer((json_int_t)d);
		return json_real(d);
	}
	return json_incref(v);
}

/* The text a key is indexed by: every number as a double, so 3 and 3.0
 * find the same group. */
static void
canon(struct etl_buf *b, const json_t *key)
{
	const json_t *v;
	size_t i;

	etl_buf_addc(b, '[');
	for (i = 0; i < json_array_size(key); i++) {
		if (i)
			etl_buf_addc(b, ',');
		v = json_array_get(key, i);
		if (json_is_number(v))
			etl_json_real(b, json_number_value(v));
		else
			etl_json_dump(b, v);
	}
	etl_buf_addc(b, ']');
}

/* A category's level as text: strings as they are, numbers and booleans
 * as JSON writes them; NULL for null, arrays and objects. */
static const char *
level_of(json_t *v, char *tmp, size_t tmplen)
{
	double d;

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_number(v)) {
		d = json_number_value(v);
		if (integral(d))
			snprintf(tmp, tmplen, "%lld", (long long)d);
		else {
			struct etl_buf b = { 0 };

			etl_json_real(&b, d);
			snprintf(tmp, tmplen, "%s", etl_buf_cstr(&b));
			etl_buf_free(&b);
		}
		return tmp;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return NULL;
}

/* Orders values as jq does: null, false, true, numbers, strings, arrays,
 * objects. */
static int
rank(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:		return 0;
	case JSON_FALSE:	return 1;
	case JSON_TRUE:		return 2;
	case JSON_INTEGER:
	case JSON_REAL:		return 3;
	case JSON_STRING:	return 4;
	case JSON_ARRAY:	return 5;
	default:		return 6;
	}
}

static int
jcmp(const json_t *a, const json_t *b)
{
	struct etl_buf ba = { 0 }, bb = { 0 };
	double x, y;
	size_t i, la, lb;
	int c;

	if (rank(a) != rank(b))
		return rank(a) - rank(b);
	switch (rank(a)) {
	case 3:
		x = json_number_value(a);
		y = json_number_value(b);
		return x < y ? -1 : x > y;
	case 4:
		la = json_string_length(a);
		lb = json_string_length(b);
		c = memcmp(json_string_value(a), json_string_value(b),
		    la < lb ? la : lb);
		return c ? c : (la > lb) - (la < lb);
	case 5:
		for (i = 0; i < json_array_size(a) && i < json_array_size(b);
		    i++)
			if ((c = jcmp(json_array_get(a, i),
			    json_array_get(b, i))) != 0)
				return c;
		return (json_array_size(a) > json_array_size(b)) -
		    (json_array_size(a) < json_array_size(b));
	case 6:
		etl_json_dump(&ba, a);
		etl_json_dump(&bb, b);
		c = strcmp(etl_buf_cstr(&ba), etl_buf_cstr(&bb));
		etl_buf_free(&ba);
		etl_buf_free(&bb);
		return c;
	}
	return 0;
}

static int
groupcmp(const void *a, const void *b)
{
	const struct group *ga = *(struct group *const *)a;
	const struct group *gb = *(struct group *const *)b;

	return jcmp(ga->key, gb->key);
}

/* Splits a -x/-c/-g list; an empty or repeated name is a usage error. */
static char **
fields(const char *opt, const char *arg, size_t *np)
{
	char **v;
	size_t i, j;

	v = etl_split(arg, ',', np);
	for (i = 0; i < *np; i++) {
		if (*v[i] == '\0') {
			etl_error("%s %s: empty field name", opt, arg);
			etl_usage();
		}
		for (j = 0; j < i; j++)
			if (strcmp(v[i], v[j]) == 0) {
				etl_error("%s %s: %s given twice", opt, arg,
				    v[i]);
				etl_usage();
			}
	}
	return v;
}

static int
inlist(char **v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static double
ridge_arg(const char *s)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno || !isfinite(d) || d < 0) {
		etl_error("--ridge %s: not a number >= 0", s);
		etl_usage();
	}
	return d;
}

/* --- the statistics ---------------------------------------------------- */

#define COM(g, i, j)	((g)->com[(i) <= (j) ? (i) * (g)->cap + (j) : \
			    (j) * (g)->cap + (i)])

static struct group *
group_new(json_t *key, const char *keystr)
{
	struct group *g;
	size_t i;

	g = ecalloc(1, sizeof(*g));
	g->key = key;
	g->keystr = estrdup(keystr);
	g->k = 1 + spec.nx;
	g->cap = g->k + 4;
	g->mean = ecalloc(g->cap, sizeof(double));
	g->com = ecalloc(g->cap * g->cap, sizeof(double));
	g->lcat = ecalloc(g->cap, sizeof(size_t));
	g->lname = ecalloc(g->cap, sizeof(char *));
	for (i = 0; i < g->cap; i++)
		g->lcat[i] = (size_t)-1;
	g->lindex = json_object();
	json_object_set_new(gindex, keystr, json_integer((json_int_t)ngroups));
	groups = erealloc(groups, (ngroups + 1) * sizeof(*groups));
	groups[ngroups++] = g;
	return g;
}

static void
group_free(struct group *g)
{
	size_t i;

	json_decref(g->key);
	json_decref(g->lindex);
	for (i = 0; i < g->k; i++)
		free(g->lname[i]);
	free(g->keystr);
	free(g->mean);
	free(g->com);
	free(g->lcat);
	free(g->lname);
	free(g);
}

/* Finds a group by its key (stolen), creating it. */
static struct group *
group_get(json_t *key)
{
	struct etl_buf b = { 0 };
	struct group *g;
	json_t *ix;

	canon(&b, key);
	if ((ix = json_object_get(gindex, etl_buf_cstr(&b))) != NULL) {
		json_decref(key);
		g = groups[json_integer_value(ix)];
	} else
		g = group_new(key, etl_buf_cstr(&b));
	etl_buf_free(&b);
	return g;
}

/* The column of a level, added (all zeros so far) when new. */
static size_t
level_col(struct group *g, size_t cat, const char *level)
{
	struct etl_buf b = { 0 };
	json_t *ix;
	size_t i, j, cap, col;
	double *com;

	etl_buf_printf(&b, "%zu\t%s", cat, level);
	if ((ix = json_object_get(g->lindex, etl_buf_cstr(&b))) != NULL) {
		etl_buf_free(&b);
		return (size_t)json_integer_value(ix);
	}
	if (g->k == g->cap) {
		cap = g->cap * 2;
		com = ecalloc(cap * cap, sizeof(double));
		for (i = 0; i < g->k; i++)
			for (j = 0; j < g->k; j++)
				com[i * cap + j] = g->com[i * g->cap + j];
		free(g->com);
		g->com = com;
		g->mean = erealloc(g->mean, cap * sizeof(double));
		g->lcat = erealloc(g->lcat, cap * sizeof(size_t));
		g->lname = erealloc(g->lname, cap * sizeof(char *));
		g->cap = cap;
	}
	col = g->k++;
	g->mean[col] = 0;
	for (i = 0; i < g->k; i++)
		COM(g, i, col) = 0;
	g->lcat[col] = cat;
	g->lname[col] = estrdup(level);
	json_object_set_new(g->lindex, etl_buf_cstr(&b),
	    json_integer((json_int_t)col));
	etl_buf_free(&b);
	return col;
}

/* Adds a row z (k values, levels 0 or 1) to the group. */
static void
group_add(struct group *g, const double *z)
{
	static double *d;
	static size_t dcap;
	double w;
	size_t i, j;

	if (dcap < g->k) {
		dcap = g->k * 2;
		d = erealloc(d, dcap * sizeof(double));
	}
	g->n++;
	for (i = 0; i < g->k; i++) {
		d[i] = z[i] - g->mean[i];
		g->mean[i] += d[i] / (double)g->n;
	}
	w = (double)(g->n - 1) / (double)g->n;
	for (i = 0; i < g->k; i++)
		for (j = i; j < g->k; j++)
			g->com[i * g->cap + j] += w * d[i] * d[j];
}

/*
 * Merges statistics b (n, mean and co-moments of its columns, col[] the
 * group's column of each of them) into g.
 */
static void
group_merge(struct group *g, unsigned long long nb, const double *mb,
    const double *cb, const size_t *col, size_t kb)
{
	double *delta, na = (double)g->n, n = (double)(g->n + nb), w;
	size_t i, j, ci, cj;

	delta = ecalloc(g->k, sizeof(double));
	for (i = 0; i < g->k; i++)
		delta[i] = -g->mean[i];
	for (i = 0; i < kb; i++)
		delta[col[i]] += mb[i];
	w = na * (double)nb / n;
	for (i = 0; i < g->k; i++)
		for (j = i; j < g->k; j++)
			g->com[i * g->cap + j] += w * delta[i] * delta[j];
	for (i = 0; i < kb; i++)
		for (j = i; j < kb; j++) {
			ci = col[i];
			cj = col[j];
			COM(g, ci, cj) += cb[i * kb + j];
		}
	for (i = 0; i < g->k; i++)
		g->mean[i] += delta[i] * (double)nb / n;
	g->n += nb;
	free(delta);
}

/* --- fit ---------------------------------------------------------------- */

/* The fields a record is read for: y, x, c, g and extra ones. */
static const char **wanted;
static size_t nwanted;

static void
want(const char *name)
{
	wanted = erealloc(wanted, (nwanted + 1) * sizeof(*wanted));
	wanted[nwanted++] = name;
}

static void
want_spec(void)
{
	size_t i;

	want(spec.y);
	for (i = 0; i < spec.nx; i++)
		want(spec.x[i]);
	for (i = 0; i < spec.nc; i++)
		want(spec.c[i]);
	for (i = 0; i < spec.ng; i++)
		want(spec.g[i]);
}

static void
skip(const char *field)
{
	n_skipped++;
	etl_count("skipped", field, 1);
}

/* A number, or a string that is wholly one (Miller's inference). */
static int
num_of(json_t *v, double *d, int *text)
{
	int isint;

	*text = 0;
	if (json_is_number(v)) {
		*d = json_number_value(v);
		return 1;
	}
	return *text = json_is_string(v) && etl_text_number(
	    json_string_value(v), json_string_length(v), d, &isint);
}

static void
fit_obj(json_t *o)
{
	static double *z, *xs;
	static size_t zcap, xcap;
	unsigned long long texts = 0;
	int text;
	const char *lv[64], **lvs;
	char tmp[64][32], (*tmps)[32];
	struct group *g;
	json_t *v, *key;
	double y;
	size_t i, col;

	v = json_object_get(o, spec.y);
	if (!num_of(v, &y, &text)) {
		skip(spec.y);
		return;
	}
	texts += text;
	if (spec.log_y) {
		if (!(y > 0)) {
			skip(spec.y);
			return;
		}
		y = log(y);
	}
	if (xcap < spec.nx + 1) {
		xcap = spec.nx + 1;
		xs = erealloc(xs, xcap * sizeof(double));
	}
	for (i = 0; i < spec.nx; i++) {
		if (!num_of(json_object_get(o, spec.x[i]), &xs[i], &text)) {
			skip(spec.x[i]);
			return;
		}
		texts += text;
	}
	lvs = spec.nc <= 64 ? lv : ecalloc(spec.nc, sizeof(*lvs));
	tmps = spec.nc <= 64 ? tmp : ecalloc(spec.nc, sizeof(*tmps));
	for (i = 0; i < spec.nc; i++)
		if ((lvs[i] = level_of(json_object_get(o, spec.c[i]), tmps[i],
		    sizeof(tmps[i]))) == NULL) {
			skip(spec.c[i]);
			goto out;
		}
	key = json_array();
	for (i = 0; i < spec.ng; i++)
		json_array_append_new(key,
		    keyval(json_object_get(o, spec.g[i])));
	g = group_get(key);
	for (i = 0; i < spec.nc; i++)
		level_col(g, i, lvs[i]);
	if (zcap < g->k) {
		zcap = g->k * 2;
		z = erealloc(z, zcap * sizeof(double));
	}
	memset(z, 0, g->k * sizeof(double));
	z[0] = y;
	for (i = 0; i < spec.nx; i++)
		z[1 + i] = xs[i];
	for (i = 0; i < spec.nc; i++) {
		col = level_col(g, i, lvs[i]);
		z[col] = 1;
	}
	group_add(g, z);
	n_used++;
	n_from_text += texts;
out:
	if (lvs != lv) {
		free(lvs);
		free(tmps);
	}
}

static void
fit_rec(struct etl_rec *r, void *arg)
{
	json_t *o;

	(void)arg;
	if ((o = etl_rec_fields(r, wanted, nwanted)) == NULL)
		return;
	fit_obj(o);
	json_decref(o);
}

static json_t *
strarray(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
real(double d)
{
	return json_real(d == 0 ? 0 : d);	/* no -0 */
}

/* A state's number: null once a sum overflowed, so the merge carries it. */
static json_t *
statenum(double d)
{
	return isfinite(d) ? json_real(d) : json_null();
}

static void
put_spec(json_t *o)
{
	json_object_set_new(o, "y", json_string(spec.y));
	json_object_set_new(o, "x", strarray(spec.x, spec.nx));
	json_object_set_new(o, "c", strarray(spec.c, spec.nc));
	json_object_set_new(o, "g", strarray(spec.g, spec.ng));
	json_object_set_new(o, "log_y", json_boolean(spec.log_y));
}

/* The state of a group, for --merge. */
static void
write_state(struct group *g)
{
	struct etl_buf b = { 0 };
	json_t *o, *a, *m, *lv;
	size_t i, j;

	o = json_object();
	put_spec(o);
	json_object_set_new(o, "ridge", real(spec.ridge));
	json_object_set_new(o, "n", json_integer((json_int_t)g->n));
	lv = json_array();
	for (i = 1 + spec.nx; i < g->k; i++)
		json_array_append_new(lv, json_pack("[ss]",
		    spec.c[g->lcat[i]], g->lname[i]));
	json_object_set_new(o, "levels", lv);
	m = json_array();
	a = json_array();
	for (i = 0; i < g->k; i++) {
		json_array_append_new(m, statenum(g->mean[i]));
		for (j = i; j < g->k; j++)
			json_array_append_new(a,
			    statenum(g->com[i * g->cap + j]));
	}
	json_object_set_new(o, "mean", m);
	json_object_set_new(o, "com", a);
	etl_json_dump(&b, g->key);
	etl_buf_addc(&b, '\t');
	etl_json_dump(&b, o);
	etl_out_raw(b.p, b.len);
	etl_buf_free(&b);
	json_decref(o);
}

struct term {
	size_t	 col;
	char	*name;
	const char *level;	/* levels only */
};

static int
termcmp(const void *a, const void *b)
{
	const struct term *ta = a, *tb = b;

	return strcmp(ta->level, tb->level);
}

/*
 * Solves and writes the model of a group: the normal equations of the
 * centred problem, scaled to unit diagonal, by a Cholesky factorisation
 * taken in term order that drops a term whose remaining variance share
 * is COLLINEAR_TOL or less.  Returns 1 when a model was written.
 */
static int
write_model(struct group *g)
{
	struct term *t;
	json_t *o, *coef, *dropped, *levels, *lv;
	double *A, *b, *s, *L, *z, *beta, icpt, sse, sst, d, rmse, r2;
	size_t nt = 0, i, j, q, start, end, p;
	int *kept, ok = 0;

	t = ecalloc(g->k, sizeof(*t));
	for (i = 0; i < spec.nx; i++) {
		t[nt].col = 1 + i;
		t[nt++].name = estrdup(spec.x[i]);
	}
	levels = json_object();
	for (q = 0; q < spec.nc; q++) {
		start = nt;
		for (i = 1 + spec.nx; i < g->k; i++)
			if (g->lcat[i] == q) {
				t[nt].col = i;
				t[nt++].level = g->lname[i];
			}
		qsort(t + start, nt - start, sizeof(*t), termcmp);
		lv = json_array();
		for (i = start; i < nt; i++)
			json_array_append_new(lv, json_string(t[i].level));
		json_object_set_new(levels, spec.c[q], lv);
		/* The first level in byte order is the baseline. */
		if (nt > start) {
			memmove(t + start, t + start + 1,
			    (nt - start - 1) * sizeof(*t));
			nt--;
		}
		for (i = start; i < nt; i++) {
			struct etl_buf nb = { 0 };

			etl_buf_printf(&nb, "%s=%s", spec.c[q], t[i].level);
			t[i].name = estrdup(etl_buf_cstr(&nb));
			etl_buf_free(&nb);
		}
	}
	if (g->n <= 1 + nt) {
		etl_warn("group %s: %llu rows for %zu terms: no model",
		    g->keystr, g->n, 1 + nt);
		etl_count("too_few_rows", g->keystr, g->n);
		for (i = 0; i < nt; i++)
			free(t[i].name);
		free(t);
		json_decref(levels);
		return 0;
	}

	A = ecalloc(nt * nt + 1, sizeof(double));
	L = ecalloc(nt * nt + 1, sizeof(double));
	b = ecalloc(nt + 1, sizeof(double));
	s = ecalloc(nt + 1, sizeof(double));
	z = ecalloc(nt + 1, sizeof(double));
	beta = ecalloc(nt + 1, sizeof(double));
	kept = ecalloc(nt + 1, sizeof(int));
	for (i = 0; i < nt; i++) {
		for (j = 0; j < nt; j++)
			A[i * nt + j] = COM(g, t[i].col, t[j].col);
		b[i] = COM(g, t[i].col, 0);
		d = A[i * nt + i] + spec.ridge;
		s[i] = d > 0 ? 1 / sqrt(d) : 0;
	}
	/* Left-looking Cholesky of S(A + ridge I)S over the kept terms. */
	for (j = 0; j < nt; j++) {
		if (s[j] == 0)
			continue;
		for (i = 0; i < j; i++) {
			if (!kept[i])
				continue;
			d = A[j * nt + i] * s[j] * s[i];
			for (q = 0; q < i; q++)
				if (kept[q])
					d -= L[j * nt + q] * L[i * nt + q];
			L[j * nt + i] = d / L[i * nt + i];
		}
		d = (A[j * nt + j] + spec.ridge) * s[j] * s[j];
		for (q = 0; q < j; q++)
			if (kept[q])
				d -= L[j * nt + q] * L[j * nt + q];
		if (d > COLLINEAR_TOL) {
			kept[j] = 1;
			L[j * nt + j] = sqrt(d);
		}
	}
	for (j = 0; j < nt; j++) {
		if (!kept[j])
			continue;
		d = b[j] * s[j];
		for (q = 0; q < j; q++)
			if (kept[q])
				d -= L[j * nt + q] * z[q];
		z[j] = d / L[j * nt + j];
	}
	for (end = nt; end-- > 0; ) {
		if (!kept[end])
			continue;
		d = z[end];
		for (q = end + 1; q < nt; q++)
			if (kept[q])
				d -= L[q * nt + end] * beta[q];
		beta[end] = d / L[end * nt + end];
	}
	for (j = 0; j < nt; j++)
		beta[j] = kept[j] ? beta[j] * s[j] : 0;

	icpt = g->mean[0];
	sse = COM(g, 0, 0);
	p = 1;
	for (i = 0; i < nt; i++) {
		icpt -= beta[i] * g->mean[t[i].col];
		sse -= 2 * beta[i] * b[i];
		for (j = 0; j < nt; j++)
			sse += beta[i] * A[i * nt + j] * beta[j];
		p += kept[i] != 0;
	}
	if (sse < 0)
		sse = 0;
	sst = COM(g, 0, 0);
	rmse = sqrt(sse / (double)(g->n - p));
	r2 = sst > 0 ? 1 - sse / sst : NAN;
	if (!isfinite(icpt) || !isfinite(rmse)) {
		etl_warn("group %s: numeric overflow: no model", g->keystr);
		etl_count("overflow", g->keystr, g->n);
		goto done;
	}
	for (i = 0; i < nt; i++)
		if (!isfinite(beta[i])) {
			etl_warn("group %s: numeric overflow: no model",
			    g->keystr);
			etl_count("overflow", g->keystr, g->n);
			goto done;
		}

	o = json_object();
	for (i = 0; i < spec.ng; i++)
		json_object_set(o, spec.g[i], json_array_get(g->key, i));
	put_spec(o);
	if (spec.ridge > 0)
		json_object_set_new(o, "ridge", json_real(spec.ridge));
	json_object_set_new(o, "n", json_integer((json_int_t)g->n));
	json_object_set_new(o, "p", json_integer((json_int_t)p));
	json_object_set_new(o, "r2", isfinite(r2) ? real(r2) : json_null());
	json_object_set_new(o, "rmse", real(rmse));
	coef = json_object();
	dropped = json_array();
	json_object_set_new(coef, "(intercept)", real(icpt));
	for (i = 0; i < nt; i++) {
		json_object_set_new(coef, t[i].name, real(beta[i]));
		if (!kept[i])
			json_array_append_new(dropped, json_string(t[i].name));
	}
	json_object_set_new(o, "coef", coef);
	json_object_set_new(o, "dropped", dropped);
	json_object_set(o, "levels", levels);
	etl_out_json(o);
	json_decref(o);
	ok = 1;
done:
	for (i = 0; i < nt; i++)
		free(t[i].name);
	free(t);
	free(A);
	free(L);
	free(b);
	free(s);
	free(z);
	free(beta);
	free(kept);
	json_decref(levels);
	return ok;
}

/* --- merge ------------------------------------------------------------ */

static int
get_strings(json_t *a, char ***vp, size_t *np)
{
	size_t i;

	if (!json_is_array(a))
		return -1;
	*np = json_array_size(a);
	*vp = ecalloc(*np + 1, sizeof(char *));
	for (i = 0; i < *np; i++) {
		if (!json_is_string(json_array_get(a, i)))
			return -1;
		(*vp)[i] = estrdup(json_string_value(json_array_get(a, i)));
	}
	return 0;
}

static void
spec_free(struct spec *sp)
{
	free(sp->y);
	etl_split_free(sp->x);
	etl_split_free(sp->c);
	etl_split_free(sp->g);
	memset(sp, 0, sizeof(*sp));
}

/* Reads the spec of a state or model; 0, or -1 when malformed. */
static int
read_spec(json_t *o, struct spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	if (!json_is_string(json_object_get(o, "y")) ||
	    !json_is_boolean(json_object_get(o, "log_y")))
		return -1;
	sp->y = estrdup(json_string_value(json_object_get(o, "y")));
	sp->log_y = json_is_true(json_object_get(o, "log_y"));
	if (get_strings(json_object_get(o, "x"), &sp->x, &sp->nx) == -1 ||
	    get_strings(json_object_get(o, "c"), &sp->c, &sp->nc) == -1 ||
	    get_strings(json_object_get(o, "g"), &sp->g, &sp->ng) == -1)
		return -1;
	return 0;
}

static int
same_list(char **a, size_t na, char **b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

static int
same_spec(const struct spec *a, const struct spec *b)
{
	return strcmp(a->y, b->y) == 0 && a->log_y == b->log_y &&
	    same_list(a->x, a->nx, b->x, b->nx) &&
	    same_list(a->c, a->nc, b->c, b->nc) &&
	    same_list(a->g, a->ng, b->g, b->ng);
}

static void
merge_bad(struct etl_rec *r, const char *code, const char *msg)
{
	json_t *rs = NULL;

	etl_reason(&rs, "", code, "%s", msg);
	etl_reject(r, rs);
}

static void
merge_rec(struct etl_rec *r, void *arg)
{
	json_error_t e;
	json_t *key = NULL, *st = NULL, *lv, *mean, *com, *v;
	struct spec sp = { 0 };
	struct group *g;
	const char *tab, *cat;
	double *mb = NULL, *cb = NULL, nb, ridge;
	size_t *col = NULL, kb, nl, i, j, q, ci;
	char msg[256];

	(void)arg;
	if ((tab = memchr(r->raw, '\t', r->len)) == NULL) {
		merge_bad(r, "parse", "not a KEY<TAB>STATE line");
		return;
	}
	key = json_loadb(r->raw, (size_t)(tab - r->raw), 0, &e);
	st = json_loadb(tab + 1, r->len - (size_t)(tab - r->raw) - 1, 0, &e);
	if (!json_is_array(key) || !json_is_object(st)) {
		merge_bad(r, "parse", "KEY is not a JSON array or STATE "
		    "not a JSON object");
		goto out;
	}
	if (read_spec(st, &sp) == -1 || sp.ng != json_array_size(key)) {
		merge_bad(r, "parse", "STATE lacks y, x, c, g or log_y, "
		    "or KEY does not match g");
		goto out;
	}
	v = json_object_get(st, "ridge");
	ridge = json_is_number(v) ? json_number_value(v) : -1;
	if (!(ridge >= 0)) {
		merge_bad(r, "parse", "STATE has no ridge >= 0");
		goto out;
	}
	if (!have_spec) {
		spec = sp;
		spec.ridge = ridge_set ? ridge_opt : ridge;
		memset(&sp, 0, sizeof(sp));
		have_spec = 1;
	} else if (!same_spec(&spec, &sp) || (!ridge_set &&
	    ridge != spec.ridge)) {
		merge_bad(r, "merge", spec_given ? "STATE fits another model "
		    "than the options say (y, x, c, g, log_y or ridge differ)" :
		    "STATE fits another model than the first state (y, x, c, "
		    "g, log_y or ridge differ)");
		goto out;
	}
	v = json_object_get(st, "n");
	nb = json_is_integer(v) ? (double)json_integer_value(v) : -1;
	lv = json_object_get(st, "levels");
	mean = json_object_get(st, "mean");
	com = json_object_get(st, "com");
	nl = json_array_size(lv);
	kb = 1 + spec.nx + nl;
	if (nb < 1 || !json_is_array(lv) || json_array_size(mean) != kb ||
	    json_array_size(com) != kb * (kb + 1) / 2) {
		merge_bad(r, "parse", "STATE n, levels, mean or com malformed");
		goto out;
	}
	for (i = 0; i < nl; i++) {
		v = json_array_get(lv, i);
		cat = json_string_value(json_array_get(v, 0));
		for (ci = 0; cat && ci < spec.nc; ci++)
			if (strcmp(cat, spec.c[ci]) == 0)
				break;
		if (json_array_size(v) != 2 || cat == NULL ||
		    ci == spec.nc ||
		    !json_is_string(json_array_get(v, 1))) {
			snprintf(msg, sizeof(msg), "STATE levels[%zu] is not "
			    "a [category, level] pair of the fit", i);
			merge_bad(r, "parse", msg);
			goto out;
		}
	}
	mb = ecalloc(kb, sizeof(double));
	cb = ecalloc(kb * kb, sizeof(double));
	for (i = 0, q = 0; i < kb; i++) {
		v = json_array_get(mean, i);
		if (!json_is_number(v) && !json_is_null(v))
			goto badnum;
		mb[i] = json_is_null(v) ? NAN : json_number_value(v);
		for (j = i; j < kb; j++, q++) {
			v = json_array_get(com, q);
			if (!json_is_number(v) && !json_is_null(v))
				goto badnum;
			cb[i * kb + j] = json_is_null(v) ? NAN :
			    json_number_value(v);
		}
	}
	g = group_get(json_incref(key));
	col = ecalloc(kb, sizeof(size_t));
	for (i = 0; i < kb; i++)
		col[i] = i;
	for (i = 0; i < nl; i++) {
		v = json_array_get(lv, i);
		cat = json_string_value(json_array_get(v, 0));
		for (ci = 0; ci < spec.nc; ci++)
			if (strcmp(cat, spec.c[ci]) == 0)
				break;
		col[1 + spec.nx + i] = level_col(g, ci,
		    json_string_value(json_array_get(v, 1)));
	}
	group_merge(g, (unsigned long long)nb, mb, cb, col, kb);
	n_merged++;
	goto out;
badnum:
	merge_bad(r, "parse", "STATE mean or com holds a non-number");
out:
	free(mb);
	free(cb);
	free(col);
	spec_free(&sp);
	json_decref(key);
	json_decref(st);
}

/* --- predict ------------------------------------------------------------ */

static void
load_models(const char *path)
{
	struct etl_input *in;
	struct etl_lines *l;
	struct etl_buf kb = { 0 };
	struct spec sp;
	struct model *m;
	json_error_t e;
	json_t *o, *key, *coef, *lvs, *v, *lo;
	const char *p, *lname;
	size_t n, i, j;
	int st, toolong;
	unsigned long ln;

	if ((in = etl_input_open(path)) == NULL)
		etl_die(ETL_EX_NOINPUT, "%s: %s", path, strerror(errno));
	l = etl_lines_new(in);
	while ((st = etl_lines_next(l, &p, &n, &toolong)) == 1) {
		ln = etl_lines_lineno(l);
		if (strspn(p, " \t\r") >= n)
			continue;
		o = json_loadb(p, n, 0, &e);
		if (!json_is_object(o))
			etl_die(ETL_EX_CONFIG, "%s:%lu: not a model: %s", path,
			    ln, o ? "not a JSON object" : e.text);
		if (read_spec(o, &sp) == -1)
			etl_die(ETL_EX_CONFIG, "%s:%lu: not a model: y, x, c, "
			    "g or log_y missing", path, ln);
		if (!have_spec) {
			spec = sp;
			have_spec = 1;
		} else {
			if (!same_spec(&spec, &sp))
				etl_die(ETL_EX_CONFIG, "%s:%lu: model of another "
				    "fit than line 1 (y, x, c, g or log_y "
				    "differ)", path, ln);
			spec_free(&sp);
		}
		coef = json_object_get(o, "coef");
		lvs = json_object_get(o, "levels");
		v = json_object_get(o, "rmse");
		if (!json_is_object(coef) || !json_is_object(lvs) ||
		    !(json_is_number(v) || json_is_null(v)))
			etl_die(ETL_EX_CONFIG, "%s:%lu: coef, levels or rmse: "
			    "missing or wrong type", path, ln);
		models = erealloc(models, (nmodels + 1) * sizeof(*models));
		m = &models[nmodels];
		m->rmse = json_is_number(v) ? json_number_value(v) : NAN;
		v = json_object_get(coef, "(intercept)");
		if (!json_is_number(v))
			etl_die(ETL_EX_CONFIG, "%s:%lu: coef: (intercept): "
			    "missing or not a number", path, ln);
		m->icpt = json_number_value(v);
		m->bx = ecalloc(spec.nx + 1, sizeof(double));
		m->lv = ecalloc(spec.nc + 1, sizeof(json_t *));
		for (i = 0; i < spec.nx; i++) {
			v = json_object_get(coef, spec.x[i]);
			if (!json_is_number(v))
				etl_die(ETL_EX_CONFIG, "%s:%lu: coef: %s: missing "
				    "or not a number", path, ln, spec.x[i]);
			m->bx[i] = json_number_value(v);
		}
		for (i = 0; i < spec.nc; i++) {
			v = json_object_get(lvs, spec.c[i]);
			if (!json_is_array(v) || json_array_size(v) == 0)
				etl_die(ETL_EX_CONFIG, "%s:%lu: levels: %s: "
				    "missing or empty", path, ln, spec.c[i]);
			m->lv[i] = lo = json_object();
			for (j = 0; j < json_array_size(v); j++) {
				struct etl_buf tn = { 0 };
				json_t *c;

				lname = json_string_value(json_array_get(v, j));
				if (lname == NULL)
					etl_die(ETL_EX_CONFIG, "%s:%lu: levels: "
					    "%s: not a string", path, ln,
					    spec.c[i]);
				etl_buf_printf(&tn, "%s=%s", spec.c[i], lname);
				c = json_object_get(coef, etl_buf_cstr(&tn));
				etl_buf_free(&tn);
				/* The baseline has no term: 0. */
				if (j > 0 && !json_is_number(c))
					etl_die(ETL_EX_CONFIG, "%s:%lu: coef: "
					    "%s=%s: missing or not a number",
					    path, ln, spec.c[i], lname);
				json_object_set_new(lo, lname, json_real(
				    j > 0 ? json_number_value(c) : 0));
			}
		}
		key = json_array();
		for (i = 0; i < spec.ng; i++)
			json_array_append(key, (v = json_object_get(o,
			    spec.g[i])) ? v : json_null());
		kb.len = 0;
		canon(&kb, key);
		json_decref(key);
		if (json_object_get(mindex, etl_buf_cstr(&kb)) != NULL)
			etl_die(ETL_EX_CONFIG, "%s:%lu: a second model for "
			    "group %s", path, ln, etl_buf_cstr(&kb));
		json_object_set_new(mindex, etl_buf_cstr(&kb),
		    json_integer((json_int_t)nmodels));
		nmodels++;
		json_decref(o);
	}
	if (st == -1)
		etl_die(ETL_EX_IOERR, "%s:%lu: %s", path,
		    etl_lines_lineno(l) + 1, etl_input_error(in));
	etl_lines_free(l);
	etl_input_close(in);
	etl_buf_free(&kb);
	/*
	 * A fit can end with no model (every group too small); predicting
	 * from it rejects every record rather than failing the run.
	 */
	if (!have_spec)
		etl_warn("%s: no model in the file: every record is rejected",
		    path);
}

static void
add_num(struct etl_buf *b, const char *name, double d, int ok)
{
	etl_buf_addc(b, ',');
	etl_json_string(b, name, strlen(name));
	etl_buf_addc(b, ':');
	if (ok && isfinite(d))
		etl_json_real(b, d == 0 ? 0 : d);
	else
		etl_buf_adds(b, "null");
}

static void
predict_obj(struct etl_rec *r, json_t *o)
{
	static struct etl_buf b;
	struct model *m = NULL;
	json_t *key, *v, *rs = NULL, *ix;
	const char *lname;
	char tmp[32];
	double lin, pred, y, resid, zv, d;
	size_t i, end;
	int has_y, zok, text;

	if (!have_spec) {
		etl_reason(&rs, "", "model", "no model: the model file is empty");
		etl_reject(r, rs);
		return;
	}
	key = json_array();
	for (i = 0; i < spec.ng; i++)
		json_array_append(key, (v = json_object_get(o, spec.g[i])) ?
		    v : json_null());
	b.len = 0;
	canon(&b, key);
	if ((ix = json_object_get(mindex, etl_buf_cstr(&b))) != NULL)
		m = &models[json_integer_value(ix)];
	else {
		struct etl_buf kb = { 0 };

		etl_json_dump(&kb, key);
		etl_reason(&rs, spec.ng ? ptr(spec.g[0]) : "", "model",
		    "no model for group %s", etl_buf_cstr(&kb));
		etl_buf_free(&kb);
	}
	json_decref(key);
	lin = m ? m->icpt : 0;
	for (i = 0; i < spec.nx; i++) {
		v = json_object_get(o, spec.x[i]);
		if (v == NULL || json_is_null(v))
			etl_reason(&rs, ptr(spec.x[i]), "required",
			    "feature %s is missing", spec.x[i]);
		else if (!num_of(v, &d, &text))
			etl_reason(&rs, ptr(spec.x[i]), "type",
			    "feature %s: expected a number, or a string "
			    "holding one", spec.x[i]);
		else if (m)
			lin += m->bx[i] * d;
	}
	for (i = 0; i < spec.nc; i++) {
		v = json_object_get(o, spec.c[i]);
		if (v == NULL || json_is_null(v)) {
			etl_reason(&rs, ptr(spec.c[i]), "required",
			    "category %s is missing", spec.c[i]);
			continue;
		}
		if ((lname = level_of(v, tmp, sizeof(tmp))) == NULL) {
			etl_reason(&rs, ptr(spec.c[i]), "type",
			    "category %s: expected a string, number or "
			    "boolean", spec.c[i]);
			continue;
		}
		if (m == NULL)
			continue;
		if ((v = json_object_get(m->lv[i], lname)) == NULL)
			etl_reason(&rs, ptr(spec.c[i]), "enum",
			    "category %s: level \"%s\" was not seen when the "
			    "model was fitted", spec.c[i], lname);
		else
			lin += json_real_value(v);
	}
	if (rs) {
		etl_reject(r, rs);
		return;
	}
	pred = spec.log_y ? exp(lin) : lin;
	v = json_object_get(o, spec.y);
	has_y = num_of(v, &y, &text);
	if (!has_y)
		y = 0;
	resid = y - pred;
	zok = has_y && isfinite(m->rmse) && m->rmse > 0;
	if (spec.log_y) {
		zok = zok && y > 0;
		zv = zok ? (log(y) - lin) / m->rmse : 0;
	} else
		zv = zok ? resid / m->rmse : 0;

	if (json_object_get(o, f_pred) || json_object_get(o, f_resid) ||
	    json_object_get(o, f_z)) {
		/* Rewrite the fields where they are, in the whole record. */
		if ((o = etl_rec_object(r)) == NULL)
			return;
		json_object_set_new(o, f_pred, isfinite(pred) ? real(pred) :
		    json_null());
		json_object_set_new(o, f_resid, has_y && isfinite(resid) ?
		    real(resid) : json_null());
		json_object_set_new(o, f_z, zok && isfinite(zv) ? real(zv) :
		    json_null());
		etl_out_json(o);
		return;
	}
	/* Append to the record as it came, so the rest stays byte for byte. */
	end = r->len;
	while (end > 0 && strchr(" \t\r\n", r->raw[end - 1]) != NULL)
		end--;
	b.len = 0;
	etl_buf_add(&b, r->raw, end - 1);
	add_num(&b, f_pred, pred, 1);
	add_num(&b, f_resid, resid, has_y);
	add_num(&b, f_z, zv, zok);
	etl_buf_addc(&b, '}');
	for (i = end - 1; i > 0 && strchr(" \t\r\n", r->raw[i - 1]) != NULL;
	    i--)
		;
	if (i > 0 && r->raw[i - 1] == '{') {
		/* "{" then ",": drop the comma. */
		i = (size_t)((char *)memchr(b.p, ',', b.len) - b.p);
		memmove(b.p + i, b.p + i + 1, b.len - i - 1);
		b.len--;
	}
	etl_out_raw(b.p, b.len);
}

static void
predict_rec(struct etl_rec *r, void *arg)
{
	json_t *o;

	(void)arg;
	if ((o = etl_rec_fields(r, wanted, nwanted)) == NULL)
		return;
	predict_obj(r, o);
	json_decref(o);
}

/* --- main -------------------------------------------------------------- */

static char *
suffixed(const char *f, const char *suf)
{
	struct etl_buf b = { 0 };

	etl_buf_printf(&b, "%s%s", f, suf);
	etl_buf_cstr(&b);
	return b.p;
}

static int
fit_main(int argc, char *argv[])
{
	enum { OPT_LOGY = ETL_OPT_TOOL, OPT_RIDGE, OPT_PARTIAL, OPT_MERGE };
	static struct option longopts[] = {
		{ "log-y",	no_argument,		NULL, OPT_LOGY },
		{ "merge",	no_argument,		NULL, OPT_MERGE },
		{ "partial",	no_argument,		NULL, OPT_PARTIAL },
		{ "ridge",	required_argument,	NULL, OPT_RIDGE },
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *xs = NULL, *cs = NULL, *gs = NULL;
	int ch, st, partial = 0, merge = 0;
	size_t i, nmodel = 0;
	const char **rp;

	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS "c:g:x:y:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cs = optarg;
			break;
		case 'g':
			gs = optarg;
			break;
		case 'x':
			xs = optarg;
			break;
		case 'y':
			spec.y = estrdup(optarg);
			break;
		case OPT_LOGY:
			spec.log_y = 1;
			break;
		case OPT_MERGE:
			merge = 1;
			break;
		case OPT_PARTIAL:
			partial = 1;
			break;
		case OPT_RIDGE:
			ridge_opt = ridge_arg(optarg);
			ridge_set = 1;
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	/*
	 * --merge takes the fit from the states, or from the same options
	 * as the mapper's, which every state must then match: a job has one
	 * command line.  With --partial it is a combiner: states out.
	 */
	if (merge && !(spec.y || xs || cs || gs || spec.log_y)) {
		free(spec.y);
		spec.y = NULL;
	} else {
		spec_given = merge;
		if (spec.y == NULL || *spec.y == '\0' || xs == NULL) {
			etl_error("fit: %s required: the field to explain and "
			    "its numeric features, as in -y price -x "
			    "living_area", spec.y == NULL || *spec.y == '\0' ?
			    (xs == NULL ? "-y and -x are" : "-y is") : "-x is");
			etl_usage();
		}
		spec.x = fields("-x", xs, &spec.nx);
		spec.c = cs ? fields("-c", cs, &spec.nc) :
		    ecalloc(1, sizeof(char *));
		spec.g = gs ? fields("-g", gs, &spec.ng) :
		    ecalloc(1, sizeof(char *));
		spec.ridge = ridge_opt;
		for (i = 0; i < spec.nx + spec.nc; i++) {
			const char *f = i < spec.nx ? spec.x[i] :
			    spec.c[i - spec.nx];

			if (strcmp(f, spec.y) == 0 || (i < spec.nx &&
			    inlist(spec.c, spec.nc, f))) {
				etl_error("%s: a field can be only one of -y, "
				    "-x and -c", f);
				etl_usage();
			}
		}
		for (i = 0; i < spec.ng; i++)
			for (rp = reserved; *rp; rp++)
				if (strcmp(spec.g[i], *rp) == 0) {
					etl_error("-g %s: the model uses this "
					    "name itself", *rp);
					etl_usage();
				}
		have_spec = 1;
	}

	gindex = json_object();
	if (!merge)
		want_spec();
	st = etl_loop(argc, argv, merge ? merge_rec : fit_rec, NULL);
	etl_status(st);
	if (!etl_signalled) {
		if (ngroups > 1)
			qsort(groups, ngroups, sizeof(*groups), groupcmp);
		for (i = 0; i < ngroups; i++) {
			if (partial)
				write_state(groups[i]);
			else
				nmodel += write_model(groups[i]);
		}
	}
	if (merge) {
		etl_stats_set("merged", json_integer((json_int_t)n_merged));
		etl_stats_note("%llu states merged", n_merged);
	} else {
		etl_stats_set("used", json_integer((json_int_t)n_used));
		etl_stats_set("skipped_records",
		    json_integer((json_int_t)n_skipped));
		etl_stats_set("from_text", json_integer((json_int_t)n_from_text));
		etl_stats_note("%llu used, %llu skipped", n_used, n_skipped);
		if (n_from_text)
			etl_stats_note("%llu numbers read from text",
			    n_from_text);
		if (n_used == 0 && n_skipped > 0)
			etl_warn("no record could be used: all %llu skipped "
			    "(the stats' \"skipped\" says for which field); a "
			    "field must hold numbers, or strings wholly "
			    "holding one", n_skipped);
	}
	etl_stats_set("groups", json_integer((json_int_t)ngroups));
	if (!partial && ngroups > nmodel)
		etl_warn("%zu of %zu groups have no model: fewer rows than "
		    "terms (see the stats)", ngroups - nmodel, ngroups);
	if (!partial) {
		etl_stats_set("models", json_integer((json_int_t)nmodel));
		etl_stats_note("%zu models, %zu groups without one", nmodel,
		    ngroups - nmodel);
	}
	st = etl_finish();
	for (i = 0; i < ngroups; i++)
		group_free(groups[i]);
	free(groups);
	json_decref(gindex);
	spec_free(&spec);
	free(wanted);
	return st;
}

static int
predict_main(int argc, char *argv[])
{
	static struct option longopts[] = {
		{ "models", required_argument, NULL, 'm' },
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *mpath = NULL;
	size_t i, j;
	int ch, st;

	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS "m:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'm':
			mpath = optarg;
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (mpath == NULL) {
		etl_error("predict: -m is required: the models fit wrote");
		etl_usage();
	}

	mindex = json_object();
	load_models(mpath);
	f_pred = suffixed(spec.y, "_pred");
	f_resid = suffixed(spec.y, "_resid");
	f_z = suffixed(spec.y, "_z");
	if (have_spec) {
		want_spec();
		want(f_pred);
		want(f_resid);
		want(f_z);
	}
	st = etl_loop(argc, argv, predict_rec, NULL);
	etl_status(st);
	st = etl_finish();
	for (i = 0; i < nmodels; i++) {
		free(models[i].bx);
		for (j = 0; j < spec.nc; j++)
			json_decref(models[i].lv[j]);
		free(models[i].lv);
	}
	free(models);
	json_decref(mindex);
	free(f_pred);
	free(f_resid);
	free(f_z);
	spec_free(&spec);
	free(wanted);
	return st;
}

int
main(int argc, char *argv[])
{
	static struct option longopts[] = {
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	etl_init("etl-model", usage_text, help_text);
	if (argc > 1 && strcmp(argv[1], "fit") == 0)
		return fit_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "predict") == 0)
		return predict_main(argc - 1, argv + 1);
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS, longopts,
	    NULL)) != -1)
		etl_option(ch, optarg);
	etl_usage();
}
