/*
 * etl-store - writes records into a Hive-partitioned store of zstd NDJSON
 * parts, DIR/KEY=VALUE/.../part-COMMIT-NNNN.ndjson.zst, and commits them
 * atomically: parts are written in DIR/.staging-COMMIT, a journal
 * (_commits/.COMMIT.pending) is made durable, then whole partition
 * directories are swapped in (overwrite) or part files linked in (append).
 * A run killed after the journal is rolled forward by the next run; one
 * killed before it leaves only a staging directory the next run removes.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "etl.h"
#include "scan.h"

static const char usage_text[] =
"usage: etl-store [-hq] --root dir --by key[,key ...]\n"
"                 [--mode overwrite | append | replace] [--wait seconds]\n"
"                 [--level n] [--max-file-bytes n] [--max-open n]\n"
"                 [--rejects file | inline] [--stats file] [file ...]\n"
"       etl-store [-hq] --root dir --by key[,key ...] --mode merge\n"
"                 --key field[,field ...] --history dir --day label\n"
"                 [--latest field] [--wait seconds] [--level n]\n"
"                 [--max-file-bytes n] [--max-open n]\n"
"                 [--rejects file | inline] [--stats file] [file ...]\n";

static const char help_text[] =
"  -r, --root DIR            the store's root directory (created if missing)\n"
"  -b, --by KEY[,KEY...]     partition keys, [a-z0-9_]+, outermost first\n"
"  -m, --mode MODE           overwrite (default): replace the partitions\n"
"                            this run touches; append: add files to them;\n"
"                            replace: the table becomes this run's records;\n"
"                            merge: one row per --key, its latest version,\n"
"                            from a history of days (see etl-store(1))\n"
"  -k, --key FIELD[,FIELD]   merge: the fields naming a row (an offer's id)\n"
"      --history DIR         merge: every day's records, DIR/day=LABEL/\n"
"      --day LABEL           merge: the day this run replaces in the history\n"
"      --latest FIELD        merge: within a day, the greatest value wins\n"
"  -w, --wait SECONDS        wait that long for a store another run holds\n"
"                            (default 0: exit 75 at once)\n"
"      --level N             zstd level (default 3)\n"
"      --max-file-bytes N    start a new part after N compressed bytes\n"
"                            (k, M, G suffixes; default 128M; 0: no limit)\n"
"      --max-open N          part files open at once (default 16)\n";

enum {
	OPT_LEVEL = ETL_OPT_TOOL,
	OPT_MAX_FILE_BYTES,
	OPT_MAX_OPEN,
	OPT_DAY,
	OPT_HISTORY,
	OPT_LATEST
};

struct part {			/* one part file */
	char		*name;		/* part-C-NNNN.ndjson.zst */
	size_t		 partition;
	unsigned long long records;
	unsigned long long bytes;	/* compressed, written so far */
	int		 created;
};

struct partition {
	char		*rel;		/* month=2024-01/city=a%2Fb */
	json_t		*values;	/* {"month":"2024-01","city":"a/b"} */
	unsigned long long records;
	size_t		 cur;		/* current part, or NONE */
	struct etl_buf	 pending;	/* records not yet compressed */
	unsigned long long npending;
	int		 fd;		/* -1 when closed */
	ZSTD_CCtx	*z;		/* with fd, a frame in progress */
	unsigned long	 used;		/* LRU tick */
};

#define NONE	((size_t)-1)

static char		*root;
static char		 commit[NAME_MAX + 1];
static char		*staging;		/* root/.staging-COMMIT */
static char		**keys;
static size_t		 nkeys;
static int		 use_scan = 1;		/* ETL_SCAN=0: jansson for all */
static int		 append;
static int		 level = 3;
static unsigned long long max_bytes = 128ULL << 20;
static size_t		 max_open = 16;

static struct partition	*parts_by;		/* partitions */
static size_t		 npartitions, partcap;
static json_t		*index_of;		/* rel -> partition index */
static struct part	*files;
static size_t		 nfiles, filecap;
static size_t		 nopen;
static unsigned long	 tick;
static ZSTD_CCtx	**pool;
static size_t		 npool;
static void		*zout;
static size_t		 zoutsz;
static int		 committing;		/* the journal exists */
static double		 lock_wait;		/* --wait: seconds */
static int		 mode;			/* MODE_* */
static char		**mkeys;		/* merge: --key */
static size_t		 nmkeys;
static const char	*latest;		/* merge: --latest */
static char		*hist;			/* merge: --history, absolute */
static char		*hstaging;		/* hist/.staging-COMMIT */
static char		*root_abs;		/* merge: root, absolute */
static const char	*day;			/* merge: --day */

enum { MODE_OVERWRITE, MODE_APPEND, MODE_REPLACE, MODE_MERGE };
static const char *const mode_names[] = {
	"overwrite", "append", "replace", "merge", NULL
};
static size_t		 total_pending;

/*
 * Records wait in a partition's buffer until it holds FLUSH_BYTES (or
 * --max-file-bytes, if smaller), or all buffers together PENDING_MAX;
 * each flush is one zstd flush, so that parts closed and reopened to bound
 * the open files still compress well.
 */
#define FLUSH_BYTES	((size_t)64 << 10)
#define PENDING_MAX	((size_t)32 << 20)

static char *
path(const char *fmt, ...) ETL_PRINTF(1, 2);

/*
 * A new path (the caller frees it).  fail() leaves through etl_die()
 * without returning to the frames that hold the latest paths, so they
 * are remembered here too, and a leak checker does not count them lost.
 */
static char *recent_paths[8];

static char *
path(const char *fmt, ...)
{
	static size_t next;
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		etl_die(ETL_EX_SOFTWARE, "out of memory");
	va_end(ap);
	recent_paths[next++ % 8] = s;
	return s;
}

/* Aborts before the journal: nothing of this run becomes visible. */
static void
abandon(void)
{
	size_t i;

	for (i = 0; i < npartitions; i++) {
		if (parts_by[i].fd != -1) {
			close(parts_by[i].fd);
			parts_by[i].fd = -1;
		}
		etl_buf_free(&parts_by[i].pending);
	}
	if (staging && !committing)
		etl_rm_rf(staging);
	if (hstaging && !committing)
		etl_rm_rf(hstaging);
}

static void
fail(int status, const char *fmt, ...) ETL_PRINTF(2, 3) ETL_NORETURN;

static void
fail(int status, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	abandon();
	etl_die(status, "%s", msg);
}

/* Creates a store's root, its parents and _commits; 73 when it cannot. */
static void
make_root(const char *dir, int commits)
{
	struct stat st;
	char *p = estrdup(dir), *s;

	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		int end = *s == '\0';

		*s = '\0';
		if (mkdir(p, 0777) == -1 && errno != EEXIST)
			etl_die(ETL_EX_CANTCREAT, "%s: %s", p, strerror(errno));
		if (end)
			break;
		*s = '/';
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		etl_die(ETL_EX_CANTCREAT, "%s: not a directory", dir);
	free(p);
	if (!commits)
		return;
	p = path("%s/_commits", dir);
	if (mkdir(p, 0777) == -1 && errno != EEXIST)
		etl_die(ETL_EX_CANTCREAT, "%s: %s", p, strerror(errno));
	free(p);
}

static void
choose_commit(void)
{
	struct stat st;
	char *p;
	int n;

	if (!etl_commit_name_ok(etl_run_id))
		etl_die(ETL_EX_CONFIG, "ETL_RUN_ID \"%s\": a commit name needs "
		    "[A-Za-z0-9._-], a letter or digit first, under 128 bytes",
		    etl_run_id);
	snprintf(commit, sizeof(commit), "%s", etl_run_id);
	for (n = 2; ; n++) {
		p = path("%s/_commits/%s.json", root, commit);
		if (lstat(p, &st) == -1 && errno == ENOENT) {
			free(p);
			break;
		}
		free(p);
		snprintf(commit, sizeof(commit), "%s.%d", etl_run_id, n);
	}
	staging = path("%s/.staging-%s", root, commit);
	if (mkdir(staging, 0777) == -1)
		etl_die(ETL_EX_CANTCREAT, "%s: %s", staging, strerror(errno));
	if (hist == NULL)
		return;
	hstaging = path("%s/.staging-%s", hist, commit);
	if (mkdir(hstaging, 0777) == -1)
		fail(ETL_EX_CANTCREAT, "%s: %s", hstaging, strerror(errno));
}

/*
 * Compresses n bytes (a frame's end with ZSTD_e_end) into fd, counting
 * what is written in *bytes: 0, or -1 with errno on a write error.  The
 * table's parts and the history's both go through it.
 */
static int
zcompress(ZSTD_CCtx *z, int fd, const void *p, size_t n,
    ZSTD_EndDirective end, unsigned long long *bytes)
{
	ZSTD_inBuffer in = { p, n, 0 };
	ZSTD_outBuffer out;
	size_t r;

	do {
		out.dst = zout;
		out.size = zoutsz;
		out.pos = 0;
		r = ZSTD_compressStream2(z, &out, &in, end);
		if (ZSTD_isError(r))
			fail(ETL_EX_SOFTWARE, "zstd: %s", ZSTD_getErrorName(r));
		if (etl_write_all(fd, zout, out.pos) == -1)
			return -1;
		*bytes += out.pos;
	} while (end != ZSTD_e_continue ? r != 0 : in.pos < in.size);
	return 0;
}

static void
zwrite(struct partition *pt, const void *p, size_t n, ZSTD_EndDirective end)
{
	struct part *f = &files[pt->cur];

	if (zcompress(pt->z, pt->fd, p, n, end, &f->bytes) == -1)
		fail(ETL_EX_IOERR, "%s/p%zu/.%s.tmp: %s", staging,
		    f->partition, f->name, strerror(errno));
}

/* Ends the frame and closes the part file; it may be reopened for more. */
static void
part_close(struct partition *pt)
{
	if (pt->fd == -1)
		return;
	zwrite(pt, NULL, 0, ZSTD_e_end);
	if (close(pt->fd) == -1)
		fail(ETL_EX_IOERR, "%s/p%zu: close: %s", staging,
		    (size_t)(pt - parts_by), strerror(errno));
	pt->fd = -1;
	pool[npool++] = pt->z;
	pt->z = NULL;
	nopen--;
}

/*
 * Opens the partition's current part, a new one when it has none or the
 * current one is full.  A part closed to bound the open files (least
 * recently used first) is reopened and gets one more zstd frame: a zstd
 * file is any sequence of frames.
 */
static void
part_open(struct partition *pt)
{
	size_t i = (size_t)(pt - parts_by), j, lru;
	struct part *f;
	char *p;
	size_t r;

	if (pt->cur != NONE && max_bytes && files[pt->cur].bytes >= max_bytes) {
		part_close(pt);
		pt->cur = NONE;
	}
	pt->used = ++tick;
	if (pt->fd != -1)
		return;
	if (nopen >= max_open) {
		for (lru = NONE, j = 0; j < npartitions; j++)
			if (parts_by[j].fd != -1 && (lru == NONE ||
			    parts_by[j].used < parts_by[lru].used))
				lru = j;
		part_close(&parts_by[lru]);
	}
	if (pt->cur == NONE) {
		if (nfiles == filecap) {
			filecap = filecap ? filecap * 2 : 64;
			files = erealloc(files, filecap * sizeof(*files));
		}
		f = &files[nfiles];
		memset(f, 0, sizeof(*f));
		f->name = path("part-%s-%04zu.ndjson.zst", commit, nfiles);
		f->partition = i;
		pt->cur = nfiles++;
	}
	f = &files[pt->cur];
	p = path("%s/p%zu", staging, i);
	if (!f->created && mkdir(p, 0777) == -1 && errno != EEXIST)
		fail(ETL_EX_CANTCREAT, "%s: %s", p, strerror(errno));
	free(p);
	p = path("%s/p%zu/.%s.tmp", staging, i, f->name);
	pt->fd = open(p, f->created ? O_WRONLY | O_APPEND | O_CLOEXEC :
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (pt->fd == -1)
		fail(ETL_EX_CANTCREAT, "%s: %s", p, strerror(errno));
	free(p);
	f->created = 1;
	nopen++;
	if (npool > 0)
		pt->z = pool[--npool];
	else if ((pt->z = ZSTD_createCCtx()) == NULL)
		fail(ETL_EX_SOFTWARE, "out of memory");
	ZSTD_CCtx_reset(pt->z, ZSTD_reset_session_only);
	r = ZSTD_CCtx_setParameter(pt->z, ZSTD_c_compressionLevel, level);
	if (ZSTD_isError(r))
		fail(ETL_EX_SOFTWARE, "zstd: %s", ZSTD_getErrorName(r));
}

static void
flush(struct partition *pt)
{
	if (pt->pending.len == 0)
		return;
	part_open(pt);
	zwrite(pt, pt->pending.p, pt->pending.len, ZSTD_e_flush);
	files[pt->cur].records += pt->npending;
	total_pending -= pt->pending.len;
	pt->npending = 0;
	etl_buf_free(&pt->pending);
}

static struct partition *
partition_find(const char *rel)
{
	json_t *ix = json_object_get(index_of, rel);

	return ix ? &parts_by[json_integer_value(ix)] : NULL;
}

static struct partition *
partition_new(const char *rel, json_t *values)
{
	struct partition *pt;

	if (npartitions == partcap) {
		partcap = partcap ? partcap * 2 : 64;
		parts_by = erealloc(parts_by, partcap * sizeof(*parts_by));
	}
	pt = &parts_by[npartitions];
	memset(pt, 0, sizeof(*pt));
	pt->rel = estrdup(rel);
	pt->values = values;
	pt->cur = NONE;
	pt->fd = -1;
	json_object_set_new(index_of, rel, json_integer((json_int_t)npartitions));
	npartitions++;
	return pt;
}

/*
 * The record, parsed keeping integers as integers (the library reads every
 * number as a double, which would write 2024 back as 2024.0).  Falls back
 * to the library's parse (and its rejects) for integers beyond 64 bits and
 * for lines that are not JSON objects.
 */
static json_t *
record_object(struct etl_rec *r)
{
	json_error_t e;
	json_t *j;

	if (!r->parsed) {
		j = json_loadb(r->raw, r->len, JSON_REJECT_DUPLICATES, &e);
		if (json_is_object(j)) {
			r->json = j;
			r->parsed = 1;
			return j;
		}
		json_decref(j);
	}
	return etl_rec_object(r);
}

static const char *
skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* p at a '"': just past the closing one. */
static const char *
skip_string(const char *p, const char *e)
{
	for (p++; p < e && *p != '"'; p++)
		if (*p == '\\')
			p++;
	return p < e ? p + 1 : e;
}

static const char *
skip_value(const char *p, const char *e)
{
	int depth = 0;

	do {
		if (*p == '"')
			p = skip_string(p, e);
		else {
			if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']')
				depth--;
			else if (depth == 0 && (*p == ',' || *p == ' ' ||
			    *p == '\t' || *p == '\r' || *p == '\n'))
				return p;
			p++;
		}
	} while (p < e && (depth > 0 || (*p != ',' && *p != '}' &&
	    *p != ']')));
	return p;
}

static int
is_key(const char *p, size_t n)
{
	json_t *j;
	size_t i;
	int hit = 0;

	if (memchr(p, '\\', n) == NULL) {
		for (i = 0; i < nkeys; i++)
			if (strlen(keys[i]) == n - 2 &&
			    memcmp(keys[i], p + 1, n - 2) == 0)
				return 1;
		return 0;
	}
	/* An escaped key, "\u0063ity": decoded by jansson. */
	if ((j = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)) == NULL)
		return 0;
	for (i = 0; i < nkeys && !hit; i++)
		hit = strcmp(json_string_value(j), keys[i]) == 0;
	json_decref(j);
	return hit;
}

/*
 * The record (a JSON object jansson has accepted) without the partition
 * fields, cut out of its text: the other members stay as they came, big
 * integers and number spellings included.
 */
static void
without_keys(struct etl_buf *b, const char *p, size_t n)
{
	const char *e = p + n, *k, *v;
	int first = 1;

	p = skip_ws(p, e);
	etl_buf_addc(b, '{');
	for (p = skip_ws(p + 1, e); p < e && *p == '"'; ) {
		k = p;
		p = skip_string(p, e);
		v = skip_ws(skip_ws(p, e) + 1, e);	/* past ':' */
		p = skip_value(v, e);
		if (!is_key(k, (size_t)(skip_string(k, e) - k))) {
			if (!first)
				etl_buf_addc(b, ',');
			first = 0;
			etl_buf_add(b, k, (size_t)(p - k));
		}
		p = skip_ws(p, e);
		if (p < e && *p == ',')
			p = skip_ws(p + 1, e);
	}
	etl_buf_addc(b, '}');
}

/*
 * A named field's value in this record.  names[] holds the partition
 * keys first (nkeys of them), then the merge keys (--key), then the
 * --latest field: one scan of the record finds them all.
 */
enum { KV_TEXT, KV_DEFAULT, KV_OBJECT, KV_ARRAY };
struct kv {
	int		 kind;
	struct etl_buf	 text;
};
static const char	**names;
static size_t		 nnames;
static struct kv	*kvs;		/* one per name */
static struct etl_scan	 scan;

/*
 * The value's text: strings as they are, numbers by their JSON text,
 * true and false; the default (no value) for null, missing and "".
 */
static void
kv_text(struct kv *kv)
{
	if (kv->kind == KV_TEXT && (kv->text.len == 0 ||
	    (kv->text.len == strlen(ETL_HIVE_DEFAULT) &&
	    memcmp(kv->text.p, ETL_HIVE_DEFAULT, kv->text.len) == 0)))
		kv->kind = KV_DEFAULT;
}

static void
parsed_kvs(const json_t *o, int *present)
{
	const json_t *v;
	size_t i;

	for (i = 0; i < nnames; i++) {
		struct kv *kv = &kvs[i];

		v = json_object_get(o, names[i]);
		if (i < nkeys)
			*present |= v != NULL;
		kv->text.len = 0;
		kv->kind = KV_TEXT;
		switch (v ? json_typeof(v) : JSON_NULL) {
		case JSON_STRING:
			etl_buf_add(&kv->text, json_string_value(v),
			    json_string_length(v));
			break;
		case JSON_INTEGER:
		case JSON_REAL:
		case JSON_TRUE:
		case JSON_FALSE:
			etl_json_dump(&kv->text, v);
			break;
		case JSON_NULL:
			kv->kind = KV_DEFAULT;
			break;
		case JSON_OBJECT:
			kv->kind = KV_OBJECT;
			break;
		case JSON_ARRAY:
			kv->kind = KV_ARRAY;
			break;
		}
		kv_text(kv);
	}
}

/* The same from the scanner's fields; -1 leaves the record to jansson. */
static int
scanned_kvs(const struct etl_scan *sc, int *present)
{
	const struct etl_field *f;
	long long ll;
	double d;
	size_t i;

	for (i = 0; i < nnames; i++) {
		struct kv *kv = &kvs[i];

		f = etl_scan_get(sc, names[i], strlen(names[i]));
		if (i < nkeys)
			*present |= f != NULL;
		kv->text.len = 0;
		kv->kind = KV_TEXT;
		switch (f ? f->type : 'z') {
		case 's':
			if (etl_scan_string(f, &kv->text) == -1)
				return -1;
			break;
		case 'n':
			switch (etl_scan_numeric(f, &ll, &d)) {
			case 1:
				etl_buf_printf(&kv->text, "%lld", ll);
				break;
			case 0:
				etl_json_real(&kv->text, d);
				break;
			default:
				return -1;
			}
			break;
		case 't':
			etl_buf_add(&kv->text, "true", 4);
			break;
		case 'f':
			etl_buf_add(&kv->text, "false", 5);
			break;
		case 'z':
			kv->kind = KV_DEFAULT;
			break;
		case 'o':
			kv->kind = KV_OBJECT;
			break;
		default:
			kv->kind = KV_ARRAY;
			break;
		}
		kv_text(kv);
	}
	return 0;
}

/* The scanned record without the partition fields, members as they came. */
static void
scanned_without_keys(struct etl_buf *b, const struct etl_scan *sc)
{
	const struct etl_field *f;
	size_t i, k;
	int first = 1;

	etl_buf_addc(b, '{');
	for (i = 0; i < sc->n; i++) {
		f = &sc->f[i];
		for (k = 0; k < nkeys; k++)
			if (strlen(keys[k]) == f->klen &&
			    memcmp(keys[k], f->key, f->klen) == 0)
				break;
		if (k < nkeys)
			continue;
		if (!first)
			etl_buf_addc(b, ',');
		first = 0;
		/* From the key's quote to the value's end. */
		etl_buf_add(b, f->key - 1, (size_t)(f->val + f->vlen +
		    (f->type == 's') - (f->key - 1)));
	}
	etl_buf_addc(b, '}');
}

/*
 * Reads the named fields of a record into kvs.  A line that is not a
 * JSON object is rejected, or, read back from the history (kept), ends
 * the run: the history holds only records a run accepted.  -1 when it is
 * not an object; *scanned says whether the scanner read it.
 */
static int
fields_of(struct etl_rec *r, int kept, int *scanned, int *present)
{
	json_t *o;

	*present = 0;
	*scanned = use_scan && etl_scan_object(&scan, r->raw, r->len) ==
	    ETL_SCAN_OK && scanned_kvs(&scan, present) == 0;
	if (*scanned) {
		r->object = 1;
		return 0;
	}
	*present = 0;
	if (kept && !r->parsed) {
		r->json = etl_json_parse(r->raw, r->len, NULL);
		r->parsed = 1;
		if (!json_is_object(r->json))
			fail(ETL_EX_DATAERR, "%s:%lu: not a JSON object; the "
			    "history holds only records a run stored",
			    r->file, r->line);
	}
	if ((o = record_object(r)) == NULL)
		return -1;
	parsed_kvs(o, present);
	return 0;
}

/* The record's partition path from kvs, or the reasons it has none. */
static void
rel_of(struct etl_buf *rel, json_t **rs)
{
	static struct etl_buf comp, ptr;
	size_t i;

	rel->len = 0;
	for (i = 0; i < nkeys; i++) {
		struct kv *kv = &kvs[i];

		ptr.len = 0;
		etl_buf_printf(&ptr, "/%s", keys[i]);
		if (kv->kind == KV_OBJECT || kv->kind == KV_ARRAY) {
			etl_reason(rs, ptr.p, "partition", "%s cannot be a "
			    "partition value", kv->kind == KV_OBJECT ?
			    "an object" : "an array");
			continue;
		}
		comp.len = 0;
		etl_buf_printf(&comp, "%s=", keys[i]);
		if (kv->kind == KV_DEFAULT)
			etl_buf_adds(&comp, ETL_HIVE_DEFAULT);
		else
			etl_hive_escape(&comp, kv->text.p, kv->text.len);
		if (comp.len > NAME_MAX) {
			etl_reason(rs, ptr.p, "partition", "value is %zu bytes "
			    "escaped; a directory name \"%s=...\" holds at most "
			    "%d bytes", comp.len - strlen(keys[i]) - 1, keys[i],
			    NAME_MAX);
			continue;
		}
		if (rel->len)
			etl_buf_addc(rel, '/');
		etl_buf_add(rel, comp.p, comp.len);
	}
	if (*rs == NULL && strlen(root) + rel->len + strlen(commit) * 2 + 64 >=
	    PATH_MAX)
		etl_reason(rs, "", "partition", "partition path of %zu bytes "
		    "too long for the file system", rel->len);
	etl_buf_cstr(rel);
}

/* Adds the record (fields_of and rel_of done) to its partition's buffer. */
static void
put(struct etl_rec *r, const char *rel, int scanned, int present)
{
	size_t flush_at = max_bytes && max_bytes < FLUSH_BYTES ?
	    (size_t)max_bytes : FLUSH_BYTES, len, i;
	struct partition *pt;
	json_t *values;

	if ((pt = partition_find(rel)) == NULL) {
		values = json_object();
		for (i = 0; i < nkeys; i++)
			json_object_set_new(values, keys[i],
			    kvs[i].kind == KV_DEFAULT ? json_null() :
			    json_stringn(kvs[i].text.p, kvs[i].text.len));
		pt = partition_new(rel, values);
	}
	len = pt->pending.len;
	if (!present)
		/* Nothing to remove: the record as it came. */
		etl_buf_add(&pt->pending, r->raw, r->len);
	else if (scanned)
		scanned_without_keys(&pt->pending, &scan);
	else
		without_keys(&pt->pending, r->raw, r->len);
	len = pt->pending.len - len;
	etl_buf_addc(&pt->pending, '\n');
	total_pending += len + 1;
	pt->npending++;
	pt->records++;
	if (pt->pending.len >= flush_at)
		flush(pt);
	if (total_pending >= PENDING_MAX)
		for (i = 0; i < npartitions; i++)
			flush(&parts_by[i]);
}

static void
store(struct etl_rec *r, void *arg)
{
	static struct etl_buf rel;
	json_t *rs = NULL;
	int scanned, present;

	(void)arg;
	if (fields_of(r, 0, &scanned, &present) == -1)
		return;
	rel_of(&rel, &rs);
	if (rs) {
		etl_reject(r, rs);
		return;
	}
	put(r, rel.p, scanned, present);
}

/*
 * --mode merge: the day's records go whole into the history,
 * HIST/day=DAY/, in place of what earlier runs of that day put there; the
 * table is then rebuilt from every day of the history: for each key the
 * record of the greatest day, within it the greatest --latest value,
 * within equal ones the one read last.  Two passes over the history:
 * the first finds each key's winner, the second stores the winners.
 */
static struct {
	int		 fd;
	ZSTD_CCtx	*z;
	char		*name;		/* the current part, or NULL */
	unsigned long long records, bytes, nrecords;
	size_t		 nfiles;
	json_t		*files;		/* [{path, records, bytes}] */
} hw = { -1, NULL, NULL, 0, 0, 0, 0, NULL };

struct ver {			/* a key's winner so far */
	char		*key;
	size_t		 klen;
	char		*late;		/* its --latest value, or NULL */
	size_t		 llen;
	size_t		 day;
	unsigned long long seq;
};
static struct ver	*vers;
static size_t		 nvers, vercap;

struct hfile {
	char		*path;
	size_t		 day;
};
static struct hfile	*hfiles;
static size_t		 nhfiles;
static unsigned long long nseq;		/* records in the history */
static unsigned long long table_records;	/* keys: the table's rows */

static void
hw_write(const void *p, size_t n, ZSTD_EndDirective end)
{
	if (zcompress(hw.z, hw.fd, p, n, end, &hw.bytes) == -1)
		fail(ETL_EX_IOERR, "%s/h/.%s.tmp: %s", hstaging, hw.name,
		    strerror(errno));
}

/* Ends the history part being written: durable, read-only, named. */
static void
hw_close(void)
{
	char *tmp, *p;

	if (hw.fd == -1)
		return;
	hw_write(NULL, 0, ZSTD_e_end);
	tmp = path("%s/h/.%s.tmp", hstaging, hw.name);
	p = path("%s/h/%s", hstaging, hw.name);
	if (fsync(hw.fd) == -1 || close(hw.fd) == -1)
		fail(ETL_EX_IOERR, "%s: %s", tmp, strerror(errno));
	hw.fd = -1;
	if (rename(tmp, p) == -1)
		fail(ETL_EX_IOERR, "%s: %s", p, strerror(errno));
	json_array_append_new(hw.files, json_pack("{s:s,s:I,s:I}", "path",
	    hw.name, "records", (json_int_t)hw.records,
	    "bytes", (json_int_t)hw.bytes));
	free(tmp);
	free(p);
	free(hw.name);
	hw.name = NULL;
}

static void
hw_add(const char *p, size_t n)
{
	char *f;

	if (hw.fd != -1 && max_bytes && hw.bytes >= max_bytes)
		hw_close();
	if (hw.fd == -1) {
		if (hw.nfiles == 0) {
			f = path("%s/h", hstaging);
			if (mkdir(f, 0777) == -1)
				fail(ETL_EX_CANTCREAT, "%s: %s", f,
				    strerror(errno));
			free(f);
		}
		hw.name = path("part-%s-%04zu.ndjson.zst", commit, hw.nfiles++);
		f = path("%s/h/.%s.tmp", hstaging, hw.name);
		if ((hw.fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0444)) == -1)
			fail(ETL_EX_CANTCREAT, "%s: %s", f, strerror(errno));
		free(f);
		if (hw.z == NULL && (hw.z = ZSTD_createCCtx()) == NULL)
			fail(ETL_EX_SOFTWARE, "out of memory");
		ZSTD_CCtx_reset(hw.z, ZSTD_reset_session_only);
		ZSTD_CCtx_setParameter(hw.z, ZSTD_c_compressionLevel, level);
		hw.records = hw.bytes = 0;
	}
	hw_write(p, n, ZSTD_e_continue);
	hw_write("\n", 1, ZSTD_e_continue);
	hw.records++;
	hw.nrecords++;
}

/* The day's records: checked for their keys, then into the history. */
static void
intake(struct etl_rec *r, void *arg)
{
	static struct etl_buf rel;
	json_t *rs = NULL;
	int scanned, present;
	size_t i;

	(void)arg;
	if (fields_of(r, 0, &scanned, &present) == -1)
		return;
	rel_of(&rel, &rs);
	for (i = nkeys; i < nnames; i++) {
		char ptr[NAME_MAX + 2];

		snprintf(ptr, sizeof(ptr), "/%s", names[i]);
		if (kvs[i].kind == KV_OBJECT || kvs[i].kind == KV_ARRAY)
			etl_reason(&rs, ptr, "type", "%s cannot be a %s value",
			    kvs[i].kind == KV_OBJECT ? "an object" : "an array",
			    i < nkeys + nmkeys ? "merge key" : "--latest");
		else if (kvs[i].kind == KV_DEFAULT && i < nkeys + nmkeys)
			etl_reason(&rs, ptr, "required", "the merge key is "
			    "missing, null or empty: the record cannot be merged");
	}
	if (rs) {
		etl_reject(r, rs);
		return;
	}
	hw_add(r->raw, r->len);
}

/* FNV-1a */
static uint64_t
hash(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

static struct ver *
ver_slot(const char *k, size_t n)
{
	size_t i;

	for (i = hash(k, n) & (vercap - 1); vers[i].key; i = (i + 1) &
	    (vercap - 1))
		if (vers[i].klen == n && memcmp(vers[i].key, k, n) == 0)
			break;
	return &vers[i];
}

/* A record of the history, the seq-th read, of day d: the winner yet? */
static void
ver_note(const char *k, size_t n, const struct kv *late, size_t d,
    unsigned long long seq)
{
	struct ver *v, *old;
	size_t i, cap, ln = late && late->kind == KV_TEXT ? late->text.len : 0;
	int c;

	if (nvers * 2 >= vercap) {
		old = vers;
		cap = vercap;
		vercap = vercap ? vercap * 2 : 1024;
		vers = ecalloc(vercap, sizeof(*vers));
		for (i = 0; i < cap; i++)
			if (old[i].key)
				*ver_slot(old[i].key, old[i].klen) = old[i];
		free(old);
	}
	v = ver_slot(k, n);
	if (v->key == NULL) {
		v->key = estrndup(k, n);
		v->klen = n;
		nvers++;
	} else if (d == v->day) {
		/* Days come in order: only the --latest value can lose. */
		c = memcmp(v->late ? v->late : "", ln ? late->text.p : "",
		    v->llen < ln ? v->llen : ln);
		if (c > 0 || (c == 0 && v->llen > ln))
			return;
	}
	free(v->late);
	v->late = ln ? estrndup(late->text.p, ln) : NULL;
	v->llen = ln;
	v->day = d;
	v->seq = seq;
}

struct hday {
	char	*label;		/* unescaped */
	char	*dir;
};

static int
hday_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hday *)a)->label,
	    ((const struct hday *)b)->label);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The history's days in order, this run's in place of its old one. */
static void
history_files(void)
{
	struct hday *days = NULL;
	size_t ndays = 0, i, j, n;
	struct dirent *d;
	struct stat st;
	char **names_in, *p;
	DIR *dp;

	if ((dp = opendir(hist)) == NULL)
		fail(ETL_EX_IOERR, "%s: %s", hist, strerror(errno));
	while ((d = readdir(dp)) != NULL) {
		if (strncmp(d->d_name, "day=", 4) != 0)
			continue;
		p = path("%s/%s", hist, d->d_name);
		if (lstat(p, &st) == -1 || !S_ISDIR(st.st_mode)) {
			free(p);
			continue;
		}
		days = erealloc(days, (ndays + 2) * sizeof(*days));
		days[ndays].label = estrdup(d->d_name + 4);
		days[ndays].label[etl_hive_unescape(days[ndays].label,
		    strlen(days[ndays].label))] = '\0';
		days[ndays].dir = p;
		if (strcmp(days[ndays].label, day) == 0) {
			free(days[ndays].label);
			free(p);
			continue;
		}
		ndays++;
	}
	closedir(dp);
	days = erealloc(days, (ndays + 1) * sizeof(*days));
	days[ndays].label = estrdup(day);
	days[ndays++].dir = path("%s/h", hstaging);
	qsort(days, ndays, sizeof(*days), hday_cmp);
	for (i = 0; i < ndays; i++) {
		if ((dp = opendir(days[i].dir)) == NULL) {
			if (errno == ENOENT)	/* an empty day */
				goto next;
			fail(ETL_EX_IOERR, "%s: %s", days[i].dir,
			    strerror(errno));
		}
		names_in = NULL;
		n = 0;
		while ((d = readdir(dp)) != NULL) {
			if (d->d_name[0] == '.' || d->d_name[0] == '_')
				continue;
			names_in = erealloc(names_in, (n + 1) *
			    sizeof(*names_in));
			names_in[n++] = estrdup(d->d_name);
		}
		closedir(dp);
		qsort(names_in, n, sizeof(*names_in), str_cmp);
		for (j = 0; j < n; j++) {
			hfiles = erealloc(hfiles, (nhfiles + 1) *
			    sizeof(*hfiles));
			hfiles[nhfiles].path = path("%s/%s", days[i].dir,
			    names_in[j]);
			hfiles[nhfiles++].day = i;
			free(names_in[j]);
		}
		free(names_in);
next:
		free(days[i].label);
		free(days[i].dir);
	}
	free(days);
}

/*
 * One pass over the history: the first notes each key's winner, the
 * second (win set) stores the winners.  A history line that is not what
 * a run stored ends the run with nothing committed.
 */
static void
history_pass(const uint64_t *win)
{
	static struct etl_buf rel, key;
	unsigned long long seq = 0;
	struct etl_input *in;
	struct etl_lines *l;
	struct etl_rec r;
	const char *p;
	json_t *rs;
	size_t i, k, n;
	int st = 0, toolong, scanned, present;

	for (i = 0; i < nhfiles && !etl_signalled; i++) {
		if ((in = etl_input_open(hfiles[i].path)) == NULL)
			fail(ETL_EX_IOERR, "%s: %s", hfiles[i].path,
			    strerror(errno));
		l = etl_lines_new(in);
		while (!etl_signalled &&
		    (st = etl_lines_next(l, &p, &n, &toolong)) == 1) {
			if (etl_blank(p, n))
				continue;
			memset(&r, 0, sizeof(r));
			r.file = hfiles[i].path;
			r.line = etl_lines_lineno(l);
			r.raw = p;
			r.len = n;
			if (toolong)
				fail(ETL_EX_DATAERR, "%s:%lu: line too long",
				    r.file, r.line);
			if (win && !(win[seq / 64] & (1ULL << (seq % 64)))) {
				seq++;
				continue;
			}
			fields_of(&r, 1, &scanned, &present);
			if (win == NULL) {
				key.len = 0;
				for (k = nkeys; k < nkeys + nmkeys; k++) {
					if (kvs[k].kind != KV_TEXT)
						fail(ETL_EX_DATAERR, "%s:%lu: "
						    "%s: no merge key", r.file,
						    r.line, names[k]);
					etl_buf_printf(&key, "%zu:",
					    kvs[k].text.len);
					etl_buf_add(&key, kvs[k].text.p,
					    kvs[k].text.len);
				}
				ver_note(key.p, key.len, latest ?
				    &kvs[nnames - 1] : NULL, hfiles[i].day, seq);
			} else {
				rs = NULL;
				rel_of(&rel, &rs);
				if (rs) {
					json_decref(rs);
					fail(ETL_EX_DATAERR, "%s:%lu: cannot be "
					    "partitioned by --by", r.file,
					    r.line);
				}
				put(&r, rel.p, scanned, present);
			}
			json_decref(r.json);
			seq++;
		}
		if (!etl_signalled && st == -1)
			fail(etl_input_status(in), "%s:%lu: %s", hfiles[i].path,
			    etl_lines_lineno(l) + 1, etl_input_error(in));
		etl_lines_free(l);
		etl_input_close(in);
	}
	nseq = seq;
}

/* The table rebuilt from the history, in the staging area. */
static void
rebuild(void)
{
	uint64_t *win;
	size_t i;

	hw_close();
	history_files();
	history_pass(NULL);
	win = ecalloc(nseq / 64 + 1, sizeof(*win));
	for (i = 0; i < vercap; i++)
		if (vers[i].key) {
			win[vers[i].seq / 64] |= 1ULL << (vers[i].seq % 64);
			free(vers[i].key);
			free(vers[i].late);
		}
	free(vers);
	vers = NULL;
	table_records = nvers;
	if (!etl_signalled)
		history_pass(win);
	free(win);
	for (i = 0; i < nhfiles; i++)
		free(hfiles[i].path);
	free(hfiles);
}

/*
 * Replace and merge: the table's partitions this run did not write are
 * moved into the staging area, so the table holds this run's alone.
 */
static void
drop_old(json_t *ops, const char *rel, size_t depth, size_t *n)
{
	char *d = rel ? path("%s/%s", root, rel) : estrdup(root), *child, *to;
	size_t klen = strlen(keys[depth]);
	struct dirent *e;
	struct stat st;
	DIR *dp;

	if ((dp = opendir(d)) == NULL)
		fail(ETL_EX_IOERR, "%s: %s", d, strerror(errno));
	while ((e = readdir(dp)) != NULL) {
		if (strncmp(e->d_name, keys[depth], klen) != 0 ||
		    e->d_name[klen] != '=')
			continue;
		child = rel ? path("%s/%s", rel, e->d_name) :
		    estrdup(e->d_name);
		to = path("%s/%s", root, child);
		if (lstat(to, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (depth + 1 < nkeys)
				drop_old(ops, child, depth + 1, n);
			else if (partition_find(child) == NULL) {
				free(to);
				to = path(".staging-%s/drop-%zu", commit, (*n)++);
				json_array_append_new(ops, json_pack(
				    "{s:s,s:s,s:s}", "op", "move", "from", child,
				    "to", to));
			}
		}
		free(to);
		free(child);
	}
	closedir(dp);
	free(d);
}

/* Merge: the history's day goes in, the old one aside. */
static void
history_ops(json_t *journal)
{
	json_t *ops = json_object_get(journal, "ops");
	struct etl_buf b = { 0 };
	char *from, *aside;

	etl_buf_adds(&b, "day=");
	etl_hive_escape(&b, day, strlen(day));
	etl_buf_cstr(&b);
	from = path(".staging-%s/h", commit);
	aside = path("_replaced/%s/%s", commit, b.p);
	if (hw.nfiles)
		json_array_append_new(ops, json_pack("{s:s,s:s,s:s,s:s}",
		    "op", "swap", "root", "history", "from", from, "to", b.p));
	/* After the swap the staged directory holds the old day, if any. */
	json_array_append_new(ops, json_pack("{s:s,s:s,s:s,s:s}", "op", "move",
	    "root", "history", "from", hw.nfiles ? from : b.p, "to", aside));
	json_object_set_new(journal, "history_root", json_string(hist));
	json_object_set_new(journal, "table_root", json_string(root_abs));
	json_object_set_new(journal, "history", json_pack("{s:s,s:s,s:I,s:O,"
	    "s:I,s:s}", "path", b.p, "day", day, "records",
	    (json_int_t)hw.nrecords, "files", hw.files, "versions",
	    (json_int_t)nseq, "replaced_to", aside));
	free(from);
	free(aside);
	etl_buf_free(&b);
}

static json_t *
file_entry(size_t i)
{
	struct part *f = &files[i];
	struct partition *pt = &parts_by[f->partition];

	return json_pack("{s:s+++,s:O,s:I,s:I}",
	    "path", pt->rel, "/", "", f->name,
	    "partition", pt->values,
	    "records", (json_int_t)f->records,
	    "bytes", (json_int_t)f->bytes);
}

/* Closes every part, makes it durable and builds the journal. */
static json_t *
prepare(void)
{
	json_t *j, *fs, *ps, *ops, *by;
	unsigned long long total = 0, bytes = 0;
	char ts[21];
	char *from, *to, *p, *d;
	size_t i;

	for (i = 0; i < npartitions; i++) {
		flush(&parts_by[i]);
		part_close(&parts_by[i]);
	}
	fs = json_array();
	for (i = 0; i < nfiles; i++) {
		struct part *f = &files[i];

		p = path("%s/p%zu/.%s.tmp", staging, f->partition, f->name);
		if (chmod(p, 0444) == -1 || etl_fsync_path(p, 0) == -1)
			fail(ETL_EX_IOERR, "%s: fsync: %s", p, strerror(errno));
		if (!append) {
			/* Inside the staging area, still invisible. */
			to = path("%s/p%zu/%s", staging, f->partition, f->name);
			if (rename(p, to) == -1)
				fail(ETL_EX_IOERR, "%s: %s", to, strerror(errno));
			free(to);
		}
		free(p);
		json_array_append_new(fs, file_entry(i));
		total += f->records;
		bytes += f->bytes;
	}
	ps = json_array();
	ops = json_array();
	for (i = 0; i < npartitions; i++) {
		struct partition *pt = &parts_by[i];

		d = path("%s/p%zu", staging, i);
		if (etl_fsync_path(d, 1) == -1)
			fail(ETL_EX_IOERR, "%s: fsync: %s", d, strerror(errno));
		free(d);
		json_array_append_new(ps, json_pack("{s:s,s:O,s:I}",
		    "path", pt->rel, "values", pt->values,
		    "records", (json_int_t)pt->records));
		if (!append) {
			from = path(".staging-%s/p%zu", commit, i);
			json_array_append_new(ops, json_pack("{s:s,s:s,s:s}",
			    "op", "swap", "from", from, "to", pt->rel));
			free(from);
		}
	}
	for (i = 0; append && i < nfiles; i++) {
		struct part *f = &files[i];

		from = path(".staging-%s/p%zu/.%s.tmp", commit, f->partition,
		    f->name);
		to = path("%s/%s", parts_by[f->partition].rel, f->name);
		json_array_append_new(ops, json_pack("{s:s,s:s,s:s}",
		    "op", "link", "from", from, "to", to));
		free(from);
		free(to);
	}
	if (etl_fsync_path(staging, 1) == -1 || etl_fsync_path(root, 1) == -1)
		fail(ETL_EX_IOERR, "%s: fsync: %s", staging, strerror(errno));
	etl_datetime_format(ts, (int64_t)time(NULL));
	by = json_array();
	for (i = 0; i < nkeys; i++)
		json_array_append_new(by, json_string(keys[i]));
	j = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I,s:I,s:I,s:I,s:o,s:o,s:o}",
	    "run_id", etl_run_id, "commit", commit,
	    "mode", mode_names[mode], "time", ts, "by", by,
	    "in", (json_int_t)etl_n_in, "rejected", (json_int_t)etl_n_rejected,
	    "records", (json_int_t)total, "bytes", (json_int_t)bytes,
	    "partitions", ps, "files", fs, "ops", ops);
	return j;
}

static unsigned long long
parse_size(const char *s, const char *opt)
{
	unsigned long long v;
	char *e;

	errno = 0;
	if (*s < '0' || *s > '9')
		goto bad;
	v = strtoull(s, &e, 10);
	if (errno)
		goto bad;
	switch (*e) {
	case 'k': case 'K':
		v <<= 10, e++;
		break;
	case 'M':
		v <<= 20, e++;
		break;
	case 'G':
		v <<= 30, e++;
		break;
	}
	if (*e == '\0')
		return v;
bad:
	etl_error("%s: bad size \"%s\"", opt, s);
	etl_usage();
}

static long
parse_int(const char *s, const char *opt, long lo, long hi)
{
	long v;
	char *e;

	errno = 0;
	v = strtol(s, &e, 10);
	if (*s == '\0' || *e != '\0' || errno || v < lo || v > hi) {
		etl_error("%s: \"%s\" is not a number from %ld to %ld", opt, s,
		    lo, hi);
		etl_usage();
	}
	return v;
}

static void
parse_keys(const char *arg)
{
	char **v;
	size_t n, i, j;

	v = etl_split(arg, ',', &n);
	for (i = 0; i < n; i++) {
		if (v[i][0] == '\0' || strspn(v[i],
		    "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(v[i])) {
			etl_error("--by: \"%s\": a key name is [a-z0-9_]+", v[i]);
			etl_usage();
		}
		/* Readers skip names starting with "_": the data would vanish. */
		if (v[i][0] == '_') {
			etl_error("--by: \"%s\": readers skip directories "
			    "starting with \"_\"", v[i]);
			etl_usage();
		}
		for (j = 0; j < nkeys; j++)
			if (strcmp(keys[j], v[i]) == 0) {
				etl_error("--by: \"%s\" given twice", v[i]);
				etl_usage();
			}
		keys = erealloc(keys, (nkeys + 2) * sizeof(*keys));
		keys[nkeys++] = estrdup(v[i]);
		keys[nkeys] = NULL;
	}
	etl_split_free(v);
}

int
main(int argc, char *argv[])
{
	static struct option longopts[] = {
		{ "by",			required_argument, NULL, 'b' },
		{ "day",		required_argument, NULL, OPT_DAY },
		{ "history",		required_argument, NULL, OPT_HISTORY },
		{ "key",		required_argument, NULL, 'k' },
		{ "latest",		required_argument, NULL, OPT_LATEST },
		{ "level",		required_argument, NULL, OPT_LEVEL },
		{ "max-file-bytes",	required_argument, NULL, OPT_MAX_FILE_BYTES },
		{ "max-open",		required_argument, NULL, OPT_MAX_OPEN },
		{ "mode",		required_argument, NULL, 'm' },
		{ "root",		required_argument, NULL, 'r' },
		{ "wait",		required_argument, NULL, 'w' },
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *history = NULL;
	sigset_t block;
	json_t *journal, *fs;
	char *commits, *p;
	size_t i;
	int ch, st;

	etl_init("etl-store", usage_text, help_text);
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS "b:k:m:r:w:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			parse_keys(optarg);
			break;
		case 'k':
			etl_split_free(mkeys);
			mkeys = etl_split(optarg, ',', &nmkeys);
			for (i = 0; i < nmkeys; i++)
				if (mkeys[i][0] == '\0') {
					etl_error("--key: \"%s\": an empty "
					    "field name", optarg);
					etl_usage();
				}
			break;
		case 'm':
			for (mode = 0; mode_names[mode] &&
			    strcmp(optarg, mode_names[mode]) != 0; mode++)
				;
			if (mode_names[mode] == NULL) {
				etl_error("--mode: \"%s\": overwrite, append, "
				    "replace or merge", optarg);
				etl_usage();
			}
			append = mode == MODE_APPEND;
			break;
		case 'r':
			root = optarg;
			break;
		case 'w':
			lock_wait = etl_arg_number("--wait", optarg, 0, 1e9);
			break;
		case OPT_DAY:
			day = optarg;
			break;
		case OPT_HISTORY:
			history = optarg;
			break;
		case OPT_LATEST:
			latest = optarg;
			break;
		case OPT_LEVEL:
			level = (int)parse_int(optarg, "--level",
			    ZSTD_minCLevel(), ZSTD_maxCLevel());
			break;
		case OPT_MAX_FILE_BYTES:
			max_bytes = parse_size(optarg, "--max-file-bytes");
			break;
		case OPT_MAX_OPEN:
			max_open = (size_t)parse_int(optarg, "--max-open", 1,
			    4096);
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (root == NULL || *root == '\0' || nkeys == 0) {
		etl_error("%s is required: the store's root directory and its "
		    "partition keys, as in --root store/offers --by "
		    "scraping_date", root == NULL || *root == '\0' ? (nkeys ?
		    "--root" : "--root and --by") : "--by");
		etl_usage();
	}
	if ((mode == MODE_MERGE) != (nmkeys > 0 || history || day || latest) ||
	    (mode == MODE_MERGE && (nmkeys == 0 || history == NULL ||
	    day == NULL || *day == '\0' || *history == '\0'))) {
		etl_error("--mode merge goes with --key, --history and --day "
		    "(and --latest), and they with it");
		etl_usage();
	}
	/* "DIR/" and "DIR" are one root; "/" stays "/". */
	root = estrdup(root);
	for (i = strlen(root); i > 1 && root[i - 1] == '/'; i--)
		root[i - 1] = '\0';

	make_root(root, 1);
	etl_lock_dir(root, lock_wait);
	if (history) {
		/* Absolute: the journal names it, and a later run replays it. */
		make_root(history, 1);
		if ((hist = realpath(history, NULL)) == NULL ||
		    (root_abs = realpath(root, NULL)) == NULL)
			etl_die(ETL_EX_CANTCREAT, "%s: %s", history,
			    strerror(errno));
		if (strcmp(root_abs, hist) == 0) {
			etl_error("--history %s: the table's own root; the "
			    "history is a table of its own", history);
			etl_usage();
		}
		etl_lock_dir(hist, lock_wait);
		hw.files = json_array();
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	etl_journal_recover(root);
	if (hist)
		etl_journal_recover(hist);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	choose_commit();
	index_of = json_object();
	/* The fields read from each record: --by, --key, --latest. */
	nnames = nkeys + nmkeys + (latest != NULL);
	names = ecalloc(nnames, sizeof(*names));
	for (i = 0; i < nkeys; i++)
		names[i] = keys[i];
	for (i = 0; i < nmkeys; i++)
		names[nkeys + i] = mkeys[i];
	if (latest)
		names[nnames - 1] = latest;
	kvs = ecalloc(nnames, sizeof(*kvs));
	/* ETL_SCAN=0 turns the scanner off, to compare the two paths. */
	if (getenv("ETL_SCAN") && strcmp(getenv("ETL_SCAN"), "0") == 0)
		use_scan = 0;
	zoutsz = ZSTD_CStreamOutSize();
	zout = emalloc(zoutsz);
	pool = ecalloc(max_open, sizeof(*pool));

	st = etl_loop(argc, argv, mode == MODE_MERGE ? intake : store, NULL);
	if (!etl_signalled && st == 0 && mode == MODE_MERGE)
		rebuild();
	if (etl_signalled || st != 0) {
		abandon();
		etl_n_out = 0;
		etl_stats_note("nothing stored");
		etl_status(st);
		return etl_finish();
	}
	journal = prepare();
	if (mode == MODE_REPLACE || mode == MODE_MERGE) {
		size_t n = 0;

		drop_old(json_object_get(journal, "ops"), NULL, 0, &n);
	}
	if (mode == MODE_MERGE)
		history_ops(journal);
	/* From the journal on, the commit is finished, by us or the next run. */
	sigprocmask(SIG_BLOCK, &block, NULL);
	if (etl_signalled) {
		json_decref(journal);
		abandon();
		etl_n_out = 0;
		etl_stats_note("nothing stored");
		return etl_finish();
	}
	commits = path("%s/_commits", root);
	p = path(".%s.pending", commit);
	committing = 1;
	etl_write_atomic(commits, p, journal);
	if (hist) {
		/* The same journal in the history, where its readers look. */
		free(commits);
		commits = path("%s/_commits", hist);
		etl_write_atomic(commits, p, journal);
		free(commits);
		commits = path("%s/_commits", root);
	}
	etl_crash_point("journal");
	etl_journal_apply(root, journal);
	free(p);
	p = path("%s/%s.json", commits, commit);
	chmod(p, 0444);
	free(p);
	free(commits);

	fs = json_object_get(journal, "files");
	for (i = 0; i < json_array_size(fs); i++) {
		struct etl_buf b = { 0 };

		etl_json_dump(&b, json_array_get(fs, i));
		etl_out_line(b.p, b.len);
		etl_buf_free(&b);
	}
	etl_n_out = (unsigned long long)json_integer_value(
	    json_object_get(journal, "records"));
	if (mode == MODE_MERGE) {
		etl_n_out = hw.nrecords;
		etl_stats_set("day", json_string(day));
		etl_stats_set("table", json_integer((json_int_t)table_records));
		etl_stats_set("versions", json_integer((json_int_t)nseq));
		etl_stats_set("superseded", json_integer((json_int_t)(nseq -
		    table_records)));
		etl_stats_note("table of %llu rows from %llu versions",
		    table_records, nseq);
	}
	etl_stats_set("commit", json_string(commit));
	etl_stats_set("files", json_integer((json_int_t)nfiles));
	etl_stats_set("partitions", json_integer((json_int_t)npartitions));
	json_decref(journal);
	for (i = 0; i < npool; i++)
		ZSTD_freeCCtx(pool[i]);
	for (i = 0; i < npartitions; i++) {
		free(parts_by[i].rel);
		json_decref(parts_by[i].values);
	}
	for (i = 0; i < nfiles; i++)
		free(files[i].name);
	free(parts_by);
	free(files);
	free(pool);
	free(zout);
	free(staging);
	json_decref(index_of);
	json_decref(hw.files);
	ZSTD_freeCCtx(hw.z);
	etl_split_free(keys);
	etl_split_free(mkeys);
	free(names);
	free(hist);
	free(hstaging);
	free(root_abs);
	free(root);
	return etl_finish();
}
