/* date.c - calendar dates and ISO 8601 times, without the C library's TZ. */
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
