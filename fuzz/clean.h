/* clean.h - etl-clean's source for the clean-values and rules targets. */
#define main	etl_clean_main_unused
#include "../tools/etl-clean.c"
#undef main

#include "fuzz.h"
