/*
 * hive.c - partition values in paths, escaped as Hive's FileUtils does:
 * %XX (uppercase) for bytes 0x01-0x1F, 0x7F and "#%'*\/:=?\{[]^, and the
 * others, UTF-8 included, raw.
 */
#include <string.h>

#include "etl.h"

static int
needs_escape(unsigned char c)
{
	return c < 0x20 || c == 0x7f || strchr("\"#%'*/:=?\\{[]^", c) != NULL;
}

void
etl_hive_escape(struct etl_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (needs_escape(c)) {
			etl_buf_addc(b, '%');
			etl_buf_addc(b, hex[c >> 4]);
			etl_buf_addc(b, hex[c & 15]);
		} else
			etl_buf_addc(b, c);
	}
}

size_t
etl_hive_unescape(char *s, size_t n)
{
	size_t i, j;
	int h, l;

	for (i = j = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    (h = etl_hexval((unsigned char)s[i + 1])) >= 0 &&
		    (l = etl_hexval((unsigned char)s[i + 2])) >= 0) {
			s[j++] = (char)(h << 4 | l);
			i += 2;
		} else
			s[j++] = s[i];
	}
	return j;
}
