/*
 * input.c - byte sources.  A file or stdin whose first bytes are the zstd
 * or gzip magic is decompressed on the fly; anything else passes as is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "etl.h"

#define RAWSZ	(256 * 1024)
#define PEEKSZ	(64 * 1024)
#define PIPESZ	(1024 * 1024)	/* asked of a pipe on stdin */

struct etl_input {
	int		 fd;
	char		*name;
	int		 kind;		/* 0, 'z' or 'g' */
	char		*raw;		/* compressed bytes */
	size_t		 rawpos, rawlen;
	int		 eof;
	uint64_t	 nraw;
	ZSTD_DStream	*zs;
	size_t		 zlast;		/* 0 at a frame's end */
	z_stream	 gz;
	int		 gzend;		/* 1 at a member's end */
	char		*peek;		/* decompressed, not yet consumed */
	size_t		 peekpos, peeklen;
	char		 err[256];
	int		 status;	/* of the error: 65 corrupt data, 74 I/O */
};

/* read(2) through EINTR (unless a signal ends the run), counted. */
static ssize_t
read_raw(struct etl_input *in, void *buf, size_t n)
{
	ssize_t r;

	for (;;) {
		r = read(in->fd, buf, n);
		if (r >= 0)
			break;
		if (errno == EINTR && !etl_signalled)
			continue;
		snprintf(in->err, sizeof(in->err), "%s", strerror(errno));
		in->status = ETL_EX_IOERR;
		return -1;
	}
	if (r == 0)
		in->eof = 1;
	in->nraw += (uint64_t)r;
	return r;
}

/* Fills the raw buffer; 0 at end of file, -1 on error. */
static ssize_t
fill(struct etl_input *in)
{
	ssize_t n;

	if (in->rawpos < in->rawlen)
		return (ssize_t)(in->rawlen - in->rawpos);
	if (in->eof)
		return 0;
	in->rawpos = in->rawlen = 0;
	if ((n = read_raw(in, in->raw, RAWSZ)) > 0)
		in->rawlen = (size_t)n;
	return n;
}

static void
setup(struct etl_input *in)
{
	const unsigned char *p;

	in->raw = emalloc(RAWSZ);
	if (fill(in) < 0)
		return;
	/* A short first read from a pipe: wait for the four magic bytes. */
	while (!in->eof && in->rawlen < 4) {
		ssize_t n = read(in->fd, in->raw + in->rawlen, RAWSZ - in->rawlen);
		if (n < 0 && errno == EINTR && !etl_signalled)
			continue;
		if (n <= 0) {
			if (n == 0)
				in->eof = 1;
			break;
		}
		in->rawlen += (size_t)n;
		in->nraw += (uint64_t)n;
	}
	p = (const unsigned char *)in->raw;
	if (in->rawlen >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f &&
	    p[3] == 0xfd) {
		in->kind = 'z';
		if ((in->zs = ZSTD_createDStream()) == NULL)
			etl_die(ETL_EX_SOFTWARE, "out of memory");
		ZSTD_initDStream(in->zs);
	} else if (in->rawlen >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
		in->kind = 'g';
		if (inflateInit2(&in->gz, 15 + 32) != Z_OK)
			etl_die(ETL_EX_SOFTWARE, "out of memory");
	}
}

struct etl_input *
etl_input_fd(int fd, const char *name)
{
	struct etl_input *in;
	struct stat st;

	in = ecalloc(1, sizeof(*in));
	in->fd = fd;
	in->name = estrdup(name);
#ifdef F_SETPIPE_SZ
	/* A writer ahead of us fills 1 MiB, not 64 KiB, before it waits. */
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		fcntl(fd, F_SETPIPE_SZ, PIPESZ);	/* may be refused */
#endif
	setup(in);
	return in;
}

struct etl_input *
etl_input_open(const char *path)
{
	int fd;

	if (path == NULL || strcmp(path, "-") == 0)
		return etl_input_fd(STDIN_FILENO, "<stdin>");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	return etl_input_fd(fd, path);
}

static ssize_t
read_zstd(struct etl_input *in, void *buf, size_t n)
{
	ZSTD_inBuffer ib;
	ZSTD_outBuffer ob = { buf, n, 0 };
	ssize_t r;
	size_t z;

	while (ob.pos == 0) {
		if ((r = fill(in)) < 0)
			return -1;
		if (r == 0) {
			if (in->zlast != 0) {
				snprintf(in->err, sizeof(in->err),
				    "truncated zstd data");
				in->status = ETL_EX_DATAERR;
				return -1;
			}
			return 0;
		}
		ib.src = in->raw + in->rawpos;
		ib.size = in->rawlen - in->rawpos;
		ib.pos = 0;
		z = ZSTD_decompressStream(in->zs, &ob, &ib);
		in->rawpos += ib.pos;
		if (ZSTD_isError(z)) {
			snprintf(in->err, sizeof(in->err), "corrupt zstd data: %s",
			    ZSTD_getErrorName(z));
			in->status = ETL_EX_DATAERR;
			return -1;
		}
		in->zlast = z;
	}
	return (ssize_t)ob.pos;
}

static ssize_t
read_gzip(struct etl_input *in, void *buf, size_t n)
{
	ssize_t r;
	int z;

	in->gz.next_out = buf;
	in->gz.avail_out = (uInt)(n > 1u << 30 ? 1u << 30 : n);
	while (in->gz.next_out == buf) {
		if ((r = fill(in)) < 0)
			return -1;
		if (r == 0) {
			if (!in->gzend) {
				snprintf(in->err, sizeof(in->err),
				    "truncated gzip data");
				in->status = ETL_EX_DATAERR;
				return -1;
			}
			return 0;
		}
		if (in->gzend) {
			/* Another member follows (concatenated gzip). */
			inflateReset(&in->gz);
			in->gzend = 0;
		}
		in->gz.next_in = (Bytef *)in->raw + in->rawpos;
		in->gz.avail_in = (uInt)(in->rawlen - in->rawpos);
		z = inflate(&in->gz, Z_NO_FLUSH);
		in->rawpos = in->rawlen - in->gz.avail_in;
		if (z == Z_STREAM_END)
			in->gzend = 1;
		else if (z != Z_OK && z != Z_BUF_ERROR) {
			snprintf(in->err, sizeof(in->err), "corrupt gzip data: %s",
			    in->gz.msg ? in->gz.msg : "inflate failed");
			in->status = ETL_EX_DATAERR;
			return -1;
		}
	}
	return (ssize_t)((char *)in->gz.next_out - (char *)buf);
}

static ssize_t
read_plain(struct etl_input *in, void *buf, size_t n)
{
	size_t m;

	if (in->rawpos < in->rawlen) {
		m = in->rawlen - in->rawpos;
		if (m > n)
			m = n;
		memcpy(buf, in->raw + in->rawpos, m);
		in->rawpos += m;
		return (ssize_t)m;
	}
	if (in->eof)
		return 0;
	/* Large reads go straight into the caller's buffer. */
	return read_raw(in, buf, n);
}

static ssize_t
read_any(struct etl_input *in, void *buf, size_t n)
{
	if (in->err[0])
		return -1;
	switch (in->kind) {
	case 'z':
		return read_zstd(in, buf, n);
	case 'g':
		return read_gzip(in, buf, n);
	default:
		return read_plain(in, buf, n);
	}
}

ssize_t
etl_input_read(struct etl_input *in, void *buf, size_t n)
{
	size_t m;

	if (in->peekpos < in->peeklen) {
		m = in->peeklen - in->peekpos;
		if (m > n)
			m = n;
		memcpy(buf, in->peek + in->peekpos, m);
		in->peekpos += m;
		return (ssize_t)m;
	}
	return read_any(in, buf, n);
}

size_t
etl_input_peek(struct etl_input *in, const char **p)
{
	ssize_t r;

	if (in->peek == NULL) {
		in->peek = emalloc(PEEKSZ);
		while (in->peeklen < PEEKSZ) {
			r = read_any(in, in->peek + in->peeklen,
			    PEEKSZ - in->peeklen);
			if (r <= 0)
				break;
			in->peeklen += (size_t)r;
		}
	}
	*p = in->peek + in->peekpos;
	return in->peeklen - in->peekpos;
}

const char *
etl_input_error(struct etl_input *in)
{
	return in->err[0] ? in->err : "read error";
}

int
etl_input_status(struct etl_input *in)
{
	return in->status ? in->status : ETL_EX_IOERR;
}

const char *
etl_input_name(struct etl_input *in)
{
	return in->name;
}

int
etl_input_compressed(struct etl_input *in)
{
	return in->kind;
}

uint64_t
etl_input_raw_bytes(struct etl_input *in)
{
	return in->nraw;
}

void
etl_input_close(struct etl_input *in)
{
	if (in == NULL)
		return;
	if (in->fd != STDIN_FILENO)
		close(in->fd);
	if (in->zs)
		ZSTD_freeDStream(in->zs);
	if (in->kind == 'g')
		inflateEnd(&in->gz);
	free(in->raw);
	free(in->peek);
	free(in->name);
	free(in);
}
