/*
 * json.c - JSON out with the shortest round-trip numbers, JSON in for
 * records and configuration files, UTF-8 checks.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "etl.h"

/* Length of the valid UTF-8 sequence at p, 0 when invalid. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && p[1] < 0xa0)
			return 0;	/* overlong */
		if (c == 0xed && p[1] >= 0xa0)
			return 0;	/* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 ||
		    (p[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && p[1] < 0x90)
			return 0;
		if (c == 0xf4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

size_t
etl_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((k = utf8_seq(p + i, n - i)) == 0)
			break;
		i += k;
	}
	return i;
}

int
etl_utf8_partial(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, i;

	if (n == 0)
		return 0;
	len = p[0] >= 0xc2 && p[0] <= 0xdf ? 2 : p[0] >= 0xe0 && p[0] <= 0xef ?
	    3 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : 0;
	if (n >= len)
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return 1;
}

size_t
etl_utf8_chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* Quoted and escaped; bytes that are not UTF-8 become U+FFFD. */
void
etl_json_string(struct etl_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i, run = 0, k;

	etl_buf_grow(b, n + 2);
	etl_buf_addc(b, '"');
	for (i = 0; i < n; ) {
		unsigned c;

#ifdef __SSE2__
		/* Sixteen bytes at a time while none needs a look. */
		while (n - i >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(p + i));
			__m128i m = _mm_or_si128(
			    _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
			    _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
			    _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
			unsigned bits = (unsigned)_mm_movemask_epi8(m);

			if (bits) {
				i += __builtin_ctz(bits);
				run += __builtin_ctz(bits);
				break;
			}
			i += 16;
			run += 16;
		}
		if (i >= n)
			break;
#endif
		c = p[i];

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		if (c >= 0x80 && (k = utf8_seq(p + i, n - i)) != 0) {
			i += k;
			run += k;
			continue;
		}
		etl_buf_add(b, p + i - run, run);
		run = 0;
		switch (c) {
		case '"':  etl_buf_add(b, "\\\"", 2); break;
		case '\\': etl_buf_add(b, "\\\\", 2); break;
		case '\n': etl_buf_add(b, "\\n", 2); break;
		case '\r': etl_buf_add(b, "\\r", 2); break;
		case '\t': etl_buf_add(b, "\\t", 2); break;
		case '\b': etl_buf_add(b, "\\b", 2); break;
		case '\f': etl_buf_add(b, "\\f", 2); break;
		default:
			if (c < 0x20) {
				char u[6] = { '\\', 'u', '0', '0',
				    hex[c >> 4], hex[c & 15] };
				etl_buf_add(b, u, 6);
			} else
				etl_buf_add(b, "\xef\xbf\xbd", 3);
		}
		i++;
	}
	etl_buf_add(b, p + i - run, run);
	etl_buf_addc(b, '"');
}

/*
 * The common case without printf: d is m / 10^k for an integer m of at
 * most 15 digits.  Division of two exact doubles rounds correctly, so
 * when m / 10^k == d the text of m with k decimals reads back as d; the
 * first such k is what "%.15g" prints.  0 when d is not such a number.
 */
static int
real_fixed(char *s, double d)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
		1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18
	};
	char dig[24];
	double a = fabs(d), m = 0;
	long long v;
	int k, nd = 0, n = 0;

	if (!(a >= 1e-4 && a < 1e15))
		return 0;
	for (k = 0; k <= 18; k++) {
		m = nearbyint(a * pow10[k]);
		if (m >= 1e15)
			return 0;
		if (m / pow10[k] == a)
			break;
	}
	if (k > 18)
		return 0;
	for (v = (long long)m; v > 0; v /= 10)
		dig[nd++] = (char)('0' + v % 10);
	/* dig holds the digits backwards; trailing zeros of a fraction go. */
	while (k > 0 && nd > 0 && dig[0] == '0') {
		memmove(dig, dig + 1, (size_t)--nd);
		k--;
	}
	if (d < 0)
		s[n++] = '-';
	if (nd <= k) {
		s[n++] = '0';
		s[n++] = '.';
		for (v = k - nd; v > 0; v--)
			s[n++] = '0';
		while (nd > 0)
			s[n++] = dig[--nd];
	} else {
		while (nd > k)
			s[n++] = dig[--nd];
		s[n++] = '.';
		if (k == 0)
			s[n++] = '0';
		while (nd > 0)
			s[n++] = dig[--nd];
	}
	return n;
}

void
etl_json_real_printf(struct etl_buf *b, double d)
{
	char s[40];
	int prec, n = 0;

	if (!isfinite(d)) {
		etl_buf_add(b, "null", 4);
		return;
	}
	/* The fewest digits that read back as the same double. */
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(s, sizeof(s), "%.*g", prec, d);
		if (strtod(s, NULL) == d)
			break;
	}
	if (strpbrk(s, ".eEn") == NULL) {
		s[n++] = '.';
		s[n++] = '0';
		s[n] = '\0';
	}
	etl_buf_add(b, s, (size_t)n);
}

void
etl_json_real(struct etl_buf *b, double d)
{
	char s[40];
	int n;

	if (isfinite(d) && (n = real_fixed(s, d)) > 0)
		etl_buf_add(b, s, (size_t)n);
	else
		etl_json_real_printf(b, d);
}

void
etl_json_dump(struct etl_buf *b, const json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;
	int first = 1;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		etl_buf_addc(b, '{');
		json_object_foreach((json_t *)j, k, v) {
			if (!first)
				etl_buf_addc(b, ',');
			first = 0;
			etl_json_string(b, k, strlen(k));
			etl_buf_addc(b, ':');
			etl_json_dump(b, v);
		}
		etl_buf_addc(b, '}');
		break;
	case JSON_ARRAY:
		etl_buf_addc(b, '[');
		for (i = 0; i < json_array_size(j); i++) {
			if (i)
				etl_buf_addc(b, ',');
			etl_json_dump(b, json_array_get(j, i));
		}
		etl_buf_addc(b, ']');
		break;
	case JSON_STRING:
		etl_json_string(b, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		etl_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		break;
	case JSON_REAL:
		etl_json_real(b, json_real_value(j));
		break;
	case JSON_TRUE:
		etl_buf_add(b, "true", 4);
		break;
	case JSON_FALSE:
		etl_buf_add(b, "false", 5);
		break;
	case JSON_NULL:
		etl_buf_add(b, "null", 4);
		break;
	}
}

json_t *
etl_json_parse(const char *p, size_t n, json_error_t *err)
{
	json_error_t own;
	const char *z;
	json_t *j;

	if (err == NULL)
		err = &own;

	/* jansson skips some NUL bytes between tokens; a record may hold none. */
	if ((z = memchr(p, '\0', n)) != NULL) {
		memset(err, 0, sizeof(*err));
		err->line = 1;
		err->column = (int)(z - p) + 1;
		err->position = z - p;
		snprintf(err->text, sizeof(err->text), "NUL byte in the line");
		return NULL;
	}
	/*
	 * Integers stay integers (2024, not 2024.0, when a record is
	 * rebuilt); only a line whose integers overflow 64 bits is read again
	 * with them as reals, so it is not refused.
	 */
	j = json_loadb(p, n, JSON_REJECT_DUPLICATES, err);
	if (j == NULL && json_error_code(err) == json_error_numeric_overflow)
		j = json_loadb(p, n, JSON_DECODE_INT_AS_REAL |
		    JSON_REJECT_DUPLICATES, err);
	return j;
}

json_t *
etl_json_load_file(const char *path, const char *what)
{
	json_error_t e;
	json_t *j;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		etl_die(errno == ENOENT ? ETL_EX_NOINPUT : ETL_EX_CONFIG,
		    "%s: cannot open %s: %s", path, what, strerror(errno));
	j = json_loadf(f, JSON_REJECT_DUPLICATES, &e);
	fclose(f);
	if (j == NULL)
		etl_die(ETL_EX_CONFIG, "%s:%d:%d: bad %s: %s", path, e.line,
		    e.column, what, e.text);
	return j;
}

/*
 * A string that is wholly a JSON number ("12", "-3.5e2"; no space, no
 * sign but '-', no leading zero), read as that number, as Miller infers
 * numbers from text.  1 with *d set (and *isint for an integer a double
 * holds exactly), else 0.
 */
int
etl_text_number(const char *s, size_t n, double *d, int *isint)
{
	char buf[64];
	size_t i = 0;
	int frac = 0;

#define DIGIT(c)	((c) >= '0' && (c) <= '9')
	if (n == 0 || n >= sizeof(buf))
		return 0;
	if (s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && DIGIT(s[i]))
		while (i < n && DIGIT(s[i]))
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		frac = 1;
		if (++i >= n || !DIGIT(s[i]))
			return 0;
		while (i < n && DIGIT(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		frac = 1;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !DIGIT(s[i]))
			return 0;
		while (i < n && DIGIT(s[i]))
			i++;
	}
#undef DIGIT
	if (i != n)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*d = strtod(buf, NULL);
	*isint = !frac && fabs(*d) < 9007199254740992.0;
	return isfinite(*d);
}
