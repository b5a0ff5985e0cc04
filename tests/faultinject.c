/*
 * faultinject.c - an LD_PRELOAD shim that makes the Nth write(2), fsync(2)
 * or rename(2) of a tool fail, so the tests can check what a full or
 * failing disk does to it (tests/82-faults.bats).  Built by the top
 * Makefile into tests/bin/faultinject.so; nothing in it is etl-specific.
 *
 *	LD_PRELOAD=tests/bin/faultinject.so FAULT_WRITE=3 FAULT_ERRNO=EIO tool
 *
 * Environment, read once at the first intercepted call:
 *
 *	FAULT_WRITE=N	the Nth counted write(2)/writev(2) fails, and every
 *			counted one after it (a full disk stays full)
 *	FAULT_WRITE_FD=WHICH
 *			which writes are counted: a descriptor number
 *			(default 1, standard output), "file" (any regular
 *			file) or "any" (every descriptor but 2: the tool's
 *			error message must still get out)
 *	FAULT_FSYNC=N	the Nth fsync(2)/fdatasync(2) fails (only that one)
 *	FAULT_RENAME=N	the Nth rename(2)/renameat(2)/renameat2(2) fails
 *			(only that one)
 *	FAULT_PATH=S	count only renames whose source or target contains
 *			S, and fsyncs of any descriptor (paths are not known)
 *	FAULT_ERRNO=E	ENOSPC (default), EIO, EDQUOT, EROFS or a number
 *	FAULT_LOG=FILE	append one line per injected fault, "write 3 EIO",
 *			so a test can prove the fault was really hit
 *	FAULT_SLOW_US=U	sleep U microseconds before every fsync and rename:
 *			a slow disk, so that a kill at a random moment
 *			lands inside a commit as often as outside it
 *
 * Calls are counted per process from 1; an unset or 0 N injects nothing.
 * Counting is not thread-safe; the tools are single-threaded.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FD_ANY	(-1)
#define FD_FILE	(-2)

static int		 inited;
static unsigned long	 nth_write, nth_fsync, nth_rename;
static unsigned long	 n_write, n_fsync, n_rename, slow_us;
static int		 write_fd = 1, fault_errno = ENOSPC;
static const char	*fault_path, *fault_log;

static ssize_t	(*real_write)(int, const void *, size_t);
static ssize_t	(*real_writev)(int, const struct iovec *, int);
static int	(*real_fsync)(int);
static int	(*real_fdatasync)(int);
static int	(*real_rename)(const char *, const char *);
static int	(*real_renameat)(int, const char *, int, const char *);
static int	(*real_renameat2)(int, const char *, int, const char *,
		    unsigned int);

static unsigned long
env_count(const char *name)
{
	const char *s = getenv(name);

	return s ? strtoul(s, NULL, 10) : 0;
}

static void
init(void)
{
	const char *s;

	if (inited)
		return;
	inited = 1;
	real_write = dlsym(RTLD_NEXT, "write");
	real_writev = dlsym(RTLD_NEXT, "writev");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	real_rename = dlsym(RTLD_NEXT, "rename");
	real_renameat = dlsym(RTLD_NEXT, "renameat");
	real_renameat2 = dlsym(RTLD_NEXT, "renameat2");
	nth_write = env_count("FAULT_WRITE");
	nth_fsync = env_count("FAULT_FSYNC");
	nth_rename = env_count("FAULT_RENAME");
	slow_us = env_count("FAULT_SLOW_US");
	fault_path = getenv("FAULT_PATH");
	fault_log = getenv("FAULT_LOG");
	if ((s = getenv("FAULT_WRITE_FD")) != NULL) {
		if (strcmp(s, "any") == 0)
			write_fd = FD_ANY;
		else if (strcmp(s, "file") == 0)
			write_fd = FD_FILE;
		else
			write_fd = atoi(s);
	}
	if ((s = getenv("FAULT_ERRNO")) != NULL) {
		if (strcmp(s, "EIO") == 0)
			fault_errno = EIO;
		else if (strcmp(s, "ENOSPC") == 0)
			fault_errno = ENOSPC;
		else if (strcmp(s, "EDQUOT") == 0)
			fault_errno = EDQUOT;
		else if (strcmp(s, "EROFS") == 0)
			fault_errno = EROFS;
		else if (atoi(s) > 0)
			fault_errno = atoi(s);
	}
}

/* Records the fault without write(2) going through the counted path. */
static void
note(const char *call, unsigned long n)
{
	char line[128];
	int fd, len;

	if (fault_log == NULL)
		return;
	len = snprintf(line, sizeof(line), "%s %lu %s\n", call, n,
	    fault_errno == EIO ? "EIO" : fault_errno == ENOSPC ? "ENOSPC" :
	    "errno");
	if ((fd = open(fault_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) == -1)
		return;
	if (len > 0)
		real_write(fd, line, (size_t)len);
	close(fd);
}

static int
write_counted(int fd)
{
	struct stat st;

	if (fd == 2)
		return 0;
	if (write_fd == FD_ANY)
		return 1;
	if (write_fd == FD_FILE)
		return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	return fd == write_fd;
}

/* 1 when this call is to fail (errno set). */
static int
write_fails(int fd)
{
	init();
	if (nth_write == 0 || !write_counted(fd))
		return 0;
	if (++n_write < nth_write)
		return 0;
	note("write", n_write);
	errno = fault_errno;
	return 1;
}

static int
fsync_fails(void)
{
	init();
	if (slow_us)
		usleep((useconds_t)slow_us);
	if (nth_fsync == 0 || ++n_fsync != nth_fsync)
		return 0;
	note("fsync", n_fsync);
	errno = fault_errno;
	return 1;
}

static int
rename_fails(const char *from, const char *to)
{
	init();
	if (slow_us)
		usleep((useconds_t)slow_us);
	if (nth_rename == 0)
		return 0;
	if (fault_path && !strstr(from, fault_path) && !strstr(to, fault_path))
		return 0;
	if (++n_rename != nth_rename)
		return 0;
	note("rename", n_rename);
	errno = fault_errno;
	return 1;
}

ssize_t
write(int fd, const void *p, size_t n)
{
	if (write_fails(fd))
		return -1;
	return real_write(fd, p, n);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	if (write_fails(fd))
		return -1;
	return real_writev(fd, iov, n);
}

int
fsync(int fd)
{
	if (fsync_fails())
		return -1;
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	if (fsync_fails())
		return -1;
	return real_fdatasync(fd);
}

int
rename(const char *from, const char *to)
{
	if (rename_fails(from, to))
		return -1;
	return real_rename(from, to);
}

int
renameat(int fd1, const char *from, int fd2, const char *to)
{
	if (rename_fails(from, to))
		return -1;
	return real_renameat(fd1, from, fd2, to);
}

int
renameat2(int fd1, const char *from, int fd2, const char *to,
    unsigned int flags)
{
	if (rename_fails(from, to))
		return -1;
	return real_renameat2(fd1, from, fd2, to, flags);
}
