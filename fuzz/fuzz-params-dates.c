/*
 * fuzz-params-dates - etl-params' date and template parsing, and its
 * config loader.  The first byte chooses: a date (parse_day: YYYY-MM-DD,
 * today, yesterday, -Nd), a template (check_template, then expand for a
 * day), a --set KEY=VALUE against declared defaults, or a config file
 * (load_config).  Bad input must die with status 78 or 64 (caught here).
 * A day read is within years 1 to 9999; an expanded template holds no
 * '{' placeholder left unexpanded and no whitespace.
 */
#define main	etl_params_main_unused
#include "../tools/etl-params.c"
#undef main

#include "fuzz.h"

static void
config_free(struct config *cf)
{
	json_decref(cf->envs);
	json_decref(cf->sources);
	json_decref(cf->known_sources);
	json_decref(cf->use_cases);
	json_decref(cf->known_use_cases);
	json_decref(cf->templates);
	json_decref(cf->params);
}

/*
 * What run() builds, kept here so that it is freed after a longjmp out
 * of a loader too: millions of inputs would otherwise fill the memory.
 */
static struct config cf;
static json_t *c, *params;

static void
run(uint8_t mode, const char *s, size_t n)
{
	static struct etl_buf b;
	json_error_t e;
	int64_t d;
	int y, m, dd;

	switch (mode & 3) {
	case 0:
		d = parse_day("--date", s);
		etl_civil_from_days(d, &y, &m, &dd);
		if (y < 1 || y > 9999)
			fuzz_fail("parse_day: \"%s\" is year %d", s, y);
		break;
	case 1:
		config_path = "fuzz.json";
		check_template("/inputs", s);
		expand(&b, s, "dev", "src", today - (mode >> 2));
		for (size_t i = 0; i < b.len; i++)
			if (b.p[i] == ' ' || b.p[i] == '\n')
				fuzz_fail("expand: whitespace out of \"%s\"", s);
		break;
	case 2:
		params = json_pack("{sisfsbss}", "n", 1, "r", 1.5, "b", 1,
		    "s", "x");
		set_param(params, s);
		b.len = 0;
		emit_var(&b, (mode >> 2) & 1 ? FMT_SH : FMT_MAKE, "s",
		    json_object_get(params, "s"));
		break;
	default:
		config_path = "fuzz.json";
		if ((c = json_loadb(s, n, JSON_REJECT_DUPLICATES, &e)) == NULL)
			break;
		load_config(&cf, c);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct etl_buf s;
	jmp_buf jb;

	fuzz_setup("etl-params");
	if (size < 1)
		return 0;
	if (today == 0)
		today = etl_days_from_civil(2024, 2, 29);
	s.len = 0;
	etl_buf_add(&s, data + 1, size - 1);
	etl_buf_cstr(&s);
	s.len = strlen(s.p);	/* a command-line argument */
	fuzz_jmp = &jb;
	fuzz_die_ok = FUZZ_OK(ETL_EX_CONFIG) | FUZZ_OK(ETL_EX_USAGE);
	if (setjmp(jb) == 0)
		run(data[0], s.p, s.len);
	fuzz_jmp = NULL;
	config_free(&cf);
	memset(&cf, 0, sizeof(cf));
	json_decref(c);
	json_decref(params);
	c = params = NULL;
	return 0;
}
