/*
 * journal.c - a store's commits: the lock a writer holds, the journal
 * that decides a commit and the operations it lists (partition
 * directories swapped, files linked, directories moved), replayed by
 * whoever comes next when a writer dies.  Every operation is idempotent.
 */
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etl.h"

#define LOCK_SAY_EVERY	5.0		/* seconds between waiting logs */

static char *
jpath(const char *fmt, ...) ETL_PRINTF(1, 2);

/* A new path; the caller frees it. */
static char *
jpath(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		etl_die(ETL_EX_SOFTWARE, "out of memory");
	va_end(ap);
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

void
etl_rm_rf(const char *p)
{
	struct stat st;

	if (lstat(p, &st) == -1)
		return;
	nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
etl_fsync_path(const char *p, int dir)
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
char *
etl_parent_of(const char *p)
{
	const char *s = strrchr(p, '/');

	return s == NULL ? estrdup(".") : s == p ? estrdup("/") :
	    estrndup(p, (size_t)(s - p));
}

void
etl_fsync_parent(const char *p)
{
	char *d = etl_parent_of(p);

	if (etl_fsync_path(d, 1) == -1)
		etl_die(ETL_EX_IOERR, "%s: fsync: %s", d, strerror(errno));
	free(d);
}


/* mkdir -p of root-relative directory rel (fsyncing what it creates). */
static void
mkdirs(const char *base, const char *rel)
{
	struct etl_buf b = { 0 };
	struct stat st;
	const char *s, *e;

	etl_buf_adds(&b, base);
	for (s = rel; *s; s = *e ? e + 1 : e) {
		if ((e = strchr(s, '/')) == NULL)
			e = s + strlen(s);
		etl_buf_addc(&b, '/');
		etl_buf_add(&b, s, (size_t)(e - s));
		etl_buf_cstr(&b);
		if (mkdir(b.p, 0777) == 0) {
			etl_fsync_parent(b.p);
			continue;
		}
		if (errno != EEXIST)
			etl_die(ETL_EX_CANTCREAT, "%s: %s", b.p, strerror(errno));
		/* A symbolic link planted in the store must not lead out of it. */
		if (lstat(b.p, &st) == -1 || !S_ISDIR(st.st_mode))
			etl_die(ETL_EX_CANTCREAT, "%s: not a directory", b.p);
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
void
etl_crash_point(const char *where)
{
	const char *s = getenv("ETL_STORE_CRASH");

	if (s && strcmp(s, where) == 0)
		raise(SIGKILL);
}

static void
op_swap(const char *base, const char *c, const char *from, const char *to)
{
	char *f = jpath("%s/%s", base, from), *t = jpath("%s/%s", base, to);
	char *old;
	struct stat st;

	if (holds_commit(t, c))
		goto done;
	if (lstat(f, &st) == -1)
		etl_die(ETL_EX_SOFTWARE, "%s: staged partition missing: %s", f,
		    strerror(errno));
	if (strchr(to, '/')) {
		char *d = etl_parent_of(to);

		mkdirs(base, d);
		free(d);
	}
	if (renameat2(AT_FDCWD, f, AT_FDCWD, t, RENAME_EXCHANGE) == 0)
		goto synced;
	if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
		old = jpath("%s-old", f);
		if (rename(t, old) == -1 && errno != ENOENT)
			etl_die(ETL_EX_IOERR, "%s: %s", t, strerror(errno));
		free(old);
	} else if (errno != ENOENT)
		etl_die(ETL_EX_IOERR, "%s: %s", t, strerror(errno));
	if (rename(f, t) == -1)
		etl_die(ETL_EX_IOERR, "%s: %s", t, strerror(errno));
synced:
	etl_fsync_parent(t);
	etl_fsync_parent(f);
done:
	free(f);
	free(t);
}

/* Adds the staged file "from" as "to", never replacing a file. */
static void
op_link(const char *base, const char *from, const char *to)
{
	char *f = jpath("%s/%s", base, from), *t = jpath("%s/%s", base, to);
	char *d = etl_parent_of(to);
	struct stat a, b;

	if (lstat(f, &a) == -1 && errno == ENOENT && lstat(t, &b) == 0)
		goto done;	/* done before the last run died */
	mkdirs(base, d);
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
	etl_fsync_parent(t);
	if (unlink(f) == -1 && errno != ENOENT)
		etl_die(ETL_EX_IOERR, "%s: %s", f, strerror(errno));
done:
	free(f);
	free(t);
	free(d);
}

/*
 * Moves "from" to "to": a partition the table no longer has into the
 * staging area, a replaced day of the history aside.  Idempotent: done
 * once "from" is gone.  Parents "from" leaves empty go too.
 */
static void
op_move(const char *base, const char *from, const char *to)
{
	char *f = jpath("%s/%s", base, from), *t = jpath("%s/%s", base, to);
	char *d, *s;
	struct stat st;

	if (lstat(f, &st) == -1 && errno == ENOENT)
		goto done;
	if (strchr(to, '/')) {
		d = etl_parent_of(to);
		mkdirs(base, d);
		free(d);
	}
	if (rename(f, t) == -1)
		etl_die(ETL_EX_IOERR, "%s: %s", t, strerror(errno));
	etl_fsync_parent(t);
	etl_fsync_parent(f);
	d = estrdup(f);
	while ((s = strrchr(d, '/')) != NULL && (size_t)(s - d) > strlen(base)) {
		*s = '\0';
		if (rmdir(d) == -1)
			break;
	}
	free(d);
done:
	free(f);
	free(t);
}

/* Writes a small file atomically: .NAME.tmp, fsync, rename, fsync dir. */
void
etl_write_atomic(const char *dir, const char *name, const json_t *j)
{
	struct etl_buf b = { 0 };
	char *tmp = jpath("%s/.%s.tmp", dir, name), *p = jpath("%s/%s", dir, name);
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
	if (etl_fsync_path(dir, 1) == -1)
		etl_die(ETL_EX_IOERR, "%s: fsync: %s", dir, strerror(errno));
	etl_buf_free(&b);
	free(tmp);
	free(p);
}

/*
 * Applies a journal (borrowed): its operations, then the manifest, then
 * the journal and the staging directory (the replaced partitions) go.
 */
void
etl_journal_apply(const char *root, const json_t *journal)
{
	const char *c = json_string_value(json_object_get(journal, "commit"));
	const char *h = json_string_value(json_object_get(journal,
	    "history_root"));
	const char *tr = json_string_value(json_object_get(journal,
	    "table_root"));
	json_t *ops = json_object_get(journal, "ops"), *op, *m;
	char *commits, *name, *p;
	size_t i;
	int r;

	/* A merge's journal is in both roots; either finishes it. */
	if (tr && *tr == '/')
		root = tr;
	commits = jpath("%s/_commits", root);
	for (i = 0; i < json_array_size(ops); i++) {
		const char *o, *f, *t, *b, *base = root;

		op = json_array_get(ops, i);
		o = json_string_value(json_object_get(op, "op"));
		f = json_string_value(json_object_get(op, "from"));
		t = json_string_value(json_object_get(op, "to"));
		b = json_string_value(json_object_get(op, "root"));
		if (b && strcmp(b, "history") == 0 && h && *h == '/')
			base = h;
		else if (b)
			o = NULL;
		if (o == NULL || !safe_rel(f) || !safe_rel(t))
			etl_die(ETL_EX_SOFTWARE, "%s/.%s.pending: bad operation %zu",
			    commits, c, i);
		if (strcmp(o, "swap") == 0)
			op_swap(base, c, f, t);
		else if (strcmp(o, "link") == 0)
			op_link(base, f, t);
		else if (strcmp(o, "move") == 0)
			op_move(base, f, t);
		else
			etl_die(ETL_EX_SOFTWARE, "%s/.%s.pending: operation %zu: "
			    "unknown \"%s\"", commits, c, i, o);
		etl_crash_point("op");
	}
	m = json_deep_copy(journal);
	json_object_del(m, "ops");
	name = jpath("%s.json", c);
	etl_write_atomic(commits, name, m);
	free(name);
	json_decref(m);
	p = jpath("%s/.%s.pending", commits, c);
	if (unlink(p) == -1 && errno != ENOENT)
		etl_die(ETL_EX_IOERR, "%s: %s", p, strerror(errno));
	free(p);
	p = jpath("%s/.staging-%s", root, c);
	etl_rm_rf(p);
	free(p);
	if (h && *h == '/') {
		p = jpath("%s/_commits/.%s.pending", h, c);
		if (unlink(p) == -1 && errno != ENOENT)
			etl_die(ETL_EX_IOERR, "%s: %s", p, strerror(errno));
		free(p);
		p = jpath("%s/.staging-%s", h, c);
		etl_rm_rf(p);
		free(p);
	}
	r = etl_fsync_path(commits, 1) == -1 || etl_fsync_path(root, 1) == -1;
	free(commits);
	if (r)
		etl_die(ETL_EX_IOERR, "%s: fsync: %s", root, strerror(errno));
}

int
etl_commit_name_ok(const char *s)
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

/* Under the lock: removes the staging areas of runs killed before a journal. */
void
etl_clear_staging(const char *dir)
{
	struct dirent *d;
	DIR *dp;
	char *p;

	if ((dp = opendir(dir)) == NULL)
		etl_die(ETL_EX_CANTCREAT, "%s: %s", dir, strerror(errno));
	while ((d = readdir(dp)) != NULL) {
		if (strncmp(d->d_name, ".staging-", 9) != 0)
			continue;
		p = jpath("%s/%s", dir, d->d_name);
		etl_info("%s: removing what a killed run left", p);
		etl_rm_rf(p);
		free(p);
	}
	closedir(dp);
}

/* Under the lock: finishes the commits of killed runs, removes the rest. */
void
etl_journal_recover(const char *root)
{
	char *commits = jpath("%s/_commits", root), *p;
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
			p = jpath("%s/%s", commits, d->d_name);
			if (n > 4 && strcmp(d->d_name + n - 4, ".tmp") == 0) {
				unlink(p);
			} else if (n > 8 &&
			    strcmp(d->d_name + n - 8, ".pending") == 0) {
				if ((j = json_load_file(p, 0, &e)) == NULL ||
				    !etl_commit_name_ok(json_string_value(
				    json_object_get(j, "commit"))))
					etl_die(ETL_EX_SOFTWARE,
					    "%s:%d: unreadable journal: %s", p,
					    e.line, e.text);
				etl_warn("%s: finishing the commit of a killed run",
				    p);
				etl_journal_apply(root, j);
				json_decref(j);
			}
			free(p);
		}
		closedir(dir);
	}
	free(commits);
	etl_clear_staging(root);
}

/* The process holding a flock on fd's file, from /proc/locks; 0 unknown. */
static long
flock_pid(int fd)
{
	unsigned long long ino;
	unsigned int maj, min;
	char line[256], type[16];
	struct stat st;
	long pid, found = 0;
	FILE *f;

	if (fstat(fd, &st) == -1 || (f = fopen("/proc/locks", "r")) == NULL)
		return 0;
	while (found == 0 && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*[^:]: %15s %*s %*s %ld %x:%x:%llu", type,
		    &pid, &maj, &min, &ino) == 5 && strcmp(type, "FLOCK") == 0 &&
		    ino == (unsigned long long)st.st_ino &&
		    makedev(maj, min) == st.st_dev && pid != (long)getpid())
			found = pid;
	fclose(f);
	return found;
}

/*
 * Who holds a lock, for the log: what the holder noted in the file, or
 * the process the kernel names, when the note is not its own.
 */
static void
lock_holder(int fd, char *out, size_t n)
{
	char note[256], comm[64] = "", *p;
	long noted = 0, pid = flock_pid(fd);
	ssize_t r;
	FILE *f;

	if ((r = pread(fd, note, sizeof(note) - 1, 0)) < 0)
		r = 0;
	note[r] = '\0';
	note[strcspn(note, "\n")] = '\0';
	if (sscanf(note, "pid %ld", &noted) == 1 && noted > 0 &&
	    (pid == noted || (pid == 0 && kill((pid_t)noted, 0) == 0))) {
		snprintf(out, n, "%s", note);
		return;
	}
	if (pid > 0) {
		p = jpath("/proc/%ld/comm", pid);
		if ((f = fopen(p, "r")) != NULL) {
			if (fgets(comm, sizeof(comm), f) == NULL)
				comm[0] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		free(p);
		snprintf(out, n, "pid %ld%s%s%s", pid, *comm ? " (" : "", comm,
		    *comm ? ")" : "");
	} else
		snprintf(out, n, "a process that did not note itself%s%s%s",
		    noted ? " (the last to, " : "", noted ? note : "",
		    noted ? ", has ended)" : "");
}

/*
 * Takes dir/_lock, waiting up to lock_wait seconds for another holder and
 * saying every few seconds what it waits for.  The kernel drops a flock
 * when its holder dies, however it dies, so a dead run never holds a
 * store: the next one takes the lock and replays its journal.
 */
int
etl_lock_dir(const char *dir, double lock_wait)
{
	double start = etl_now(), next = start, now;
	char *p, holder[320], ts[21];
	struct etl_buf b = { 0 };
	int fd, waited = 0;

	p = jpath("%s/_lock", dir);
	if ((fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		etl_die(ETL_EX_CANTCREAT, "%s: %s", p, strerror(errno));
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			etl_die(ETL_EX_IOERR, "%s: flock: %s", p,
			    strerror(errno));
		now = etl_now();
		lock_holder(fd, holder, sizeof(holder));
		if (etl_signalled)
			etl_die(ETL_EX_TEMPFAIL, "%s: interrupted while waiting "
			    "for the lock, held by %s", p, holder);
		if (now - start >= lock_wait) {
			if (lock_wait > 0)
				etl_die(ETL_EX_TEMPFAIL, "%s: still held by %s "
				    "after %.0f s of waiting", p, holder,
				    lock_wait);
			etl_die(ETL_EX_TEMPFAIL, "%s: another run is writing "
			    "this store, %s; --wait lets this one queue", p,
			    holder);
		}
		if (now >= next) {
			etl_info("%s: waiting for the lock, held by %s (%.0f s "
			    "so far, at most %.0f)", p, holder, now - start,
			    lock_wait);
			next = now + LOCK_SAY_EVERY;
		}
		waited = 1;
		usleep(20000);
	}
	if (waited)
		etl_info("%s: lock taken after %.1f s", p, etl_now() - start);
	etl_datetime_format(ts, (int64_t)time(NULL));
	etl_buf_printf(&b, "pid %ld, run %s, since %s\n", (long)getpid(),
	    etl_run_id, ts);
	if (ftruncate(fd, 0) == -1 || pwrite(fd, b.p, b.len, 0) == -1)
		etl_warn("%s: cannot note the holder: %s", p, strerror(errno));
	etl_buf_free(&b);
	free(p);
	return fd;	/* open: the lock lives as long as it is */
}


/* The first pending journal of dir/_commits, parsed, or NULL. */
static json_t *
pending(const char *dir)
{
	char *commits = jpath("%s/_commits", dir), *p;
	struct dirent *d;
	json_t *j = NULL;
	DIR *dp;
	size_t n;

	if ((dp = opendir(commits)) != NULL) {
		while (j == NULL && (d = readdir(dp)) != NULL) {
			n = strlen(d->d_name);
			if (d->d_name[0] != '.' || n <= 8 ||
			    strcmp(d->d_name + n - 8, ".pending") != 0)
				continue;
			p = jpath("%s/%s", commits, d->d_name);
			if ((j = json_load_file(p, 0, NULL)) == NULL)
				j = json_object();	/* recover() names it */
			free(p);
		}
		closedir(dp);
	}
	free(commits);
	return j;
}

/*
 * For readers: a commit its writer did not finish is finished before the
 * store is read, so that a reader sees the table as before or after a
 * run, never between.  The locks are taken as a writer takes them, the
 * table's root first, then its history's.
 */
void
etl_journal_finish(const char *dir, double wait)
{
	const char *t, *h;
	json_t *j;
	int ft, fh = -1;

	if ((j = pending(dir)) == NULL)
		return;
	t = json_string_value(json_object_get(j, "table_root"));
	h = json_string_value(json_object_get(j, "history_root"));
	if (t == NULL || *t != '/')
		t = dir;
	etl_warn("%s: a commit was left unfinished; finishing it before "
	    "reading", dir);
	ft = etl_lock_dir(t, wait);
	if (h && *h == '/' && strcmp(h, t) != 0)
		fh = etl_lock_dir(h, wait);
	etl_journal_recover(t);
	if (fh != -1) {
		etl_journal_recover(h);
		close(fh);
	}
	close(ft);
	json_decref(j);
}
