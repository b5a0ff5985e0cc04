/*
 * number.c - numbers out of human-typed text: any digit grouping,
 * multipliers, ranges, units of area, and the currency and period the
 * text names.  Digits are kept and scaled in decimal, so "0.5 acres" is
 * 2023.4282112 exactly; only the result becomes a double.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "etl.h"

#define DEC_MAX		1024
#define DIGITS_MAX	300

/* A decimal number: digits d[0..n) times 10^-scale. */
struct dec {
	char	d[DEC_MAX];
	size_t	n;
	int	scale;
	int	neg;
};

/* One number read out of the text. */
struct num {
	struct dec	v;
	int		mexp;		/* its multiplier's power of ten, 0: none */
	size_t		end;		/* the offset after it */
};

struct currency {
	const char	*text;
	const char	*iso;
};

/* Longest first where one is a prefix of another. */
static const struct currency symbols[] = {
	{ "US$", "USD" }, { "CA$", "CAD" }, { "AU$", "AUD" }, { "NZ$", "NZD" },
	{ "HK$", "HKD" }, { "MX$", "MXN" }, { "AR$", "ARS" }, { "CL$", "CLP" },
	{ "R$", "BRL" }, { "C$", "CAD" }, { "A$", "AUD" }, { "S$", "SGD" },
	{ "$", "USD" }, { "\xe2\x82\xac", "EUR" }, { "\xc2\xa3", "GBP" },
	{ "\xe2\x82\xb9", "INR" }, { "\xc2\xa5", "JPY" }, { "\xe2\x82\xa9", "KRW" },
	{ "\xe2\x82\xaa", "ILS" }, { "\xe2\x82\xba", "TRY" },
	{ "\xe2\x82\xbd", "RUB" }, { "z\xc5\x82", "PLN" }, { "K\xc4\x8d", "CZK" },
	{ "SFr.", "CHF" }, { "Fr.", "CHF" }, { "Rs.", "INR" }, { "Rs", "INR" },
	{ "euros", "EUR" }, { "euro", "EUR" }, { "Euros", "EUR" },
	{ "Euro", "EUR" },
	{ NULL, NULL }
};

static const char *const iso_codes[] = {
	"AED", "ARS", "AUD", "BGN", "BRL", "CAD", "CHF", "CLP", "CNY", "COP",
	"CZK", "DKK", "EUR", "GBP", "HKD", "HRK", "HUF", "IDR", "ILS", "INR",
	"ISK", "JPY", "KRW", "MAD", "MXN", "MYR", "NOK", "NZD", "PEN", "PHP",
	"PLN", "RON", "RUB", "SAR", "SEK", "SGD", "THB", "TND", "TRY", "TWD",
	"UAH", "USD", "VND", "XOF", "ZAR", NULL
};

struct mult {
	const char	*word;
	int		 exp;
	int		 exact_case;
};

static const struct mult mults[] = {
	{ "milliarden", 9, 0 }, { "milliarde", 9, 0 }, { "milliards", 9, 0 },
	{ "milliard", 9, 0 }, { "billions", 9, 0 }, { "billion", 9, 0 },
	{ "millionen", 6, 0 }, { "millions", 6, 0 }, { "million", 6, 0 },
	{ "tausend", 3, 0 }, { "mill", 6, 0 }, { "mrd", 9, 0 }, { "mia", 9, 0 },
	{ "mio", 6, 0 }, { "tsd", 3, 0 }, { "bn", 9, 0 }, { "mn", 6, 0 },
	{ "Md", 9, 1 }, { "M", 6, 1 }, { "k", 3, 0 },
	{ NULL, 0, 0 }
};

struct period {
	const char	*text;		/* folded; a letter at either end is a word's */
	const char	*period;
};

/*
 * What says a price is per day, week, month or year, in English, French,
 * German and Italian; longest first where one begins another.  The rent
 * words are monthly: rents are quoted by the month in these markets.
 */
static const struct period periods[] = {
	{ "/month", "month" }, { "/mois", "month" }, { "/monat", "month" },
	{ "/mese", "month" }, { "/mth", "month" }, { "/mon", "month" },
	{ "/mo", "month" }, { "p.m.", "month" }, { "p.m", "month" },
	{ "pm", "month" }, { "pcm", "month" }, { "per month", "month" },
	{ "a month", "month" }, { "monthly", "month" }, { "par mois", "month" },
	{ "mensuelle", "month" }, { "mensuel", "month" },
	{ "pro monat", "month" }, { "im monat", "month" },
	{ "monatlich", "month" }, { "mtl.", "month" }, { "mtl", "month" },
	{ "al mese", "month" }, { "mensile", "month" }, { "loyer", "month" },
	{ "kaltmiete", "month" }, { "warmmiete", "month" },
	{ "nettomiete", "month" }, { "bruttomiete", "month" },
	{ "mietzins", "month" }, { "miete", "month" }, { "affitto", "month" },
	{ "/week", "week" }, { "/wk", "week" }, { "/semaine", "week" },
	{ "/woche", "week" }, { "/settimana", "week" }, { "p.w.", "week" },
	{ "p.w", "week" }, { "pw", "week" }, { "per week", "week" },
	{ "a week", "week" }, { "weekly", "week" }, { "par semaine", "week" },
	{ "hebdomadaire", "week" }, { "pro woche", "week" },
	{ "wochentlich", "week" }, { "a settimana", "week" },
	{ "settimanale", "week" },
	{ "/year", "year" }, { "/yr", "year" }, { "/annee", "year" },
	{ "/an", "year" }, { "/jahr", "year" }, { "/anno", "year" },
	{ "p.a.", "year" }, { "p.a", "year" }, { "per annum", "year" },
	{ "per year", "year" }, { "a year", "year" }, { "yearly", "year" },
	{ "annually", "year" }, { "annual", "year" }, { "par an", "year" }, { "annuelle", "year" },
	{ "annuel", "year" }, { "pro jahr", "year" }, { "im jahr", "year" },
	{ "jahrlich", "year" }, { "all'anno", "year" }, { "annuo", "year" },
	{ "/day", "day" }, { "/night", "day" }, { "/jour", "day" },
	{ "/nuit", "day" }, { "/tag", "day" }, { "/nacht", "day" },
	{ "/giorno", "day" }, { "/notte", "day" }, { "per day", "day" },
	{ "a day", "day" }, { "per night", "day" }, { "a night", "day" },
	{ "daily", "day" }, { "par jour", "day" }, { "par nuit", "day" },
	{ "pro tag", "day" }, { "pro nacht", "day" }, { "taglich", "day" },
	{ "al giorno", "day" }, { "a notte", "day" },
	{ NULL, NULL }
};

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(int c)
{
	return (c | 32) >= 'a' && (c | 32) <= 'z';
}

static int
is_alnum(int c)
{
	return is_digit(c) || is_alpha(c);
}

static int
has_prefix(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && memcmp(s, p, k) == 0;
}

/* After a word: the end, ASCII punctuation, a space or a currency sign. */
static int
boundary(const char *s, size_t n)
{
	const struct currency *c;

	if (n == 0)
		return 1;
	if ((unsigned char)s[0] < 0x80)
		return !is_alnum(s[0]);
	if (etl_space_at(s, n))
		return 1;
	for (c = symbols; c->text; c++)
		if ((unsigned char)c->text[0] >= 0x80 && has_prefix(s, n, c->text))
			return 1;
	return 0;
}

/* Whether text at s[i..) of length k stands as a whole sign or word. */
static int
standalone(const char *s, size_t n, size_t i, const char *text, size_t k)
{
	if (is_alnum(text[0]) && i > 0 && is_alpha(s[i - 1]))
		return 0;
	if (is_alnum(text[k - 1]) && !boundary(s + i + k, n - i - k))
		return 0;
	return 1;
}

/*
 * The ISO code of the first currency sign or code in the text, or NULL.
 * The rule's signs (over: text -> code) come first where they match.
 */
static const char *
find_currency(const char *s, size_t n, const json_t *over)
{
	static unsigned char start[256];
	const struct currency *c;
	const char *key, *best;
	json_t *code;
	size_t i, k, bestk;

	if (!start['$'])
		for (c = symbols; c->text; c++)
			start[(unsigned char)c->text[0]] = 1;
	for (i = 0; i < n; i++) {
		int left = i == 0 || !isalpha((unsigned char)s[i - 1]);

		best = NULL;
		bestk = 0;
		if (over)
			json_object_foreach((json_t *)over, key, code) {
				k = strlen(key);
				if (k > bestk && has_prefix(s + i, n - i, key) &&
				    standalone(s, n, i, key, k)) {
					best = json_string_value(code);
					bestk = k;
				}
			}
		if (best)
			return best;
		if (!start[(unsigned char)s[i]] && !isupper((unsigned char)s[i]))
			continue;
		for (c = symbols; c->text; c++) {
			k = strlen(c->text);
			if (!has_prefix(s + i, n - i, c->text))
				continue;
			if (is_alnum(c->text[0]) &&
			    (!left || (is_alnum(c->text[k - 1]) &&
			    !boundary(s + i + k, n - i - k))))
				continue;
			return c->iso;
		}
		if (left && i + 3 <= n && isupper((unsigned char)s[i]) &&
		    isupper((unsigned char)s[i + 1]) &&
		    isupper((unsigned char)s[i + 2]) &&
		    (i + 3 == n || !isalpha((unsigned char)s[i + 3]))) {
			const char *const *iso;

			for (iso = iso_codes; *iso; iso++)
				if (memcmp(*iso, s + i, 3) == 0)
					return *iso;
		}
	}
	return NULL;
}

/*
 * The period of the first word or sign that names one, or NULL.  The
 * text is folded, and spaces around '/' and after '.' are dropped, so
 * "€ / Mo." and "p. m." read as "/mo" and "p.m.".
 */
static const char *
find_period(const char *s, size_t n)
{
	static struct etl_buf f, t;
	const struct period *p;
	const char *q;
	size_t i, k;

	etl_fold(&f, s, n);
	t.len = 0;
	for (i = 0; i < f.len; i++) {
		if (f.p[i] == ' ' && t.len > 0 &&
		    (t.p[t.len - 1] == '/' || t.p[t.len - 1] == '.' ||
		    t.p[t.len - 1] == ' '))
			continue;
		if (f.p[i] == '/' && t.len > 0 && t.p[t.len - 1] == ' ')
			t.len--;
		etl_buf_addc(&t, f.p[i]);
	}
	etl_buf_cstr(&t);
	q = t.p;
	for (i = 0; i < t.len; i++) {
		if (q[i] != '/' && !is_alpha(q[i]))
			continue;
		if (is_alpha(q[i]) && i > 0 && is_alpha(q[i - 1]))
			continue;
		for (p = periods; p->text; p++) {
			k = strlen(p->text);
			if (!has_prefix(q + i, t.len - i, p->text))
				continue;
			if (is_alpha(p->text[k - 1]) && i + k < t.len &&
			    is_alpha(q[i + k]))
				continue;
			return p->period;
		}
	}
	return NULL;
}

/* The kind of a separator at s: '\'', ' ', '.', ',' and its length. */
static int
sep_at(const char *s, size_t n, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;

	if (n == 0)
		return 0;
	*len = 1;
	if (p[0] == '\'' || p[0] == '.' || p[0] == ',')
		return p[0];
	if (p[0] == ' ')
		return ' ';
	if (n >= 2 && p[0] == 0xc2 && p[1] == 0xa0) {
		*len = 2;
		return ' ';
	}
	if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80) {
		*len = 3;
		if (p[2] == 0xaf || p[2] == 0x89)	/* U+202F, U+2009 */
			return ' ';
		if (p[2] == 0x99)			/* U+2019 */
			return '\'';
	}
	return 0;
}

/* A dash: "-", "–", "—", and its length. */
static size_t
dash_at(const char *s, size_t n)
{
	if (n >= 1 && s[0] == '-')
		return 1;
	if (n >= 3 && has_prefix(s, n, "\xe2\x80\x93"))
		return 3;
	if (n >= 3 && has_prefix(s, n, "\xe2\x80\x94"))
		return 3;
	return 0;
}

static size_t
skip_spaces(const char *s, size_t n, size_t i)
{
	size_t k;

	while ((k = etl_space_at(s + i, n - i)) != 0)
		i += k;
	return i;
}

/* ---- Decimal arithmetic ---- */

/* v *= the exact decimal f ("0.09290304", "1.5e-3"). */
static int
dec_mul(struct dec *v, const char *f)
{
	int a[DEC_MAX], prod[DEC_MAX + 32];
	char fd[32];
	size_t i, j, nf = 0, np;
	int fscale = 0, seen = 0, carry;

	for (; *f && *f != 'e' && *f != 'E'; f++) {
		if (*f == '.') {
			seen = 1;
			continue;
		}
		if (!is_digit(*f) || nf == sizeof(fd))
			return -1;
		fd[nf++] = *f;
		fscale += seen;
	}
	if (*f) {
		long e = strtol(f + 1, NULL, 10);

		if (e < -400 || e > 400)
			return -1;
		fscale -= (int)e;
	}
	np = v->n + nf;
	if (np > DEC_MAX || nf == 0)
		return -1;
	for (i = 0; i < v->n; i++)
		a[i] = v->d[i] - '0';
	memset(prod, 0, sizeof(prod[0]) * np);
	for (i = v->n; i-- > 0; )
		for (j = nf; j-- > 0; )
			prod[i + j + 1] += a[i] * (fd[j] - '0');
	for (carry = 0, i = np; i-- > 0; ) {
		prod[i] += carry;
		carry = prod[i] / 10;
		prod[i] %= 10;
	}
	for (i = 0; i < np; i++)
		v->d[i] = (char)('0' + prod[i]);
	v->n = np;
	v->scale += fscale;
	return 0;
}

/* Pads with zeros so that scale is at least s (>= 0): 0, or -1 too long. */
static int
dec_rescale(struct dec *v, int s)
{
	size_t z;

	if (v->scale < 0) {
		z = (size_t)-v->scale;
		if (v->n + z > DEC_MAX)
			return -1;
		memset(v->d + v->n, '0', z);
		v->n += z;
		v->scale = 0;
	}
	if (v->scale < s) {
		z = (size_t)(s - v->scale);
		if (v->n + z > DEC_MAX)
			return -1;
		memset(v->d + v->n, '0', z);
		v->n += z;
		v->scale = s;
	}
	return 0;
}

/* Both at the same scale, at least 0. */
static int
dec_align(struct dec *a, struct dec *b)
{
	int s = a->scale > b->scale ? a->scale : b->scale;

	if (s < 0)
		s = 0;
	return dec_rescale(a, s) == 0 && dec_rescale(b, s) == 0 ? 0 : -1;
}

/* |a| <=> |b| for aligned numbers. */
static int
mag_cmp(const struct dec *a, const struct dec *b)
{
	size_t la = 0, lb = 0;
	int r;

	while (la < a->n && a->d[la] == '0')
		la++;
	while (lb < b->n && b->d[lb] == '0')
		lb++;
	if (a->n - la != b->n - lb)
		return a->n - la < b->n - lb ? -1 : 1;
	r = memcmp(a->d + la, b->d + lb, a->n - la);
	return r < 0 ? -1 : r > 0;
}

static int
is_zero(const struct dec *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (v->d[i] != '0')
			return 0;
	return 1;
}

/* a <=> b for aligned numbers. */
static int
dec_cmp(const struct dec *a, const struct dec *b)
{
	int na = a->neg && !is_zero(a), nb = b->neg && !is_zero(b);

	if (na != nb)
		return na ? -1 : 1;
	return na ? -mag_cmp(a, b) : mag_cmp(a, b);
}

/* a += b for aligned numbers: 0, or -1 when too long. */
static int
dec_add(struct dec *a, const struct dec *b)
{
	static struct dec r;
	const struct dec *big, *small;
	size_t n = (a->n > b->n ? a->n : b->n) + 1, i;
	int carry = 0, x, sub = a->neg != b->neg;

	if (n > DEC_MAX)
		return -1;
	big = a;
	small = b;
	if (sub && mag_cmp(a, b) < 0) {
		big = b;
		small = a;
	}
	for (i = 0; i < n; i++) {
		int db = i < big->n ? big->d[big->n - 1 - i] - '0' : 0;
		int ds = i < small->n ? small->d[small->n - 1 - i] - '0' : 0;

		x = sub ? db - ds - carry : db + ds + carry;
		carry = sub ? x < 0 : x >= 10;
		x = sub ? (x + 10) % 10 : x % 10;
		r.d[n - 1 - i] = (char)('0' + x);
	}
	r.n = n;
	r.scale = a->scale;
	r.neg = big->neg;
	*a = r;
	return 0;
}

/* The number as JSON (new reference): an integer when integral. */
static json_t *
dec_json(struct dec *v, int want_int, const char **why)
{
	char s[DEC_MAX + 64], *p;
	size_t ni, nf, i, lead;
	double d;

	if (dec_rescale(v, 0) == -1) {
		*why = "out of range";
		return NULL;
	}
	/* Integer digits ni, fraction digits nf of d[0..n) at scale. */
	if ((size_t)v->scale > v->n) {
		size_t z = (size_t)v->scale - v->n;

		if (v->n + z > DEC_MAX) {
			*why = "out of range";
			return NULL;
		}
		memmove(v->d + z, v->d, v->n);
		memset(v->d, '0', z);
		v->n += z;
	}
	ni = v->n - (size_t)v->scale;
	nf = (size_t)v->scale;
	while (nf > 0 && v->d[ni + nf - 1] == '0')
		nf--;
	for (lead = 0; lead < ni && v->d[lead] == '0'; lead++)
		;
	if (nf == 0) {
		if (ni - lead <= 18) {
			json_int_t x = 0;

			for (i = lead; i < ni; i++)
				x = x * 10 + (v->d[i] - '0');
			return json_integer(v->neg ? -x : x);
		}
		if (want_int) {
			*why = "out of range for an integer";
			return NULL;
		}
	} else if (want_int) {
		*why = "not an integer";
		return NULL;
	}
	p = s;
	if (v->neg)
		*p++ = '-';
	if (ni == lead)
		*p++ = '0';
	memcpy(p, v->d + lead, ni - lead);
	p += ni - lead;
	if (nf) {
		*p++ = '.';
		memcpy(p, v->d + ni, nf);
		p += nf;
	}
	*p = '\0';
	d = strtod(s, NULL);
	if (!isfinite(d)) {
		*why = "out of range";
		return NULL;
	}
	if (d == floor(d) && fabs(d) < 9.2e18)
		return json_integer((json_int_t)d);
	return json_real(d);
}

/* ---- Reading ---- */

/*
 * Reads the number whose first digit is at s[p]: its digit groups, the
 * decimal mark, a dash for no cents, an exponent and (mults) a
 * multiplier.  0, else -1 with *why.
 */
static int
scan(const char *s, size_t n, size_t p, char decimal, int mults_ok,
    struct num *x, const char **why)
{
	struct dec *v = &x->v;
	size_t gs[64], gl[64], sl, i, j, ng = 0, nsep, k;
	int kind[64], dec = 0, gkind = 0, ndec = 0, west, indian;
	const struct mult *m;

	memset(x, 0, sizeof(*x));
	/* Digit groups and the separators between them. */
	i = p;
	for (;;) {
		gs[ng] = i;
		while (i < n && is_digit(s[i]))
			i++;
		gl[ng] = i - gs[ng];
		ng++;
		if (ng == 64)
			break;
		k = sep_at(s + i, n - i, &sl);
		if (k == 0 || i + sl >= n || !is_digit(s[i + sl]))
			break;
		if (k == ' ') {
			for (j = i + sl; j < n && is_digit(s[j]); j++)
				;
			if (j - (i + sl) != 3)
				break;
		}
		kind[ng] = (int)k;
		i += sl;
	}
	nsep = ng - 1;
	if (decimal) {
		dec = decimal;
	} else if (nsep > 0 && (kind[nsep] == '.' || kind[nsep] == ',')) {
		int other = 0;

		for (j = 1; j < nsep; j++)
			if (kind[j] != kind[nsep])
				other = 1;
		if (other)
			dec = kind[nsep];
		else if (nsep == 1 && (gl[1] != 3 || gl[0] > 3 ||
		    (gl[0] == 1 && s[gs[0]] == '0')))
			dec = kind[nsep];
	}
	for (j = 1; j <= nsep; j++) {
		if (kind[j] == dec) {
			if (j != nsep || ++ndec > 1) {
				*why = "malformed digit grouping";
				return -1;
			}
		} else if (gkind == 0)
			gkind = kind[j];
		else if (kind[j] != gkind) {
			*why = "malformed digit grouping";
			return -1;
		}
	}
	if (gkind) {
		size_t last = ndec ? nsep - 1 : nsep;

		west = gl[0] <= 3;
		indian = gl[0] <= 2 && gl[last] == 3 && last >= 2;
		for (j = 1; j <= last; j++) {
			if (gl[j] != 3)
				west = 0;
			if (j < last && gl[j] != 2)
				indian = 0;
		}
		if (!west && !indian) {
			*why = "malformed digit grouping";
			return -1;
		}
	}
	for (j = 0; j < ng; j++) {
		if (v->n + gl[j] > DIGITS_MAX) {
			*why = "too many digits";
			return -1;
		}
		memcpy(v->d + v->n, s + gs[j], gl[j]);
		v->n += gl[j];
		if (ndec && j == nsep)
			v->scale = (int)gl[j];
	}
	/* "1'250'000.–": no cents */
	if (!ndec && i + 1 < n && (s[i] == '.' || s[i] == ',') &&
	    (k = dash_at(s + i + 1, n - i - 1)) != 0) {
		i += 1 + k;
		if ((k = dash_at(s + i, n - i)) != 0)
			i += k;
	}
	/* An exponent, only after a plain number: "1.2E+06". */
	if (nsep <= (size_t)ndec && i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t e = i + 1;
		int sign = 1, ex = 0;

		if (e < n && (s[e] == '+' || s[e] == '-'))
			sign = s[e++] == '-' ? -1 : 1;
		if (e < n && is_digit(s[e])) {
			while (e < n && is_digit(s[e]) && ex < 10000)
				ex = ex * 10 + (s[e++] - '0');
			if (boundary(s + e, n - e)) {
				v->scale -= sign * ex;
				i = e;
			}
		}
	}
	/* A multiplier after optional spaces: "1.2 Mio", "5k". */
	j = skip_spaces(s, n, i);
	for (m = mults; mults_ok && m->word; m++) {
		size_t wl = strlen(m->word);

		if (n - j < wl)
			continue;
		if (m->exact_case ? memcmp(s + j, m->word, wl) != 0 :
		    strncasecmp(s + j, m->word, wl) != 0)
			continue;
		if (!boundary(s + j + wl, n - j - wl))
			continue;
		v->scale -= m->exp;
		x->mexp = m->exp;
		i = j + wl;
		break;
	}
	x->end = i;
	return 0;
}

/*
 * After a number at s[i..): where the second number of a range starts
 * ("2100 - 2850", "2100–2850", "2100 to 2850", "bis", "à"), or 0.
 */
static size_t
range_at(const char *s, size_t n, size_t i)
{
	static const char *const words[] = { "to", "bis", "\xc3\xa0", NULL };
	size_t j = skip_spaces(s, n, i), k, w;

	if ((k = dash_at(s + j, n - j)) != 0)
		j += k;
	else {
		for (w = 0; words[w]; w++)
			if (has_prefix(s + j, n - j, words[w]) &&
			    (k = strlen(words[w]), etl_space_at(s + j + k, n - j - k)))
				break;
		if (words[w] == NULL)
			return 0;
		j += k;
	}
	j = skip_spaces(s, n, j);
	return j < n && is_digit(s[j]) ? j : 0;
}

/* A byte that may begin (first) or continue a unit's word at s. */
static size_t
unit_char(const char *s, size_t n, int first)
{
	unsigned c = (unsigned char)s[0];
	size_t k;

	if (c < 0x80)
		return is_alpha((int)c) || (!first && (is_digit((int)c) ||
		    c == '^')) ? 1 : 0;
	if (etl_space_at(s, n))
		return 0;
	c = etl_utf8_get((const unsigned char *)s, n, &k);
	if (c >= 0x2000 && c <= 0x206f)		/* dashes, quotes, bullets */
		return 0;
	return k;
}

/*
 * The unit of area after a number at s[i..): 1 with its m² factor and
 * *end, 0 for none (a bare number), -1 for a word that is no unit
 * (r->msg names it).  Up to three words, so "Sq. Meter" and "square
 * feet" read, and "120 m2 Wohnfläche" is m².
 */
static int
unit_at(const char *s, size_t n, size_t i, const struct etl_numopt *o,
    const char **fac, size_t *end, struct etl_number *r)
{
	static struct etl_buf key;
	size_t ws[3], we[3], nw = 0, j = skip_spaces(s, n, i), k, w, wl;

	while (nw < 3 && j < n && (k = unit_char(s + j, n - j, 1)) != 0) {
		ws[nw] = j;
		j += k;
		while (j < n && (k = unit_char(s + j, n - j, 0)) != 0)
			j += k;
		we[nw++] = j;
		while (j < n && (s[j] == '.' || etl_space_at(s + j, n - j)))
			j += s[j] == '.' ? 1 : etl_space_at(s + j, n - j);
	}
	if (nw == 0)
		return 0;
	for (w = nw; w >= 1; w--) {
		etl_unit_key(&key, s + ws[0], we[w - 1] - ws[0]);
		if ((*fac = etl_unit_find(o->units, key.p)) == NULL)
			continue;
		*end = we[w - 1];
		return 1;
	}
	wl = we[0] - ws[0] > 40 ? 40 : we[0] - ws[0];
	snprintf(r->msg, sizeof(r->msg), "unknown unit \"%.*s\"", (int)wl,
	    s + ws[0]);
	return -1;
}

int
etl_number_read(const char *s, size_t n, const struct etl_numopt *o,
    struct etl_number *r)
{
	static struct num a, b;
	const char *fa = NULL, *fb = NULL;
	size_t p, i, j, end;
	int neg = 0, k;

	memset(r, 0, sizeof(*r));
	for (p = 0; p < n && !is_digit(s[p]); p++)
		;
	if (p == n) {
		r->why = "no number in the text";
		return -1;
	}
	if ((p >= 1 && s[p - 1] == '-' && (p == 1 || !is_alnum(s[p - 2]))) ||
	    (p >= 3 && has_prefix(s + p - 3, 3, "\xe2\x88\x92")))
		neg = 1;
	if (scan(s, n, p, o->decimal, !o->area, &a, &r->why) == -1)
		return -1;
	a.v.neg = neg;
	i = a.end;
	j = range_at(s, n, i);
	if (!j && o->area) {
		if ((k = unit_at(s, n, i, o, &fa, &end, r)) == -1)
			goto unknown;
		if (k == 1)
			j = range_at(s, n, i = end);
	}
	if (j) {
		if (scan(s, n, j, o->decimal, !o->area, &b, &r->why) == -1)
			return -1;
		i = b.end;
		if (o->area && (k = unit_at(s, n, i, o, &fb, &end, r)) == -1)
			goto unknown;
		/* "1.2 - 1.5 Mio", "2100 - 2850 sq ft": both */
		if (a.mexp == 0)
			a.v.scale -= b.mexp;
		if (fa == NULL)
			fa = fb;
		if (fb == NULL)
			fb = fa;
	}
	if (o->area) {
		if (fa == NULL)
			fa = fb = o->bare ? o->bare : "1";
		if ((strcmp(fa, "1") != 0 && dec_mul(&a.v, fa) == -1) ||
		    (j && strcmp(fb, "1") != 0 && dec_mul(&b.v, fb) == -1)) {
			r->why = "too many digits";
			return -1;
		}
	}
	if (j) {
		if (o->range == ETL_RANGE_REJECT) {
			r->why = "a range: set the rule's \"range\" to \"min\", "
			    "\"max\" or \"mean\" to take one";
			return -1;
		}
		if (dec_align(&a.v, &b.v) == -1) {
			r->why = "out of range";
			return -1;
		}
		if (o->range == ETL_RANGE_MIN) {
			if (dec_cmp(&b.v, &a.v) < 0)
				a.v = b.v;
		} else if (o->range == ETL_RANGE_MAX) {
			if (dec_cmp(&b.v, &a.v) > 0)
				a.v = b.v;
		} else if (dec_add(&a.v, &b.v) == -1 || dec_mul(&a.v, "0.5") == -1) {
			r->why = "too many digits";
			return -1;
		}
	}
	if ((r->value = dec_json(&a.v, o->integer, &r->why)) == NULL)
		return -1;
	if (o->currency)
		r->currency = find_currency(s, n, o->symbols);
	if (o->period)
		r->period = find_period(s, n);
	return 0;
unknown:
	r->why = r->msg;
	return -1;
}
