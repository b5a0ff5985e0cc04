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
"usage: etl-store [-hq] --root dir --by key[,key ...] [--mode overwrite | append]\n"
"                 [--level n] [--max-file-bytes n] [--max-open n]\n"
"                 [--rejects file | inline] [--stats file] [file ...]\n";

static const char help_text[] =
"  -r, --root DIR            the store's root directory (created if missing)\n"
"  -b, --by KEY[,KEY...]     partition keys, [a-z0-9_]+, outermost first\n"
"  -m, --mode MODE           overwrite (default): replace the partitions\n"
"                            this run touches; append: add files to them\n"
"      --level N             zstd level (default 3)\n"
"      --max-file-bytes N    start a new part after N compressed bytes\n"
"                            (k, M, G suffixes; default 128M; 0: no limit)\n"
"      --max-open N          part files open at once (default 16)\n";

enum {
	OPT_LEVEL = ETL_OPT_TOOL,
	OPT_MAX_FILE_BYTES,
	OPT_MAX_OPEN
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

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(p) == -1 && errno != ENOENT)
		etl_warn("%s: cannot remove: %s", p, strerror(errno));
	return 0;
}

static void
rm_rf(const char *p)
{
	struct stat st;

	if (lstat(p, &st) == -1)
		return;
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
fsync_path(const char *p, int dir)
{
	int fd, r;

	if ((fd = open(p, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0))) == -1)
		return -1;
	r = fsync(fd);
	/* Some file systems cannot fsync a directory; the rename still holds. */
	if (r == -1 && dir && (errno == EINVAL || errno == EBADF))
		r = 0;
	close(fd);
	return r;
}

/* The parent directory of p, in a new string. */
static char *
parent_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s == NULL ? estrdup(".") : s == p ? estrdup("/") :
	    estrndup(p, (size_t)(s - p));
}

static void
fsync_parent(const char *p)
{
	char *d = parent_of(p);

	if (fsync_path(d, 1) == -1)
		etl_die(ETL_EX_IOERR, "%s: fsync: %s", d, strerror(errno));
	free(d);
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
		rm_rf(staging);
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

/* mkdir -p of root-relative directory rel (fsyncing what it creates). */
static void
mkdirs(const char *rel)
{
	struct etl_buf b = { 0 };
	struct stat st;
	const char *s, *e;

	etl_buf_adds(&b, root);
	for (s = rel; *s; s = *e ? e + 1 : e) {
		if ((e = strchr(s, '/')) == NULL)
			e = s + strlen(s);
		etl_buf_addc(&b, '/');
		etl_buf_add(&b, s, (size_t)(e - s));
		etl_buf_cstr(&b);
		if (mkdir(b.p, 0777) == 0) {
			fsync_parent(b.p);
			continue;
		}
		if (errno != EEXIST)
			fail(ETL_EX_CANTCREAT, "%s: %s", b.p, strerror(errno));
		/* A symbolic link planted in the store must not lead out of it. */
		if (lstat(b.p, &st) == -1 || !S_ISDIR(st.st_mode))
			fail(ETL_EX_CANTCREAT, "%s: not a directory", b.p);
	}
	etl_buf_free(&b);
}

/* Whether directory p holds a part of commit c: then a swap was done. */
static int
holds_commit(const char *p, const char *c)
{
	struct dirent *d;
	DIR *dir;
	size_t n = strlen(c), i;
	int found = 0;

	if ((dir = opendir(p)) == NULL)
		return 0;
	while (!found && (d = readdir(dir)) != NULL) {
		const char *s = d->d_name;

		if (strncmp(s, "part-", 5) != 0 || strncmp(s + 5, c, n) != 0 ||
		    s[5 + n] != '-')
			continue;
		s += 6 + n;
		for (i = 0; s[i] >= '0' && s[i] <= '9'; i++)
			;
		found = i > 0 && strcmp(s + i, ".ndjson.zst") == 0;
	}
	closedir(dir);
	return found;
}

/* A root-relative path from the journal: no "..", no absolute path. */
static int
safe_rel(const char *p)
{
	const char *s;

	if (p == NULL || *p == '\0' || *p == '/')
		return 0;
	for (s = p; s; s = strchr(s, '/') ? strchr(s, '/') + 1 : NULL)
		if (strncmp(s, "../", 3) == 0 || strcmp(s, "..") == 0 ||
		    *s == '/')
			return 0;
	return 1;
}

/*
 * Replaces directory "to" by the staged directory "from" as a whole: one
 * renameat2(RENAME_EXCHANGE) where the file system has it, so a reader
 * sees the old or the new partition, never none.  Idempotent, so the
 * next run can replay it from the journal.
 */
/*
 * ETL_STORE_CRASH=journal|op: SIGKILL ourselves once the journal is
 * written, or after the first operation, so tests can check that the next
 * run finishes the commit.
 */
static void
crash_point(const char *where)
{
	const char *s = getenv("ETL_STORE_CRASH");

	if (s && strcmp(s, where) == 0)
		raise(SIGKILL);
}

static void
op_swap(const char *c, const char *from, const char *to)
{
	char *f = path("%s/%s", root, from), *t = path("%s/%s", root, to);
	char *old;
	struct stat st;

	if (holds_commit(t, c))
		goto done;
	if (lstat(f, &st) == -1)
		etl_die(ETL_EX_SOFTWARE, "%s: staged partition missing: %s", f,
		    strerror(errno));
	if (strchr(to, '/')) {
		char *d = parent_of(to);

		mkdirs(d);
		free(d);
	}
	if (renameat2(AT_FDCWD, f, AT_FDCWD, t, RENAME_EXCHANGE) == 0)
		goto synced;
	if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
		old = path("%s-old", f);
		if (rename(t, old) == -1 && errno != ENOENT)
			etl_die(ETL_EX_IOERR, "%s: %s", t, strerror(errno));
		free(old);
	} else if (errno != ENOENT)
		etl_die(ETL_EX_IOERR, "%s: %s", t, strerror(errno));
	if (rename(f, t) == -1)
		etl_die(ETL_EX_IOERR, "%s: %s", t, strerror(errno));
synced:
	fsync_parent(t);
	fsync_parent(f);
done:
	free(f);
	free(t);
}

/* Adds the staged file "from" as "to", never replacing a file. */
static void
op_link(const char *from, const char *to)
{
	char *f = path("%s/%s", root, from), *t = path("%s/%s", root, to);
	char *d = parent_of(to);
	struct stat a, b;

	if (lstat(f, &a) == -1 && errno == ENOENT && lstat(t, &b) == 0)
		goto done;	/* done before the last run died */
	mkdirs(d);
	if (link(f, t) == -1) {
		if (errno == EEXIST) {
			if (stat(f, &a) == -1 || stat(t, &b) == -1 ||
			    a.st_ino != b.st_ino || a.st_dev != b.st_dev)
				etl_die(ETL_EX_CANTCREAT, "%s: exists", t);
		} else if (errno == EPERM || errno == EOPNOTSUPP) {
			if (renameat2(AT_FDCWD, f, AT_FDCWD, t,
			    RENAME_NOREPLACE) == -1)
				etl_die(ETL_EX_IOERR, "%s: %s", t,
				    strerror(errno));
		} else
			etl_die(ETL_EX_IOERR, "%s: %s", t, strerror(errno));
	}
	fsync_parent(t);
	if (unlink(f) == -1 && errno != ENOENT)
		etl_die(ETL_EX_IOERR, "%s: %s", f, strerror(errno));
done:
	free(f);
	free(t);
	free(d);
}

/* Writes a small file atomically: .NAME.tmp, fsync, rename, fsync dir. */
static void
write_atomic(const char *dir, const char *name, const json_t *j)
{
	struct etl_buf b = { 0 };
	char *tmp = path("%s/.%s.tmp", dir, name), *p = path("%s/%s", dir, name);
	ssize_t w;
	size_t off;
	int fd;

	etl_json_dump(&b, j);
	etl_buf_addc(&b, '\n');
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444)) == -1)
		etl_die(ETL_EX_CANTCREAT, "%s: %s", tmp, strerror(errno));
	for (off = 0; off < b.len; off += (size_t)w)
		if ((w = write(fd, b.p + off, b.len - off)) == -1) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			etl_die(ETL_EX_IOERR, "%s: %s", tmp, strerror(errno));
		}
	if (fsync(fd) == -1 || close(fd) == -1)
		etl_die(ETL_EX_IOERR, "%s: %s", tmp, strerror(errno));
	if (rename(tmp, p) == -1)
		etl_die(ETL_EX_IOERR, "%s: %s", p, strerror(errno));
	if (fsync_path(dir, 1) == -1)
		etl_die(ETL_EX_IOERR, "%s: fsync: %s", dir, strerror(errno));
	etl_buf_free(&b);
	free(tmp);
	free(p);
}

/*
 * Applies a journal (borrowed): its operations, then the manifest, then
 * the journal and the staging directory (the replaced partitions) go.
 */
static void
apply(const json_t *journal)
{
	const char *c = json_string_value(json_object_get(journal, "commit"));
	json_t *ops = json_object_get(journal, "ops"), *op, *m;
	char *commits = path("%s/_commits", root), *name, *p;
	size_t i;
	int r;

	for (i = 0; i < json_array_size(ops); i++) {
		const char *o, *f, *t;

		op = json_array_get(ops, i);
		o = json_string_value(json_object_get(op, "op"));
		f = json_string_value(json_object_get(op, "from"));
		t = json_string_value(json_object_get(op, "to"));
		if (o == NULL || !safe_rel(f) || !safe_rel(t))
			etl_die(ETL_EX_SOFTWARE, "%s/.%s.pending: bad operation %zu",
			    commits, c, i);
		if (strcmp(o, "swap") == 0)
			op_swap(c, f, t);
		else
			op_link(f, t);
		crash_point("op");
	}
	m = json_deep_copy(journal);
	json_object_del(m, "ops");
	name = path("%s.json", c);
	write_atomic(commits, name, m);
	free(name);
	json_decref(m);
	p = path("%s/.%s.pending", commits, c);
	if (unlink(p) == -1 && errno != ENOENT)
		etl_die(ETL_EX_IOERR, "%s: %s", p, strerror(errno));
	free(p);
	p = path("%s/.staging-%s", root, c);
	rm_rf(p);
	free(p);
	r = fsync_path(commits, 1) == -1 || fsync_path(root, 1) == -1;
	free(commits);
	if (r)
		etl_die(ETL_EX_IOERR, "%s: fsync: %s", root, strerror(errno));
}

static int
commit_name_ok(const char *s)
{
	size_t i;

	if (s == NULL || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' &&
	    *s <= 'z') || (*s >= '0' && *s <= '9')))
		return 0;
	for (i = 0; s[i]; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._-", s[i]) == NULL)
			return 0;
	return i < 128;
}

/* Under the lock: finishes the commits of killed runs, removes the rest. */
static void
recover(void)
{
	char *commits = path("%s/_commits", root), *p;
	struct dirent *d;
	json_error_t e;
	json_t *j;
	DIR *dir;
	size_t n;

	memset(&e, 0, sizeof(e));
	if ((dir = opendir(commits)) != NULL) {
		while ((d = readdir(dir)) != NULL) {
			n = strlen(d->d_name);
			if (d->d_name[0] != '.')
				continue;
			p = path("%s/%s", commits, d->d_name);
			if (n > 4 && strcmp(d->d_name + n - 4, ".tmp") == 0) {
				unlink(p);
			} else if (n > 8 &&
			    strcmp(d->d_name + n - 8, ".pending") == 0) {
				if ((j = json_load_file(p, 0, &e)) == NULL ||
				    !commit_name_ok(json_string_value(
				    json_object_get(j, "commit"))))
					etl_die(ETL_EX_SOFTWARE,
					    "%s:%d: unreadable journal: %s", p,
					    e.line, e.text);
				etl_warn("%s: finishing the commit of a killed run",
				    p);
				apply(j);
				json_decref(j);
			}
			free(p);
		}
		closedir(dir);
	}
	free(commits);
	if ((dir = opendir(root)) == NULL)
		etl_die(ETL_EX_CANTCREAT, "%s: %s", root, strerror(errno));
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, ".staging-", 9) != 0)
			continue;
		p = path("%s/%s", root, d->d_name);
		etl_info("%s: removing what a killed run left", p);
		rm_rf(p);
		free(p);
	}
	closedir(dir);
}

static void
lock_root(void)
{
	char *p;
	int fd;

	p = path("%s/_lock", root);
	if ((fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		etl_die(ETL_EX_CANTCREAT, "%s: %s", p, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			etl_die(ETL_EX_TEMPFAIL,
			    "%s: another run is writing this store", p);
		etl_die(ETL_EX_IOERR, "%s: flock: %s", p, strerror(errno));
	}
	free(p);	/* fd stays open: the lock lives as long as we do */
}

/* Creates root and its parents; 73 when it cannot. */
static void
make_root(void)
{
	struct stat st;
	char *p = estrdup(root), *s;

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
	if (stat(root, &st) == -1 || !S_ISDIR(st.st_mode))
		etl_die(ETL_EX_CANTCREAT, "%s: not a directory", root);
	free(p);
	p = path("%s/_commits", root);
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

	if (!commit_name_ok(etl_run_id))
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
}

static void
zwrite(struct partition *pt, const void *p, size_t n, ZSTD_EndDirective end)
{
	struct part *f = &files[pt->cur];
	ZSTD_inBuffer in = { p, n, 0 };
	ZSTD_outBuffer out;
	size_t r, off;
	ssize_t w;

	do {
		out.dst = zout;
		out.size = zoutsz;
		out.pos = 0;
		r = ZSTD_compressStream2(pt->z, &out, &in, end);
		if (ZSTD_isError(r))
			fail(ETL_EX_SOFTWARE, "zstd: %s", ZSTD_getErrorName(r));
		for (off = 0; off < out.pos; off += (size_t)w)
			if ((w = write(pt->fd, (char *)zout + off,
			    out.pos - off)) == -1) {
				if (errno == EINTR) {
					w = 0;
					continue;
				}
				fail(ETL_EX_IOERR, "%s/p%zu/.%s.tmp: %s",
				    staging, f->partition, f->name,
				    strerror(errno));
			}
		f->bytes += out.pos;
	} while (end != ZSTD_e_continue ? r != 0 : in.pos < in.size);
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

/* A partition key's value in this record. */
enum { KV_TEXT, KV_DEFAULT, KV_OBJECT, KV_ARRAY };
struct kv {
	int		 kind;
	struct etl_buf	 text;
};
static struct kv *kvs;		/* one per key */

/*
 * The partition value's text: strings as they are, numbers by their JSON
 * text, true and false; the default partition for null, missing and "".
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

	for (i = 0; i < nkeys; i++) {
		struct kv *kv = &kvs[i];

		v = json_object_get(o, keys[i]);
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

	for (i = 0; i < nkeys; i++) {
		struct kv *kv = &kvs[i];

		f = etl_scan_get(sc, keys[i], strlen(keys[i]));
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

static void
store(struct etl_rec *r, void *arg)
{
	static struct etl_buf rel, comp, ptr;
	static struct etl_scan scan;
	size_t flush_at = max_bytes && max_bytes < FLUSH_BYTES ?
	    (size_t)max_bytes : FLUSH_BYTES, len, i;
	json_t *o = NULL, *values, *rs = NULL;
	struct partition *pt;
	int present = 0, scanned;

	(void)arg;
	scanned = use_scan && etl_scan_object(&scan, r->raw, r->len) ==
	    ETL_SCAN_OK && scanned_kvs(&scan, &present) == 0;
	if (!scanned) {
		present = 0;
		if ((o = record_object(r)) == NULL)
			return;
		parsed_kvs(o, &present);
	} else
		r->object = 1;
	rel.len = 0;
	for (i = 0; i < nkeys; i++) {
		struct kv *kv = &kvs[i];

		ptr.len = 0;
		etl_buf_printf(&ptr, "/%s", keys[i]);
		if (kv->kind == KV_OBJECT || kv->kind == KV_ARRAY) {
			etl_reason(&rs, ptr.p, "partition", "%s cannot be a "
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
			etl_reason(&rs, ptr.p, "partition", "value is %zu bytes "
			    "escaped; a directory name \"%s=...\" holds at most "
			    "%d bytes", comp.len - strlen(keys[i]) - 1, keys[i],
			    NAME_MAX);
			continue;
		}
		if (rel.len)
			etl_buf_addc(&rel, '/');
		etl_buf_add(&rel, comp.p, comp.len);
	}
	if (rs == NULL && strlen(root) + rel.len + strlen(commit) * 2 + 64 >=
	    PATH_MAX)
		etl_reason(&rs, "", "partition", "partition path of %zu bytes "
		    "too long for the file system", rel.len);
	if (rs) {
		etl_reject(r, rs);
		return;
	}
	if ((pt = partition_find(etl_buf_cstr(&rel))) == NULL) {
		values = json_object();
		for (i = 0; i < nkeys; i++)
			json_object_set_new(values, keys[i],
			    kvs[i].kind == KV_DEFAULT ? json_null() :
			    json_stringn(kvs[i].text.p, kvs[i].text.len));
		pt = partition_new(rel.p, values);
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
		if (chmod(p, 0444) == -1 || fsync_path(p, 0) == -1)
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
		if (fsync_path(d, 1) == -1)
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
	if (fsync_path(staging, 1) == -1 || fsync_path(root, 1) == -1)
		fail(ETL_EX_IOERR, "%s: fsync: %s", staging, strerror(errno));
	etl_datetime_format(ts, (int64_t)time(NULL));
	by = json_array();
	for (i = 0; i < nkeys; i++)
		json_array_append_new(by, json_string(keys[i]));
	j = json_pack("{s:s,s:s,s:s,s:s,s:o,s:I,s:I,s:I,s:I,s:o,s:o,s:o}",
	    "run_id", etl_run_id, "commit", commit,
	    "mode", append ? "append" : "overwrite", "time", ts, "by", by,
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
		{ "level",		required_argument, NULL, OPT_LEVEL },
		{ "max-file-bytes",	required_argument, NULL, OPT_MAX_FILE_BYTES },
		{ "max-open",		required_argument, NULL, OPT_MAX_OPEN },
		{ "mode",		required_argument, NULL, 'm' },
		{ "root",		required_argument, NULL, 'r' },
		ETL_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	sigset_t block;
	json_t *journal, *fs;
	char *commits, *p;
	size_t i;
	int ch, st;

	etl_init("etl-store", usage_text, help_text);
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS "b:m:r:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			parse_keys(optarg);
			break;
		case 'm':
			if (strcmp(optarg, "append") == 0)
				append = 1;
			else if (strcmp(optarg, "overwrite") == 0)
				append = 0;
			else {
				etl_error("--mode: \"%s\": overwrite or append",
				    optarg);
				etl_usage();
			}
			break;
		case 'r':
			root = optarg;
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
	if (root == NULL || *root == '\0' || nkeys == 0)
		etl_usage();
	/* "DIR/" and "DIR" are one root; "/" stays "/". */
	root = estrdup(root);
	for (i = strlen(root); i > 1 && root[i - 1] == '/'; i--)
		root[i - 1] = '\0';

	make_root();
	lock_root();
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	recover();
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	choose_commit();
	index_of = json_object();
	kvs = ecalloc(nkeys, sizeof(*kvs));
	/* ETL_SCAN=0 turns the scanner off, to compare the two paths. */
	if (getenv("ETL_SCAN") && strcmp(getenv("ETL_SCAN"), "0") == 0)
		use_scan = 0;
	zoutsz = ZSTD_CStreamOutSize();
	zout = emalloc(zoutsz);
	pool = ecalloc(max_open, sizeof(*pool));

	st = etl_loop(argc, argv, store, NULL);
	if (etl_signalled || st != 0) {
		abandon();
		etl_n_out = 0;
		etl_stats_note("nothing stored");
		etl_status(st);
		return etl_finish();
	}
	journal = prepare();
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
	write_atomic(commits, p, journal);
	crash_point("journal");
	apply(journal);
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
	etl_split_free(keys);
	free(root);
	return etl_finish();
}
