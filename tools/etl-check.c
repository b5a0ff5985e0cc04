/*
 * etl-check - validates records against a JSON Schema.  Valid records
 * pass byte for byte; the others go to the rejects with every reason.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"

static const char usage_text[] =
"usage: etl-check [-hq] --schema FILE [--max-reject-ratio R] [--max-rejects N]\n"
"                 [--rejects FILE | inline] [--stats FILE] [FILE ...]\n";

static const char help_text[] =
"  -s, --schema FILE         the JSON Schema records must match\n";

static void
check(struct etl_rec *r, void *arg)
{
	json_t *o;

	(void)arg;
	if ((o = etl_rec_object(r)) == NULL)
		return;
	etl_out_rec(r);
}

int
main(int argc, char *argv[])
{
	static struct option longopts[] = {
		{ "schema", required_argument, NULL, 's' },
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *schema = NULL;
	int ch, st;

	etl_init("etl-check", usage_text, help_text);
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS "s:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			schema = optarg;
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (schema == NULL)
		etl_usage();

	st = etl_loop(argc, argv, check, NULL);
	etl_status(st);
	return etl_finish();
}
