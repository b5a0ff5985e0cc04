/*
 * scan.h - a validating lazy scanner for records: one pass over a line's
 * bytes, checking it is well-formed JSON and noting where each top-level
 * field's key and value are, without building a tree.
 */
#ifndef ETL_SCAN_H
#define ETL_SCAN_H

#include <stddef.h>

enum {
	ETL_SCAN_INVALID = -1,	/* not JSON, or JSON jansson would refuse */
	ETL_SCAN_UNSURE = 0,	/* ask jansson (escapes in keys, deep nesting …) */
	ETL_SCAN_OK = 1		/* an object, its top-level fields noted */
};

struct etl_field {
	const char	*key;	/* the key's bytes, without quotes or escapes */
	size_t		 klen;
	unsigned	 kh;	/* etl_scan_keyhash() of the key */
	int		 type;	/* 's' string, 'n' number, 't' true, 'f' false,
				   'z' null, 'a' array, 'o' object */
	const char	*val;	/* the value's bytes; a string without quotes */
	size_t		 vlen;
	int		 esc;	/* a string value holds escapes */
};

struct etl_scan {
	struct etl_field *f;
	size_t		 n, cap;
	unsigned long	 shape;	/* nonzero: the same keys in the same order
				   as every other line of this number */
};

/* Ten bits from a key's length and its first and last bytes: equal keys, equal bits. */
static inline unsigned
etl_scan_keyhash(const char *k, size_t n)
{
	const unsigned char *u = (const unsigned char *)k;

	if (n == 0)
		return 0;
	return (unsigned)(u[0] * 33 + u[n - 1] + n * 151) & 1023;
}

/* Whether the scanner's fast paths are on: ETL_SCAN=0 turns them off, to compare. */
int	 etl_scan_on(void);
/* Scans one line; the fields are valid until the next call or the line's end. */
int	 etl_scan_object(struct etl_scan *, const char *, size_t);
/* The field of that name, or NULL. */
const struct etl_field *etl_scan_get(const struct etl_scan *, const char *, size_t);
/* A number value as a double: 0, or -1 when it would not read back (overflow). */
int	 etl_scan_number(const struct etl_field *, double *);
/*
 * A number value as the stream's parser reads it: 1 an integer in *ll
 * (no fraction or exponent), 0 a real in *d, -1 one to leave to the full
 * parser (an integer that may not fit 64 bits, a real that overflows).
 */
int	 etl_scan_numeric(const struct etl_field *, long long *ll, double *d);
/* A string value decoded (escapes resolved) into buf as a C string; -1 if it holds U+0000. */
int	 etl_scan_string(const struct etl_field *, struct etl_buf *);
/*
 * The value as the stream's parser makes it (a new reference), or NULL
 * when only the full parser can say (a number that may overflow, U+0000).
 */
json_t	*etl_scan_json(const struct etl_field *);
void	 etl_scan_free(struct etl_scan *);

#endif
