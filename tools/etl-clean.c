/*
 * etl-clean - normalises records by a JSON rules file: renames fields,
 * reads numbers, areas, categories and dates out of human-typed text,
 * derives fields, projects and deduplicates.  Records the rules leave
 * unchanged pass byte for byte; a value that cannot be read is a reject.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
	char		 decimal;	/* '.' or ',', 0 to guess */
	int		 unit_m2;
	int		 tcase;		/* 0, 'l' or 'u' */
	json_t		*map;		/* folded key -> value (owned) */
	const char	**formats;
	size_t		 nformats;
	enum onerr	 on_error;
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

/* ---- UTF-8 and Latin case folding ---- */

/* Decodes one code point; invalid bytes come back as themselves. */
static unsigned
utf8_get(const unsigned char *s, size_t n, size_t *len)
{
	unsigned c = s[0];

	if (c >= 0xc2 && c <= 0xdf && n >= 2 && (s[1] & 0xc0) == 0x80) {
		*len = 2;
		return (c & 0x1f) << 6 | (s[1] & 0x3f);
	}
	if (c >= 0xe0 && c <= 0xef && n >= 3 && (s[1] & 0xc0) == 0x80 &&
	    (s[2] & 0xc0) == 0x80) {
		*len = 3;
		return (c & 0x0f) << 12 | (s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	}
	if (c >= 0xf0 && c <= 0xf4 && n >= 4 && (s[1] & 0xc0) == 0x80 &&
	    (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80) {
		*len = 4;
		return (c & 0x07) << 18 | (s[1] & 0x3f) << 12 |
		    (s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	}
	*len = 1;
	return c;
}

static void
utf8_put(struct etl_buf *b, unsigned c)
{
	if (c < 0x80)
		etl_buf_addc(b, (int)c);
	else if (c < 0x800) {
		etl_buf_addc(b, (int)(0xc0 | c >> 6));
		etl_buf_addc(b, (int)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		etl_buf_addc(b, (int)(0xe0 | c >> 12));
		etl_buf_addc(b, (int)(0x80 | (c >> 6 & 0x3f)));
		etl_buf_addc(b, (int)(0x80 | (c & 0x3f)));
	} else {
		etl_buf_addc(b, (int)(0xf0 | c >> 18));
		etl_buf_addc(b, (int)(0x80 | (c >> 12 & 0x3f)));
		etl_buf_addc(b, (int)(0x80 | (c >> 6 & 0x3f)));
		etl_buf_addc(b, (int)(0x80 | (c & 0x3f)));
	}
}

/* Latin-1, Latin Extended-A and -Additional, Greek and Cyrillic. */
static unsigned
cp_lower(unsigned c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 0x20;
	if (c >= 0x100 && c <= 0x17f) {
		if (c == 0x130)
			return 'i';
		if (c == 0x178)
			return 0xff;
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return c & 1 ? c + 1 : c;
		if (c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17f)
			return c;
		return c & 1 ? c : c + 1;
	}
	if (c >= 0x218 && c <= 0x21b)
		return c | 1;
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 0x20;
	if (c == 0x386)
		return 0x3ac;
	if (c >= 0x388 && c <= 0x38a)
		return c + 0x25;
	if (c == 0x38c)
		return 0x3cc;
	if (c == 0x38e || c == 0x38f)
		return c + 0x3f;
	if (c >= 0x410 && c <= 0x42f)
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	if ((c >= 0x1e00 && c <= 0x1e95) || (c >= 0x1ea0 && c <= 0x1eff))
		return c | 1;
	return c;
}

static unsigned
cp_upper(unsigned c)
{
	if (c < 0x80)
		return c >= 'a' && c <= 'z' ? c - 32 : c;
	if (c >= 0xe0 && c <= 0xfe && c != 0xf7)
		return c - 0x20;
	if (c == 0xff)
		return 0x178;
	if (c >= 0x100 && c <= 0x17f) {
		if (c == 0x131)
			return 'I';
		if (c == 0x17f)
			return 'S';
		if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
			return c & 1 ? c : c - 1;
		if (c == 0x130 || c == 0x138 || c == 0x149 || c == 0x178)
			return c;
		return c & 1 ? c - 1 : c;
	}
	if (c >= 0x218 && c <= 0x21b)
		return c & ~1u;
	if (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2)
		return c - 0x20;
	if (c == 0x3c2)
		return 0x3a3;
	if (c == 0x3ac)
		return 0x386;
	if (c >= 0x3ad && c <= 0x3af)
		return c - 0x25;
	if (c == 0x3cc)
		return 0x38c;
	if (c == 0x3cd || c == 0x3ce)
		return c - 0x3f;
	if (c >= 0x430 && c <= 0x44f)
		return c - 0x20;
	if (c >= 0x450 && c <= 0x45f)
		return c - 0x50;
	if ((c >= 0x1e00 && c <= 0x1e95) || (c >= 0x1ea0 && c <= 0x1eff))
		return c & ~1u;
	return c;
}

/* The unaccented lower-case ASCII of U+00C0 to U+017F ("" keeps it). */
static const char *const latin_fold[] = {
	/* C0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
	/* C8 */ "e", "e", "e", "e", "i", "i", "i", "i",
	/* D0 */ "d", "n", "o", "o", "o", "o", "o", "",
	/* D8 */ "o", "u", "u", "u", "u", "y", "th", "ss",
	/* E0 */ "a", "a", "a", "a", "a", "a", "ae", "c",
	/* E8 */ "e", "e", "e", "e", "i", "i", "i", "i",
	/* F0 */ "d", "n", "o", "o", "o", "o", "o", "",
	/* F8 */ "o", "u", "u", "u", "u", "y", "th", "y",
	/* 100 */ "a", "a", "a", "a", "a", "a", "c", "c",
	/* 108 */ "c", "c", "c", "c", "c", "c", "d", "d",
	/* 110 */ "d", "d", "e", "e", "e", "e", "e", "e",
	/* 118 */ "e", "e", "e", "e", "g", "g", "g", "g",
	/* 120 */ "g", "g", "g", "g", "h", "h", "h", "h",
	/* 128 */ "i", "i", "i", "i", "i", "i", "i", "i",
	/* 130 */ "i", "i", "ij", "ij", "j", "j", "k", "k",
	/* 138 */ "k", "l", "l", "l", "l", "l", "l", "l",
	/* 140 */ "l", "l", "l", "n", "n", "n", "n", "n",
	/* 148 */ "n", "n", "n", "n", "o", "o", "o", "o",
	/* 150 */ "o", "o", "oe", "oe", "r", "r", "r", "r",
	/* 158 */ "r", "r", "s", "s", "s", "s", "s", "s",
	/* 160 */ "s", "s", "t", "t", "t", "t", "t", "t",
	/* 168 */ "u", "u", "u", "u", "u", "u", "u", "u",
	/* 170 */ "u", "u", "u", "u", "w", "w", "y", "y",
	/* 178 */ "y", "z", "z", "z", "z", "z", "z", "s",
};

/* Spaces trimmed around values and map keys; the length, 0 if none. */
static size_t
space_at(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	if (n == 0)
		return 0;
	if (p[0] == ' ' || p[0] == '\t' || p[0] == '\n' || p[0] == '\r' ||
	    p[0] == '\v' || p[0] == '\f')
		return 1;
	if (n >= 2 && p[0] == 0xc2 && p[1] == 0xa0)
		return 2;
	if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80 &&
	    ((p[2] >= 0x80 && p[2] <= 0x8b) || p[2] == 0xaf))
		return 3;
	if (n >= 3 && p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		return 3;
	return 0;
}

/* The space at the end of s[0..n), its length or 0. */
static size_t
space_before(const char *s, size_t n)
{
	size_t k;

	for (k = 1; k <= 3 && k <= n; k++)
		if (space_at(s + n - k, k) == k)
			return k;
	return 0;
}

static void
trim(const char **s, size_t *n)
{
	size_t k;

	while ((k = space_at(*s, *n)) != 0) {
		*s += k;
		*n -= k;
	}
	while ((k = space_before(*s, *n)) != 0)
		*n -= k;
}

/* Trimmed, lower-cased and stripped of accents: how map keys compare. */
static void
fold(struct etl_buf *b, const char *s, size_t n)
{
	const unsigned char *p;
	size_t i, k;
	unsigned c;

	b->len = 0;
	trim(&s, &n);
	p = (const unsigned char *)s;
	for (i = 0; i < n; i += k) {
		if (p[i] < 0x80) {
			k = 1;
			etl_buf_addc(b, p[i] >= 'A' && p[i] <= 'Z' ?
			    p[i] + 32 : p[i]);
			continue;
		}
		c = utf8_get(p + i, n - i, &k);
		if (c >= 0x300 && c <= 0x36f)
			continue;	/* combining accents */
		if (c >= 0xc0 && c <= 0x17f && *latin_fold[c - 0xc0]) {
			etl_buf_adds(b, latin_fold[c - 0xc0]);
			continue;
		}
		if (c == 0x218 || c == 0x219) {
			etl_buf_addc(b, 's');
			continue;
		}
		if (c == 0x21a || c == 0x21b) {
			etl_buf_addc(b, 't');
			continue;
		}
		if (k == 1)
			etl_buf_addc(b, (int)c);
		else
			utf8_put(b, cp_lower(c));
	}
	etl_buf_cstr(b);
}

static void
recase(struct etl_buf *b, const char *s, size_t n, int how)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, k;
	unsigned c;

	b->len = 0;
	for (i = 0; i < n; i += k) {
		c = utf8_get(p + i, n - i, &k);
		if (k == 1 && c >= 0x80)
			etl_buf_addc(b, (int)c);
		else
			utf8_put(b, how == 'l' ? cp_lower(c) : cp_upper(c));
	}
	etl_buf_cstr(b);
}

/* ---- Numbers ---- */

#define DEC_MAX		1024
#define DIGITS_MAX	300

/* A decimal number: digits d[0..n) times 10^-scale. */
struct dec {
	char	d[DEC_MAX];
	size_t	n;
	int	scale;
	int	neg;
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

struct unit {
	const char	*word;		/* folded, words joined */
	const char	*factor;	/* m² per unit, exact */
};

static const struct unit units[] = {
	{ "m2", "1" }, { "sqm", "1" }, { "qm", "1" }, { "mq", "1" },
	{ "sqmeter", "1" }, { "sqmeters", "1" }, { "sqmetre", "1" },
	{ "sqmetres", "1" }, { "squaremeter", "1" }, { "squaremeters", "1" },
	{ "squaremetre", "1" }, { "squaremetres", "1" }, { "metrecarre", "1" },
	{ "metrescarres", "1" }, { "metercarre", "1" },
	{ "ft2", "0.09290304" }, { "sqft", "0.09290304" },
	{ "sf", "0.09290304" }, { "squarefoot", "0.09290304" },
	{ "squarefeet", "0.09290304" }, { "sqfeet", "0.09290304" },
	{ "yd2", "0.83612736" }, { "sqyd", "0.83612736" },
	{ "sqyard", "0.83612736" }, { "sqyards", "0.83612736" },
	{ "squareyard", "0.83612736" }, { "squareyards", "0.83612736" },
	{ "acre", "4046.8564224" }, { "acres", "4046.8564224" },
	{ "ac", "4046.8564224" },
	{ "ha", "10000" }, { "hectare", "10000" }, { "hectares", "10000" },
	{ "km2", "1000000" },
	{ NULL, NULL }
};

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(int c)
{
	return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
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
	if (space_at(s, n))
		return 1;
	for (c = symbols; c->text; c++)
		if ((unsigned char)c->text[0] >= 0x80 && has_prefix(s, n, c->text))
			return 1;
	return 0;
}

/* The ISO code of the first currency sign or code in the text, or NULL. */
static const char *
find_currency(const char *s, size_t n)
{
	static unsigned char start[256];
	const struct currency *c;
	size_t i, k;

	if (!start['$'])
		for (c = symbols; c->text; c++)
			start[(unsigned char)c->text[0]] = 1;
	for (i = 0; i < n; i++) {
		int left = i == 0 || !isalpha((unsigned char)s[i - 1]);

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

/* A dash for zero cents: "-", "–", "—", and its length. */
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

static void
dec_shift(struct dec *v, int e)
{
	v->scale -= e;
}

/* v *= the exact decimal f ("0.09290304"). */
static int
dec_mul(struct dec *v, const char *f)
{
	int a[DEC_MAX], prod[DEC_MAX + 32];
	char fd[32];
	size_t i, j, nf = 0, np;
	int fscale = 0, seen = 0, carry;

	for (; *f; f++) {
		if (*f == '.') {
			seen = 1;
			continue;
		}
		fd[nf++] = *f;
		fscale += seen;
	}
	np = v->n + nf;
	if (np > DEC_MAX)
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

/* The number as JSON (new reference): an integer when integral. */
static json_t *
dec_json(struct dec *v, int want_int, const char **why)
{
	char s[DEC_MAX + 64], *p;
	size_t ni, nf, i, lead;
	double d;

	/* Integer digits ni, fraction digits nf of d[0..n) at scale. */
	if (v->scale < 0) {
		if (v->n + (size_t)-v->scale > DEC_MAX) {
			*why = "out of range";
			return NULL;
		}
		memset(v->d + v->n, '0', (size_t)-v->scale);
		v->n += (size_t)-v->scale;
		v->scale = 0;
	}
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

/* The m² factor of the unit written at s, or NULL for none. */
static const char *
unit_factor(const char *s, size_t n)
{
	char words[3][24];
	char joined[80];
	const struct unit *u;
	size_t i, k, nw = 0, wl = 0;
	int w;

	fold(&tbuf, s, n);
	s = tbuf.p;
	n = tbuf.len;
	i = 0;
	while (i < n && nw < 3) {
		while (i < n && !(is_alnum(s[i]) || has_prefix(s + i, n - i, "\xc2\xb2")))
			if (s[i] == ' ' || s[i] == '.' || s[i] == '^' || s[i] == '-' ||
			    (unsigned char)s[i] >= 0x80)
				i++;
			else
				goto done;
		if (i == n)
			break;
		wl = 0;
		while (i < n && wl < sizeof(words[0]) - 1) {
			if (is_alnum(s[i]))
				words[nw][wl++] = s[i++];
			else if (has_prefix(s + i, n - i, "\xc2\xb2")) {
				words[nw][wl++] = '2';
				i += 2;
			} else
				break;
		}
		words[nw++][wl] = '\0';
	}
done:
	for (w = (int)nw; w >= 1; w--) {
		joined[0] = '\0';
		for (k = 0; k < (size_t)w; k++)
			strcat(joined, words[k]);
		for (u = units; u->word; u++)
			if (strcmp(u->word, joined) == 0)
				return u->factor;
	}
	return NULL;
}

/*
 * Reads the first number out of s: 0 with *out (new reference) and the
 * currency found, else -1 with *why.
 */
static int
read_number(const char *s, size_t n, const struct field *f, json_t **out,
    const char **cur, const char **why)
{
	struct dec v;
	size_t gs[64], gl[64], sl, i, j, p, ng = 0, nsep, k;
	int kind[64], dec = 0, gkind = 0, ndec = 0, west, indian;
	const struct mult *m;
	const char *fac;

	*cur = NULL;
	for (p = 0; p < n && !is_digit(s[p]); p++)
		;
	if (p == n) {
		*why = "no number in the text";
		return -1;
	}
	memset(&v, 0, sizeof(v));
	if ((p >= 1 && s[p - 1] == '-' && (p == 1 || !is_alnum(s[p - 2]))) ||
	    (p >= 3 && has_prefix(s + p - 3, 3, "\xe2\x88\x92")))
		v.neg = 1;
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
	if (f->decimal) {
		dec = f->decimal;
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
		if (v.n + gl[j] > DIGITS_MAX) {
			*why = "too many digits";
			return -1;
		}
		memcpy(v.d + v.n, s + gs[j], gl[j]);
		v.n += gl[j];
		if (ndec && j == nsep)
			v.scale = (int)gl[j];
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
		int sign = 1, x = 0;

		if (e < n && (s[e] == '+' || s[e] == '-'))
			sign = s[e++] == '-' ? -1 : 1;
		if (e < n && is_digit(s[e])) {
			while (e < n && is_digit(s[e]) && x < 10000)
				x = x * 10 + (s[e++] - '0');
			if (boundary(s + e, n - e)) {
				dec_shift(&v, sign * x);
				i = e;
			}
		}
	}
	/* A multiplier after optional spaces: "1.2 Mio", "5k". */
	j = i;
	while ((k = space_at(s + j, n - j)) != 0)
		j += k;
	for (m = mults; m->word; m++) {
		size_t wl = strlen(m->word);

		if (n - j < wl)
			continue;
		if (m->exact_case ? memcmp(s + j, m->word, wl) != 0 :
		    strncasecmp(s + j, m->word, wl) != 0)
			continue;
		if (!boundary(s + j + wl, n - j - wl))
			continue;
		dec_shift(&v, m->exp);
		i = j + wl;
		break;
	}
	if (f->unit_m2 && (fac = unit_factor(s + i, n - i)) != NULL &&
	    strcmp(fac, "1") != 0 && dec_mul(&v, fac) == -1) {
		*why = "too many digits";
		return -1;
	}
	if ((*out = dec_json(&v, f->type == T_INTEGER, why)) == NULL)
		return -1;
	if (f->currency_field)
		*cur = find_currency(s, n);
	return 0;
}

/* ---- Dates ---- */

static int
tm_date(const struct tm *tm, int *y, int *m, int *d)
{
	*y = tm->tm_year + 1900;
	*m = tm->tm_mon + 1;
	*d = tm->tm_mday;
	return *y >= 1 && *y <= 9999 && *m >= 1 && *m <= 12 && *d >= 1 &&
	    *d <= etl_mdays(*y, *m) ? 0 : -1;
}

/* Tries each format; 0 with the broken-down time, -1 if none matches. */
static int
try_formats(const struct field *f, const char *s, struct tm *tm,
    int *impossible)
{
	const char *e;
	size_t i, rest;
	int y, m, d;

	for (i = 0; i < f->nformats; i++) {
		memset(tm, 0, sizeof(*tm));
		tm->tm_mday = 1;
		tm->tm_year = -1900 - 1;	/* no year: invalid */
		if ((e = strptime(s, f->formats[i], tm)) == NULL)
			continue;
		rest = strlen(e);
		trim(&e, &rest);
		if (rest != 0)
			continue;
		if (tm_date(tm, &y, &m, &d) == -1) {
			*impossible = 1;
			continue;
		}
		if (tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60) {
			*impossible = 1;
			continue;
		}
		return 0;
	}
	return -1;
}

static json_t *
read_date(const struct field *f, const char *s, size_t n, const char **why)
{
	struct tm tm;
	char out[21];
	int y, m, d, impossible = 0;
	int64_t t;

	if (strlen(s) != n) {
		*why = "NUL in the text";
		return NULL;
	}
	/* the common case without strptime(3) */
	if (f->type == T_DATE && strcmp(f->formats[0], "%Y-%m-%d") == 0 &&
	    etl_date_parse(s, n, &y, &m, &d) == 0)
		return json_stringn(s, n);
	if (f->type == T_DATETIME) {
		const char *p = s;
		size_t k = n;

		trim(&p, &k);
		if (etl_datetime_parse(p, k, 0, &t) == 0) {
			etl_datetime_format(out, t);
			return json_string(out);
		}
		if (etl_date_parse(p, k, &y, &m, &d) == 0) {
			etl_datetime_format(out, etl_days_from_civil(y, m, d) *
			    86400);
			return json_string(out);
		}
	}
	if (try_formats(f, s, &tm, &impossible) == 0) {
		tm_date(&tm, &y, &m, &d);
		if (f->type == T_DATE) {
			etl_date_format(out, y, m, d);
			return json_string(out);
		}
		t = etl_days_from_civil(y, m, d) * 86400 + tm.tm_hour * 3600 +
		    tm.tm_min * 60 + tm.tm_sec - tm.tm_gmtoff;
		etl_datetime_format(out, t);
		return json_string(out);
	}
	if (impossible)
		*why = "no such day";
	else if (f->nformats == 0)
		*why = "not an ISO 8601 date-time";
	else
		*why = "does not match the formats";
	return NULL;
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
				fold(&kbuf, mk, strlen(mk));
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
	if ((f->currency_field || f->decimal || f->unit_m2) &&
	    f->type != T_NUMBER && f->type != T_INTEGER)
		bad(key, "%s needs type number or integer",
		    f->currency_field ? "currency_field" :
		    f->decimal ? "decimal" : "unit");
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

	fold(&kbuf, s, n);
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
	const char *why = NULL, *cur;
	int b, mapped = 0;

	if ((orig = json_object_get(c->o, f->name)) == NULL ||
	    json_is_null(orig))
		return;
	json_incref(orig);
	v = json_incref(orig);
	/* map first: its keys are the values people type */
	if (f->map && json_is_string(v)) {
		fold(&kbuf, json_string_value(v), json_string_length(v));
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
			recase(&tbuf, json_string_value(nv),
			    json_string_length(nv), f->tcase);
			json_decref(nv);
			nv = jstr(tbuf.p, tbuf.len);
		}
		if (f->map && !json_is_string(v)) {
			fold(&kbuf, json_string_value(nv), json_string_length(nv));
			if ((mv = json_object_getn(f->map, kbuf.p, kbuf.len))) {
				json_decref(nv);
				nv = json_incref(mv);
			}
		}
		set(c, f, orig, nv);
		break;
	case T_NUMBER:
	case T_INTEGER:
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
			} else if (f->type == T_INTEGER)
				fail(c, f, orig, "an integer", "not an integer");
			else
				set(c, f, orig, json_incref(v));
		} else if (json_is_string(v)) {
			if (read_number(json_string_value(v), json_string_length(v),
			    f, &nv, &cur, &why) == -1) {
				fail(c, f, orig, f->type == T_INTEGER ?
				    "an integer" : "a number", why);
				break;
			}
			set(c, f, orig, nv);
			if (cur) {
				json_t *old = json_object_get(c->o, f->currency_field);

				if (!json_is_string(old) ||
				    strcmp(json_string_value(old), cur) != 0) {
					json_object_set_new(c->o, f->currency_field,
					    json_string(cur));
					c->changed = 1;
				}
			}
		} else
			fail(c, f, orig, f->type == T_INTEGER ? "an integer" :
			    "a number", "not a number or text");
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
		if (!json_is_string(v)) {
			fail(c, f, orig, f->type == T_DATE ? "a date" :
			    "a date-time", "not a text");
			break;
		}
		if ((nv = read_date(f, json_string_value(v),
		    json_string_length(v), &why)) == NULL) {
			fail(c, f, orig, f->type == T_DATE ? "a date" :
			    "a date-time", why);
			break;
		}
		set(c, f, orig, nv);
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
			trim(&s, &n);
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
		trim(&s, &n);
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
	if (rules == NULL)
		etl_usage();

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
