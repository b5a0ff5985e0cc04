/*
 * etl.h - the code every etl tool shares: the record stream, the reject
 * channel, logs, stats, buffers, JSON output, dates and Hive paths.
 * Grouped by the file that defines it.
 */
#ifndef ETL_H
#define ETL_H

#include <sys/types.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define ETL_VERSION	"0.1.0"

/* Exit statuses, after sysexits.h. */
#define ETL_EX_OK		0
#define ETL_EX_USAGE		64	/* bad usage */
#define ETL_EX_DATAERR		65	/* a quality gate tripped */
#define ETL_EX_NOINPUT		66	/* input missing */
#define ETL_EX_UNAVAILABLE	69	/* a target unreachable after retries */
#define ETL_EX_SOFTWARE		70	/* internal error */
#define ETL_EX_CANTCREAT	73	/* cannot create output */
#define ETL_EX_IOERR		74	/* I/O error */
#define ETL_EX_TEMPFAIL		75	/* temporary failure, worth a retry */
#define ETL_EX_CONFIG		78	/* bad schema, rules or params */

/* Limits, documented in etl(7). */
#define ETL_MAX_LINE	((size_t)256 << 20)	/* longer lines are rejected */
#define ETL_MAX_DEPTH	2048			/* jansson's nesting limit */

#define ETL_PRINTF(a, b)	__attribute__((format(printf, a, b)))
#define ETL_NORETURN		__attribute__((noreturn))

/* util.c: helpers that die (status 70) when memory runs out. */
void	*emalloc(size_t);
void	*ecalloc(size_t, size_t);
void	*erealloc(void *, size_t);
char	*estrdup(const char *);
char	*estrndup(const char *, size_t);

struct etl_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};
void	 etl_buf_grow(struct etl_buf *, size_t);
void	 etl_buf_adds(struct etl_buf *, const char *);
void	 etl_buf_printf(struct etl_buf *, const char *, ...) ETL_PRINTF(2, 3);
const char *etl_buf_cstr(struct etl_buf *);	/* NUL-terminates */
void	 etl_buf_free(struct etl_buf *);

/* Inline: they run for every byte of output that is not copied whole. */
static inline void
etl_buf_add(struct etl_buf *b, const void *p, size_t n)
{
	if (b->cap - b->len <= n)
		etl_buf_grow(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static inline void
etl_buf_addc(struct etl_buf *b, int c)
{
	if (b->cap - b->len <= 1)
		etl_buf_grow(b, 1);
	b->p[b->len++] = (char)c;
}

/* Writes all of it, through EINTR: 0, or -1 with errno. */
int	 etl_write_all(int fd, const char *, size_t);
/* Only spaces, tabs and CRs: a blank line, not a record. */
int	 etl_blank(const char *, size_t);
/* A hexadecimal digit's value, or -1. */
int	 etl_hexval(int);
/* An option's number from min to max, else a message and usage(). */
double	 etl_arg_number(const char *opt, const char *arg, double min, double max);

/* Split "a,b,c" into a NULL-terminated vector of new strings. */
char	**etl_split(const char *, int sep, size_t *np);
void	 etl_split_free(char **);

/* log.c: identity, logs and usage. */
extern const char	*etl_tool;	/* "etl-check" */
extern const char	*etl_run_id;	/* ETL_RUN_ID, or generated */
extern int		 etl_quiet;	/* -q: errors only */
extern int		 etl_log_json;	/* ETL_LOG=json */
extern volatile sig_atomic_t etl_signalled;	/* SIGINT/SIGTERM seen */

/*
 * Call first in main(): sets the tool name, the run id, the log format,
 * the signal handlers (SIGPIPE ignored, SIGINT/SIGTERM set etl_signalled
 * and interrupt blocking reads) and the text printed by -h and usage.
 */
void	 etl_init(const char *tool, const char *usage, const char *help);
void	 etl_usage(void) ETL_NORETURN;		/* to stderr, exit 64 */
void	 etl_help(void) ETL_NORETURN;		/* to stdout, exit 0 */
void	 etl_die(int status, const char *, ...) ETL_PRINTF(2, 3) ETL_NORETURN;
void	 etl_error(const char *, ...) ETL_PRINTF(1, 2);
void	 etl_warn(const char *, ...) ETL_PRINTF(1, 2);
void	 etl_info(const char *, ...) ETL_PRINTF(1, 2);
/* A log line with extra fields for ETL_LOG=json (fields borrowed). */
void	 etl_log(const char *level, json_t *fields, const char *, ...)
	    ETL_PRINTF(3, 4);

/* options.c: the options every tool shares. */
enum {
	ETL_OPT_REJECTS = 0x1000,
	ETL_OPT_STATS,
	ETL_OPT_VERSION,
	ETL_OPT_TOOL		/* first value free for a tool's long options */
};
#define ETL_SHORTOPTS	"hq"
#define ETL_LONGOPTS \
	{ "help",	no_argument,		NULL, 'h' }, \
	{ "quiet",	no_argument,		NULL, 'q' }, \
	{ "rejects",	required_argument,	NULL, ETL_OPT_REJECTS }, \
	{ "stats",	required_argument,	NULL, ETL_OPT_STATS }, \
	{ "version",	no_argument,		NULL, ETL_OPT_VERSION }
/* Handles a shared option; anything else (including '?') is usage(). */
void	 etl_option(int ch, const char *arg);

/* input.c: byte sources, transparently zstd- or gzip-decompressed. */
struct etl_input;
/* "-" or NULL is stdin.  NULL with errno set when it cannot be opened. */
struct etl_input *etl_input_open(const char *path);
struct etl_input *etl_input_fd(int fd, const char *name);
/* Bytes read, 0 at the end, -1 on error (etl_input_error() says why). */
ssize_t	 etl_input_read(struct etl_input *, void *, size_t);
const char *etl_input_error(struct etl_input *);
/* The exit status the error calls for: 65 corrupt or truncated data, 74 I/O. */
int	 etl_input_status(struct etl_input *);
/* The first bytes, decompressed, without consuming them (for sniffing). */
size_t	 etl_input_peek(struct etl_input *, const char **);
const char *etl_input_name(struct etl_input *);
int	 etl_input_compressed(struct etl_input *);	/* 0, 'z' or 'g' */
uint64_t etl_input_raw_bytes(struct etl_input *);	/* read from the file */
void	 etl_input_close(struct etl_input *);

/* lines.c: lines of any length out of an input, CR LF and LF. */
struct etl_lines;
struct etl_lines *etl_lines_new(struct etl_input *);
/*
 * 1 with the line (without its end) in *p and *len, valid until the next
 * call; 0 at the end; -1 on a read error.  A line longer than
 * ETL_MAX_LINE comes back truncated to its first bytes with *toolong set.
 */
int	 etl_lines_next(struct etl_lines *, const char **p, size_t *len,
	    int *toolong);
unsigned long etl_lines_lineno(struct etl_lines *);
void	 etl_lines_free(struct etl_lines *);

/* progress.c: a status line while reading, only on a terminal. */
double	 etl_now(void);			/* monotonic seconds */
/* size: the input's bytes when known, else 0. */
void	 etl_progress_start(struct etl_input *, const char *name, double size);
void	 etl_progress_tick(void);	/* cheap: call per record */
void	 etl_progress_end(void);

/* stream.c: the record loop. */
struct etl_scan;
struct etl_rec {
	const char	*file;		/* "-" is shown as <stdin> */
	unsigned long	 line;
	const char	*raw;		/* the line's bytes, without its end */
	size_t		 len;
	json_t		*json;		/* see etl_rec_object() */
	int		 parsed;
	int		 toolong;
	int		 object;	/* a scanner saw a valid JSON object */
	int		 scanned;	/* etl_rec_scan(): 0 not yet, 1 OK, -1 no */
};
typedef void etl_rec_fn(struct etl_rec *, void *arg);
/*
 * Reads every FILE operand (stdin when there are none, "-" is stdin),
 * calls fn for each non-blank line and counts it in.  Returns 0, or 66
 * when an operand could not be opened (the others are still read), or 74
 * on a read error.  Stops between records once etl_signalled is set.
 */
int	 etl_loop(int argc, char **argv, etl_rec_fn *fn, void *arg);
/*
 * The record as a JSON object (borrowed, owned by the loop), parsed on
 * first use; NULL when the line is not a JSON object, in which case it has
 * already been rejected with code "parse".
 */
json_t	*etl_rec_object(struct etl_rec *);
/*
 * The record as an object holding only the named fields (a new
 * reference): read by the lazy scanner (lib/scan.h) without parsing the
 * rest, or taken from etl_rec_object() when the scanner is not sure.
 * NULL, rejected, as for etl_rec_object().
 */
json_t	*etl_rec_fields(struct etl_rec *, const char *const *names, size_t n);
/*
 * The record's top-level fields as the loop's one scanner found them
 * (lib/scan.h; borrowed, valid until the next record), or NULL when the
 * scanner is off (ETL_SCAN=0) or cannot vouch for the line: then ask
 * etl_rec_object().  NULL rejects nothing.
 */
const struct etl_scan *etl_rec_scan(struct etl_rec *);

/* out.c: records out, on stdout through one large buffer. */
void	 etl_out_raw(const char *, size_t);	/* one record, \n added */
void	 etl_out_rec(struct etl_rec *);		/* the record as it came */
void	 etl_out_json(const json_t *);		/* one record, serialised */
void	 etl_out_line(const char *, size_t);	/* not a record (partials) */
void	 etl_out_flush(void);
int	 etl_out_fd(void);

/* json.c: serialising with the shortest round-trip numbers. */
void	 etl_json_dump(struct etl_buf *, const json_t *);
void	 etl_json_string(struct etl_buf *, const char *, size_t);
void	 etl_json_real(struct etl_buf *, double);
/* The same through printf alone: the reference etl_json_real is held to. */
void	 etl_json_real_printf(struct etl_buf *, double);
/* A configuration file (schema, rules, models); dies 66 or 78 with a position. */
json_t	*etl_json_load_file(const char *path, const char *what);
/* Parses one record line (integers beyond 64 bits as reals; NUL refused). */
json_t	*etl_json_parse(const char *, size_t, json_error_t *);
/* Accept a UTF-8 string: the number of bytes of the valid prefix. */
size_t	 etl_utf8_valid(const char *, size_t);
/* Whether n bytes begin a UTF-8 character but are fewer than it needs. */
int	 etl_utf8_partial(const char *, size_t);
size_t	 etl_utf8_chars(const char *, size_t);
/* A string that is wholly a JSON number, as that number (1), else 0. */
int	 etl_text_number(const char *, size_t, double *, int *isint);

/* reject.c: the reject channel. */
/* Appends {"path","code","message"} to *reasons (created when NULL). */
void	 etl_reason(json_t **reasons, const char *path, const char *code,
	    const char *, ...) ETL_PRINTF(4, 5);
/* Rejects a record (its raw bytes kept); steals reasons. */
void	 etl_reject(struct etl_rec *, json_t *reasons);
/* Rejects something that was never a stream line: a CSV row, a reply. */
void	 etl_reject_json(const char *file, unsigned long line,
	    const json_t *record, json_t *reasons);
void	 etl_reject_raw(const char *file, unsigned long line,
	    const char *raw, size_t len, json_t *reasons);
/*
 * A line "__reject<TAB>JSON" is an upstream tool's reject (--rejects
 * inline), never a record.  The first byte is tested before the rest:
 * this runs for every line read.
 */
#define ETL_REJECT_PREFIX	"__reject\t"
static inline int
etl_reject_prefixed(const char *p, size_t n)
{
	return n >= 9 && p[0] == '_' && memcmp(p, ETL_REJECT_PREFIX, 9) == 0;
}
/*
 * Passes the JSON of such a line on to this tool's rejects as it came,
 * counted in etl_n_passed, not as this tool's reject: 0.  -1, nothing
 * written, when it is not an object with a "reasons" array.
 */
int	 etl_reject_pass(const char *, size_t);

/* stats.c: counts and the final stats. */
extern unsigned long long etl_n_in, etl_n_out, etl_n_rejected;
extern unsigned long long etl_n_passed;	/* upstream rejects passed on */
void	 etl_count_in(unsigned long long);
/* Counts a reason code in the stats without rejecting (skips, nulls). */
void	 etl_count(const char *group, const char *key, unsigned long long);
/* Extra field of the stats (steals value). */
void	 etl_stats_set(const char *key, json_t *value);
/* Text added to the stats line ("gate max-rejects tripped"). */
void	 etl_stats_note(const char *, ...) ETL_PRINTF(1, 2);
/* Raises the final status to at least this. */
void	 etl_status(int);
/* Flushes stdout and the rejects, writes the stats; the exit status. */
int	 etl_finish(void);

/* date.c: calendar dates and ISO 8601 times. */
int	 etl_leap(int y);
int	 etl_mdays(int y, int m);
int64_t	 etl_days_from_civil(int y, int m, int d);
void	 etl_civil_from_days(int64_t, int *y, int *m, int *d);
/* Exactly YYYY-MM-DD and a real day: 0, else -1. */
int	 etl_date_parse(const char *, size_t, int *y, int *m, int *d);
/*
 * ISO 8601 date-time: YYYY-MM-DD[T ]HH:MM[:SS[.frac]] with Z, +HH:MM,
 * +HHMM or +HH (none: UTC).  strict: the RFC 3339 date-time of JSON
 * Schema (seconds and an offset required).  Seconds since the epoch in
 * UTC: 0, else -1.
 */
int	 etl_datetime_parse(const char *, size_t, int strict, int64_t *);
void	 etl_date_format(char out[11], int y, int m, int d);
void	 etl_datetime_format(char out[21], int64_t);

/*
 * journal.c: a store's commits.  A writer holds dir/_lock; a commit is
 * decided once its journal dir/_commits/.COMMIT.pending is durable, and
 * whoever takes the lock next finishes it.
 */
/* Takes dir/_lock, waiting up to wait seconds (75 after); the fd. */
int	 etl_lock_dir(const char *dir, double wait);
/* Under the lock: finishes killed commits, removes their staging. */
void	 etl_journal_recover(const char *root);
/* Applies a journal's operations, writes its manifest, removes it. */
void	 etl_journal_apply(const char *root, const json_t *journal);
/* For readers: finishes a commit left pending in dir (locks as a writer). */
void	 etl_journal_finish(const char *dir, double wait);
void	 etl_clear_staging(const char *dir);
int	 etl_commit_name_ok(const char *);
/* Writes a small JSON file atomically (aside, fsync, rename, fsync dir). */
void	 etl_write_atomic(const char *dir, const char *name, const json_t *);
void	 etl_rm_rf(const char *);
int	 etl_fsync_path(const char *, int dir);
void	 etl_fsync_parent(const char *);
char	*etl_parent_of(const char *);		/* a new string */
/* ETL_STORE_CRASH=where: SIGKILL here, for the tests. */
void	 etl_crash_point(const char *where);

/* hive.c: Hive partition path escaping. */
void	 etl_hive_escape(struct etl_buf *, const char *, size_t);
/* Unescapes %XX in place; returns the new length. */
size_t	 etl_hive_unescape(char *, size_t);
#define ETL_HIVE_DEFAULT	"__HIVE_DEFAULT_PARTITION__"

/* text.c: UTF-8 letters, white space, case and accent folding. */
/* One code point at s, its length in *len; a bad byte is itself. */
unsigned etl_utf8_get(const unsigned char *, size_t, size_t *len);
void	 etl_utf8_put(struct etl_buf *, unsigned);
/*
 * The white space at s, or ending s[0..n): its length, 0 if none (ASCII,
 * U+00A0, U+2000 to U+200B, U+202F, U+3000, U+FEFF).
 */
size_t	 etl_space_at(const char *, size_t);
size_t	 etl_space_before(const char *, size_t);
void	 etl_trim(const char **, size_t *);
/* Trimmed, lower-cased, Latin accents stripped: how words compare. */
void	 etl_fold(struct etl_buf *, const char *, size_t);
/* how: 'l' lower or 'u' upper case (Latin, Greek, Cyrillic). */
void	 etl_recase(struct etl_buf *, const char *, size_t, int how);

/* units.c: units of area. */
/* The key a unit is known by: folded letters and digits ("Sq. Ft." sqft). */
void	 etl_unit_key(struct etl_buf *, const char *, size_t);
/* The square metres of the unit of that key, exact decimal text, or NULL. */
const char *etl_unit_m2(const char *key);
/* The name of its family ("bighas", "bigha": "bigha"), or NULL. */
const char *etl_unit_name(const char *key);
/* The m² of a key, by a rule's name -> m² text first (NULL: none). */
const char *etl_unit_find(const json_t *over, const char *key);

/* number.c: numbers out of human-typed text. */
enum { ETL_RANGE_REJECT, ETL_RANGE_MIN, ETL_RANGE_MAX, ETL_RANGE_MEAN };
struct etl_numopt {
	int		 integer;	/* an integer wanted */
	char		 decimal;	/* '.' or ',', 0 to guess */
	int		 currency;	/* find the currency */
	const json_t	*symbols;	/* the rule's sign -> ISO code, or NULL */
	int		 period;	/* find the period (day ... year) */
	int		 area;		/* read a unit of area, to m² */
	const char	*bare;		/* m² of a bare number's unit, NULL: 1 */
	const json_t	*units;		/* the rule's unit key -> m² text, or NULL */
	int		 range;		/* ETL_RANGE_*: what "2100 - 2850" gives */
};
struct etl_number {
	json_t		*value;		/* new reference */
	const char	*currency;	/* ISO 4217 code, NULL if none */
	const char	*period;	/* "day", "week", "month", "year" or NULL */
	const char	*why;		/* on failure */
	char		 msg[160];
};
/* Reads the first number of the text: 0, else -1 with why. */
int	 etl_number_read(const char *, size_t, const struct etl_numopt *,
	    struct etl_number *);

/* tz.c: local times of a named zone (the system's tz database). */
#define ETL_TZ_GAP	(-1)	/* a DST change skips the local time */
#define ETL_TZ_FOLD	1	/* a DST change repeats it */
int	 etl_tz_known(const char *zone);
/* Seconds east of UTC in force at the instant t. */
int64_t	 etl_tz_offset(const char *zone, int64_t t);
/* A local time (seconds as if UTC) to UTC: 0, ETL_TZ_GAP or ETL_TZ_FOLD. */
int	 etl_tz_utc(const char *zone, int64_t local, int64_t *utc);

/* date.c (continued): dates out of text. */
/* A month's name or abbreviation in English, French, German or Italian: 1-12, else 0. */
int	 etl_month_name(const char *, size_t);
struct etl_dateopt {
	const char *const *formats;	/* strptime(3), "epoch", "epoch_ms" */
	size_t		 nformats;
	int		 datetime;	/* a date-time, else a date */
	const char	*tz;		/* the zone of local times, or NULL */
};
/*
 * The text as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ in out: 0, else -1 with
 * why.  A local time without a zone is refused, never taken as UTC.
 */
int	 etl_date_read(const struct etl_dateopt *, const char *, size_t,
	    char out[21], const char **why);
/* A JSON number under an epoch format, the same way. */
int	 etl_date_epoch(const struct etl_dateopt *, double, char out[21],
	    const char **why);

/* regex.c: ECMA-262 regular expressions (JSON Schema's pattern) by PCRE2. */
struct etl_regex;
/* NULL, with the reason in err, when the pattern cannot be run. */
struct etl_regex *etl_regex_new(const char *, size_t, char *err, size_t errlen);
/* Searches the text: 1 a match, 0 none, -1 the match limits stopped it. */
int	 etl_regex_match(struct etl_regex *, const char *, size_t);
/* A PCRE2 pattern as it is, for the lib's own use; dies 70 if it is bad. */
struct etl_regex *etl_regex_pcre2(const char *);
void	 etl_regex_free(struct etl_regex *);

/* format.c: the string formats of JSON Schema. */
/* A format's number (from 1), or 0 when it has no checker. */
int	 etl_format_id(const char *name);
int	 etl_format_check(int id, const char *, size_t);	/* 1 valid */
const char *etl_format_name(int id);
const char *etl_format_what(int id);	/* "a date (YYYY-MM-DD)" */
/*
 * A date (datetime 0) or an RFC 3339 date-time as seconds since 1970 in
 * UTC and the digits of its fraction of a second: 0, else -1.
 */
int	 etl_format_instant(const char *, size_t, int datetime, int64_t *,
	    const char **frac, size_t *fraclen);

/*
 * schema.c: JSON Schema 2020-12, compiled once, then records validated.
 * Loading dies with status 78 on a schema it cannot check fully, naming
 * the keyword and its place.
 */
struct etl_schema;
struct etl_scan;
struct etl_schema_opts {
	int		 format_annotation;	/* format checks nothing */
	const char *const *ref_dirs;		/* "URI-PREFIX=DIR" */
	size_t		 nref_dirs;
};
/* The schema file; name (messages) and the base URI come from path. */
struct etl_schema *etl_schema_load(const char *path,
	    const struct etl_schema_opts *);
/* A schema document (borrowed); name is what messages call it. */
struct etl_schema *etl_schema_compile(json_t *, const char *name,
	    const struct etl_schema_opts *);
void	 etl_schema_free(struct etl_schema *);
/* After an etl_die() caught during a compile: frees what it had made. */
void	 etl_schema_discard(void);
/*
 * Validates a value: 1 valid; 0 invalid, every reason appended to
 * *reasons (created when NULL).
 */
int	 etl_schema_validate(struct etl_schema *, const json_t *,
	    json_t **reasons);
/*
 * The same from a record the scanner read (lib/scan.h), without building
 * it where the schema allows: 1 valid, 0 invalid with its reasons as
 * etl_schema_validate() gives them, -1 when only the parsed record can
 * say (*reasons is then untouched).
 */
int	 etl_schema_validate_scan(struct etl_schema *, const struct etl_scan *,
	    json_t **reasons);

#endif
