/*
 * etl-agg - group-by aggregates in one streaming pass.  Groups live in a
 * hash table and are written at the end in the byte order of their key,
 * the compact JSON array of their key values: the order of LC_ALL=C sort
 * and of Hadoop's shuffle, so --merge can stream over sorted partials.
 *
 * Sums are exact (Shewchuk's partials, rounded once, as Python's fsum), so
 * sum, mean, var and stddev do not depend on the order of the values and
 * a --partial/--merge run gives the same bits as a plain one.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "etl.h"
#include "scan.h"

static const char usage_text[] =
"usage: etl-agg [-hq] [-g KEY[:BUCKET],...] [-a AGG,...] [--approx] [--partial]\n"
"               [--merge] [--rejects FILE | inline] [--stats FILE] [FILE ...]\n";

static const char help_text[] =
"  -g, --group KEY[:BUCKET],...  group keys; BUCKET is day, week, month,\n"
"                                quarter or year\n"
"  -a, --agg AGG,...             count, sum:F, mean:F, min:F, max:F,\n"
"                                median:F, pNN:F, stddev:F, var:F,\n"
"                                distinct:F, first:F, last:F (default count)\n"
"      --approx                  t-digest quantiles, HyperLogLog distinct\n"
"      --partial                 write mergeable KEY<TAB>STATE lines\n"
"      --merge                   read KEY<TAB>STATE lines\n";

enum { B_NONE, B_DAY, B_WEEK, B_MONTH, B_QUARTER, B_YEAR };
enum { A_COUNT, A_SUM, A_MEAN, A_MIN, A_MAX, A_MEDIAN, A_PCT, A_STDDEV,
	A_VAR, A_DISTINCT, A_FIRST, A_LAST };

/* What a field's state must carry. */
#define N_NUM	0x01	/* n, min, max: any numeric aggregate */
#define N_SUM	0x02
#define N_VAR	0x04
#define N_Q	0x08
#define N_DIST	0x10
#define N_FIRST	0x20
#define N_LAST	0x40

#define TD_DELTA	200	/* t-digest compression */
#define TD_CAP		(5 * TD_DELTA)
#define HLL_P		14
#define HLL_M		(1 << HLL_P)
#define HLL_Q		(64 - HLL_P)
#define EXACT_INT	9007199254740992.0	/* 2^53 */

/* HyperLogLog registers (0..51) in a state, one character each. */
static const char hll_digits[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

struct gkey {
	char	*name;
	size_t	 len;
	int	 bucket;
};

struct agg {
	int	 kind;
	int	 field;
	double	 q;		/* A_PCT: 0..100 */
	char	*out;		/* output field name */
};

struct field {
	char	*name;
	size_t	 len;
	int	 need;
	unsigned long long skipped;
	unsigned long long from_text;	/* numbers read out of strings */
	unsigned long long empty;	/* groups where it had no number */
};

struct xsum {			/* exact sum as non-overlapping partials */
	double	*p;
	int	 n, cap;
};

struct cent {
	double	 m, w;
};

struct td {
	struct cent *c;
	int	 n;
	double	 total;
};

struct sset {			/* exact distinct: a set of JSON texts */
	char	**s;
	uint64_t *h;
	size_t	 n, cap;
};

struct fst {
	uint64_t n;		/* numbers seen */
	int	 notint;	/* a number that was not an integer */
	double	 min, max;
	struct xsum s, s2;
	double	*v;		/* exact quantiles */
	size_t	 nv, cv;
	int	 sorted;
	struct td *td;
	struct sset *ds;
	uint8_t	*hll;
	json_t	*first, *last;
};

struct group {
	char	*key;
	size_t	 klen;
	uint64_t hash;
	uint64_t count;
	struct fst f[];
};

struct gtab {
	struct group **slot;
	size_t	 cap, n;
};

static struct gkey *gkeys;
static size_t ngkeys;
static struct agg *aggs;
static size_t naggs;
static struct field *fields;
static size_t nfields;
static int approx, partial, merge;
static unsigned long long nodate, aggregated;
static struct gtab tab;
static struct etl_buf kb, ob;

/* Spool of --merge lines while the input is still sorted. */
struct spoolrec {
	uint32_t file;
	uint64_t line;
	uint64_t len;
};
static FILE *spool;
static char **spfiles;
static size_t nspfiles;
static struct etl_buf prevkey;
static int haveprev, hashmode;
static struct group *cur;

static uint64_t
hash64(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	/* FNV-1a mixes its last bytes poorly; murmur3's finaliser fixes it. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* --- exact sums (Shewchuk; Python's math.fsum) --- */

static void
xsum_push(struct xsum *s, int i, double x)
{
	if (i >= s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->p = erealloc(s->p, (size_t)s->cap * sizeof(double));
	}
	s->p[i] = x;
	s->n = i + 1;
}

static void
xsum_add(struct xsum *s, double x)
{
	double y, hi, lo, t;
	int i, j;

	if (s->n == 1 && !isfinite(s->p[0])) {
		s->p[0] += x;
		return;
	}
	for (i = j = 0; j < s->n; j++) {
		y = s->p[j];
		if (fabs(x) < fabs(y)) {
			t = x;
			x = y;
			y = t;
		}
		hi = x + y;
		if (!isfinite(hi)) {	/* overflow: sticky, written as null */
			xsum_push(s, 0, hi);
			return;
		}
		lo = y - (hi - x);
		if (lo != 0.0)
			s->p[i++] = lo;
		x = hi;
	}
	xsum_push(s, i, x);
}

/* The exact sum rounded once to the nearest double. */
static double
xsum_value(const struct xsum *s)
{
	double hi = 0.0, lo = 0.0, x, y, yr;
	int n = s->n;

	if (n == 0)
		return 0.0;
	hi = s->p[--n];
	while (n > 0) {
		x = hi;
		y = s->p[--n];
		hi = x + y;
		yr = hi - x;
		lo = y - yr;
		if (lo != 0.0)
			break;
	}
	if (n > 0 && ((lo < 0.0 && s->p[n - 1] < 0.0) ||
	    (lo > 0.0 && s->p[n - 1] > 0.0))) {
		y = lo * 2.0;
		x = hi + y;
		yr = x - hi;
		if (y == yr)
			hi = x;
	}
	return hi;
}

static void
xsum_add2(struct xsum *s, double a, double b)	/* += a*b, exactly */
{
	double hi = a * b;

	xsum_add(s, hi);
	if (isfinite(hi))
		xsum_add(s, fma(a, b, -hi));
}

/* Sample variance from n, sum x and sum x^2: (n S2 - S1^2) / n(n-1). */
static double
variance(uint64_t n, const struct xsum *s1, const struct xsum *s2)
{
	struct xsum d = { 0 };
	double v;
	int i, j;

	for (i = 0; i < s2->n; i++)
		xsum_add2(&d, (double)n, s2->p[i]);
	for (i = 0; i < s1->n; i++)
		for (j = 0; j < s1->n; j++)
			xsum_add2(&d, -s1->p[i], s1->p[j]);
	v = xsum_value(&d);
	free(d.p);
	if (v < 0)
		v = 0;
	return v / ((double)n * (double)(n - 1));
}

/* --- t-digest (merging, k1 scale) --- */

static int
cent_cmp(const void *a, const void *b)
{
	const struct cent *x = a, *y = b;

	return x->m < y->m ? -1 : x->m > y->m;
}

static void
td_compress(struct td *t)
{
	double wsofar = 0, qlimit, k, q;
	struct cent c;
	int i, o = 0;

	if (t->n <= 1)
		return;
	qsort(t->c, (size_t)t->n, sizeof(*t->c), cent_cmp);
	c = t->c[0];
#define TD_QLIM(w) ( \
	k = TD_DELTA / (2 * M_PI) * asin(2 * ((w) / t->total) - 1) + 1, \
	q = k >= TD_DELTA / 4.0 ? 1.0 : (sin(k * 2 * M_PI / TD_DELTA) + 1) / 2, \
	t->total * q)
	qlimit = TD_QLIM(0.0);
	for (i = 1; i < t->n; i++) {
		if (wsofar + c.w + t->c[i].w <= qlimit) {
			c.w += t->c[i].w;
			c.m += (t->c[i].m - c.m) * t->c[i].w / c.w;
		} else {
			wsofar += c.w;
			t->c[o++] = c;
			c = t->c[i];
			qlimit = TD_QLIM(wsofar);
		}
	}
#undef TD_QLIM
	t->c[o++] = c;
	t->n = o;
}

static void
td_add(struct td *t, double x, double w)
{
	if (t->n == TD_CAP)
		td_compress(t);
	t->c[t->n].m = x;
	t->c[t->n].w = w;
	t->n++;
	t->total += w;
}

static struct td *
td_new(void)
{
	struct td *t = ecalloc(1, sizeof(*t));

	t->c = emalloc(TD_CAP * sizeof(*t->c));
	return t;
}

/*
 * Quantile q in [0,1] in numpy's rank space: the value at rank q(N-1),
 * a centroid of weight w starting at rank r standing at rank r+(w-1)/2,
 * so that singletons give numpy's exact answer.
 */
static double
td_quantile(struct td *t, double q, double min, double max)
{
	double target, r = 0, pr, pm, c;
	int i;

	td_compress(t);
	if (t->n == 0)
		return NAN;
	target = q * (t->total - 1);
	pr = 0;
	pm = min;
	for (i = 0; i < t->n; i++) {
		c = r + (t->c[i].w - 1) / 2;
		if (target <= c) {
			if (c == pr)
				return t->c[i].m;
			return pm + (t->c[i].m - pm) * (target - pr) / (c - pr);
		}
		pr = c;
		pm = t->c[i].m;
		r += t->c[i].w;
	}
	if (t->total - 1 == pr)
		return max;
	return pm + (max - pm) * (target - pr) / (t->total - 1 - pr);
}

/* --- HyperLogLog, Ertl's estimator (no bias tables needed) --- */

static void
hll_add(uint8_t *r, uint64_t h)
{
	uint64_t w = h << HLL_P;
	int rank = w == 0 ? HLL_Q + 1 : __builtin_clzll(w) + 1;

	if (rank > r[h >> (64 - HLL_P)])
		r[h >> (64 - HLL_P)] = (uint8_t)rank;
}

static double
hll_sigma(double x)
{
	double y = 1, z = x, zp;

	if (x == 1)
		return INFINITY;
	do {
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (z != zp);
	return z;
}

static double
hll_tau(double x)
{
	double y = 1, z, zp;

	if (x == 0 || x == 1)
		return 0;
	z = 1 - x;
	do {
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= (1 - x) * (1 - x) * y;
	} while (z != zp);
	return z / 3;
}

static double
hll_estimate(const uint8_t *r)
{
	int c[HLL_Q + 2] = { 0 }, i, k;
	double z, m = HLL_M;

	for (i = 0; i < HLL_M; i++)
		c[r[i]]++;
	z = m * hll_tau((m - c[HLL_Q + 1]) / m);
	for (k = HLL_Q; k >= 1; k--)
		z = 0.5 * (z + c[k]);
	z += m * hll_sigma(c[0] / m);
	return m / (2 * log(2)) * m / z;
}

/* --- exact distinct --- */

static void
sset_add(struct sset *s, const char *p, size_t n, uint64_t h)
{
	size_t i, j, cap;

	if (s->n * 10 >= s->cap * 7) {
		struct sset t = { 0 };

		cap = s->cap ? s->cap * 2 : 16;
		t.s = ecalloc(cap, sizeof(*t.s));
		t.h = ecalloc(cap, sizeof(*t.h));
		t.cap = cap;
		for (i = 0; i < s->cap; i++) {
			if (s->s[i] == NULL)
				continue;
			for (j = s->h[i] & (cap - 1); t.s[j]; j = (j + 1) & (cap - 1))
				;
			t.s[j] = s->s[i];
			t.h[j] = s->h[i];
		}
		free(s->s);
		free(s->h);
		t.n = s->n;
		*s = t;
	}
	for (i = h & (s->cap - 1); s->s[i]; i = (i + 1) & (s->cap - 1))
		if (s->h[i] == h && strlen(s->s[i]) == n &&
		    memcmp(s->s[i], p, n) == 0)
			return;
	s->s[i] = estrndup(p, n);
	s->h[i] = h;
	s->n++;
}

static void
sset_free(struct sset *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->cap; i++)
		free(s->s[i]);
	free(s->s);
	free(s->h);
	free(s);
}

/* --- values and keys --- */

/* A number in its shortest form; integral values below 2^53 as integers. */
static void
put_num(struct etl_buf *b, double d)
{
	if (d == floor(d) && fabs(d) < EXACT_INT)
		etl_buf_printf(b, "%.0f", d == 0 ? 0.0 : d);
	else
		etl_json_real(b, d);
}

/* A value as compact JSON, numbers by value (1 and 1.0 are the same). */
static void
put_value(struct etl_buf *b, const json_t *v)
{
	if (json_is_real(v))
		put_num(b, json_real_value(v));
	else
		etl_json_dump(b, v);
}

static const char *
bucket_label_str(const char *s, size_t n, int bucket, char out[32])
{
	int64_t t, z, wd, th, jan1;
	int y, m, d, ty, tm, td;

	if (etl_date_parse(s, n, &y, &m, &d) == -1) {
		if (etl_datetime_parse(s, n, 0, &t) == -1)
			return NULL;
		z = t / 86400 - (t % 86400 < 0);
		etl_civil_from_days(z, &y, &m, &d);
	}
	if (y < 0 || y > 9999)
		return NULL;
	switch (bucket) {
	case B_DAY:
		etl_date_format(out, y, m, d);
		break;
	case B_WEEK:
		z = etl_days_from_civil(y, m, d);
		wd = ((z % 7) + 7 + 3) % 7 + 1;		/* ISO: Monday 1 */
		th = z - wd + 4;			/* that week's Thursday */
		etl_civil_from_days(th, &ty, &tm, &td);
		jan1 = etl_days_from_civil(ty, 1, 1);
		snprintf(out, 32, "%04d-W%02d", ty, (int)((th - jan1) / 7 + 1));
		break;
	case B_MONTH:
		snprintf(out, 32, "%04d-%02d", y, m);
		break;
	case B_QUARTER:
		snprintf(out, 32, "%04d-Q%d", y, (m - 1) / 3 + 1);
		break;
	default:
		snprintf(out, 32, "%04d", y);
	}
	return out;
}

static const char *
bucket_label(const json_t *v, int bucket, char out[32])
{
	if (!json_is_string(v))
		return NULL;
	return bucket_label_str(json_string_value(v), json_string_length(v),
	    bucket, out);
}

/* --- groups --- */

static struct group *
group_new(const char *key, size_t klen, uint64_t h)
{
	struct group *g;
	size_t i;

	g = ecalloc(1, sizeof(*g) + nfields * sizeof(struct fst));
	g->key = estrndup(key, klen);
	g->klen = klen;
	g->hash = h;
	for (i = 0; i < nfields; i++) {
		if (fields[i].need & N_Q) {
			if (approx)
				g->f[i].td = td_new();
		}
		if (fields[i].need & N_DIST) {
			if (approx)
				g->f[i].hll = ecalloc(HLL_M, 1);
			else
				g->f[i].ds = ecalloc(1, sizeof(struct sset));
		}
	}
	return g;
}

static void
group_free(struct group *g)
{
	struct fst *f;
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < nfields; i++) {
		f = &g->f[i];
		free(f->s.p);
		free(f->s2.p);
		free(f->v);
		if (f->td) {
			free(f->td->c);
			free(f->td);
		}
		sset_free(f->ds);
		free(f->hll);
		json_decref(f->first);
		json_decref(f->last);
	}
	free(g->key);
	free(g);
}

static struct group *
tab_get(const char *key, size_t klen, int create)
{
	uint64_t h = hash64(key, klen);
	struct group *g;
	size_t i, j;

	if (tab.n * 10 >= tab.cap * 7) {
		struct group **ns;
		size_t cap = tab.cap ? tab.cap * 2 : 1024;

		ns = ecalloc(cap, sizeof(*ns));
		for (i = 0; i < tab.cap; i++) {
			if ((g = tab.slot[i]) == NULL)
				continue;
			for (j = g->hash & (cap - 1); ns[j]; j = (j + 1) & (cap - 1))
				;
			ns[j] = g;
		}
		free(tab.slot);
		tab.slot = ns;
		tab.cap = cap;
	}
	for (i = h & (tab.cap - 1); (g = tab.slot[i]) != NULL;
	    i = (i + 1) & (tab.cap - 1))
		if (g->hash == h && g->klen == klen &&
		    memcmp(g->key, key, klen) == 0)
			return g;
	if (!create)
		return NULL;
	g = group_new(key, klen, h);
	tab.slot[i] = g;
	tab.n++;
	return g;
}

static int
keycmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

static int
group_cmp(const void *a, const void *b)
{
	const struct group *x = *(struct group * const *)a;
	const struct group *y = *(struct group * const *)b;

	return keycmp(x->key, x->klen, y->key, y->klen);
}

static void
fst_number(struct fst *f, int need, double x, int isint)
{
	if (f->n == 0 || x < f->min)
		f->min = x;
	if (f->n == 0 || x > f->max)
		f->max = x;
	f->n++;
	if (!isint)
		f->notint = 1;
	if (need & N_SUM)
		xsum_add(&f->s, x);
	if (need & N_VAR)
		xsum_add2(&f->s2, x, x);
	if (need & N_Q) {
		if (f->td)
			td_add(f->td, x, 1);
		else {
			if (f->nv == f->cv) {
				f->cv = f->cv ? f->cv * 2 : 16;
				f->v = erealloc(f->v, f->cv * sizeof(double));
			}
			f->v[f->nv++] = x;
			f->sorted = 0;
		}
	}
}

static void
fst_distinct(struct fst *f, const json_t *v)
{
	uint64_t h;

	kb.len = 0;
	put_value(&kb, v);
	h = hash64(kb.p, kb.len);
	if (f->hll)
		hll_add(f->hll, h);
	else
		sset_add(f->ds, kb.p, kb.len, h);
}

static void
fst_first_last(struct fst *f, int need, json_t *v)
{
	if ((need & N_FIRST) && f->first == NULL)
		f->first = json_incref(v);
	if (need & N_LAST) {
		json_decref(f->last);
		f->last = json_incref(v);
	}
}

/* Merges the state of src into dst (src is left to be freed). */
static void
group_merge(struct group *dst, struct group *src)
{
	struct fst *d, *s;
	size_t i, j;
	int k;

	dst->count += src->count;
	for (i = 0; i < nfields; i++) {
		d = &dst->f[i];
		s = &src->f[i];
		if (s->n) {
			if (d->n == 0 || s->min < d->min)
				d->min = s->min;
			if (d->n == 0 || s->max > d->max)
				d->max = s->max;
		}
		d->n += s->n;
		d->notint |= s->notint;
		for (k = 0; k < s->s.n; k++)
			xsum_add(&d->s, s->s.p[k]);
		for (k = 0; k < s->s2.n; k++)
			xsum_add(&d->s2, s->s2.p[k]);
		if (s->nv) {
			if (d->nv + s->nv > d->cv) {
				d->cv = d->nv + s->nv;
				d->v = erealloc(d->v, d->cv * sizeof(double));
			}
			memcpy(d->v + d->nv, s->v, s->nv * sizeof(double));
			d->nv += s->nv;
			d->sorted = 0;
		}
		if (s->td && d->td)
			for (k = 0; k < s->td->n; k++)
				td_add(d->td, s->td->c[k].m, s->td->c[k].w);
		if (s->ds && d->ds)
			for (j = 0; j < s->ds->cap; j++)
				if (s->ds->s[j])
					sset_add(d->ds, s->ds->s[j],
					    strlen(s->ds->s[j]), s->ds->h[j]);
		if (s->hll && d->hll)
			for (k = 0; k < HLL_M; k++)
				if (s->hll[k] > d->hll[k])
					d->hll[k] = s->hll[k];
		if (s->first && d->first == NULL)
			d->first = json_incref(s->first);
		if (s->last) {
			json_decref(d->last);
			d->last = json_incref(s->last);
		}
	}
}

/* --- records in --- */

static struct etl_scan scan;
static struct fval {
	double	 d;
	int	 isint, ok, text;
} *fv;				/* one per field, for the scanner's path */
static int use_scan;		/* every aggregate numeric: the scanner will do */

/* The scanner's number, as the full path would count it. */
static int
scan_num(const struct etl_field *fl, double *d, long long *ll, int *isint)
{
	int k = etl_scan_numeric(fl, ll, d);

	*isint = k == 1;
	return k == -1 ? -1 : 0;
}

/*
 * The fast path: a flat record read by the lazy scanner, when every
 * aggregate is numeric.  0 when the record needs the full parser (an
 * array as a key, a number beyond 64 bits); nothing is counted then.
 */
static int
add_scanned(const struct etl_scan *sc)
{
	static struct etl_buf str;
	const struct etl_field *fl;
	struct group *g;
	char lab[32];
	const char *l;
	size_t i;
	int nodates = 0;

	kb.len = 0;
	etl_buf_addc(&kb, '[');
	for (i = 0; i < ngkeys; i++) {
		if (i)
			etl_buf_addc(&kb, ',');
		fl = etl_scan_get(sc, gkeys[i].name, gkeys[i].len);
		if (fl == NULL || fl->type == 'z') {
			etl_buf_adds(&kb, "null");
			continue;
		}
		if (fl->type == 'a' || fl->type == 'o')
			return 0;
		if (gkeys[i].bucket != B_NONE) {
			l = NULL;
			if (fl->type == 's' && etl_scan_string(fl, &str) == 0)
				l = bucket_label_str(str.p, str.len,
				    gkeys[i].bucket, lab);
			if (l == NULL) {
				nodates++;
				etl_buf_adds(&kb, "null");
			} else
				etl_json_string(&kb, l, strlen(l));
			continue;
		}
		switch (fl->type) {
		case 's':
			if (!fl->esc) {
				etl_buf_addc(&kb, '"');
				etl_buf_add(&kb, fl->val, fl->vlen);
				etl_buf_addc(&kb, '"');
			} else {
				if (etl_scan_string(fl, &str) == -1)
					return 0;
				etl_json_string(&kb, str.p, str.len);
			}
			break;
		case 'n': {
			double d;
			long long ll;
			int isint;

			if (scan_num(fl, &d, &ll, &isint) == -1)
				return 0;
			if (isint)
				etl_buf_printf(&kb, "%lld", ll);
			else
				put_num(&kb, d);
			break;
		}
		default:
			etl_buf_adds(&kb, fl->type == 't' ? "true" : "false");
		}
	}
	etl_buf_addc(&kb, ']');
	/* Read every number before counting anything: all or nothing. */
	for (i = 0; i < nfields; i++) {
		long long ll;

		fl = etl_scan_get(sc, fields[i].name, fields[i].len);
		fv[i].ok = fl && fl->type == 'n';
		fv[i].text = 0;
		if (fv[i].ok && scan_num(fl, &fv[i].d, &ll, &fv[i].isint) == -1)
			return 0;
		if (fl && fl->type == 's') {
			if (!fl->esc)
				fv[i].ok = etl_text_number(fl->val, fl->vlen,
				    &fv[i].d, &fv[i].isint);
			else if (etl_scan_string(fl, &str) == 0)
				fv[i].ok = etl_text_number(str.p, str.len,
				    &fv[i].d, &fv[i].isint);
			fv[i].text = fv[i].ok;
		}
	}
	nodate += nodates;
	g = tab_get(kb.p, kb.len, 1);
	g->count++;
	aggregated++;
	for (i = 0; i < nfields; i++) {
		if (fv[i].ok) {
			fst_number(&g->f[i], fields[i].need, fv[i].d, fv[i].isint);
			fields[i].from_text += fv[i].text;
		} else
			fields[i].skipped++;
	}
	return 1;
}

static void
add_record(struct etl_rec *r, void *arg)
{
	char lab[32];
	const char *l;
	struct group *g;
	struct fst *f;
	json_error_t e;
	json_t *o, *v;
	size_t i;

	(void)arg;
	if (use_scan && etl_scan_object(&scan, r->raw, r->len) == ETL_SCAN_OK &&
	    add_scanned(&scan))
		return;
	/* Integers stay integers (min, max, sum, keys); huge ones go through lib. */
	o = json_loadb(r->raw, r->len, JSON_REJECT_DUPLICATES, &e);
	if (json_is_object(o)) {
		r->json = o;
		r->parsed = 1;
	} else {
		json_decref(o);
		if ((o = etl_rec_object(r)) == NULL)
			return;
	}
	kb.len = 0;
	etl_buf_addc(&kb, '[');
	for (i = 0; i < ngkeys; i++) {
		if (i)
			etl_buf_addc(&kb, ',');
		v = json_object_get(o, gkeys[i].name);
		if (gkeys[i].bucket != B_NONE && v && !json_is_null(v)) {
			if ((l = bucket_label(v, gkeys[i].bucket, lab)) == NULL) {
				nodate++;
				etl_buf_adds(&kb, "null");
			} else
				etl_json_string(&kb, l, strlen(l));
		} else if (v == NULL)
			etl_buf_adds(&kb, "null");
		else
			put_value(&kb, v);
	}
	etl_buf_addc(&kb, ']');
	g = tab_get(kb.p, kb.len, 1);
	g->count++;
	aggregated++;
	for (i = 0; i < nfields; i++) {
		f = &g->f[i];
		v = json_object_get(o, fields[i].name);
		if (fields[i].need & N_NUM) {
			double d;
			int isint;

			if (json_is_number(v))
				fst_number(f, fields[i].need,
				    json_number_value(v), json_is_integer(v));
			else if (json_is_string(v) && etl_text_number(
			    json_string_value(v), json_string_length(v), &d,
			    &isint)) {
				fst_number(f, fields[i].need, d, isint);
				fields[i].from_text++;
			} else
				fields[i].skipped++;
		}
		if (v == NULL || json_is_null(v))
			continue;
		if (fields[i].need & N_DIST)
			fst_distinct(f, v);
		fst_first_last(f, fields[i].need, v);
	}
}

/* --- results and states out --- */

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* numpy.percentile's default: linear between the closest ranks. */
static double
pct_exact(struct fst *f, double q, int median)
{
	double vi, g, a, b, d;
	size_t lo, hi;

	if (!f->sorted) {
		qsort(f->v, f->nv, sizeof(double), dbl_cmp);
		f->sorted = 1;
	}
	if (median) {
		lo = (f->nv - 1) / 2;
		if (f->nv % 2)
			return f->v[lo];
		return (f->v[lo] + f->v[lo + 1]) / 2;
	}
	vi = (double)(f->nv - 1) * (q / 100);
	lo = (size_t)floor(vi);
	hi = lo + 1 < f->nv ? lo + 1 : f->nv - 1;
	g = vi - (double)lo;
	a = f->v[lo];
	b = f->v[hi];
	d = b - a;
	return g >= 0.5 ? b - d * (1 - g) : a + d * g;
}

static void
put_maybe_int(struct etl_buf *b, double d, int notint)
{
	if (!notint && isfinite(d) && fabs(d) < EXACT_INT)
		etl_buf_printf(b, "%.0f", d == 0 ? 0.0 : d);
	else
		etl_json_real(b, d);
}

static void
write_result(struct group *g)
{
	json_error_t e;
	json_t *kv;
	struct fst *f;
	struct agg *a;
	size_t i;

	ob.len = 0;
	etl_buf_addc(&ob, '{');
	kv = json_loadb(g->key, g->klen, 0, &e);
	for (i = 0; i < ngkeys; i++) {
		etl_json_string(&ob, gkeys[i].name, strlen(gkeys[i].name));
		etl_buf_addc(&ob, ':');
		etl_json_dump(&ob, json_array_get(kv, i));
		etl_buf_addc(&ob, ',');
	}
	json_decref(kv);
	for (i = 0; i < naggs; i++) {
		a = &aggs[i];
		f = a->field >= 0 ? &g->f[a->field] : NULL;
		if (i)
			etl_buf_addc(&ob, ',');
		etl_json_string(&ob, a->out, strlen(a->out));
		etl_buf_addc(&ob, ':');
		if (a->kind == A_COUNT) {
			etl_buf_printf(&ob, "%llu", (unsigned long long)g->count);
			continue;
		}
		if (a->kind == A_DISTINCT) {
			if (f->hll)
				etl_buf_printf(&ob, "%.0f",
				    floor(hll_estimate(f->hll) + 0.5));
			else
				etl_buf_printf(&ob, "%zu", f->ds->n);
			continue;
		}
		if (a->kind == A_FIRST || a->kind == A_LAST) {
			kv = a->kind == A_FIRST ? f->first : f->last;
			if (kv)
				etl_json_dump(&ob, kv);
			else
				etl_buf_adds(&ob, "null");
			continue;
		}
		if (f->n == 0 || ((a->kind == A_VAR || a->kind == A_STDDEV) &&
		    f->n < 2)) {
			etl_buf_adds(&ob, "null");
			continue;
		}
		switch (a->kind) {
		case A_SUM:
			put_maybe_int(&ob, xsum_value(&f->s), f->notint);
			break;
		case A_MEAN:
			etl_json_real(&ob, xsum_value(&f->s) / (double)f->n);
			break;
		case A_MIN:
			put_maybe_int(&ob, f->min, f->notint);
			break;
		case A_MAX:
			put_maybe_int(&ob, f->max, f->notint);
			break;
		case A_MEDIAN:
		case A_PCT:
			if (f->td)
				etl_json_real(&ob, td_quantile(f->td,
				    a->kind == A_MEDIAN ? 0.5 : a->q / 100,
				    f->min, f->max));
			else
				etl_json_real(&ob, pct_exact(f, a->q,
				    a->kind == A_MEDIAN));
			break;
		case A_VAR:
			etl_json_real(&ob, variance(f->n, &f->s, &f->s2));
			break;
		case A_STDDEV:
			etl_json_real(&ob, sqrt(variance(f->n, &f->s, &f->s2)));
			break;
		}
	}
	etl_buf_addc(&ob, '}');
	etl_out_raw(ob.p, ob.len);
}

static void
put_xsum(struct etl_buf *b, const char *name, const struct xsum *s)
{
	int i;

	etl_buf_printf(b, ",\"%s\":[", name);
	for (i = 0; i < s->n; i++) {
		if (i)
			etl_buf_addc(b, ',');
		etl_json_real(b, s->p[i]);
	}
	etl_buf_addc(b, ']');
}

/*
 * KEY<TAB>{"n":COUNT,"f":{"F":{"n":N,"i":0|1,"min":…,"max":…,"s":[…],
 * "s2":[…],"v":[…],"td":[min,max,m,w,…],"d":[…],"h":"…","first":…,
 * "last":…}}} with only the members the aggregates need.
 */
static void
write_state(struct group *g)
{
	struct fst *f;
	size_t i, j;
	int k, need;

	ob.len = 0;
	etl_buf_add(&ob, g->key, g->klen);
	etl_buf_printf(&ob, "\t{\"n\":%llu,\"f\":{", (unsigned long long)g->count);
	for (i = 0; i < nfields; i++) {
		f = &g->f[i];
		need = fields[i].need;
		if (i)
			etl_buf_addc(&ob, ',');
		etl_json_string(&ob, fields[i].name, strlen(fields[i].name));
		etl_buf_printf(&ob, ":{\"n\":%llu,\"i\":%d",
		    (unsigned long long)f->n, !f->notint);
		if ((need & N_NUM) && f->n) {
			etl_buf_adds(&ob, ",\"min\":");
			etl_json_real(&ob, f->min);
			etl_buf_adds(&ob, ",\"max\":");
			etl_json_real(&ob, f->max);
		}
		if (need & N_SUM)
			put_xsum(&ob, "s", &f->s);
		if (need & N_VAR)
			put_xsum(&ob, "s2", &f->s2);
		if ((need & N_Q) && f->td) {
			td_compress(f->td);
			etl_buf_adds(&ob, ",\"td\":[");
			for (k = 0; k < f->td->n; k++) {
				if (k)
					etl_buf_addc(&ob, ',');
				put_num(&ob, f->td->c[k].m);
				etl_buf_addc(&ob, ',');
				put_num(&ob, f->td->c[k].w);
			}
			etl_buf_addc(&ob, ']');
		} else if (need & N_Q) {
			etl_buf_adds(&ob, ",\"v\":[");
			for (j = 0; j < f->nv; j++) {
				if (j)
					etl_buf_addc(&ob, ',');
				put_num(&ob, f->v[j]);
			}
			etl_buf_addc(&ob, ']');
		}
		if ((need & N_DIST) && f->hll) {
			etl_buf_adds(&ob, ",\"h\":\"");
			for (k = 0; k < HLL_M; k++)
				etl_buf_addc(&ob, hll_digits[f->hll[k]]);
			etl_buf_addc(&ob, '"');
		} else if (need & N_DIST) {
			etl_buf_adds(&ob, ",\"d\":[");
			for (j = k = 0; j < f->ds->cap; j++) {
				if (f->ds->s[j] == NULL)
					continue;
				if (k++)
					etl_buf_addc(&ob, ',');
				etl_buf_adds(&ob, f->ds->s[j]);
			}
			etl_buf_addc(&ob, ']');
		}
		if ((need & N_FIRST) && f->first) {
			etl_buf_adds(&ob, ",\"first\":");
			etl_json_dump(&ob, f->first);
		}
		if ((need & N_LAST) && f->last) {
			etl_buf_adds(&ob, ",\"last\":");
			etl_json_dump(&ob, f->last);
		}
		etl_buf_addc(&ob, '}');
	}
	etl_buf_adds(&ob, "}}");
	etl_out_line(ob.p, ob.len);
	etl_n_out++;
}

static void
emit(struct group *g)
{
	size_t i;

	for (i = 0; i < nfields; i++)
		if ((fields[i].need & N_NUM) && g->f[i].n == 0)
			fields[i].empty++;
	if (partial)
		write_state(g);
	else
		write_result(g);
}

static void
emit_table(void)
{
	struct group **v;
	size_t i, n = 0;

	v = emalloc((tab.n ? tab.n : 1) * sizeof(*v));
	for (i = 0; i < tab.cap; i++)
		if (tab.slot[i])
			v[n++] = tab.slot[i];
	qsort(v, n, sizeof(*v), group_cmp);
	for (i = 0; i < n; i++) {
		emit(v[i]);
		group_free(v[i]);
	}
	free(v);
	free(tab.slot);
	memset(&tab, 0, sizeof(tab));
}

/* --- partial states in (--merge) --- */

static int
load_xsum(json_t *a, struct xsum *s)
{
	size_t i;

	if (!json_is_array(a))
		return -1;
	for (i = 0; i < json_array_size(a); i++) {
		if (!json_is_number(json_array_get(a, i)))
			return -1;
		xsum_add(s, json_number_value(json_array_get(a, i)));
	}
	return 0;
}

static int
num_member(json_t *o, const char *k, double *d)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_number(v))
		return -1;
	*d = json_number_value(v);
	return 0;
}

/* A state into a new group; NULL with *what set when it is not one. */
static struct group *
load_state(const char *key, size_t klen, json_t *st, const char **what)
{
	struct group *g;
	struct fst *f;
	json_t *fs, *o, *v;
	size_t i, j;
	int need;

	if (!json_is_integer(json_object_get(st, "n")) ||
	    json_integer_value(json_object_get(st, "n")) < 0 ||
	    !json_is_object(fs = json_object_get(st, "f"))) {
		*what = "n";
		return NULL;
	}
	g = group_new(key, klen, hash64(key, klen));
	g->count = (uint64_t)json_integer_value(json_object_get(st, "n"));
	for (i = 0; i < nfields; i++) {
		f = &g->f[i];
		need = fields[i].need;
		*what = fields[i].name;
		if (!json_is_object(o = json_object_get(fs, fields[i].name)) ||
		    !json_is_integer(v = json_object_get(o, "n")) ||
		    json_integer_value(v) < 0)
			goto bad;
		f->n = (uint64_t)json_integer_value(v);
		f->notint = !json_is_true(json_object_get(o, "i")) &&
		    json_integer_value(json_object_get(o, "i")) != 1;
		if ((need & N_NUM) && f->n && (num_member(o, "min", &f->min) ||
		    num_member(o, "max", &f->max)))
			goto bad;
		if ((need & N_SUM) && load_xsum(json_object_get(o, "s"), &f->s))
			goto bad;
		if ((need & N_VAR) && load_xsum(json_object_get(o, "s2"), &f->s2))
			goto bad;
		if (need & N_Q) {
			if (f->td && json_is_array(v = json_object_get(o, "td"))) {
				if (json_array_size(v) % 2)
					goto bad;
				for (j = 0; j < json_array_size(v); j += 2) {
					if (!json_is_number(json_array_get(v, j)) ||
					    !json_is_number(json_array_get(v, j + 1)) ||
					    !(json_number_value(json_array_get(v,
					    j + 1)) > 0))
						goto bad;
					td_add(f->td,
					    json_number_value(json_array_get(v, j)),
					    json_number_value(json_array_get(v, j + 1)));
				}
			} else if (json_is_array(v = json_object_get(o, "v")) &&
			    json_array_size(v) == f->n) {
				if (!f->td) {
					f->cv = f->n;
					f->v = emalloc((f->cv ? f->cv : 1) * sizeof(double));
				}
				for (j = 0; j < f->n; j++) {
					if (!json_is_number(json_array_get(v, j)))
						goto bad;
					if (f->td)
						td_add(f->td, json_number_value(
						    json_array_get(v, j)), 1);
					else
						f->v[f->nv++] = json_number_value(
						    json_array_get(v, j));
				}
			} else
				goto bad;
		}
		if (need & N_DIST) {
			if (f->hll && json_is_string(v = json_object_get(o, "h"))) {
				const char *h = json_string_value(v), *c;

				if (json_string_length(v) != HLL_M)
					goto bad;
				for (j = 0; j < HLL_M; j++) {
					if (h[j] == '\0' || (c = strchr(hll_digits,
					    h[j])) == NULL || c - hll_digits > HLL_Q + 1)
						goto bad;
					f->hll[j] = (uint8_t)(c - hll_digits);
				}
			} else if (json_is_array(v = json_object_get(o, "d"))) {
				for (j = 0; j < json_array_size(v); j++)
					fst_distinct(f, json_array_get(v, j));
			} else
				goto bad;
		}
		if ((need & N_FIRST) && (v = json_object_get(o, "first")))
			f->first = json_incref(v);
		if ((need & N_LAST) && (v = json_object_get(o, "last")))
			f->last = json_incref(v);
	}
	return g;
bad:
	group_free(g);
	return NULL;
}

/* One KEY<TAB>STATE line into the table, or into the running group. */
static void
merge_line(struct etl_rec *r, int stream)
{
	json_error_t e;
	json_t *k, *st, *rs = NULL;
	struct group *g, *into;
	const char *tab_, *what = "";
	size_t klen;

	if ((tab_ = memchr(r->raw, '\t', r->len)) == NULL) {
		etl_reason(&rs, "", "parse", "not a KEY<TAB>STATE line");
		etl_reject(r, rs);
		return;
	}
	klen = (size_t)(tab_ - r->raw);
	if (stream && cur && cur->klen == klen &&
	    memcmp(cur->key, r->raw, klen) == 0)
		into = cur;
	else if (!stream && (into = tab_get(r->raw, klen, 0)) != NULL)
		;
	else {
		into = NULL;
		k = json_loadb(r->raw, klen, 0, &e);
		if (!json_is_array(k) || json_array_size(k) != ngkeys) {
			json_decref(k);
			etl_reason(&rs, "", "parse",
			    "KEY is not a JSON array of %zu values", ngkeys);
			etl_reject(r, rs);
			return;
		}
		json_decref(k);
	}
	st = json_loadb(tab_ + 1, r->len - klen - 1, 0, &e);
	if (!json_is_object(st)) {
		etl_reason(&rs, "", "parse", "STATE: %s", st ? "not an object" :
		    e.text);
		json_decref(st);
		etl_reject(r, rs);
		return;
	}
	g = load_state(r->raw, klen, st, &what);
	json_decref(st);
	if (g == NULL) {
		etl_reason(&rs, "", "parse", "STATE: %s: missing, or not what "
		    "these -g and -a%s need", what, approx ? " --approx" : "");
		etl_reject(r, rs);
		return;
	}
	aggregated++;
	if (into) {
		group_merge(into, g);
		group_free(g);
	} else if (stream) {
		if (cur) {
			emit(cur);
			group_free(cur);
		}
		cur = g;
	} else {
		into = tab_get(r->raw, klen, 1);
		group_merge(into, g);
		group_free(g);
	}
}

static void
spool_die(void)
{
	etl_die(ETL_EX_IOERR, "temporary file: %s", strerror(errno));
}

/* Replays the spooled lines into merge_line(). */
static void
spool_replay(int stream)
{
	struct spoolrec h;
	struct etl_rec r;
	char *p = NULL;
	size_t cap = 0;

	if (spool == NULL)
		return;
	if (fflush(spool) == EOF || fseek(spool, 0, SEEK_SET) == -1)
		spool_die();
	while (fread(&h, sizeof(h), 1, spool) == 1) {
		if (h.len + 1 > cap) {
			cap = h.len + 1;
			p = erealloc(p, cap);
		}
		if (h.len && fread(p, h.len, 1, spool) != 1)
			spool_die();
		memset(&r, 0, sizeof(r));
		r.file = spfiles[h.file];
		r.line = h.line;
		r.raw = p;
		r.len = h.len;
		merge_line(&r, stream);
	}
	if (ferror(spool))
		spool_die();
	free(p);
	fclose(spool);
	spool = NULL;
}

static void
spool_write(struct etl_rec *r)
{
	struct spoolrec h;
	const char *dir;
	char path[4096];
	int fd;

	if (spool == NULL) {
		if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
			dir = "/tmp";
		snprintf(path, sizeof(path), "%s/etl-agg.XXXXXX", dir);
		if ((fd = mkstemp(path)) == -1)
			etl_die(ETL_EX_CANTCREAT, "%s: %s", path, strerror(errno));
		unlink(path);
		if ((spool = fdopen(fd, "w+")) == NULL)
			spool_die();
	}
	if (nspfiles == 0 || strcmp(spfiles[nspfiles - 1], r->file) != 0) {
		spfiles = erealloc(spfiles, (nspfiles + 1) * sizeof(*spfiles));
		spfiles[nspfiles++] = estrdup(r->file);
	}
	memset(&h, 0, sizeof(h));
	h.file = (uint32_t)(nspfiles - 1);
	h.line = r->line;
	h.len = r->len;
	if (fwrite(&h, sizeof(h), 1, spool) != 1 ||
	    fwrite(r->raw, 1, r->len, spool) != r->len)
		spool_die();
}

/*
 * While keys come in non-decreasing byte order the lines only go to a
 * spool, replayed at the end one group at a time; the first key out of
 * order moves everything into the hash table.
 */
static void
merge_rec(struct etl_rec *r, void *arg)
{
	const char *t;
	size_t klen;
	json_t *rs = NULL;

	(void)arg;
	if (hashmode) {
		merge_line(r, 0);
		return;
	}
	if ((t = memchr(r->raw, '\t', r->len)) == NULL) {
		etl_reason(&rs, "", "parse", "not a KEY<TAB>STATE line");
		etl_reject(r, rs);
		return;
	}
	klen = (size_t)(t - r->raw);
	if (haveprev && keycmp(r->raw, klen, prevkey.p, prevkey.len) < 0) {
		hashmode = 1;
		spool_replay(0);
		merge_line(r, 0);
		return;
	}
	haveprev = 1;
	prevkey.len = 0;
	etl_buf_add(&prevkey, r->raw, klen);
	spool_write(r);
}

/* --- options --- */

static int
field_index(const char *name)
{
	size_t i;

	for (i = 0; i < nfields; i++)
		if (strcmp(fields[i].name, name) == 0)
			return (int)i;
	fields = erealloc(fields, (nfields + 1) * sizeof(*fields));
	memset(&fields[nfields], 0, sizeof(*fields));
	fields[nfields].name = estrdup(name);
	fields[nfields].len = strlen(name);
	return (int)nfields++;
}

static void
parse_groups(const char *s)
{
	static const char *bn[] = { "", "day", "week", "month", "quarter",
	    "year" };
	char **v, *c;
	size_t n, i;
	int b;

	v = etl_split(s, ',', &n);
	gkeys = ecalloc(n, sizeof(*gkeys));
	for (i = 0; i < n; i++) {
		b = B_NONE;
		if ((c = strrchr(v[i], ':')) != NULL) {
			*c++ = '\0';
			for (b = B_DAY; b <= B_YEAR; b++)
				if (strcmp(c, bn[b]) == 0)
					break;
			if (b > B_YEAR) {
				etl_error("-g %s: unknown bucket %s", s, c);
				etl_usage();
			}
		}
		if (*v[i] == '\0') {
			etl_error("-g %s: empty key", s);
			etl_usage();
		}
		gkeys[i].name = estrdup(v[i]);
		gkeys[i].len = strlen(v[i]);
		gkeys[i].bucket = b;
	}
	ngkeys = n;
	etl_split_free(v);
}

static void
parse_aggs(const char *s)
{
	static const struct {
		const char *name;
		int kind, need;
		const char *suffix;
	} tab_[] = {
		{ "count", A_COUNT, 0, "" },
		{ "sum", A_SUM, N_NUM | N_SUM, "sum" },
		{ "mean", A_MEAN, N_NUM | N_SUM, "mean" },
		{ "min", A_MIN, N_NUM, "min" },
		{ "max", A_MAX, N_NUM, "max" },
		{ "median", A_MEDIAN, N_NUM | N_Q, "median" },
		{ "stddev", A_STDDEV, N_NUM | N_SUM | N_VAR, "stddev" },
		{ "var", A_VAR, N_NUM | N_SUM | N_VAR, "var" },
		{ "distinct", A_DISTINCT, N_DIST, "distinct" },
		{ "first", A_FIRST, N_FIRST, "first" },
		{ "last", A_LAST, N_LAST, "last" },
	};
	char **v, *c, *end, *nm;
	struct etl_buf b = { 0 };
	size_t n, i, j;
	int kind, need;

	v = etl_split(s, ',', &n);
	aggs = ecalloc(n, sizeof(*aggs));
	for (i = 0; i < n; i++) {
		c = strchr(v[i], ':');
		if (c)
			*c++ = '\0';
		aggs[i].field = -1;
		kind = -1;
		need = 0;
		nm = v[i];
		for (j = 0; j < sizeof(tab_) / sizeof(tab_[0]); j++)
			if (strcmp(v[i], tab_[j].name) == 0) {
				kind = tab_[j].kind;
				need = tab_[j].need;
				nm = (char *)tab_[j].suffix;
			}
		if (kind == -1 && v[i][0] == 'p' && v[i][1] != '\0') {
			errno = 0;
			aggs[i].q = strtod(v[i] + 1, &end);
			if (*end == '\0' && errno == 0 && v[i][1] >= '0' &&
			    v[i][1] <= '9' && aggs[i].q >= 0 && aggs[i].q <= 100) {
				kind = A_PCT;
				need = N_NUM | N_Q;
			}
		}
		if (kind == -1) {
			etl_error("-a: unknown aggregate %s", v[i]);
			etl_usage();
		}
		if ((kind == A_COUNT) != (c == NULL) || (c && *c == '\0')) {
			etl_error("-a: %s %s", v[i], kind == A_COUNT ?
			    "takes no field" : "needs a field, as in sum:price");
			etl_usage();
		}
		aggs[i].kind = kind;
		if (kind == A_COUNT)
			aggs[i].out = estrdup("count");
		else {
			aggs[i].field = field_index(c);
			fields[aggs[i].field].need |= need;
			b.len = 0;
			etl_buf_printf(&b, "%s_%s", c, nm);
			aggs[i].out = estrdup(etl_buf_cstr(&b));
		}
	}
	naggs = n;
	etl_buf_free(&b);
	etl_split_free(v);
}

static void
check_names(void)
{
	size_t i, j, n = ngkeys + naggs;
	const char **names = emalloc(n * sizeof(*names));

	for (i = 0; i < ngkeys; i++)
		names[i] = gkeys[i].name;
	for (i = 0; i < naggs; i++)
		names[ngkeys + i] = aggs[i].out;
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0) {
				etl_error("output field %s given twice", names[i]);
				etl_usage();
			}
	free(names);
}

int
main(int argc, char *argv[])
{
	enum { OPT_APPROX = ETL_OPT_TOOL, OPT_MERGE, OPT_PARTIAL };
	static struct option longopts[] = {
		{ "agg", required_argument, NULL, 'a' },
		{ "approx", no_argument, NULL, OPT_APPROX },
		{ "group", required_argument, NULL, 'g' },
		{ "merge", no_argument, NULL, OPT_MERGE },
		{ "partial", no_argument, NULL, OPT_PARTIAL },
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *a = "count", *g = NULL;
	unsigned long long skipped = 0, from_text = 0;
	json_t *sk, *tx;
	size_t i;
	int ch, st;

	etl_init("etl-agg", usage_text, help_text);
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS "a:g:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'a':
			a = optarg;
			break;
		case 'g':
			g = optarg;
			break;
		case OPT_APPROX:
			approx = 1;
			break;
		case OPT_MERGE:
			merge = 1;
			break;
		case OPT_PARTIAL:
			partial = 1;
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (g)
		parse_groups(g);
	parse_aggs(a);
	check_names();

	if (merge) {
		st = etl_loop(argc, argv, merge_rec, NULL);
		if (!hashmode) {
			spool_replay(1);
			if (cur) {
				emit(cur);
				group_free(cur);
			}
		}
	} else {
		/* ETL_SCAN=0 turns the scanner off, to compare the two paths. */
		use_scan = getenv("ETL_SCAN") == NULL ||
		    strcmp(getenv("ETL_SCAN"), "0") != 0;
		for (i = 0; i < nfields; i++)
			if (fields[i].need & (N_DIST | N_FIRST | N_LAST))
				use_scan = 0;
		fv = ecalloc(nfields + 1, sizeof(*fv));
		st = etl_loop(argc, argv, add_record, NULL);
		free(fv);
	}
	emit_table();
	etl_status(st);

	sk = json_object();
	tx = json_object();
	for (i = 0; i < nfields; i++) {
		if (fields[i].skipped) {
			json_object_set_new(sk, fields[i].name,
			    json_integer((json_int_t)fields[i].skipped));
			skipped += fields[i].skipped;
		}
		if (fields[i].from_text) {
			json_object_set_new(tx, fields[i].name,
			    json_integer((json_int_t)fields[i].from_text));
			from_text += fields[i].from_text;
		}
		/* A figure made of nothing says so where a person looks. */
		if (!partial && (fields[i].need & N_NUM) && fields[i].empty)
			etl_warn("%s: %llu of %llu groups had no number to "
			    "aggregate (their %s figures are null); %llu values "
			    "skipped: neither numbers nor strings holding one",
			    fields[i].name, fields[i].empty, etl_n_out,
			    fields[i].name, fields[i].skipped);
	}
	etl_stats_set("aggregated", json_integer((json_int_t)aggregated));
	etl_stats_set("skipped", sk);
	etl_stats_set("from_text", tx);
	if (from_text)
		etl_stats_note("%llu numbers read from text", from_text);
	if (nodate) {
		etl_stats_set("not_a_date", json_integer((json_int_t)nodate));
		etl_stats_note("%llu key values not a date (group null)", nodate);
	}
	etl_stats_note("%llu aggregated into %llu groups", aggregated, etl_n_out);
	if (skipped)
		etl_stats_note("%llu non-numbers skipped", skipped);
	return etl_finish();
}
