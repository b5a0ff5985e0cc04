/*
 * tz.c - local times of a named time zone ("Europe/Zurich"), by the
 * system's time zone database: TZ is set to the zone and localtime_r(3)
 * gives its offset at any instant, daylight saving included.  A local
 * time is found by trying the offsets in force around it, so a time a
 * DST change skips or repeats is told apart, never guessed.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etl.h"

static char	*current;		/* the zone TZ holds */

static void
use(const char *zone)
{
	if (current && strcmp(current, zone) == 0)
		return;
	setenv("TZ", zone, 1);
	tzset();
	free(current);
	current = estrdup(zone);
}

int
etl_tz_known(const char *zone)
{
	struct etl_buf path = { 0 };
	const char *dir, *p;
	char magic[4];
	int fd, ok = 0;

	if (strcmp(zone, "UTC") == 0)
		return 1;
	if (*zone == '\0' || *zone == '/' || strstr(zone, "..") != NULL)
		return 0;
	for (p = zone; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("/_+-", *p)))
			return 0;
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	etl_buf_printf(&path, "%s/%s", dir, zone);
	if ((fd = open(etl_buf_cstr(&path), O_RDONLY)) != -1) {
		ok = read(fd, magic, 4) == 4 && memcmp(magic, "TZif", 4) == 0;
		close(fd);
	}
	etl_buf_free(&path);
	return ok;
}

int64_t
etl_tz_offset(const char *zone, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	use(zone);
	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

int
etl_tz_utc(const char *zone, int64_t local, int64_t *utc)
{
	int64_t off[3], t, found[3];
	int i, j, nf = 0, seen;

	/* The offsets in force a day around: a change is among them. */
	off[0] = etl_tz_offset(zone, local - 86400);
	off[1] = etl_tz_offset(zone, local);
	off[2] = etl_tz_offset(zone, local + 86400);
	for (i = 0; i < 3; i++) {
		t = local - off[i];
		if (etl_tz_offset(zone, t) != off[i])
			continue;
		for (seen = 0, j = 0; j < nf; j++)
			seen |= found[j] == t;
		if (!seen)
			found[nf++] = t;
	}
	if (nf == 0)
		return ETL_TZ_GAP;
	*utc = found[0];
	for (j = 1; j < nf; j++)
		if (found[j] < *utc)
			*utc = found[j];
	return nf == 1 ? 0 : ETL_TZ_FOLD;
}
