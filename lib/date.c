/*
 * date.c - calendar dates and ISO 8601 times, without the C library's TZ;
 * and dates read out of text (formats, month names, epochs), whose local
 * times go through tz.c.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "etl.h"

int
etl_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
etl_mdays(int y, int m)
{
	static const int md[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m < 1 || m > 12)
		return 0;
	return md[m - 1] + (m == 2 && etl_leap(y));
}

/* Howard Hinnant's days_from_civil. */
int64_t
etl_days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
etl_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int
digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
etl_date_parse(const char *s, size_t n, int *y, int *m, int *d)
{
	if (n != 10 || s[4] != '-' || s[7] != '-' ||
	    digits(s, 4, y) || digits(s + 5, 2, m) || digits(s + 8, 2, d))
		return -1;
	if (*m < 1 || *m > 12 || *d < 1 || *d > etl_mdays(*y, *m))
		return -1;
	return 0;
}

int
etl_datetime_parse(const char *s, size_t n, int strict, int64_t *t)
{
	int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 1;
	size_t i;

	if (n < 16 || etl_date_parse(s, 10, &y, &mo, &d) == -1)
		return -1;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return -1;
	if (digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi))
		return -1;
	i = 16;
	if (i < n && s[i] == ':') {
		if (i + 3 > n || digits(s + i + 1, 2, &sec))
			return -1;
		i += 3;
		if (i < n && (s[i] == '.' || s[i] == ',')) {
			size_t j = ++i;

			while (i < n && s[i] >= '0' && s[i] <= '9')
				i++;
			if (i == j)
				return -1;
		}
	} else if (strict)
		return -1;
	if (h > 23 || mi > 59 || sec > 60)	/* 60: a leap second */
		return -1;
	if (i == n) {
		if (strict)
			return -1;
	} else if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '-' ? -1 : 1;
		i++;
		if (i + 2 > n || digits(s + i, 2, &oh))
			return -1;
		i += 2;
		if (i < n && s[i] == ':')
			i++;
		else if (strict)
			return -1;
		if (i < n) {
			if (i + 2 > n || digits(s + i, 2, &om))
				return -1;
			i += 2;
		} else if (strict)
			return -1;
		if (oh > 23 || om > 59)
			return -1;
	} else
		return -1;
	if (i != n)
		return -1;
	*t = etl_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	return 0;
}

void
etl_date_format(char out[11], int y, int m, int d)
{
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u,
	    (unsigned)m % 100u, (unsigned)d % 100u);
}

void
etl_datetime_format(char out[21], int64_t t)
{
	int64_t days = t / 86400, s = t % 86400;
	int y, m, d;

	if (s < 0) {
		s += 86400;
		days--;
	}
	etl_civil_from_days(days, &y, &m, &d);
	snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y % 10000u,
	    (unsigned)m % 100u, (unsigned)d % 100u, (unsigned)(s / 3600) % 100u,
	    (unsigned)(s / 60 % 60) % 100u, (unsigned)(s % 60) % 100u);
}

/* ---- Dates and times out of human-typed text ---- */

struct month {
	const char	*name;		/* folded: lower case, no accents */
	int		 m;
};

/* English, French, German and Italian names and their abbreviations. */
static const struct month months[] = {
	{ "january", 1 }, { "jan", 1 }, { "janvier", 1 }, { "janv", 1 },
	{ "januar", 1 }, { "janner", 1 }, { "gennaio", 1 }, { "gen", 1 },
	{ "february", 2 }, { "feb", 2 }, { "fevrier", 2 }, { "fevr", 2 },
	{ "fev", 2 }, { "februar", 2 }, { "feber", 2 }, { "febbraio", 2 },
	{ "march", 3 }, { "mar", 3 }, { "mars", 3 }, { "marz", 3 },
	{ "maerz", 3 }, { "mrz", 3 }, { "marzo", 3 },
	{ "april", 4 }, { "apr", 4 }, { "avril", 4 }, { "avr", 4 },
	{ "aprile", 4 },
	{ "may", 5 }, { "mai", 5 }, { "maggio", 5 }, { "mag", 5 },
	{ "june", 6 }, { "jun", 6 }, { "juin", 6 }, { "juni", 6 },
	{ "giugno", 6 }, { "giu", 6 },
	{ "july", 7 }, { "jul", 7 }, { "juillet", 7 }, { "juil", 7 },
	{ "juli", 7 }, { "luglio", 7 }, { "lug", 7 },
	{ "august", 8 }, { "aug", 8 }, { "aout", 8 }, { "agosto", 8 },
	{ "ago", 8 },
	{ "september", 9 }, { "sep", 9 }, { "sept", 9 }, { "septembre", 9 },
	{ "settembre", 9 }, { "set", 9 },
	{ "october", 10 }, { "oct", 10 }, { "octobre", 10 }, { "oktober", 10 },
	{ "okt", 10 }, { "ottobre", 10 }, { "ott", 10 },
	{ "november", 11 }, { "nov", 11 }, { "novembre", 11 },
	{ "december", 12 }, { "dec", 12 }, { "decembre", 12 },
	{ "dezember", 12 }, { "dez", 12 }, { "dicembre", 12 }, { "dic", 12 },
	{ NULL, 0 }
};

int
etl_month_name(const char *s, size_t n)
{
	static struct etl_buf f;
	const struct month *m;

	etl_fold(&f, s, n);
	for (m = months; m->name; m++)
		if (strcmp(f.p, m->name) == 0)
			return m->m;
	return 0;
}

/* The length of the letter at s, 0 if it is none (ASCII or not). */
static size_t
letter_at(const char *s, size_t n)
{
	unsigned c = (unsigned char)s[0];
	size_t k;

	if (c < 0x80)
		return ((c | 32) >= 'a' && (c | 32) <= 'z') ? 1 : 0;
	if (etl_space_at(s, n))
		return 0;
	c = etl_utf8_get((const unsigned char *)s, n, &k);
	return c >= 0x2000 && c <= 0x206f ? 0 : k;
}

/*
 * strptime(3), but a format's one %B, %b or %h matches a month name of
 * English, French, German or Italian whatever the locale: the first
 * word of the text that names a month, and that conversion, become the
 * same mark, so the month is read where the format says and nowhere
 * else.  A dot after the name, or after the conversion, is dropped from
 * both ("févr." and "févr" read alike).
 */
static const char *
strptime_months(const char *s, const char *fmt, struct tm *tm)
{
	static struct etl_buf f, t;
	const char *p, *e;
	size_t i, k, ws, n = strlen(s);
	int nb = 0, m = 0;

	for (p = fmt; *p; p++)
		if (p[0] == '%' && p[1]) {
			nb += p[1] == 'B' || p[1] == 'b' || p[1] == 'h';
			p++;
		}
	if (nb != 1)
		return strptime(s, fmt, tm);
	f.len = 0;
	for (p = fmt; *p; p++) {
		if (p[0] == '%' && (p[1] == 'B' || p[1] == 'b' || p[1] == 'h')) {
			etl_buf_addc(&f, '\x1f');
			p += 1 + (p[2] == '.');
		} else if (p[0] == '%' && p[1]) {
			etl_buf_add(&f, p, 2);
			p++;
		} else
			etl_buf_addc(&f, *p);
	}
	etl_buf_cstr(&f);
	t.len = 0;
	for (i = 0; i < n; ) {
		if ((k = letter_at(s + i, n - i)) == 0) {
			etl_buf_addc(&t, s[i++]);
			continue;
		}
		for (ws = i; i < n && (k = letter_at(s + i, n - i)) != 0; i += k)
			;
		if (m == 0 && (m = etl_month_name(s + ws, i - ws)) != 0) {
			etl_buf_addc(&t, '\x1f');
			if (i < n && s[i] == '.')
				i++;
		} else
			etl_buf_add(&t, s + ws, i - ws);
	}
	if (m == 0)
		return NULL;
	if ((e = strptime(etl_buf_cstr(&t), f.p, tm)) != NULL)
		tm->tm_mon = m - 1;
	return e;
}

static int
tm_date(const struct tm *tm, int *y, int *m, int *d)
{
	*y = tm->tm_year + 1900;
	*m = tm->tm_mon + 1;
	*d = tm->tm_mday;
	return *y >= 1 && *y <= 9999 && *m >= 1 && *m <= 12 && *d >= 1 &&
	    *d <= etl_mdays(*y, *m) ? 0 : -1;
}

#define EPOCH_MIN	(-62135596800LL)	/* 0001-01-01T00:00:00Z */
#define EPOCH_MAX	253402300799LL		/* 9999-12-31T23:59:59Z */

/* Writes the instant t as a date (in the zone, else UTC) or a date-time. */
static int
put_instant(const struct etl_dateopt *o, int64_t t, char out[21],
    const char **why)
{
	int64_t local = t, days;
	int y, m, d;

	if (t < EPOCH_MIN || t > EPOCH_MAX) {
		*why = "out of range (years 1 to 9999)";
		return -1;
	}
	if (o->datetime) {
		etl_datetime_format(out, t);
		return 0;
	}
	if (o->tz)
		local += etl_tz_offset(o->tz, t);
	days = local / 86400 - (local % 86400 < 0);
	etl_civil_from_days(days, &y, &m, &d);
	if (y < 1 || y > 9999) {
		*why = "out of range (years 1 to 9999)";
		return -1;
	}
	etl_date_format(out, y, m, d);
	return 0;
}

/*
 * A local time (seconds since the epoch as if it were UTC) to UTC in the
 * rule's zone; without one it is refused, never taken as UTC.
 */
static int
put_local(const struct etl_dateopt *o, int64_t local, char out[21],
    const char **why)
{
	static char msg[200];
	int64_t t;
	int r;

	if (o->tz == NULL) {
		*why = "no UTC offset: the rule's \"tz\" names the zone of "
		    "such times";
		return -1;
	}
	if ((r = etl_tz_utc(o->tz, local, &t)) == ETL_TZ_GAP) {
		snprintf(msg, sizeof(msg), "no such local time in %s: a "
		    "daylight-saving change skips it", o->tz);
		*why = msg;
		return -1;
	}
	if (r == ETL_TZ_FOLD) {
		snprintf(msg, sizeof(msg), "ambiguous local time in %s: a "
		    "daylight-saving change repeats it; give its UTC offset",
		    o->tz);
		*why = msg;
		return -1;
	}
	return put_instant(o, t, out, why);
}

/* Epoch seconds (ms: milliseconds) as text: optional sign, digits, fraction. */
static int
epoch_text(const char *s, size_t n, int ms, int64_t *t)
{
	size_t i = 0, nd = 0;
	int64_t v = 0;
	int neg = 0, frac = 0;

	etl_trim(&s, &n);
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
		if (nd == 16)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (nd == 0)
		return -1;
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			frac |= s[i] != '0';
	}
	if (i != n)
		return -1;
	if (neg)
		v = -v;
	if (ms)
		v = v / 1000 - (v % 1000 < 0 || (neg && v % 1000 == 0 && frac));
	else if (neg && frac)
		v--;			/* floor, as for ms */
	*t = v;
	return 0;
}

int
etl_date_epoch(const struct etl_dateopt *o, double x, char out[21],
    const char **why)
{
	size_t i;
	int ms = -1;

	for (i = 0; i < o->nformats && ms == -1; i++)
		if (strcmp(o->formats[i], "epoch") == 0)
			ms = 0;
		else if (strcmp(o->formats[i], "epoch_ms") == 0)
			ms = 1;
	if (ms == -1) {
		*why = "a number: only an epoch format reads one";
		return -1;
	}
	if (ms)
		x /= 1000;
	if (!isfinite(x) || x < (double)EPOCH_MIN || x > (double)EPOCH_MAX + 1) {
		*why = "out of range (years 1 to 9999)";
		return -1;
	}
	return put_instant(o, (int64_t)floor(x), out, why);
}

/* Whether a successful ISO 8601 date-time has an offset (Z, +, -). */
static int
has_offset(const char *s, size_t n)
{
	size_t i;

	for (i = 16; i < n; i++)
		if (s[i] == 'Z' || s[i] == 'z' || s[i] == '+' || s[i] == '-')
			return 1;
	return 0;
}

int
etl_date_read(const struct etl_dateopt *o, const char *s, size_t n,
    char out[21], const char **why)
{
	struct tm tm;
	const char *e, *p, *local_why = NULL;
	size_t i, k, rest;
	int y, m, d, impossible = 0;
	int64_t t;

	if (strlen(s) != n) {
		*why = "NUL in the text";
		return -1;
	}
	/* the common case without strptime(3) */
	if (!o->datetime && o->nformats > 0 &&
	    strcmp(o->formats[0], "%Y-%m-%d") == 0 &&
	    etl_date_parse(s, n, &y, &m, &d) == 0) {
		memcpy(out, s, 10);
		out[10] = '\0';
		return 0;
	}
	p = s;
	k = n;
	etl_trim(&p, &k);
	if (o->datetime) {
		if (etl_datetime_parse(p, k, 0, &t) == 0) {
			if (has_offset(p, k))
				return put_instant(o, t, out, why);
			return put_local(o, t, out, why);
		}
		if (etl_date_parse(p, k, &y, &m, &d) == 0)
			return put_local(o, etl_days_from_civil(y, m, d) * 86400,
			    out, why);
	}
	for (i = 0; i < o->nformats; i++) {
		const char *f = o->formats[i];

		if (strcmp(f, "epoch") == 0 || strcmp(f, "epoch_ms") == 0) {
			if (epoch_text(p, k, f[5] == '_', &t) == 0)
				return put_instant(o, t, out, why);
			continue;
		}
		memset(&tm, 0, sizeof(tm));
		tm.tm_mday = 1;
		tm.tm_year = -1900 - 1;		/* no year: invalid */
		if ((e = strptime_months(s, f, &tm)) == NULL)
			continue;
		rest = strlen(e);
		etl_trim(&e, &rest);
		if (rest != 0)
			continue;
		if (tm_date(&tm, &y, &m, &d) == -1 || tm.tm_hour > 23 ||
		    tm.tm_min > 59 || tm.tm_sec > 60) {
			impossible = 1;
			continue;
		}
		if (!o->datetime) {
			etl_date_format(out, y, m, d);
			return 0;
		}
		t = etl_days_from_civil(y, m, d) * 86400 + tm.tm_hour * 3600 +
		    tm.tm_min * 60 + tm.tm_sec;
		if (strstr(f, "%z") != NULL)
			return put_instant(o, t - tm.tm_gmtoff, out, why);
		if (put_local(o, t, out, &local_why) == 0)
			return 0;
	}
	if (local_why)
		*why = local_why;
	else if (impossible)
		*why = "no such day";
	else if (o->nformats == 0)
		*why = "not an ISO 8601 date-time";
	else
		*why = "does not match the formats";
	return -1;
}
