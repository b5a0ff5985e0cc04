/* options.c - the options every tool shares. */
#include <stdio.h>
#include <stdlib.h>

#include "etl.h"

/* reject.c and stats.c own these. */
void	etl_rejects_to(const char *);
void	etl_stats_to(const char *);

void
etl_option(int ch, const char *arg)
{
	switch (ch) {
	case 'h':
		etl_help();
	case 'q':
		etl_quiet = 1;
		break;
	case ETL_OPT_REJECTS:
		etl_rejects_to(arg);
		break;
	case ETL_OPT_STATS:
		etl_stats_to(arg);
		break;
	case ETL_OPT_VERSION:
		printf("%s %s\n", etl_tool, ETL_VERSION);
		exit(fflush(stdout) == 0 ? 0 : ETL_EX_IOERR);
	default:
		etl_usage();
	}
}
