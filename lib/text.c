/*
 * text.c - UTF-8 code points, white space, case and accent folding: how
 * human-typed text is trimmed and compared (map keys, units, month names).
 */
#include "etl.h"

/* Decodes one code point; invalid bytes come back as themselves. */
unsigned
etl_utf8_get(const unsigned char *s, size_t n, size_t *len)
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

void
etl_utf8_put(struct etl_buf *b, unsigned c)
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
size_t
etl_space_at(const char *s, size_t n)
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
size_t
etl_space_before(const char *s, size_t n)
{
	size_t k;

	for (k = 1; k <= 3 && k <= n; k++)
		if (etl_space_at(s + n - k, k) == k)
			return k;
	return 0;
}

void
etl_trim(const char **s, size_t *n)
{
	size_t k;

	while ((k = etl_space_at(*s, *n)) != 0) {
		*s += k;
		*n -= k;
	}
	while ((k = etl_space_before(*s, *n)) != 0)
		*n -= k;
}

/* Trimmed, lower-cased and stripped of accents: how map keys compare. */
void
etl_fold(struct etl_buf *b, const char *s, size_t n)
{
	const unsigned char *p;
	size_t i, k;
	unsigned c;

	b->len = 0;
	etl_trim(&s, &n);
	p = (const unsigned char *)s;
	for (i = 0; i < n; i += k) {
		if (p[i] < 0x80) {
			k = 1;
			etl_buf_addc(b, p[i] >= 'A' && p[i] <= 'Z' ?
			    p[i] + 32 : p[i]);
			continue;
		}
		c = etl_utf8_get(p + i, n - i, &k);
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
			etl_utf8_put(b, cp_lower(c));
	}
	etl_buf_cstr(b);
}

void
etl_recase(struct etl_buf *b, const char *s, size_t n, int how)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, k;
	unsigned c;

	b->len = 0;
	for (i = 0; i < n; i += k) {
		c = etl_utf8_get(p + i, n - i, &k);
		if (k == 1 && c >= 0x80)
			etl_buf_addc(b, (int)c);
		else
			etl_utf8_put(b, how == 'l' ? cp_lower(c) : cp_upper(c));
	}
	etl_buf_cstr(b);
}

