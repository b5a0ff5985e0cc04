/*
 * etl-params - resolves what a trigger (cron, a person, a backfill) asks
 * for into one validated parameter object: run id, environment, dates,
 * sources, use cases and the lake paths the run reads.  It reads no
 * stdin and writes one JSON object, or export lines for sh, or make
 * assignments.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "etl.h"

static const char usage_text[] =
"usage: etl-params [-hq] [--env ENV] [--date D | --from D --to D]\n"
"                  [--source NAME]... [--use-case NAME]... [--config FILE]\n"
"                  [--set KEY=VALUE]... [--format json|sh|make]\n";

static const char help_text[] =
"      --env ENV             environment (dev, preprod, prod; default dev)\n"
"      --date D              the run's day: YYYY-MM-DD, today, yesterday, -Nd\n"
"      --from D --to D       an inclusive range of days instead\n"
"      --source NAME         a source to read (repeatable)\n"
"      --use-case NAME       a use case to compute (repeatable)\n"
"      --config FILE         defaults, declared keys and lake path templates\n"
"      --set KEY=VALUE       a value for a key the config declares\n"
"      --format FMT          json (default), sh or make\n";

#define MAX_DAYS	3660	/* ten years of daily runs */
#define MAX_NAME	128
#define DEFAULT_TEMPLATE "lake/{source}/dt={date}/"

enum { FMT_JSON, FMT_SH, FMT_MAKE };

enum {
	OPT_CONFIG = ETL_OPT_TOOL,
	OPT_DATE,
	OPT_ENV,
	OPT_FORMAT,
	OPT_FROM,
	OPT_SET,
	OPT_SOURCE,
	OPT_TO,
	OPT_USE_CASE
};

/* The keys of the output; a declared key may not take one of these. */
static const char *builtin_keys[] = {
	"run_id", "env", "from", "to", "dates", "sources", "use_cases",
	"inputs", "started_at", "params", NULL
};

static const char *config_path;
static int64_t	 today;

static const char *
where(void)
{
	return config_path ? config_path : "command line";
}

/* Letters, digits, '.', '_' and '-', not starting with a punctuation. */
static int
is_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > MAX_NAME)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

/* A declared key: it becomes ETL_KEY in sh and make output. */
static int
is_key(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > MAX_NAME || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

static int
is_builtin(const char *k)
{
	int i;

	for (i = 0; builtin_keys[i]; i++)
		if (strcmp(builtin_keys[i], k) == 0)
			return 1;
	return 0;
}

static int64_t
local_today(void)
{
	struct tm tm;
	time_t t = time(NULL);

	if (localtime_r(&t, &tm) == NULL)
		etl_die(ETL_EX_SOFTWARE, "localtime: %s", strerror(errno));
	return etl_days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday);
}

/*
 * YYYY-MM-DD, today, yesterday or -Nd (N days before today, local
 * time).  Dies 78 naming what and where.
 */
static int64_t
parse_day(const char *what, const char *s)
{
	static const int64_t lo = -719162;	/* 0001-01-01 */
	static const int64_t hi = 2932896;	/* 9999-12-31 */
	int64_t d = 0;
	size_t i, n = strlen(s);
	int y, m, dd;

	if (strcmp(s, "today") == 0)
		return today;
	if (strcmp(s, "yesterday") == 0)
		return today - 1;
	if (n >= 3 && n <= 9 && s[0] == '-' && s[n - 1] == 'd') {
		for (i = 1; i < n - 1; i++) {
			if (s[i] < '0' || s[i] > '9')
				break;
			d = d * 10 + (s[i] - '0');
		}
		if (i == n - 1) {
			if (today - d < lo)
				etl_die(ETL_EX_CONFIG, "%s: %s: \"%s\": before "
				    "year 1", where(), what, s);
			return today - d;
		}
	}
	if (etl_date_parse(s, n, &y, &m, &dd) == 0) {
		d = etl_days_from_civil(y, m, dd);
		if (d < lo || d > hi)
			etl_die(ETL_EX_CONFIG, "%s: %s: \"%s\": year out of "
			    "range", where(), what, s);
		return d;
	}
	if (n == 10 && s[4] == '-' && s[7] == '-' &&
	    strspn(s, "0123456789") == 4 && strspn(s + 5, "0123456789") == 2 &&
	    strspn(s + 8, "0123456789") == 2) {
		m = (s[5] - '0') * 10 + (s[6] - '0');
		y = atoi(s);
		if (m >= 1 && m <= 12)
			etl_die(ETL_EX_CONFIG, "%s: %s: \"%s\": no such day "
			    "(%04d-%02d has %d days)", where(), what, s, y, m,
			    etl_mdays(y, m));
		etl_die(ETL_EX_CONFIG, "%s: %s: \"%s\": no such month",
		    where(), what, s);
	}
	etl_die(ETL_EX_CONFIG, "%s: %s: \"%s\": not a date (YYYY-MM-DD, "
	    "today, yesterday or -Nd)", where(), what, s);
}

/* Appends s to the array of strings unless it is there already. */
static void
add_unique(json_t *a, const char *s)
{
	size_t i;

	for (i = 0; i < json_array_size(a); i++)
		if (strcmp(json_string_value(json_array_get(a, i)), s) == 0)
			return;
	json_array_append_new(a, json_string(s));
}

static void
check_name(const char *what, const char *s, const json_t *known)
{
	size_t i;

	if (!is_name(s))
		etl_die(ETL_EX_CONFIG, "%s: %s: \"%s\": not a name (letters, "
		    "digits, '.', '_' and '-', at most %d)", where(), what, s,
		    MAX_NAME);
	if (known == NULL)
		return;
	for (i = 0; i < json_array_size(known); i++)
		if (strcmp(json_string_value(json_array_get(known, i)), s) == 0)
			return;
	etl_die(ETL_EX_CONFIG, "%s: %s: \"%s\": unknown (the config knows "
	    "%zu)", where(), what, s, json_array_size(known));
}

/* A template: known placeholders, no whitespace (lists are space-separated). */
static void
check_template(const char *key, const char *t)
{
	static const char *ph[] = { "{source}", "{date}", "{yyyy}", "{mm}",
	    "{dd}", "{env}", NULL };
	const char *p;
	int i;

	if (*t == '\0')
		etl_die(ETL_EX_CONFIG, "%s: %s: empty template", config_path,
		    key);
	for (p = t; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			etl_die(ETL_EX_CONFIG, "%s: %s: \"%s\": whitespace in a "
			    "template", config_path, key, t);
		if (*p != '{')
			continue;
		if (p[1] == '{') {
			p++;
			continue;
		}
		for (i = 0; ph[i]; i++)
			if (strncmp(p, ph[i], strlen(ph[i])) == 0)
				break;
		if (ph[i] == NULL)
			etl_die(ETL_EX_CONFIG, "%s: %s: \"%s\": unknown "
			    "placeholder at \"%.12s\" (use {source}, {date}, "
			    "{yyyy}, {mm}, {dd}, {env} or {{)", config_path, key,
			    t, p);
		p += strlen(ph[i]) - 1;
	}
}

static json_t *
name_list(const json_t *c, const char *key, const json_t *known)
{
	json_t *v, *a;
	size_t i;
	char what[160];

	if ((v = json_object_get(c, key)) == NULL)
		return NULL;
	if (!json_is_array(v))
		etl_die(ETL_EX_CONFIG, "%s: /%s: expected an array of names",
		    config_path, key);
	/* Every name checked before anything is built. */
	for (i = 0; i < json_array_size(v); i++) {
		json_t *e = json_array_get(v, i);

		snprintf(what, sizeof(what), "/%s/%zu", key, i);
		if (!json_is_string(e))
			etl_die(ETL_EX_CONFIG, "%s: %s: expected a string",
			    config_path, what);
		check_name(what, json_string_value(e), known);
	}
	a = json_array();
	for (i = 0; i < json_array_size(v); i++)
		add_unique(a, json_string_value(json_array_get(v, i)));
	return a;
}

struct config {
	const char	*env;
	json_t		*envs;
	const char	*date;
	json_t		*sources, *known_sources;
	json_t		*use_cases, *known_use_cases;
	json_t		*templates;
	json_t		*params;	/* declared key -> default */
};

static void
load_config(struct config *cf, json_t *c)
{
	static const char *known[] = { "description", "env", "envs", "date",
	    "sources", "known_sources", "use_cases", "known_use_cases",
	    "inputs", "params", NULL };
	const char *k;
	json_t *v;
	size_t i;
	int j;
	char what[160];

	if (!json_is_object(c))
		etl_die(ETL_EX_CONFIG, "%s: expected a JSON object",
		    config_path);
	json_object_foreach(c, k, v) {
		for (j = 0; known[j]; j++)
			if (strcmp(known[j], k) == 0)
				break;
		if (known[j] == NULL)
			etl_die(ETL_EX_CONFIG, "%s: /%s: unknown key",
			    config_path, k);
	}
	if ((v = json_object_get(c, "description")) && !json_is_string(v))
		etl_die(ETL_EX_CONFIG, "%s: /description: expected a string",
		    config_path);
	cf->envs = name_list(c, "envs", NULL);
	if ((v = json_object_get(c, "env")) != NULL) {
		if (!json_is_string(v))
			etl_die(ETL_EX_CONFIG, "%s: /env: expected a string",
			    config_path);
		cf->env = json_string_value(v);
		check_name("/env", cf->env, cf->envs);
	}
	if ((v = json_object_get(c, "date")) != NULL) {
		if (!json_is_string(v))
			etl_die(ETL_EX_CONFIG, "%s: /date: expected a string",
			    config_path);
		cf->date = json_string_value(v);
		parse_day("/date", cf->date);
	}
	cf->known_sources = name_list(c, "known_sources", NULL);
	cf->sources = name_list(c, "sources", cf->known_sources);
	cf->known_use_cases = name_list(c, "known_use_cases", NULL);
	cf->use_cases = name_list(c, "use_cases", cf->known_use_cases);
	if ((v = json_object_get(c, "inputs")) != NULL) {
		cf->templates = json_array();
		if (json_is_string(v)) {
			check_template("/inputs", json_string_value(v));
			json_array_append(cf->templates, v);
		} else if (json_is_array(v)) {
			for (i = 0; i < json_array_size(v); i++) {
				json_t *e = json_array_get(v, i);

				snprintf(what, sizeof(what), "/inputs/%zu", i);
				if (!json_is_string(e))
					etl_die(ETL_EX_CONFIG, "%s: %s: "
					    "expected a string", config_path,
					    what);
				check_template(what, json_string_value(e));
				json_array_append(cf->templates, e);
			}
		} else
			etl_die(ETL_EX_CONFIG, "%s: /inputs: expected a "
			    "template or an array of templates", config_path);
	}
	if ((v = json_object_get(c, "params")) != NULL) {
		json_t *d;

		if (!json_is_object(v))
			etl_die(ETL_EX_CONFIG, "%s: /params: expected an object "
			    "of declared keys and their defaults", config_path);
		json_object_foreach(v, k, d) {
			if (!is_key(k))
				etl_die(ETL_EX_CONFIG, "%s: /params/%s: a key is "
				    "[a-z][a-z0-9_]*, at most %d", config_path,
				    k, MAX_NAME);
			if (is_builtin(k))
				etl_die(ETL_EX_CONFIG, "%s: /params/%s: a "
				    "built-in key cannot be declared",
				    config_path, k);
			if (json_is_object(d) || json_is_array(d))
				etl_die(ETL_EX_CONFIG, "%s: /params/%s: a "
				    "default is a string, number, boolean or "
				    "null", config_path, k);
		}
		cf->params = json_deep_copy(v);
	}
}

/* Sets a declared key; the default's type says how VALUE is read. */
static void
set_param(json_t *params, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char key[MAX_NAME + 1], *end;
	const char *val;
	json_t *d, *nv;
	double x;

	if (eq == NULL)
		etl_die(ETL_EX_USAGE, "--set: \"%s\": expected KEY=VALUE", arg);
	if ((size_t)(eq - arg) > MAX_NAME)
		etl_die(ETL_EX_CONFIG, "--set: %.*s...: unknown key (longer "
		    "than any name)", 32, arg);
	memcpy(key, arg, (size_t)(eq - arg));
	key[eq - arg] = '\0';
	val = eq + 1;
	if (params == NULL || (d = json_object_get(params, key)) == NULL)
		etl_die(ETL_EX_CONFIG, "--set: %s: unknown key (not declared "
		    "in %s /params)", key, config_path ? config_path :
		    "a --config file");
	if (json_is_integer(d) || json_is_real(d)) {
		errno = 0;
		x = strtod(val, &end);
		if (*val == '\0' || *end != '\0' || errno == ERANGE ||
		    x != x || strspn(val, "+-0123456789.eE") != strlen(val))
			etl_die(ETL_EX_CONFIG, "--set: %s: \"%s\": expected a "
			    "number", key, val);
		if (json_is_integer(d) && strpbrk(val, ".eE") == NULL) {
			long long ll;

			errno = 0;
			ll = strtoll(val, &end, 10);
			if (errno == ERANGE)
				etl_die(ETL_EX_CONFIG, "--set: %s: \"%s\": "
				    "integer out of range", key, val);
			nv = json_integer(ll);
		} else
			nv = json_real(x);
	} else if (json_is_boolean(d)) {
		if (strcmp(val, "true") == 0)
			nv = json_true();
		else if (strcmp(val, "false") == 0)
			nv = json_false();
		else
			etl_die(ETL_EX_CONFIG, "--set: %s: \"%s\": expected "
			    "true or false", key, val);
	} else {
		if (etl_utf8_valid(val, strlen(val)) != strlen(val))
			etl_die(ETL_EX_CONFIG, "--set: %s: value is not UTF-8",
			    key);
		nv = json_string(val);
	}
	json_object_set_new(params, key, nv);
}

/* 32 random bits after a sortable UTC time: unique across hosts too. */
static const char *
make_run_id(const struct timeval *tv)
{
	static char id[80];
	struct tm tm;
	char ts[32];
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)tv->tv_usec ^ ((uint32_t)getpid() << 12);
	gmtime_r(&tv->tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(id, sizeof(id), "%s-%06ld-%d-%08x", ts, (long)tv->tv_usec,
	    (int)getpid(), (unsigned)r);
	return id;
}

static void
expand(struct etl_buf *b, const char *t, const char *env, const char *src,
    int64_t day)
{
	char date[11];
	int y, m, d;

	etl_civil_from_days(day, &y, &m, &d);
	etl_date_format(date, y, m, d);
	b->len = 0;
	for (; *t; t++) {
		if (*t != '{') {
			etl_buf_addc(b, *t);
		} else if (t[1] == '{') {
			etl_buf_addc(b, '{');
			t++;
		} else if (strncmp(t, "{source}", 8) == 0) {
			etl_buf_adds(b, src);
			t += 7;
		} else if (strncmp(t, "{date}", 6) == 0) {
			etl_buf_adds(b, date);
			t += 5;
		} else if (strncmp(t, "{yyyy}", 6) == 0) {
			etl_buf_add(b, date, 4);
			t += 5;
		} else if (strncmp(t, "{mm}", 4) == 0) {
			etl_buf_add(b, date + 5, 2);
			t += 3;
		} else if (strncmp(t, "{dd}", 4) == 0) {
			etl_buf_add(b, date + 8, 2);
			t += 3;
		} else if (strncmp(t, "{env}", 5) == 0) {
			etl_buf_adds(b, env);
			t += 4;
		}
	}
}

/* Scalars as text for sh and make: strings raw, null empty, else JSON. */
static void
scalar_text(struct etl_buf *b, const json_t *v)
{
	size_t i;

	if (json_is_string(v)) {
		etl_buf_add(b, json_string_value(v), json_string_length(v));
	} else if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				etl_buf_addc(b, ' ');
			scalar_text(b, json_array_get(v, i));
		}
	} else if (!json_is_null(v))
		etl_json_dump(b, v);
}

/* Single quotes keep everything but a quote, written '\''. */
static void
sh_line(struct etl_buf *o, const char *name, const char *v, size_t n)
{
	size_t i;

	etl_buf_printf(o, "export %s='", name);
	for (i = 0; i < n; i++) {
		if (v[i] == '\'')
			etl_buf_adds(o, "'\\''");
		else
			etl_buf_addc(o, v[i]);
	}
	etl_buf_adds(o, "'\n");
}

/*
 * GNU make reads "\#" as '#', so backslashes before a '#' double; "$()"
 * (an empty variable) keeps leading blanks and stops a final backslash
 * from continuing the line.  Newlines cannot be written.
 */
static void
make_line(struct etl_buf *o, const char *key, const char *name,
    const char *v, size_t n)
{
	size_t i, j;

	if (memchr(v, '\n', n) || memchr(v, '\r', n))
		etl_die(ETL_EX_CONFIG, "%s: the value has a newline, which "
		    "make format cannot write", key);
	etl_buf_printf(o, "%s := ", name);
	if (n > 0 && (v[0] == ' ' || v[0] == '\t'))
		etl_buf_adds(o, "$()");
	for (i = 0; i < n; i++) {
		if (v[i] == '$') {
			etl_buf_adds(o, "$$");
		} else if (v[i] == '#') {
			etl_buf_adds(o, "\\#");
		} else if (v[i] == '\\') {
			for (j = i; j < n && v[j] == '\\'; j++)
				;
			etl_buf_add(o, v + i, j - i);
			if (j < n && v[j] == '#')
				etl_buf_add(o, v + i, j - i);
			i = j - 1;
		} else
			etl_buf_addc(o, v[i]);
	}
	if (n > 0 && v[n - 1] == '\\')
		etl_buf_adds(o, "$()");
	etl_buf_addc(o, '\n');
}

static void
emit_var(struct etl_buf *o, int fmt, const char *key, const json_t *v)
{
	static struct etl_buf t;	/* kept: sh_line() may die */
	char name[MAX_NAME + 8];
	size_t i;

	t.len = 0;
	snprintf(name, sizeof(name), "ETL_%s", key);
	for (i = 4; name[i]; i++)
		if (name[i] >= 'a' && name[i] <= 'z')
			name[i] -= 'a' - 'A';
	scalar_text(&t, v);
	if (fmt == FMT_SH)
		sh_line(o, name, t.p ? t.p : "", t.len);
	else
		make_line(o, key, name, t.p ? t.p : "", t.len);
}

int
main(int argc, char *argv[])
{
	static struct option longopts[] = {
		{ "config",	required_argument,	NULL, OPT_CONFIG },
		{ "date",	required_argument,	NULL, OPT_DATE },
		{ "env",	required_argument,	NULL, OPT_ENV },
		{ "format",	required_argument,	NULL, OPT_FORMAT },
		{ "from",	required_argument,	NULL, OPT_FROM },
		{ "help",	no_argument,		NULL, 'h' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "set",	required_argument,	NULL, OPT_SET },
		{ "source",	required_argument,	NULL, OPT_SOURCE },
		{ "to",		required_argument,	NULL, OPT_TO },
		{ "use-case",	required_argument,	NULL, OPT_USE_CASE },
		{ "version",	no_argument,		NULL, ETL_OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct config cf = { 0 };
	struct etl_buf b = { 0 }, o = { 0 };
	struct timeval tv;
	const char *date = NULL, *from = NULL, *to = NULL, *env, *run_id, *k;
	const char *s;
	json_t *srcs = json_array(), *ucs = json_array(), *sets = json_array();
	json_t *out, *dates, *inputs, *params, *v, *c;
	int64_t d0, d1, d;
	size_t i, t;
	int ch, fmt = FMT_JSON, y, m, dd;
	char day[11], started[21];

	gettimeofday(&tv, NULL);
	etl_init("etl-params", usage_text, help_text);
	env = NULL;
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS, longopts,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_CONFIG:
			config_path = optarg;
			break;
		case OPT_DATE:
			date = optarg;
			break;
		case OPT_ENV:
			env = optarg;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") == 0)
				fmt = FMT_JSON;
			else if (strcmp(optarg, "sh") == 0)
				fmt = FMT_SH;
			else if (strcmp(optarg, "make") == 0)
				fmt = FMT_MAKE;
			else
				etl_usage();
			break;
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_SET:
			json_array_append_new(sets, json_string_nocheck(optarg));
			break;
		case OPT_SOURCE:
			json_array_append_new(srcs, json_string_nocheck(optarg));
			break;
		case OPT_TO:
			to = optarg;
			break;
		case OPT_USE_CASE:
			json_array_append_new(ucs, json_string_nocheck(optarg));
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0 || (date && (from || to)) || (!from != !to))
		etl_usage();

	today = local_today();
	if (config_path) {
		c = etl_json_load_file(config_path, "params config");
		load_config(&cf, c);
	} else
		c = NULL;
	s = config_path;
	config_path = NULL;	/* what follows comes from the command line */

	if (env == NULL)
		env = cf.env ? cf.env : "dev";
	else
		check_name("--env", env, cf.envs);
	if (from) {
		d0 = parse_day("--from", from);
		d1 = parse_day("--to", to);
		if (d0 > d1)
			etl_die(ETL_EX_CONFIG, "command line: --from %s is after "
			    "--to %s", from, to);
	} else {
		if (date == NULL) {
			config_path = s;
			date = cf.date ? cf.date : "today";
		}
		d0 = d1 = parse_day("--date", date);
		config_path = NULL;
	}
	if (d1 - d0 + 1 > MAX_DAYS)
		etl_die(ETL_EX_CONFIG, "command line: --from %s --to %s: %lld "
		    "days, more than %d", from, to, (long long)(d1 - d0 + 1),
		    MAX_DAYS);

	if (json_array_size(srcs) == 0) {
		if (cf.sources)
			json_array_extend(srcs, cf.sources);
	} else {
		json_t *u = json_array();

		for (i = 0; i < json_array_size(srcs); i++) {
			k = json_string_value(json_array_get(srcs, i));
			check_name("--source", k, cf.known_sources);
			add_unique(u, k);
		}
		json_decref(srcs);
		srcs = u;
	}
	if (json_array_size(ucs) == 0) {
		if (cf.use_cases)
			json_array_extend(ucs, cf.use_cases);
	} else {
		json_t *u = json_array();

		for (i = 0; i < json_array_size(ucs); i++) {
			k = json_string_value(json_array_get(ucs, i));
			check_name("--use-case", k, cf.known_use_cases);
			add_unique(u, k);
		}
		json_decref(ucs);
		ucs = u;
	}
	config_path = s;
	if ((params = cf.params) == NULL)
		params = cf.params = json_object();
	for (i = 0; i < json_array_size(sets); i++)
		set_param(cf.params, json_string_value(json_array_get(sets, i)));

	if ((s = getenv("ETL_RUN_ID")) != NULL && *s)
		run_id = s;
	else
		run_id = etl_run_id = make_run_id(&tv);
	etl_datetime_format(started, (int64_t)tv.tv_sec);

	dates = json_array();
	for (d = d0; d <= d1; d++) {
		etl_civil_from_days(d, &y, &m, &dd);
		etl_date_format(day, y, m, dd);
		json_array_append_new(dates, json_string(day));
	}
	/* Template by template, source by source, day by day; no repeats. */
	inputs = json_array();
	if (cf.templates == NULL) {
		cf.templates = json_array();
		json_array_append_new(cf.templates, json_string(DEFAULT_TEMPLATE));
	}
	for (t = 0; t < json_array_size(cf.templates); t++)
		for (i = 0; i < json_array_size(srcs); i++)
			for (d = d0; d <= d1; d++) {
				expand(&b, json_string_value(
				    json_array_get(cf.templates, t)), env,
				    json_string_value(json_array_get(srcs, i)),
				    d);
				add_unique(inputs, etl_buf_cstr(&b));
			}

	out = json_object();
	json_object_set_new(out, "run_id", json_string_nocheck(run_id));
	json_object_set_new(out, "env", json_string(env));
	json_object_set(out, "from", json_array_get(dates, 0));
	json_object_set(out, "to", json_array_get(dates,
	    json_array_size(dates) - 1));
	json_object_set_new(out, "dates", dates);
	json_object_set_new(out, "sources", srcs);
	json_object_set_new(out, "use_cases", ucs);
	json_object_set_new(out, "inputs", inputs);
	json_object_set_new(out, "started_at", json_string(started));
	json_object_foreach(params, k, v)
		json_object_set(out, k, v);

	if (fmt == FMT_JSON) {
		etl_json_dump(&o, out);
		etl_buf_addc(&o, '\n');
	} else {
		json_object_foreach(out, k, v)
			emit_var(&o, fmt, k, v);
		b.len = 0;
		etl_json_dump(&b, out);
		if (fmt == FMT_SH)
			sh_line(&o, "ETL_PARAMS", b.p, b.len);
		else
			make_line(&o, "params", "ETL_PARAMS", b.p, b.len);
	}
	etl_out_line(o.p, o.len - 1);
	etl_out_flush();
	if (close(STDOUT_FILENO) == -1 && errno != EBADF && errno != EINTR)
		etl_die(ETL_EX_IOERR, "stdout: %s", strerror(errno));
	etl_info("run %s: %s %s..%s, %lld day%s, %zu source%s, %zu input%s",
	    run_id, env, json_string_value(json_object_get(out, "from")),
	    json_string_value(json_object_get(out, "to")),
	    (long long)(d1 - d0 + 1), d1 == d0 ? "" : "s",
	    json_array_size(srcs), json_array_size(srcs) == 1 ? "" : "s",
	    json_array_size(inputs), json_array_size(inputs) == 1 ? "" : "s");
	etl_buf_free(&b);
	etl_buf_free(&o);
	json_decref(out);
	json_decref(sets);
	json_decref(c);
	json_decref(cf.templates);
	json_decref(cf.params);
	json_decref(cf.envs);
	json_decref(cf.sources);
	json_decref(cf.known_sources);
	json_decref(cf.use_cases);
	json_decref(cf.known_use_cases);
	return ETL_EX_OK;
}
