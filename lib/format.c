/*
 * format.c - the string formats of JSON Schema 2020-12, each checked by
 * the grammar of its RFC: date, time, date-time and duration (RFC 3339),
 * email and idn-email (RFC 5321, 6531), hostname and idn-hostname (RFC
 * 1123, 5890-5892), ipv4 and ipv6 (RFC 2673, 4291), uri, uri-reference,
 * iri and iri-reference (RFC 3986, 3987), uri-template (RFC 6570), uuid
 * (RFC 4122), json-pointer and relative-json-pointer (RFC 6901), regex
 * (ECMA-262, as regex.c compiles it).  Where a rule needs Unicode
 * tables this file does not hold (IDNA2008's derived properties), it is
 * approximated by Unicode general categories: see etl-check(1).
 */
#include <stdlib.h>
#include <string.h>

#include "etl.h"

static int
digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
hexdig(int c)
{
	return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* n ASCII digits at s into *v: 0, else -1. */
static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!digit(s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/*
 * One UTF-8 character at s (the text is valid UTF-8: JSON strings are):
 * its code point, and its length in *len.
 */
static unsigned long
utf8_next(const char *s, size_t n, size_t *len)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned long cp;
	size_t k, i;

	if (u[0] < 0x80) {
		*len = 1;
		return u[0];
	}
	k = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : 2;
	if (k > n) {
		*len = n;
		return 0xfffd;
	}
	cp = u[0] & (0x7f >> k);
	for (i = 1; i < k; i++)
		cp = cp << 6 | (u[i] & 0x3f);
	*len = k;
	return cp;
}

/* ---- RFC 3339: date, time, date-time, duration ---- */

static int
fmt_date(const char *s, size_t n)
{
	int y, m, d;

	return etl_date_parse(s, n, &y, &m, &d) == 0;
}

/*
 * full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM).  A leap second (:60) is
 * valid at 23:59 UTC only (the day itself is not checked against the
 * list of leap seconds).  *secs: seconds from 00:00 UTC of the day,
 * which may be negative or past a day; *frac and *fraclen the fraction's
 * digits.
 */
static int
parse_time(const char *s, size_t n, long *secs, const char **frac,
    size_t *fraclen)
{
	int h, mi, se, oh = 0, om = 0, sign = 0;
	size_t i = 8;
	long utc;

	if (n < 9 || digits(s, 2, &h) || s[2] != ':' || digits(s + 3, 2, &mi) ||
	    s[5] != ':' || digits(s + 6, 2, &se))
		return -1;
	if (h > 23 || mi > 59 || se > 60)
		return -1;
	*frac = s + 9;
	*fraclen = 0;
	if (s[i] == '.') {
		for (i++; i < n && digit(s[i]); i++)
			;
		if (i == 9)
			return -1;
		*fraclen = i - 9;
	}
	if (i == n)
		return -1;
	if (s[i] == 'Z' || s[i] == 'z')
		i++;
	else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '-' ? -1 : 1;
		if (n - i != 6 || digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
		    digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		i += 6;
	} else
		return -1;
	if (i != n)
		return -1;
	utc = h * 60L + mi - sign * (oh * 60L + om);
	if (se == 60 && ((utc % 1440) + 1440) % 1440 != 23 * 60 + 59)
		return -1;
	*secs = utc * 60 + se;
	return 0;
}

static int
fmt_time(const char *s, size_t n)
{
	const char *f;
	size_t fl;
	long t;

	return parse_time(s, n, &t, &f, &fl) == 0;
}

/*
 * A date or date-time as a point in time to compare (formatMinimum …):
 * seconds since 1970 in UTC and the fraction's digits.  0, else -1.
 */
int
etl_format_instant(const char *s, size_t n, int datetime, int64_t *t,
    const char **frac, size_t *fraclen)
{
	int y, m, d;
	long secs = 0;

	*frac = "";
	*fraclen = 0;
	if (datetime ? n < 11 || (s[10] != 'T' && s[10] != 't') : n != 10)
		return -1;
	if (etl_date_parse(s, 10, &y, &m, &d) == -1)
		return -1;
	if (datetime && parse_time(s + 11, n - 11, &secs, frac, fraclen) == -1)
		return -1;
	*t = etl_days_from_civil(y, m, d) * 86400 + secs;
	return 0;
}

static int
fmt_datetime(const char *s, size_t n)
{
	const char *f;
	size_t fl;
	int64_t t;

	return etl_format_instant(s, n, 1, &t, &f, &fl) == 0;
}

/* RFC 3339 appendix A: P(date[time] | time | week), no fractions. */
static int
fmt_duration(const char *s, size_t n)
{
	static const char date_units[] = "YMD", time_units[] = "HMS";
	const char *units;
	size_t i = 1;
	int next, any = 0, in_time = 0, last = -1;

	if (n < 2 || s[0] != 'P')
		return 0;
	/* The week form stands alone. */
	if (s[n - 1] == 'W') {
		for (i = 1; i < n - 1 && digit(s[i]); i++)
			;
		return i == n - 1 && i > 1;
	}
	units = date_units;
	while (i < n) {
		if (s[i] == 'T') {
			if (in_time)
				return 0;
			in_time = 1;
			units = time_units;
			last = -1;
			if (++i == n)
				return 0;	/* "P1YT": T needs an element */
			continue;
		}
		if (!digit(s[i]))
			return 0;
		while (i < n && digit(s[i]))
			i++;
		if (i == n || s[i] == '\0' || strchr(units, s[i]) == NULL)
			return 0;
		next = (int)(strchr(units, s[i]) - units);
		/* In order, and none skipped between two given: Y D needs M. */
		if (next <= last || (last >= 0 && next != last + 1))
			return 0;
		last = next;
		any = 1;
		i++;
	}
	return any && !(in_time && last == -1);
}

/* ---- hosts and addresses ---- */

/* dec-octet "." … four times, no leading zeros. */
static int
ipv4(const char *s, size_t n)
{
	size_t i = 0, k;
	int part, v;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i == n || s[i] != '.')
				return 0;
			i++;
		}
		for (k = 0, v = 0; i < n && digit(s[i]) && k < 4; i++, k++)
			v = v * 10 + (s[i] - '0');
		if (k == 0 || k > 3 || v > 255 || (k > 1 && s[i - k] == '0'))
			return 0;
	}
	return i == n;
}

static int
fmt_ipv4(const char *s, size_t n)
{
	return ipv4(s, n);
}

/* RFC 4291 2.2: eight groups, one "::" at most, an IPv4 tail. */
static int
ipv6(const char *s, size_t n)
{
	size_t i = 0, start, k;
	int groups = 0, gap = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 1;
		i = 2;
		if (i == n)
			return 1;
	} else if (n >= 1 && s[0] == ':')
		return 0;
	for (;;) {
		start = i;
		for (k = 0; i < n && hexdig(s[i]); i++, k++)
			;
		if (i < n && s[i] == '.') {
			/* The IPv4 tail: two groups, and the end. */
			if (!ipv4(s + start, n - start))
				return 0;
			groups += 2;
			break;
		}
		if (k == 0 || k > 4)
			return 0;
		groups++;
		if (i == n)
			break;
		if (s[i] != ':')
			return 0;
		i++;
		if (i < n && s[i] == ':') {
			if (gap)
				return 0;
			gap = 1;
			if (++i == n)
				break;
		} else if (i == n)
			return 0;	/* a single trailing ':' */
	}
	return gap ? groups <= 7 : groups == 8;
}

static int
fmt_ipv6(const char *s, size_t n)
{
	return ipv6(s, n);
}

/* Virama characters (canonical combining class 9), for ZWJ and ZWNJ. */
static int
virama(unsigned long c)
{
	static const unsigned long v[] = {
		0x094d, 0x09cd, 0x0a4d, 0x0acd, 0x0b4d, 0x0bcd, 0x0c4d, 0x0ccd,
		0x0d3b, 0x0d3c, 0x0d4d, 0x0dca, 0x0e3a, 0x0eba, 0x0f84, 0x1039,
		0x103a, 0x1714, 0x1734, 0x17d2, 0x1a60, 0x1b44, 0x1baa, 0x1bab,
		0x1bf2, 0x1bf3, 0x2d7f, 0xa806, 0xa8c4, 0xa953, 0xa9c0, 0xaaf6,
		0xabed, 0x10a3f, 0x11046, 0x1107f, 0x110b9, 0x11133, 0x11134,
		0x111c0, 0x11235, 0x112ea, 0x1134d, 0x11442, 0x114c2, 0x115bf,
		0x1163f, 0x116b6, 0x1172b, 0x11839, 0x119e0, 0x11a34, 0x11a47,
		0x11a99, 0x11c3f, 0x11d44, 0x11d45, 0x11d97
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(*v); i++)
		if (v[i] == c)
			return 1;
	return 0;
}

static int
greek(unsigned long c)
{
	return (c >= 0x370 && c <= 0x3ff && c != 0x375 && c != 0x37e &&
	    c != 0x387) || (c >= 0x1f00 && c <= 0x1fff);
}

static int
hebrew(unsigned long c)
{
	return (c >= 0x591 && c <= 0x5f4) || (c >= 0xfb1d && c <= 0xfb4f);
}

static int
kana_han(unsigned long c)
{
	return (c >= 0x3040 && c <= 0x309f) ||			/* Hiragana */
	    (c >= 0x30a0 && c <= 0x30ff && c != 0x30fb) ||	/* Katakana */
	    (c >= 0x31f0 && c <= 0x31ff) || (c >= 0xff66 && c <= 0xff9f) ||
	    (c >= 0x2e80 && c <= 0x2fdf) || c == 0x3005 || c == 0x3007 ||
	    (c >= 0x3021 && c <= 0x3029) || (c >= 0x3038 && c <= 0x303b) ||
	    (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) ||
	    (c >= 0xf900 && c <= 0xfaff) || (c >= 0x20000 && c <= 0x3134f);
}

static struct etl_regex *
lib_regex(struct etl_regex **re, const char *pat)
{
	if (*re == NULL)
		*re = etl_regex_pcre2(pat);
	return *re;
}

/* The letter categories and marks a U-label may hold (see the top). */
static int
pvalid_like(const char *s, size_t n)
{
	static struct etl_regex *re;

	return etl_regex_match(lib_regex(&re, "^[\\p{Ll}\\p{Lo}\\p{Lm}"
	    "\\p{Mn}\\p{Mc}\\p{Nd}]$"), s, n) == 1;
}

static int
mark(const char *s, size_t n)
{
	static struct etl_regex *re;

	return etl_regex_match(lib_regex(&re, "^\\p{M}"), s, n) == 1;
}

/*
 * A U-label's code points (RFC 5891 5.4, RFC 5892): hyphens placed as for
 * an LDH label, no leading mark, each code point PVALID (approximated by
 * its general category) or one of the exceptions, and the CONTEXTJ and
 * CONTEXTO rules of RFC 5892 appendix A.
 */
static int
ulabel(const unsigned long *cp, size_t ncp, const char *utf8, size_t n)
{
	size_t i, off = 0, len;
	int arabic = 0, extended = 0, kana = 0;

	if (ncp == 0 || cp[0] == '-' || cp[ncp - 1] == '-' ||
	    (ncp >= 4 && cp[2] == '-' && cp[3] == '-'))
		return 0;
	if (mark(utf8, n))
		return 0;
	for (i = 0; i < ncp; i++, off += len) {
		unsigned long c = cp[i], p = i ? cp[i - 1] : 0,
		    nx = i + 1 < ncp ? cp[i + 1] : 0;

		utf8_next(utf8 + off, n - off, &len);

		switch (c) {
		case 0x0640: case 0x07fa: case 0x302e: case 0x302f:
		case 0x3031: case 0x3032: case 0x3033: case 0x3034:
		case 0x3035: case 0x303b:
			return 0;			/* DISALLOWED exceptions */
		case 0x00df: case 0x03c2: case 0x06fd: case 0x06fe:
		case 0x0f0b: case 0x3007:
			continue;			/* PVALID exceptions */
		case 0x00b7:
			if (p != 'l' || nx != 'l')
				return 0;
			continue;
		case 0x0375:
			if (!greek(nx))
				return 0;
			continue;
		case 0x05f3: case 0x05f4:
			if (!hebrew(p))
				return 0;
			continue;
		case 0x30fb:
			kana = kana ? kana : -1;
			continue;
		case 0x200d:
			if (!virama(p))
				return 0;
			continue;
		case 0x200c:
			/* Or between joining letters (RFC 5892 A.1), taken
			   as characters from U+0600 up on both sides. */
			if (!virama(p) && !(p >= 0x600 && nx >= 0x600 &&
			    i + 1 < ncp))
				return 0;
			continue;
		}
		if (c >= 0x660 && c <= 0x669)
			arabic = 1;
		if (c >= 0x6f0 && c <= 0x6f9)
			extended = 1;
		if (kana_han(c))
			kana = 1;
		if (c < 0x80) {
			if (!(alpha((int)c) || digit((int)c) || c == '-'))
				return 0;
		} else if (!pvalid_like(utf8 + off, len))
			return 0;
	}
	if (arabic && extended)
		return 0;
	if (kana == -1)
		return 0;
	return 1;
}

/* RFC 3492's parameters and bias adaptation. */
enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700 };

static unsigned long
adapt(unsigned long delta, size_t points, int first)
{
	unsigned long k;

	delta = first ? delta / DAMP : delta / 2;
	delta += delta / points;
	for (k = 0; delta > ((BASE - TMIN) * TMAX) / 2; k += BASE)
		delta /= BASE - TMIN;
	return k + (BASE - TMIN + 1) * delta / (delta + SKEW);
}

/* The length of the RFC 3492 encoding of n code points. */
static size_t
punycode_len(const unsigned long *cp, size_t n)
{
	unsigned long nn = 128, delta = 0, bias = 72, m, q, k, t;
	size_t h, b = 0, out, j;

	for (j = 0; j < n; j++)
		b += cp[j] < 0x80;
	out = h = b;
	if (b > 0)
		out++;			/* the delimiter */
	while (h < n) {
		for (m = ~0UL, j = 0; j < n; j++)
			if (cp[j] >= nn && cp[j] < m)
				m = cp[j];
		delta += (m - nn) * (h + 1);
		nn = m;
		for (j = 0; j < n; j++) {
			if (cp[j] < nn)
				delta++;
			if (cp[j] != nn)
				continue;
			for (q = delta, k = BASE; ; k += BASE) {
				t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX :
				    k - bias;
				if (q < t)
					break;
				out++;
				q = (q - t) / (BASE - t);
			}
			out++;
			bias = adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		nn++;
	}
	return out;
}

/* RFC 3492 decoding into at most max code points: the count, or -1. */
static long
punycode_decode(const char *s, size_t n, unsigned long *out, size_t max)
{
	unsigned long i = 0, nn = 128, bias = 72, w, k, t, digitv, oldi;
	size_t b = 0, j, in, len = 0;
	int first = 1;

	for (j = 0; j < n; j++)
		if (s[j] == '-')
			b = j;
	if (b > max)
		return -1;
	for (j = 0; j < b; j++) {
		if ((unsigned char)s[j] >= 0x80)
			return -1;
		out[len++] = (unsigned char)s[j];
	}
	for (in = b > 0 ? b + 1 : 0; in < n; ) {
		for (oldi = i, w = 1, k = BASE; ; k += BASE) {
			int c;

			if (in >= n)
				return -1;
			c = (unsigned char)s[in++];
			if (digit(c))
				digitv = (unsigned long)(c - '0' + 26);
			else if (c >= 'a' && c <= 'z')
				digitv = (unsigned long)(c - 'a');
			else if (c >= 'A' && c <= 'Z')
				digitv = (unsigned long)(c - 'A');
			else
				return -1;
			if (digitv > (0x7fffffffUL - i) / w)
				return -1;
			i += digitv * w;
			t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
			if (digitv < t)
				break;
			if (w > 0x7fffffffUL / (BASE - t))
				return -1;
			w *= BASE - t;
		}
		bias = adapt(i - oldi, len + 1, first);
		first = 0;
		if (i / (len + 1) > 0x10ffff - nn)
			return -1;
		nn += i / (len + 1);
		i %= len + 1;
		if (len == max || nn > 0x10ffff || (nn >= 0xd800 && nn <= 0xdfff) ||
		    nn < 0x80)
			return -1;
		memmove(out + i + 1, out + i, (len - i) * sizeof(*out));
		out[i++] = nn;
		len++;
	}
	return (long)len;
}

/* The code points of a label as UTF-8, for the category tests. */
static size_t
utf8_put(char *o, unsigned long c)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | c >> 6);
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | c >> 12);
		o[1] = (char)(0x80 | (c >> 6 & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | c >> 18);
	o[1] = (char)(0x80 | (c >> 12 & 0x3f));
	o[2] = (char)(0x80 | (c >> 6 & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * One label of a host name.  idn: U-labels (non-ASCII) allowed.  An
 * "xn--" label must decode to a valid U-label; any other label with
 * "--" in its third and fourth places is refused (RFC 5891 4.2.3.1).
 * The label's Unicode form is appended to u, and the length of its
 * ASCII form (the A-label of a U-label) is *alen.
 */
static int
label(const char *s, size_t n, int idn, struct etl_buf *u, size_t *alen)
{
	unsigned long cp[64];
	size_t i, len, start = u->len;
	long ncp;

	*alen = n;
	if (n == 0)
		return 0;
	for (i = 0; i < n && (unsigned char)s[i] < 0x80; i++)
		;
	if (i < n) {
		/* A U-label: idn-hostname only. */
		if (!idn)
			return 0;
		for (i = 0, ncp = 0; i < n; i += len) {
			if (ncp == 63)
				return 0;
			cp[ncp++] = utf8_next(s + i, n - i, &len);
		}
		etl_buf_add(u, s, n);
		*alen = 4 + punycode_len(cp, (size_t)ncp);
		return *alen <= 63 && ulabel(cp, (size_t)ncp, s, n);
	}
	if (n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!alpha(s[i]) && !digit(s[i]) && s[i] != '-')
			return 0;
	if (n >= 4 && s[2] == '-' && s[3] == '-') {
		char ub[8];

		if (!((s[0] == 'x' || s[0] == 'X') && (s[1] == 'n' || s[1] == 'N')))
			return 0;
		if ((ncp = punycode_decode(s + 4, n - 4, cp, 63)) <= 0)
			return 0;
		for (i = 0; i < (size_t)ncp; i++)
			etl_buf_add(u, ub, utf8_put(ub, cp[i]));
		for (i = 0; i < (size_t)ncp && cp[i] < 0x80; i++)
			;
		if (i == (size_t)ncp)
			return 0;	/* an A-label of ASCII alone */
		return ulabel(cp, (size_t)ncp, u->p + start, u->len - start);
	}
	etl_buf_add(u, s, n);
	return 1;
}

#define BIDI_RTL "[\\p{bc:R}\\p{bc:AL}]"
/*
 * RFC 5893's Bidi rule, for a domain name with a right-to-left label:
 * every label starts with L (left to right) or R or AL (right to left),
 * holds only the classes its direction allows, ends as it allows, and a
 * right-to-left label does not mix European and Arabic digits.
 */
static int
bidi_label(const char *s, size_t n)
{
	static struct etl_regex *rtl, *ltr, *en, *an;

	if (etl_regex_match(lib_regex(&rtl, "^" BIDI_RTL "(?:[\\p{bc:R}"
	    "\\p{bc:AL}\\p{bc:AN}\\p{bc:EN}\\p{bc:ES}\\p{bc:CS}\\p{bc:ET}"
	    "\\p{bc:ON}\\p{bc:BN}\\p{bc:NSM}]*[\\p{bc:R}\\p{bc:AL}\\p{bc:EN}"
	    "\\p{bc:AN}])?\\p{bc:NSM}*$"), s, n) == 1)
		return !(etl_regex_match(lib_regex(&en, "\\p{bc:EN}"), s, n) == 1 &&
		    etl_regex_match(lib_regex(&an, "\\p{bc:AN}"), s, n) == 1);
	return etl_regex_match(lib_regex(&ltr, "^\\p{bc:L}(?:[\\p{bc:L}"
	    "\\p{bc:EN}\\p{bc:ES}\\p{bc:CS}\\p{bc:ET}\\p{bc:ON}\\p{bc:BN}"
	    "\\p{bc:NSM}]*[\\p{bc:L}\\p{bc:EN}])?\\p{bc:NSM}*$"), s, n) == 1;
}

/*
 * A host name: its labels, at most 253 bytes in their ASCII forms, and
 * the Bidi rule when one of them is right to left.
 */
static int
host(const char *s, size_t n, int idn)
{
	static struct etl_regex *rtl;
	struct etl_buf u = { 0 };
	size_t i, start = 0, len, alen, total = 0, nl = 0, k, off[128];
	unsigned long c;
	int ok = n > 0, bidi = 0;

	for (i = 0; ok && i <= n; i += len) {
		len = 1;
		c = i < n ? utf8_next(s + i, n - i, &len) : '.';
		/* IDNA's other full stops separate labels of an IDN. */
		if (c == '.' || (idn && (c == 0x3002 || c == 0xff0e ||
		    c == 0xff61))) {
			if (nl == 127)
				ok = 0;
			else {
				off[nl++] = u.len;
				ok = label(s + start, i - start, idn, &u, &alen);
				total += alen + (start > 0);
			}
			start = i + len;
		}
	}
	off[nl] = u.len;
	ok = ok && total <= 253;
	if (ok && u.len > 0 && etl_regex_match(lib_regex(&rtl, "[\\p{bc:R}"
	    "\\p{bc:AL}\\p{bc:AN}]"), u.p, u.len) == 1)
		bidi = 1;
	for (k = 0; ok && bidi && k < nl; k++)
		ok = bidi_label(u.p + off[k], off[k + 1] - off[k]);
	etl_buf_free(&u);
	return ok;
}

static int
fmt_hostname(const char *s, size_t n)
{
	return host(s, n, 0);
}

static int
fmt_idn_hostname(const char *s, size_t n)
{
	return host(s, n, 1);
}

/*
 * RFC 5321 4.1.2 Mailbox (RFC 6531 with idn): a dot-string or a quoted
 * string, "@", a domain or an address literal.
 */
static int
mailbox(const char *s, size_t n, int idn)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	size_t at, i;

	if (n == 0)
		return 0;
	if (s[0] == '"') {
		for (i = 1; i < n && s[i] != '"'; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c == '\\') {
				if (++i == n || (unsigned char)s[i] < 32 ||
				    (unsigned char)s[i] > 126)
					return 0;
			} else if (c < 32 || c == 127 || (c >= 0x80 && !idn))
				return 0;
		}
		if (i >= n - 1 || s[i + 1] != '@')
			return 0;
		at = i + 1;
	} else {
		const char *a = memchr(s, '@', n);

		if (a == NULL)
			return 0;
		at = (size_t)(a - s);
		if (at == 0 || s[0] == '.' || s[at - 1] == '.')
			return 0;
		for (i = 0; i < at; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c == '.' && s[i + 1] == '.')
				return 0;
			if (!(alpha(c) || digit(c) || c == '.' ||
			    (c < 0x80 && c && strchr(atext, c)) ||
			    (c >= 0x80 && idn)))
				return 0;
		}
	}
	if (at > 64 && !idn)
		return 0;
	s += at + 1;
	n -= at + 1;
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n > 7 && memcmp(s + 1, "IPv6:", 5) == 0)
			return ipv6(s + 6, n - 7);
		return ipv4(s + 1, n - 2);
	}
	return host(s, n, idn);
}

static int
fmt_email(const char *s, size_t n)
{
	return mailbox(s, n, 0);
}

static int
fmt_idn_email(const char *s, size_t n)
{
	return mailbox(s, n, 1);
}

/* ---- RFC 3986 URIs and RFC 3987 IRIs ---- */

static int
unreserved(int c)
{
	return alpha(c) || digit(c) || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static int
sub_delim(int c)
{
	return c && strchr("!$&'()*+,;=", c) != NULL;
}

static int
ucschar(unsigned long c)
{
	if (c < 0xa0)
		return 0;
	if (c <= 0xd7ff || (c >= 0xf900 && c <= 0xfdcf) ||
	    (c >= 0xfdf0 && c <= 0xffef))
		return 1;
	if (c >= 0x10000 && c < 0xe0000)
		return (c & 0xffff) <= 0xfffd;
	return c >= 0xe1000 && c <= 0xefffd;
}

static int
iprivate(unsigned long c)
{
	return (c >= 0xe000 && c <= 0xf8ff) ||
	    (c >= 0xf0000 && c <= 0xffffd) || (c >= 0x100000 && c <= 0x10fffd);
}

/*
 * A run of characters from the class: unreserved, pct-encoded,
 * sub-delims and the extra ASCII characters, with ucschar when iri
 * (iprivate too when query).  The length it takes, which stops at the
 * first other character; -1 for a malformed %.
 */
static long
chars(const char *s, size_t n, const char *extra, int iri, int query)
{
	size_t i = 0, len;
	unsigned long c;

	while (i < n) {
		unsigned char u = (unsigned char)s[i];

		if (u == '%') {
			if (i + 2 >= n || !hexdig(s[i + 1]) || !hexdig(s[i + 2]))
				return -1;
			i += 3;
		} else if (u < 0x80) {
			if (!(unreserved(u) || sub_delim(u) ||
			    (u && strchr(extra, u))))
				break;
			i++;
		} else {
			c = utf8_next(s + i, n - i, &len);
			if (!iri || !(ucschar(c) || (query && iprivate(c))))
				break;
			i += len;
		}
	}
	return (long)i;
}

/* The whole of s from the class, or 0. */
static int
all(const char *s, size_t n, const char *extra, int iri, int query)
{
	return chars(s, n, extra, iri, query) == (long)n;
}

/* authority = [ userinfo "@" ] host [ ":" port ] */
static int
authority(const char *s, size_t n, int iri)
{
	const char *at = memchr(s, '@', n), *h, *colon;
	size_t hn, i;

	if (at != NULL) {
		if (!all(s, (size_t)(at - s), ":", iri, 0))
			return 0;
		n -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	h = s;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (close == NULL)
			return 0;
		hn = (size_t)(close - s) + 1;
		if (hn > 2 && (s[1] == 'v' || s[1] == 'V')) {
			/* IPvFuture: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ) */
			for (i = 2; i < hn - 1 && hexdig(s[i]); i++)
				;
			if (i == 2 || i >= hn - 2 || s[i] != '.' ||
			    !all(s + i + 1, hn - i - 2, ":", 0, 0))
				return 0;
		} else if (!ipv6(s + 1, hn - 2))
			return 0;
	} else {
		colon = memchr(s, ':', n);
		hn = colon ? (size_t)(colon - s) : n;
		if (!all(h, hn, "", iri, 0))
			return 0;
	}
	if (hn == n)
		return 1;
	if (s[hn] != ':')
		return 0;
	for (i = hn + 1; i < n; i++)
		if (!digit(s[i]))
			return 0;
	return 1;
}

/*
 * URI or relative-ref (ref): scheme, "//" authority, path, "?" query,
 * "#" fragment, each from its characters.  iri: RFC 3987's.
 */
static int
uri(const char *s, size_t n, int ref, int iri)
{
	size_t i = 0, end;
	const char *q, *hash;
	int scheme = 0;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	if (n > 0 && alpha(s[0])) {
		for (i = 1; i < n && (alpha(s[i]) || digit(s[i]) || s[i] == '+' ||
		    s[i] == '-' || s[i] == '.'); i++)
			;
		if (i < n && s[i] == ':') {
			scheme = 1;
			i++;
		} else
			i = 0;
	}
	if (!scheme && !ref)
		return 0;
	hash = memchr(s + i, '#', n - i);
	end = hash ? (size_t)(hash - s) : n;
	if (hash && !all(hash + 1, n - end - 1, ":@/?", iri, 0))
		return 0;
	q = memchr(s + i, '?', end - i);
	if (q) {
		if (!all(q + 1, end - (size_t)(q + 1 - s), ":@/?", iri, 1))
			return 0;
		end = (size_t)(q - s);
	}
	/* hier-part or relative-part */
	if (end - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
		const char *slash = memchr(s + i + 2, '/', end - i - 2);
		size_t aend = slash ? (size_t)(slash - s) : end;

		if (!authority(s + i + 2, aend - i - 2, iri))
			return 0;
		i = aend;
	} else if (!scheme) {
		/* path-noscheme: no ':' in the first segment */
		const char *slash = memchr(s + i, '/', end - i);
		size_t seg = slash ? (size_t)(slash - s) : end;

		if (memchr(s + i, ':', seg - i) != NULL)
			return 0;
	}
	return all(s + i, end - i, ":@/", iri, 0);
}

static int
fmt_uri(const char *s, size_t n)
{
	return uri(s, n, 0, 0);
}

static int
fmt_uri_reference(const char *s, size_t n)
{
	return uri(s, n, 1, 0);
}

static int
fmt_iri(const char *s, size_t n)
{
	return uri(s, n, 0, 1);
}

static int
fmt_iri_reference(const char *s, size_t n)
{
	return uri(s, n, 1, 1);
}

/* RFC 6570: literals and {expressions}, level 4. */
static int
fmt_uri_template(const char *s, size_t n)
{
	size_t i = 0, len;
	unsigned long c;

	while (i < n) {
		unsigned char u = (unsigned char)s[i];

		if (u == '{') {
			i++;
			if (i < n && strchr("+#./;?&", s[i]) != NULL && s[i])
				i++;
			for (;;) {
				/* varname = varchar *( ["."] varchar ) */
				int any = 0, dot = 0;

				while (i < n) {
					if (s[i] == '%') {
						if (i + 2 >= n || !hexdig(s[i + 1]) ||
						    !hexdig(s[i + 2]))
							return 0;
						i += 3;
					} else if (alpha(s[i]) || digit(s[i]) ||
					    s[i] == '_')
						i++;
					else if (s[i] == '.' && any && !dot) {
						i++;
						dot = 2;
					} else
						break;
					any = 1;
					dot = dot ? dot - 1 : 0;
				}
				if (!any || dot || (i > 0 && s[i - 1] == '.'))
					return 0;
				if (i < n && s[i] == ':') {
					size_t d = ++i;

					if (i == n || s[i] < '1' || s[i] > '9')
						return 0;
					while (i < n && digit(s[i]))
						i++;
					if (i - d > 4)
						return 0;
				} else if (i < n && s[i] == '*')
					i++;
				if (i < n && s[i] == ',') {
					i++;
					continue;
				}
				break;
			}
			if (i == n || s[i] != '}')
				return 0;
			i++;
		} else if (u == '%') {
			if (i + 2 >= n || !hexdig(s[i + 1]) || !hexdig(s[i + 2]))
				return 0;
			i += 3;
		} else if (u >= 0x80) {
			c = utf8_next(s + i, n - i, &len);
			if (!ucschar(c) && !iprivate(c))
				return 0;
			i += len;
		} else {
			if (u <= 0x20 || u == 0x7f || strchr("\"<>\\^`{|}", u))
				return 0;
			i++;
		}
	}
	return 1;
}

/* ---- identifiers and pointers ---- */

static int
fmt_uuid(const char *s, size_t n)
{
	size_t i;

	if (n != 36)
		return 0;
	for (i = 0; i < 36; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' :
		    !hexdig(s[i]))
			return 0;
	return 1;
}

static int
pointer(const char *s, size_t n)
{
	size_t i;

	if (n > 0 && s[0] != '/')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '~' && (i + 1 == n || (s[i + 1] != '0' && s[i + 1] != '1')))
			return 0;
	return 1;
}

static int
fmt_json_pointer(const char *s, size_t n)
{
	return pointer(s, n);
}

/* non-negative-integer ( "#" / json-pointer ) */
static int
fmt_relative_json_pointer(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && digit(s[i]); i++)
		;
	if (i == 0 || (s[0] == '0' && i > 1))
		return 0;
	if (i < n && s[i] == '#')
		return i + 1 == n;
	return pointer(s + i, n - i);
}

static int
fmt_regex(const char *s, size_t n)
{
	struct etl_regex *re;
	char err[256];

	if ((re = etl_regex_new(s, n, err, sizeof(err))) == NULL)
		return 0;
	etl_regex_free(re);
	return 1;
}

static const struct format {
	const char	*name;
	int		(*ok)(const char *, size_t);
	const char	*what;
} formats[] = {
	{ "date", fmt_date, "a date (YYYY-MM-DD)" },
	{ "time", fmt_time, "a time (RFC 3339 HH:MM:SS with an offset)" },
	{ "date-time", fmt_datetime, "a date-time (RFC 3339)" },
	{ "duration", fmt_duration, "a duration (RFC 3339, P…)" },
	{ "email", fmt_email, "an email address (RFC 5321)" },
	{ "idn-email", fmt_idn_email, "an email address (RFC 6531)" },
	{ "hostname", fmt_hostname, "a host name (RFC 1123)" },
	{ "idn-hostname", fmt_idn_hostname, "a host name (RFC 5890)" },
	{ "ipv4", fmt_ipv4, "an IPv4 address" },
	{ "ipv6", fmt_ipv6, "an IPv6 address" },
	{ "uri", fmt_uri, "a URI (RFC 3986)" },
	{ "uri-reference", fmt_uri_reference, "a URI reference (RFC 3986)" },
	{ "iri", fmt_iri, "an IRI (RFC 3987)" },
	{ "iri-reference", fmt_iri_reference, "an IRI reference (RFC 3987)" },
	{ "uri-template", fmt_uri_template, "a URI template (RFC 6570)" },
	{ "uuid", fmt_uuid, "a UUID" },
	{ "json-pointer", fmt_json_pointer, "a JSON Pointer (RFC 6901)" },
	{ "relative-json-pointer", fmt_relative_json_pointer,
	    "a relative JSON Pointer" },
	{ "regex", fmt_regex, "an ECMA-262 regular expression" },
};

int
etl_format_id(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(*formats); i++)
		if (strcmp(formats[i].name, name) == 0)
			return (int)i + 1;
	return 0;
}

int
etl_format_check(int id, const char *s, size_t n)
{
	return formats[id - 1].ok(s, n);
}

const char *
etl_format_name(int id)
{
	return formats[id - 1].name;
}

const char *
etl_format_what(int id)
{
	return formats[id - 1].what;
}
