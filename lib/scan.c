/*
 * scan.c - the lazy scanner.  Its promise, checked by a differential
 * test against jansson: ETL_SCAN_OK only for lines jansson parses (with
 * the stream's flags) into an object with the same fields and values.
 * Anything it is not sure of is ETL_SCAN_UNSURE and goes to jansson.
 *
 * It walks a line once, string bodies sixteen bytes at a time and digits
 * eight.  The keys of the last record are kept as a shape: a record that
 * repeats them has each key compared as bytes in its place, not scanned,
 * hashed and compared with the others.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "etl.h"
#include "scan.h"

#define MAXDEPTH	64	/* deeper arrays go to jansson */

struct cur {
	const unsigned char *p, *e;
};

static inline void
ws(struct cur *c)
{
	/* Records mostly hold no whitespace between tokens. */
	if (c->p < c->e && *c->p > ' ')
		return;
	while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' ||
	    *c->p == '\r'))
		c->p++;
}

static int
hex4(const unsigned char *p, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		unsigned c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* UTF-8 sequence length at p, 0 when invalid (as jansson's utf.c). */
static inline size_t
utf8_len(const unsigned char *p, const unsigned char *e)
{
	unsigned c = p[0];

	if (c >= 0xc2 && c <= 0xdf)
		return e - p >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (e - p < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (e - p < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80 || (c == 0xf0 && p[1] < 0x90) ||
		    (c == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * After the opening quote; leaves c->p after the closing one.  *esc says
 * whether escapes were seen.  ETL_SCAN_OK, or INVALID.
 */
static int
string(struct cur *c, int *esc)
{
	const unsigned char *p = c->p, *e = c->e;
	unsigned u, lo;
	size_t k;

	*esc = 0;
	for (;;) {
#ifdef __SSE2__
		/* Sixteen plain ASCII bytes at a time. */
		while (e - p >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)p);
			__m128i m = _mm_or_si128(
			    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
			    _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
			    _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
			int bits = _mm_movemask_epi8(m);

			if (bits) {
				p += __builtin_ctz((unsigned)bits);
				break;
			}
			p += 16;
		}
#endif
		if (p >= e)
			return ETL_SCAN_INVALID;
		if (*p == '"') {
			c->p = p + 1;
			return ETL_SCAN_OK;
		}
		if (*p == '\\') {
			*esc = 1;
			if (e - p < 2)
				return ETL_SCAN_INVALID;
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				if (e - p < 6 || hex4(p + 2, &u) == -1 || u == 0)
					return ETL_SCAN_INVALID;
				p += 6;
				if (u >= 0xdc00 && u <= 0xdfff)
					return ETL_SCAN_INVALID;
				if (u >= 0xd800 && u <= 0xdbff) {
					if (e - p < 6 || p[0] != '\\' || p[1] != 'u' ||
					    hex4(p + 2, &lo) == -1 ||
					    lo < 0xdc00 || lo > 0xdfff)
						return ETL_SCAN_INVALID;
					p += 6;
				}
				continue;
			default:
				return ETL_SCAN_INVALID;
			}
		}
		if (*p < 0x20)
			return ETL_SCAN_INVALID;
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((k = utf8_len(p, e)) == 0)
			return ETL_SCAN_INVALID;
		p += k;
	}
}

#define DIGIT(ch)	((unsigned)(ch) - '0' < 10)

/* Past the digits at p, eight at a time while eight bytes are left. */
static inline const unsigned char *
digits(const unsigned char *p, const unsigned char *e)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t x, t;

	while (e - p >= 8) {
		memcpy(&x, p, 8);
		/*
		 * Digits become 0 to 9; a byte above 9 (or with its top bit)
		 * sets its top bit.  A carry only reaches bytes after the
		 * first that is not a digit, which do not count.
		 */
		x ^= 0x3030303030303030ULL;
		t = ((x + 0x7676767676767676ULL) | x) & 0x8080808080808080ULL;
		if (t)
			return p + (__builtin_ctzll(t) >> 3);	/* the lowest: the first */
		p += 8;
	}
#endif
	while (p < e && DIGIT(*p))
		p++;
	return p;
}

static int
number(struct cur *c)
{
	const unsigned char *p = c->p, *e = c->e, *d;
	long ndig, exp = 0;
	int esign = 1;

	if (p < e && *p == '-')
		p++;
	if (p >= e || !DIGIT(*p))
		return ETL_SCAN_INVALID;
	d = p;
	if (*p++ != '0')
		p = digits(p, e);
	ndig = p - d;
	if (p < e && *p == '.') {
		p++;
		if (p >= e || !DIGIT(*p))
			return ETL_SCAN_INVALID;
		p = digits(p, e);
	}
	if (p < e && (*p | 0x20) == 'e') {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			esign = *p++ == '-' ? -1 : 1;
		if (p >= e || !DIGIT(*p))
			return ETL_SCAN_INVALID;
		while (p < e && DIGIT(*p)) {
			if (exp < 100000)
				exp = exp * 10 + (*p - '0');
			p++;
		}
	}
	c->p = p;
	/* Could overflow a double: jansson refuses those; let it say so. */
	if (ndig + esign * exp > 300)
		return ETL_SCAN_UNSURE;
	return ETL_SCAN_OK;
}

static int
literal(struct cur *c, const char *w, size_t n)
{
	uint32_t a, b;

	if ((size_t)(c->e - c->p) < n)
		return ETL_SCAN_INVALID;
	/* true, null: four bytes; false: the last four after its f. */
	memcpy(&a, c->p + n - 4, 4);
	memcpy(&b, w + n - 4, 4);
	if (a != b || c->p[0] != (unsigned char)w[0])
		return ETL_SCAN_INVALID;
	c->p += n;
	return ETL_SCAN_OK;
}

/*
 * Plain bytes to a closing quote within sixteen: the string's end, the
 * common case of a key or a short value, without a call.  0 when the
 * string needs string().
 */
static inline int
short_string(struct cur *c)
{
#ifdef __SSE2__
	if (c->e - c->p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)c->p);
		int bits = _mm_movemask_epi8(_mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
		    _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
		    _mm_cmplt_epi8(x, _mm_set1_epi8(0x20))));
		unsigned i;

		if (bits && c->p[i = __builtin_ctz((unsigned)bits)] == '"') {
			c->p += i + 1;
			return 1;
		}
	}
#else
	(void)c;
#endif
	return 0;
}

static int value(struct cur *, int, int *, int *);

/*
 * The keys of the nested objects being scanned, as a stack, to refuse
 * duplicates as the stream's parser does.
 */
static struct span {
	const unsigned char *p;
	size_t n;
} *keys;
static size_t nkeys, capkeys;

/* A nested object, after its '{' has been seen at c->p. */
static int
object(struct cur *c, int depth)
{
	size_t base = nkeys, i, j;
	const unsigned char *k;
	int r, worst = ETL_SCAN_OK, t, esc;

	c->p++;
	ws(c);
	if (c->p < c->e && *c->p == '}') {
		c->p++;
		return ETL_SCAN_OK;
	}
	for (;;) {
		ws(c);
		if (c->p >= c->e || *c->p != '"') {
			r = ETL_SCAN_INVALID;
			goto out;
		}
		k = ++c->p;
		if (!short_string(c)) {
			if (string(c, &esc) != ETL_SCAN_OK) {
				r = ETL_SCAN_INVALID;
				goto out;
			}
			if (esc)
				worst = ETL_SCAN_UNSURE;	/* keys compared decoded */
		}
		if (nkeys == capkeys) {
			capkeys = capkeys ? capkeys * 2 : 64;
			keys = erealloc(keys, capkeys * sizeof(*keys));
		}
		keys[nkeys].p = k;
		keys[nkeys++].n = (size_t)(c->p - 1 - k);
		ws(c);
		if (c->p >= c->e || *c->p++ != ':') {
			r = ETL_SCAN_INVALID;
			goto out;
		}
		ws(c);
		t = 0;
		if ((r = value(c, depth + 1, &t, &esc)) != ETL_SCAN_OK) {
			if (r == ETL_SCAN_INVALID || c->p >= c->e ||
			    (t == 'o' || t == 'a'))
				goto out;	/* its end is unknown */
			worst = r;
		}
		ws(c);
		if (c->p >= c->e) {
			r = ETL_SCAN_INVALID;
			goto out;
		}
		if (*c->p == '}') {
			c->p++;
			break;
		}
		if (*c->p++ != ',') {
			r = ETL_SCAN_INVALID;
			goto out;
		}
	}
	r = worst;
	if (nkeys - base > 64) {
		r = ETL_SCAN_UNSURE;
		goto out;
	}
	for (i = base + 1; i < nkeys; i++)
		for (j = base; j < i; j++)
			if (keys[i].n == keys[j].n &&
			    memcmp(keys[i].p, keys[j].p, keys[i].n) == 0) {
				r = r == ETL_SCAN_OK ? ETL_SCAN_INVALID : r;
				goto out;
			}
out:
	nkeys = base;
	return r;
}

/* Any value; an object or array whose end is not known is UNSURE. */
static int
value(struct cur *c, int depth, int *type, int *esc)
{
	int r, worst = ETL_SCAN_OK, t = 0, e;

	if (c->p >= c->e)
		return ETL_SCAN_INVALID;
	*esc = 0;
	switch (*c->p) {
	case '"':
		*type = 's';
		c->p++;
		return short_string(c) ? ETL_SCAN_OK : string(c, esc);
	case '{':
		*type = 'o';
		if (depth >= MAXDEPTH)
			return ETL_SCAN_UNSURE;
		return object(c, depth);
	case '[':
		*type = 'a';
		if (depth >= MAXDEPTH)
			return ETL_SCAN_UNSURE;
		c->p++;
		ws(c);
		if (c->p < c->e && *c->p == ']') {
			c->p++;
			return ETL_SCAN_OK;
		}
		for (;;) {
			ws(c);
			if ((r = value(c, depth + 1, &t, &e)) != ETL_SCAN_OK) {
				/* A container's end is not known: stop there. */
				if (r == ETL_SCAN_INVALID || t == 'o' || t == 'a')
					return r;
				worst = r;
			}
			ws(c);
			if (c->p >= c->e)
				return ETL_SCAN_INVALID;
			if (*c->p == ']') {
				c->p++;
				return worst;
			}
			if (*c->p++ != ',')
				return ETL_SCAN_INVALID;
		}
	case 't':
		*type = 't';
		return literal(c, "true", 4);
	case 'f':
		*type = 'f';
		return literal(c, "false", 5);
	case 'n':
		*type = 'z';
		return literal(c, "null", 4);
	default:
		*type = 'n';
		return number(c);
	}
}

/*
 * Duplicate keys are refused by the stream's parser.  A key is compared
 * only with the earlier keys of its hash, found through slot[] and
 * chain[]; past a bound on the comparisons, jansson judges the line.
 */
#define DUPCMP	256

static uint32_t slot[1024], slotkey[1024], stamp;	/* slot[h] == stamp: seen */
static uint32_t *chain;		/* the earlier key of the same hash, + 1 */
static size_t chaincap;

/* 1 when key i repeats an earlier one, 0 when not, -1 when it is not known. */
static int
twin(const struct etl_scan *s, size_t i, size_t *budget)
{
	const struct etl_field *f = &s->f[i];
	uint32_t j;

	if (i >= chaincap) {
		chaincap = s->cap;
		chain = erealloc(chain, chaincap * sizeof(*chain));
	}
	if (slot[f->kh] != stamp) {
		slot[f->kh] = stamp;
		slotkey[f->kh] = (uint32_t)i;
		chain[i] = 0;
		return 0;
	}
	chain[i] = slotkey[f->kh] + 1;
	slotkey[f->kh] = (uint32_t)i;
	for (j = chain[i]; j != 0; j = chain[j - 1]) {
		if ((*budget)-- == 0)
			return -1;
		if (s->f[j - 1].klen == f->klen &&
		    memcmp(s->f[j - 1].key, f->key, f->klen) == 0)
			return 1;
	}
	return 0;
}

/*
 * The keys of the last record scanned whole, each as its bytes "key":
 * in order.  Records of a stream mostly repeat them, and a key found in
 * its place needs no scanning, hashing, or comparing with the others:
 * the keys of the shape are known good and all different.
 */
static struct {
	struct etl_buf	 b;
	size_t		*off;	/* where key i starts in b; off[n] is the end */
	unsigned	*kh;
	size_t		 n, cap;
	unsigned long	 gen;	/* counts the shapes kept */
} shape;

/* Whether the n >= 3 bytes at a and b are the same. */
static inline int
same(const unsigned char *a, const unsigned char *b, size_t n)
{
	uint64_t x, y, x2, y2;
	uint32_t u, v, u2, v2;

	/* Two loads from each end, overlapping in the middle. */
	if (n >= 8 && n <= 16) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		memcpy(&x2, a + n - 8, 8);
		memcpy(&y2, b + n - 8, 8);
		return ((x ^ y) | (x2 ^ y2)) == 0;
	}
	if (n >= 4 && n < 8) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		memcpy(&u2, a + n - 4, 4);
		memcpy(&v2, b + n - 4, 4);
		return ((u ^ v) | (u2 ^ v2)) == 0;
	}
	return memcmp(a, b, n) == 0;
}

static void
keep_shape(const struct etl_scan *s)
{
	size_t i;

	if (s->n + 1 > shape.cap) {
		shape.cap = s->n + 1;
		shape.off = erealloc(shape.off, shape.cap * sizeof(*shape.off));
		shape.kh = erealloc(shape.kh, shape.cap * sizeof(*shape.kh));
	}
	shape.b.len = 0;
	for (i = 0; i < s->n; i++) {
		shape.off[i] = shape.b.len;
		shape.kh[i] = s->f[i].kh;
		etl_buf_addc(&shape.b, '"');
		etl_buf_add(&shape.b, s->f[i].key, s->f[i].klen);
		etl_buf_add(&shape.b, "\":", 2);
	}
	shape.off[i] = shape.b.len;
	shape.n = s->n;
	shape.gen++;
}

int
etl_scan_object(struct etl_scan *s, const char *line, size_t len)
{
	struct cur c = { (const unsigned char *)line,
	    (const unsigned char *)line + len };
	struct etl_field *f;
	const unsigned char *k, *v;
	int esc, r, worst = ETL_SCAN_OK, dupsure = 1, onshape = 1;
	size_t budget = DUPCMP, i, kl;

	s->n = 0;
	s->shape = 0;
	if (++stamp == 0) {
		memset(slot, 0, sizeof(slot));
		stamp = 1;
	}
	ws(&c);
	if (c.p >= c.e || *c.p != '{')
		return c.p < c.e && (*c.p == '[' || *c.p == '"' ||
		    *c.p == '-' || (*c.p >= '0' && *c.p <= '9') ||
		    *c.p == 't' || *c.p == 'f' || *c.p == 'n') ?
		    ETL_SCAN_UNSURE : ETL_SCAN_INVALID;
	c.p++;
	ws(&c);
	if (c.p < c.e && *c.p == '}') {
		c.p++;
		goto end;
	}
	/* Records mostly hold no whitespace: each byte is tried before ws(). */
	for (;;) {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 32;
			s->f = erealloc(s->f, s->cap * sizeof(*s->f));
		}
		f = &s->f[s->n];
		if (onshape) {
			if (s->n < shape.n) {
				kl = shape.off[s->n + 1] - shape.off[s->n];
				if ((size_t)(c.e - c.p) >= kl &&
				    same(c.p, (const unsigned char *)shape.b.p +
				    shape.off[s->n], kl)) {
					f->key = (const char *)c.p + 1;
					f->klen = kl - 3;
					f->kh = shape.kh[s->n++];
					c.p += kl;
					goto value;
				}
			}
			/* Off the shape: its keys so far join the others. */
			onshape = 0;
			for (i = 0; i < s->n && dupsure; i++)
				if (twin(s, i, &budget) != 0)
					dupsure = 0;
		}
		if (c.p >= c.e || *c.p != '"') {
			ws(&c);
			if (c.p >= c.e || *c.p != '"')
				return ETL_SCAN_INVALID;
		}
		k = ++c.p;
		if (!short_string(&c)) {
			if (string(&c, &esc) != ETL_SCAN_OK)
				return ETL_SCAN_INVALID;
			if (esc)
				worst = ETL_SCAN_UNSURE;
		}
		s->n++;
		f->key = (const char *)k;
		f->klen = (size_t)(c.p - 1 - k);
		f->kh = etl_scan_keyhash(f->key, f->klen);
		if (dupsure && (r = twin(s, s->n - 1, &budget)) != 0) {
			if (r == 1)
				return ETL_SCAN_INVALID;
			dupsure = 0;
		}
		if (c.p < c.e && *c.p == ':')
			c.p++;
		else {
			ws(&c);
			if (c.p >= c.e || *c.p++ != ':')
				return ETL_SCAN_INVALID;
		}
value:
		ws(&c);
		v = c.p;
		f->esc = 0;
		if (c.p >= c.e)
			return ETL_SCAN_INVALID;
		/* Strings and numbers without a call to value(). */
		if (*c.p == '"') {
			f->type = 's';
			c.p++;
			r = short_string(&c) ? ETL_SCAN_OK : string(&c, &f->esc);
		} else if (DIGIT(*c.p) || *c.p == '-') {
			f->type = 'n';
			r = number(&c);
		} else
			r = value(&c, 1, &f->type, &f->esc);
		if (r == ETL_SCAN_INVALID)
			return r;
		if (r == ETL_SCAN_UNSURE) {
			/* A nested object: its end is jansson's business. */
			return ETL_SCAN_UNSURE;
		}
		if (f->type == 's') {
			f->val = (const char *)v + 1;
			f->vlen = (size_t)(c.p - v - 2);
		} else {
			f->val = (const char *)v;
			f->vlen = (size_t)(c.p - v);
		}
		if (c.p < c.e && *c.p == ',') {
			c.p++;
			continue;
		}
		ws(&c);
		if (c.p >= c.e)
			return ETL_SCAN_INVALID;
		if (*c.p == '}') {
			c.p++;
			break;
		}
		if (*c.p++ != ',')
			return ETL_SCAN_INVALID;
	}
end:
	ws(&c);
	if (c.p != c.e)
		return ETL_SCAN_INVALID;
	if (worst != ETL_SCAN_OK || !dupsure)
		return ETL_SCAN_UNSURE;
	/* On the shape, the keys are some of its own: all different. */
	if (!onshape)
		keep_shape(s);
	if (s->n == shape.n)
		s->shape = shape.gen;
	return ETL_SCAN_OK;
}

const struct etl_field *
etl_scan_get(const struct etl_scan *s, const char *k, size_t n)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->f[i].klen == n && memcmp(s->f[i].key, k, n) == 0)
			return &s->f[i];
	return NULL;
}

/*
 * Numbers of up to 15 significant digits and small exponents are exact
 * in a double, so one multiplication or division by an exact power of
 * ten rounds correctly (Clinger's fast path); the rest go to strtod.
 */
int
etl_scan_number(const struct etl_field *f, double *d)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
		1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
		1e21, 1e22
	};
	const char *p = f->val, *e = f->val + f->vlen;
	uint64_t m = 0;
	int neg = 0, nd = 0, scale = 0, ex = 0, exneg = 0;
	char tmp[64], *end;

	if (p < e && *p == '-')
		neg = 1, p++;
	while (p < e && *p == '0')
		p++;
	for (; p < e && *p >= '0' && *p <= '9'; p++, nd++)
		m = m * 10 + (uint64_t)(*p - '0');
	if (p < e && *p == '.') {
		for (p++; p < e && *p >= '0' && *p <= '9'; p++, scale++) {
			if (m == 0 && *p == '0') {
				continue;	/* leading zeros are not significant */
			}
			m = m * 10 + (uint64_t)(*p - '0');
			nd++;
		}
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			exneg = *p++ == '-';
		for (; p < e && *p >= '0' && *p <= '9' && ex < 1000; p++)
			ex = ex * 10 + (*p - '0');
	}
	if (p == e && nd <= 15) {
		int k = (exneg ? -ex : ex) - scale;

		if (k >= 0 && k <= 22) {
			*d = (double)m * pow10[k];
			if (neg)
				*d = -*d;
			return 0;
		}
		if (k < 0 && k >= -22) {
			*d = (double)m / pow10[-k];
			if (neg)
				*d = -*d;
			return 0;
		}
	}
	if (f->vlen < sizeof(tmp)) {
		memcpy(tmp, f->val, f->vlen);
		tmp[f->vlen] = '\0';
		*d = strtod(tmp, &end);
	} else {
		char *big = estrndup(f->val, f->vlen);

		*d = strtod(big, &end);
		free(big);
	}
	return *d - *d == 0 ? 0 : -1;
}

int
etl_scan_numeric(const struct etl_field *f, long long *ll, double *d)
{
	char tmp[24];

	if (memchr(f->val, '.', f->vlen) || memchr(f->val, 'e', f->vlen) ||
	    memchr(f->val, 'E', f->vlen))
		return etl_scan_number(f, d) == 0 ? 0 : -1;
	/* Up to 18 characters always fit; longer ones may not. */
	if (f->vlen > 18)
		return -1;
	memcpy(tmp, f->val, f->vlen);
	tmp[f->vlen] = '\0';
	*ll = strtoll(tmp, NULL, 10);
	*d = (double)*ll;
	return 1;
}

static void
put_utf8(struct etl_buf *b, unsigned u)
{
	if (u < 0x80)
		etl_buf_addc(b, (int)u);
	else if (u < 0x800) {
		etl_buf_addc(b, 0xc0 | (u >> 6));
		etl_buf_addc(b, 0x80 | (u & 0x3f));
	} else if (u < 0x10000) {
		etl_buf_addc(b, 0xe0 | (u >> 12));
		etl_buf_addc(b, 0x80 | ((u >> 6) & 0x3f));
		etl_buf_addc(b, 0x80 | (u & 0x3f));
	} else {
		etl_buf_addc(b, 0xf0 | (u >> 18));
		etl_buf_addc(b, 0x80 | ((u >> 12) & 0x3f));
		etl_buf_addc(b, 0x80 | ((u >> 6) & 0x3f));
		etl_buf_addc(b, 0x80 | (u & 0x3f));
	}
}

int
etl_scan_string(const struct etl_field *f, struct etl_buf *b)
{
	const unsigned char *p = (const unsigned char *)f->val;
	const unsigned char *e = p + f->vlen;
	unsigned u, lo;

	b->len = 0;
	if (!f->esc) {
		etl_buf_add(b, f->val, f->vlen);
		etl_buf_cstr(b);
		return 0;
	}
	while (p < e) {
		if (*p != '\\') {
			etl_buf_addc(b, *p++);
			continue;
		}
		switch (p[1]) {
		case 'b': etl_buf_addc(b, '\b'); break;
		case 'f': etl_buf_addc(b, '\f'); break;
		case 'n': etl_buf_addc(b, '\n'); break;
		case 'r': etl_buf_addc(b, '\r'); break;
		case 't': etl_buf_addc(b, '\t'); break;
		case 'u':
			hex4(p + 2, &u);
			p += 6;
			if (u >= 0xd800 && u <= 0xdbff) {
				hex4(p + 2, &lo);
				u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			if (u == 0)
				return -1;
			put_utf8(b, u);
			continue;
		default: etl_buf_addc(b, p[1]); break;
		}
		p += 2;
	}
	etl_buf_cstr(b);
	return 0;
}

json_t *
etl_scan_json(const struct etl_field *f)
{
	static struct etl_buf str;
	long long ll;
	double d;

	switch (f->type) {
	case 's':
		if (etl_scan_string(f, &str) == -1)
			return NULL;
		return json_stringn_nocheck(str.p, str.len);
	case 't':
		return json_true();
	case 'f':
		return json_false();
	case 'z':
		return json_null();
	case 'n':
		switch (etl_scan_numeric(f, &ll, &d)) {
		case 1:
			return json_integer(ll);
		case 0:
			return json_real(d);
		}
		return NULL;	/* may overflow: the full parser */
	}
	/* An array or object: its bytes are known to be good JSON. */
	return etl_json_parse(f->val, f->vlen, NULL);
}

void
etl_scan_free(struct etl_scan *s)
{
	free(s->f);
	s->f = NULL;
	s->n = s->cap = 0;
}

int
etl_scan_on(void)
{
	static int on = -1;
	const char *e;

	if (on == -1)
		on = (e = getenv("ETL_SCAN")) == NULL || strcmp(e, "0") != 0;
	return on;
}
