/*
 * etl-notify - tells people and systems that a run needs attention: a
 * message (the operand, or a JSON object such as a run summary on stdin)
 * goes by HTTP POST, by mail or into a file, to every target given,
 * retrying transient failures with exponential backoff and jitter.
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "etl.h"

static const char usage_text[] =
"usage: etl-notify [-hq] [--webhook URL]... [--smtp URL --from A --to B]...\n"
"                  [--file PATH]... [--subject S] [--retries N] [--timeout S]\n"
"                  [--backoff S] [MESSAGE ...]\n";

static const char help_text[] =
"      --webhook URL         POST the message as JSON (http, https)\n"
"      --smtp URL            mail it (smtp, smtps; smtp://HOST/?starttls)\n"
"      --from A, --to B      the mail's sender and recipients (--to repeats)\n"
"      --file PATH           append it as one JSON line, under a lock\n"
"      --subject S           the mail's subject\n"
"      --retries N           retries of a transient failure (default 3)\n"
"      --timeout S           seconds one attempt may take (default 10)\n"
"      --backoff S           first delay between attempts (default 0.5)\n"
"  Credentials come from ETL_SMTP_USER and ETL_SMTP_PASSWORD only.\n";

#define MAX_MSG		(1024 * 1024)	/* stdin beyond this is cut */
#define MAX_RETRIES	20
#define MAX_DELAY	30.0		/* seconds, one backoff step */
#define MAX_SUBJECT	200		/* bytes, keeps the header line short */

enum { T_WEBHOOK, T_SMTP, T_FILE };
enum { D_OK, D_TRANSIENT, D_PERMANENT };

enum {
	OPT_BACKOFF = ETL_OPT_TOOL,
	OPT_FILE,
	OPT_FROM,
	OPT_RETRIES,
	OPT_SMTP,
	OPT_SUBJECT,
	OPT_TIMEOUT,
	OPT_TO,
	OPT_WEBHOOK
};

static const char *kind_names[] = { "webhook", "smtp", "file" };

struct target {
	int	 kind;
	char	*url;		/* what curl gets; the path of a file */
	char	*shown;		/* without credentials or query */
	int	 starttls;
	int	 delivered;
	int	 attempts;
	long	 retry_after;	/* seconds the server asked for, or 0 */
	char	 err[CURL_ERROR_SIZE + 64];
};

static struct target	*targets;
static size_t		 ntargets;
static const char	*mail_from;
static struct curl_slist *rcpts;
static size_t		 nrcpts;
static double		 timeout_s = 10, backoff_s = 0.5;
static long		 retries = 3;

static void
add_target(int kind, const char *arg)
{
	struct target *t;

	targets = erealloc(targets, (ntargets + 1) * sizeof(*targets));
	t = &targets[ntargets++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->url = estrdup(arg);
}

/*
 * Checks a URL and fills what curl gets and what messages show: user,
 * password and query never appear in a message.  Dies 64.
 */
static void
check_url(struct target *t)
{
	CURLU *u;
	char *scheme = NULL, *user = NULL, *pass = NULL, *query = NULL;
	char *s = NULL;
	int ok;

	if ((u = curl_url()) == NULL)
		etl_die(ETL_EX_SOFTWARE, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, t->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &s, 0) != CURLUE_OK) {
		etl_error("--%s: not a URL (give scheme://host/...)",
		    kind_names[t->kind]);
		etl_usage();
	}
	curl_free(s);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	if (t->kind == T_WEBHOOK)
		ok = strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0;
	else
		ok = strcmp(scheme, "smtp") == 0 || strcmp(scheme, "smtps") == 0;
	if (!ok) {
		etl_error("--%s: scheme %s not supported (%s)",
		    kind_names[t->kind], scheme, t->kind == T_WEBHOOK ?
		    "http or https" : "smtp or smtps");
		etl_usage();
	}
	if (t->kind == T_SMTP) {
		if (user || pass) {
			etl_error("--smtp: credentials in the URL; set "
			    "ETL_SMTP_USER and ETL_SMTP_PASSWORD instead");
			etl_usage();
		}
		if (query && strcmp(query, "starttls") == 0)
			t->starttls = 1;
		else if (query) {
			etl_error("--smtp: unknown query (only ?starttls)");
			etl_usage();
		}
		if (t->starttls && strcmp(scheme, "smtps") == 0) {
			etl_error("--smtp: ?starttls is for smtp://, smtps:// "
			    "is TLS already");
			etl_usage();
		}
		curl_url_set(u, CURLUPART_QUERY, NULL, 0);
	}
	curl_url_get(u, CURLUPART_URL, &s, 0);
	free(t->url);
	t->url = estrdup(s);
	curl_free(s);
	if (user || pass)
		curl_url_set(u, CURLUPART_USER, "***", 0);
	curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	if (query && t->kind == T_WEBHOOK)
		curl_url_set(u, CURLUPART_QUERY, "***", 0);
	curl_url_get(u, CURLUPART_URL, &s, 0);
	t->shown = estrdup(s);
	if (t->starttls) {
		t->shown = erealloc(t->shown, strlen(t->shown) + 10);
		strcat(t->shown, "?starttls");
	}
	curl_free(s);
	curl_free(scheme);
	curl_free(user);
	curl_free(pass);
	curl_free(query);
	curl_url_cleanup(u);
}

/* A bare address: no blanks, controls, brackets or commas; one '@'. */
static void
check_address(const char *opt, const char *a)
{
	const char *at = strrchr(a, '@');
	size_t i, n = strlen(a);

	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] <= ' ' || a[i] == 0x7f ||
		    strchr("<>,;\"()[]\\", a[i]))
			break;
	if (n == 0 || n > 254 || i < n || at == NULL || at == a ||
	    at[1] == '\0') {
		etl_error("%s: \"%s\": expected an address such as "
		    "etl@example.org", opt, a);
		etl_usage();
	}
}

/* Text into a JSON string: bytes that are not UTF-8 become U+FFFD. */
static json_t *
text_string(const char *p, size_t n)
{
	struct etl_buf b = { 0 };
	json_t *j;
	size_t k;

	while (n > 0) {
		k = etl_utf8_valid(p, n);
		etl_buf_add(&b, p, k);
		if (k < n) {
			etl_buf_adds(&b, "\xef\xbf\xbd");
			k++;
		}
		p += k;
		n -= k;
	}
	j = json_stringn(b.p ? b.p : "", b.len);
	etl_buf_free(&b);
	if (j == NULL)		/* a NUL byte: jansson refuses it */
		j = json_string("");
	return j;
}

/*
 * The message: the operands joined by spaces, else stdin.  Stdin that is
 * not one JSON object is sent as text, so a failure handler never loses
 * an alert to a broken summary.  New reference.
 */
static json_t *
read_message(int argc, char **argv)
{
	struct etl_buf b = { 0 };
	json_error_t e;
	json_t *m;
	ssize_t r;
	int i, cut = 0;

	m = json_object();
	if (argc > 0) {
		for (i = 0; i < argc; i++) {
			if (i)
				etl_buf_addc(&b, ' ');
			etl_buf_adds(&b, argv[i]);
		}
		json_object_set_new(m, "message", text_string(b.p, b.len));
		etl_buf_free(&b);
		return m;
	}
	if (isatty(STDIN_FILENO)) {
		etl_error("no message: give MESSAGE or pipe a JSON object");
		etl_usage();
	}
	etl_buf_grow(&b, 65536);
	for (;;) {
		etl_buf_grow(&b, 65536);
		r = read(STDIN_FILENO, b.p + b.len, b.cap - b.len - 1);
		if (r < 0 && errno == EINTR && !etl_signalled)
			continue;
		if (r < 0)
			etl_die(ETL_EX_IOERR, "<stdin>: %s", strerror(errno));
		if (r == 0)
			break;
		b.len += (size_t)r;
		if (b.len > MAX_MSG) {
			b.len = MAX_MSG;
			cut = 1;
			break;
		}
	}
	while (b.len > 0 && strchr(" \t\r\n", b.p[b.len - 1]))
		b.len--;
	if (b.len == 0) {
		etl_error("<stdin>: no message: give MESSAGE or pipe a JSON "
		    "object");
		etl_usage();
	}
	json_decref(m);
	if (!cut && (m = json_loadb(b.p, b.len, 0, &e)) != NULL &&
	    json_is_object(m)) {
		etl_buf_free(&b);
		return m;
	}
	if (cut)
		etl_warn("<stdin>: longer than %d bytes, cut and sent as text",
		    MAX_MSG);
	else if (m == NULL && b.p[strspn(b.p, " \t\r\n")] == '{')
		etl_warn("<stdin>:%d:%d: not a JSON object (%s), sent as text",
		    e.line, e.column, e.text);
	json_decref(m);
	m = json_object();
	json_object_set_new(m, "message", text_string(b.p, b.len));
	etl_buf_free(&b);
	return m;
}

static void
set_missing(json_t *m, const char *k, json_t *v)
{
	if (json_object_get(m, k) == NULL)
		json_object_set(m, k, v);
	json_decref(v);
}

/* A default subject: the failed step, else the message's first line. */
static char *
make_subject(const char *given, const json_t *m)
{
	struct etl_buf b = { 0 };
	const json_t *step, *st, *msg;
	size_t i, n;

	step = json_object_get(m, "step");
	st = json_object_get(m, "status");
	msg = json_object_get(m, "message");
	if (given)
		etl_buf_adds(&b, given);
	else if (json_is_string(step)) {
		etl_buf_printf(&b, "etl: %s failed", json_string_value(step));
		if (json_is_integer(st))
			etl_buf_printf(&b, " (status %lld)",
			    (long long)json_integer_value(st));
	} else if (json_is_string(msg) && json_string_length(msg) > 0) {
		const char *s = json_string_value(msg);

		etl_buf_adds(&b, "etl: ");
		etl_buf_add(&b, s, strcspn(s, "\n"));
	} else
		etl_buf_adds(&b, "etl: notification");
	/* No header injection: controls become spaces; cut on a character. */
	for (i = 0; i < b.len; i++)
		if ((unsigned char)b.p[i] < ' ' || b.p[i] == 0x7f)
			b.p[i] = ' ';
	if (b.len > MAX_SUBJECT) {
		n = MAX_SUBJECT;
		while (n > 0 && ((unsigned char)b.p[n] & 0xc0) == 0x80)
			n--;
		b.len = n;
	}
	etl_buf_cstr(&b);
	return b.p;
}

static void
base64(struct etl_buf *o, const unsigned char *p, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		etl_buf_addc(o, a[v >> 18 & 63]);
		etl_buf_addc(o, a[v >> 12 & 63]);
		etl_buf_addc(o, a[v >> 6 & 63]);
		etl_buf_addc(o, a[v & 63]);
	}
	if (i < n) {
		v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		etl_buf_addc(o, a[v >> 18 & 63]);
		etl_buf_addc(o, a[v >> 12 & 63]);
		etl_buf_addc(o, i + 1 < n ? a[v >> 6 & 63] : '=');
		etl_buf_addc(o, '=');
	}
}

/* RFC 2047: UTF-8 words of at most 45 bytes, folded; ASCII as is. */
static void
header_text(struct etl_buf *o, const char *s)
{
	size_t i, n = strlen(s), k;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			break;
	if (i == n) {
		etl_buf_adds(o, s);
		return;
	}
	for (i = 0; i < n; i += k) {
		k = n - i < 45 ? n - i : 45;
		while (i + k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80)
			k--;
		if (i > 0)
			etl_buf_adds(o, "\r\n ");
		etl_buf_adds(o, "=?UTF-8?B?");
		base64(o, (const unsigned char *)s + i, k);
		etl_buf_adds(o, "?=");
	}
}

/* Quoted-printable (RFC 2045): lines of at most 76, CRLF ends. */
static void
quoted_printable(struct etl_buf *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, col = 0;
	unsigned char c;
	char tok[4];
	size_t tl;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\n') {
			etl_buf_adds(o, "\r\n");
			col = 0;
			continue;
		}
		if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' ||
		    c == '\t') && i + 1 < n && s[i + 1] != '\n')) {
			tok[0] = (char)c;
			tl = 1;
		} else {
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 15];
			tl = 3;
		}
		if (col + tl > 75) {
			etl_buf_adds(o, "=\r\n");
			col = 0;
		}
		etl_buf_add(o, tok, tl);
		col += tl;
	}
	etl_buf_adds(o, "\r\n");
}

static void
safe_host(char *h)
{
	for (; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		    (*h >= '0' && *h <= '9') || *h == '.' || *h == '-'))
			*h = '-';
}

static void
make_mail(struct etl_buf *o, const json_t *m, const char *subject,
    const char *host)
{
	struct etl_buf body = { 0 };
	const json_t *msg = json_object_get(m, "message");
	struct curl_slist *r;
	struct tm tm;
	time_t now = time(NULL);
	uint64_t rnd = 0;
	char date[64], *pretty;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = (uint64_t)now ^ ((uint64_t)getpid() << 20);
	etl_buf_printf(o, "Date: %s\r\n", date);
	etl_buf_add(o, "From: ", 6);
	etl_buf_add(o, mail_from + 1, strlen(mail_from) - 2);
	etl_buf_adds(o, "\r\n");
	etl_buf_adds(o, "To: ");
	for (r = rcpts; r; r = r->next) {
		/* The list holds "<addr>"; the header shows addr. */
		etl_buf_add(o, r->data + 1, strlen(r->data) - 2);
		etl_buf_adds(o, r->next ? ",\r\n " : "\r\n");
	}
	etl_buf_adds(o, "Subject: ");
	header_text(o, subject);
	etl_buf_printf(o, "\r\nMessage-ID: <%lld.%016llx.etl-notify@%s>\r\n",
	    (long long)now, (unsigned long long)rnd, host);
	etl_buf_adds(o, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Auto-Submitted: auto-generated\r\n\r\n");
	if (json_is_string(msg))
		etl_buf_printf(&body, "%s\n\n", json_string_value(msg));
	pretty = json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	etl_buf_printf(&body, "Summary (JSON):\n\n%s\n", pretty ? pretty : "{}");
	free(pretty);
	quoted_printable(o, body.p, body.len);
	etl_buf_free(&body);
}

struct upload {
	const char	*p;
	size_t		 len, off;
};

static size_t
read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = size * n;

	if (k > u->len - u->off)
		k = u->len - u->off;
	memcpy(buf, u->p + u->off, k);
	u->off += k;
	return k;
}

static size_t
discard_cb(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static int
curl_transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_AGAIN:
		return 1;
	default:
		return 0;
	}
}

static int
try_curl(struct target *t, const char *payload, size_t len)
{
	struct curl_slist *hdrs = NULL;
	struct upload up = { payload, len, 0 };
	char errbuf[CURL_ERROR_SIZE];
	const char *s;
	CURLcode rc;
	CURL *h;
	long code = 0;
	curl_off_t ra = 0;
	int res;

	if ((h = curl_easy_init()) == NULL)
		etl_die(ETL_EX_SOFTWARE, "curl_easy_init failed");
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, t->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(timeout_s * 1000));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
	if (t->kind == T_WEBHOOK) {
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		hdrs = curl_slist_append(hdrs, "Expect:");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_USERAGENT,
		    "etl-notify/" ETL_VERSION);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	} else {
		curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
		curl_easy_setopt(h, CURLOPT_MAIL_FROM, mail_from);
		curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, &up);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
		if (t->starttls)
			curl_easy_setopt(h, CURLOPT_USE_SSL,
			    (long)CURLUSESSL_ALL);
		if ((s = getenv("ETL_SMTP_USER")) != NULL && *s) {
			curl_easy_setopt(h, CURLOPT_USERNAME, s);
			curl_easy_setopt(h, CURLOPT_PASSWORD,
			    getenv("ETL_SMTP_PASSWORD"));
		}
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	t->retry_after = 0;
	if (t->kind == T_WEBHOOK) {
		if (rc != CURLE_OK) {
			res = curl_transient(rc) ? D_TRANSIENT : D_PERMANENT;
			snprintf(t->err, sizeof(t->err), "%s", *errbuf ?
			    errbuf : curl_easy_strerror(rc));
		} else if (code >= 200 && code <= 299) {
			res = D_OK;
		} else {
			res = code >= 500 || code == 429 || code == 408 ?
			    D_TRANSIENT : D_PERMANENT;
			snprintf(t->err, sizeof(t->err), "HTTP %ld", code);
			if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) ==
			    CURLE_OK && ra > 0)
				t->retry_after = (long)(ra < 3600 ? ra : 3600);
		}
	} else {
		if (rc == CURLE_OK)
			res = D_OK;
		else if (code >= 400 && code <= 499)
			res = D_TRANSIENT;
		else if (code >= 500)
			res = D_PERMANENT;
		else
			res = curl_transient(rc) ? D_TRANSIENT : D_PERMANENT;
		if (res != D_OK && code >= 400)
			snprintf(t->err, sizeof(t->err), "SMTP %ld: %s", code,
			    *errbuf ? errbuf : curl_easy_strerror(rc));
		else if (res != D_OK)
			snprintf(t->err, sizeof(t->err), "%s", *errbuf ?
			    errbuf : curl_easy_strerror(rc));
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return res;
}

/* One line under an exclusive lock; a failed write is undone. */
static int
try_file(struct target *t, const char *line, size_t len)
{
	struct timespec nap = { 0, 10 * 1000 * 1000 };
	struct stat st;
	double waited = 0;
	const char *p = line;
	size_t n = len;
	ssize_t w;
	int fd, res = D_OK;

	fd = open(t->url, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd == -1) {
		snprintf(t->err, sizeof(t->err), "%s", strerror(errno));
		return errno == EINTR ? D_TRANSIENT : D_PERMANENT;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    waited >= timeout_s || etl_signalled) {
			snprintf(t->err, sizeof(t->err), "lock: %s",
			    errno == EWOULDBLOCK ? "still held by another "
			    "writer" : strerror(errno));
			close(fd);
			return D_TRANSIENT;
		}
		nanosleep(&nap, NULL);
		waited += 0.01;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(t->err, sizeof(t->err), "%s", strerror(errno));
		close(fd);
		return D_PERMANENT;
	}
	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(t->err, sizeof(t->err), "%s", strerror(errno));
			if (ftruncate(fd, st.st_size) == -1)
				etl_warn("%s: a partial line may remain: %s",
				    t->shown, strerror(errno));
			res = D_TRANSIENT;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	if (close(fd) == -1 && res == D_OK) {
		snprintf(t->err, sizeof(t->err), "%s", strerror(errno));
		res = D_TRANSIENT;
	}
	return res;
}

static double
jitter(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)random();
	return (double)r / 4294967296.0;
}

static void
pause_for(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !etl_signalled)
		;
}

static void
deliver(struct target *t, const char *payload, size_t len)
{
	double delay, step = backoff_s;
	int res, attempt;

	for (attempt = 1; ; attempt++) {
		t->attempts = attempt;
		if (t->kind == T_FILE)
			res = try_file(t, payload, len);
		else
			res = try_curl(t, payload, len);
		if (res == D_OK) {
			t->delivered = 1;
			return;
		}
		if (res == D_PERMANENT || attempt > retries || etl_signalled)
			break;
		/* Half the step plus a random half: spread, never zero. */
		delay = step * (0.5 + 0.5 * jitter());
		if (t->retry_after > delay)
			delay = t->retry_after < MAX_DELAY ? t->retry_after :
			    MAX_DELAY;
		etl_warn("%s %s: attempt %d of %ld failed: %s; retrying in "
		    "%.2f s", kind_names[t->kind], t->shown, attempt,
		    retries + 1, t->err, delay);
		pause_for(delay);
		if (etl_signalled)
			break;
		step = step * 2 < MAX_DELAY ? step * 2 : MAX_DELAY;
	}
	if (res == D_PERMANENT)
		etl_error("%s %s: not delivered: %s (permanent, not retried)",
		    kind_names[t->kind], t->shown, t->err);
	else
		etl_error("%s %s: unreachable after %d attempt%s: %s",
		    kind_names[t->kind], t->shown, attempt,
		    attempt == 1 ? "" : "s", t->err);
}

int
main(int argc, char *argv[])
{
	static struct option longopts[] = {
		{ "backoff",	required_argument,	NULL, OPT_BACKOFF },
		{ "file",	required_argument,	NULL, OPT_FILE },
		{ "from",	required_argument,	NULL, OPT_FROM },
		{ "help",	no_argument,		NULL, 'h' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "retries",	required_argument,	NULL, OPT_RETRIES },
		{ "smtp",	required_argument,	NULL, OPT_SMTP },
		{ "subject",	required_argument,	NULL, OPT_SUBJECT },
		{ "timeout",	required_argument,	NULL, OPT_TIMEOUT },
		{ "to",		required_argument,	NULL, OPT_TO },
		{ "version",	no_argument,		NULL, ETL_OPT_VERSION },
		{ "webhook",	required_argument,	NULL, OPT_WEBHOOK },
		{ NULL, 0, NULL, 0 }
	};
	struct etl_buf line = { 0 }, mail = { 0 }, rep = { 0 };
	const char *subject_opt = NULL, *s;
	char host[256], now[21], addr[300], *subject;
	json_t *m, *r;
	size_t i, nsmtp = 0, ok = 0;
	int ch, st = ETL_EX_OK;
	double d;

	etl_init("etl-notify", usage_text, help_text);
	while ((ch = getopt_long(argc, argv, ETL_SHORTOPTS, longopts,
	    NULL)) != -1) {
		switch (ch) {
		case OPT_BACKOFF:
			backoff_s = etl_arg_number("--backoff", optarg, 0,
			    MAX_DELAY);
			break;
		case OPT_FILE:
			add_target(T_FILE, optarg);
			break;
		case OPT_FROM:
			check_address("--from", optarg);
			snprintf(addr, sizeof(addr), "<%s>", optarg);
			mail_from = estrdup(addr);
			break;
		case OPT_RETRIES:
			d = etl_arg_number("--retries", optarg, 0, MAX_RETRIES);
			if (d != (long)d) {
				etl_error("--retries: \"%s\": expected a whole "
				    "number", optarg);
				etl_usage();
			}
			retries = (long)d;
			break;
		case OPT_SMTP:
			add_target(T_SMTP, optarg);
			nsmtp++;
			break;
		case OPT_SUBJECT:
			subject_opt = optarg;
			break;
		case OPT_TIMEOUT:
			timeout_s = etl_arg_number("--timeout", optarg, 0.001,
			    3600);
			break;
		case OPT_TO:
			check_address("--to", optarg);
			snprintf(addr, sizeof(addr), "<%s>", optarg);
			rcpts = curl_slist_append(rcpts, addr);
			nrcpts++;
			break;
		case OPT_WEBHOOK:
			add_target(T_WEBHOOK, optarg);
			break;
		default:
			etl_option(ch, optarg);
		}
	}
	argc -= optind;
	argv += optind;
	if (ntargets == 0) {
		etl_error("no target: give --webhook, --smtp or --file");
		etl_usage();
	}
	if (nsmtp > 0 && (mail_from == NULL || nrcpts == 0)) {
		etl_error("--smtp needs --from and --to");
		etl_usage();
	}
	if (nsmtp == 0 && (mail_from || nrcpts)) {
		etl_error("--from and --to are for --smtp");
		etl_usage();
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		etl_die(ETL_EX_SOFTWARE, "curl_global_init failed");
	for (i = 0; i < ntargets; i++) {
		if (targets[i].kind == T_FILE)
			targets[i].shown = estrdup(targets[i].url);
		else
			check_url(&targets[i]);
	}
	if (nsmtp > 0 && (s = getenv("ETL_SMTP_USER")) != NULL && *s &&
	    getenv("ETL_SMTP_PASSWORD") == NULL)
		etl_die(ETL_EX_CONFIG, "ETL_SMTP_USER is set but "
		    "ETL_SMTP_PASSWORD is not");

	m = read_message(argc, argv);
	if (gethostname(host, sizeof(host)) == -1 || *host == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	etl_datetime_format(now, (int64_t)time(NULL));
	set_missing(m, "run_id", json_string_nocheck(etl_run_id));
	set_missing(m, "host", text_string(host, strlen(host)));
	set_missing(m, "time", json_string(now));
	etl_json_dump(&line, m);
	etl_buf_addc(&line, '\n');
	safe_host(host);
	subject = make_subject(subject_opt, m);
	if (nsmtp > 0)
		make_mail(&mail, m, subject, host);

	for (i = 0; i < ntargets && !etl_signalled; i++) {
		struct target *t = &targets[i];

		if (t->kind == T_SMTP)
			deliver(t, mail.p, mail.len);
		else if (t->kind == T_WEBHOOK)
			deliver(t, line.p, line.len - 1);
		else
			deliver(t, line.p, line.len);
		ok += t->delivered;
		r = json_pack("{sssssbsi}", "kind", kind_names[t->kind],
		    "target", t->shown, "delivered", t->delivered,
		    "attempts", t->attempts);
		if (!t->delivered)
			json_object_set_new(r, "error", text_string(t->err,
			    strlen(t->err)));
		etl_json_dump(&rep, r);
		etl_buf_addc(&rep, '\n');
		json_decref(r);
	}
	if (ok < ntargets)
		st = ETL_EX_UNAVAILABLE;
	if (etl_signalled)
		st = 128 + (int)etl_signalled;
	r = json_pack("{sIsIsI}", "targets", (json_int_t)ntargets,
	    "delivered", (json_int_t)ok, "failed", (json_int_t)(ntargets - ok));
	etl_log("info", r, "%zu target%s, %zu delivered, %zu failed", ntargets,
	    ntargets == 1 ? "" : "s", ok, ntargets - ok);
	json_decref(r);

	/* The report on stdout: a reader that is gone is no error. */
	if (rep.len > 0 && fwrite(rep.p, 1, rep.len, stdout) != rep.len &&
	    errno != EPIPE) {
		etl_error("stdout: %s", strerror(errno));
		if (st == ETL_EX_OK)
			st = ETL_EX_IOERR;
	}
	if ((fflush(stdout) == EOF || close(STDOUT_FILENO) == -1) &&
	    errno != EPIPE && errno != EBADF && st == ETL_EX_OK) {
		etl_error("stdout: %s", strerror(errno));
		st = ETL_EX_IOERR;
	}

	for (i = 0; i < ntargets; i++) {
		free(targets[i].url);
		free(targets[i].shown);
	}
	free(targets);
	free(subject);
	free((char *)mail_from);
	curl_slist_free_all(rcpts);
	etl_buf_free(&line);
	etl_buf_free(&mail);
	etl_buf_free(&rep);
	json_decref(m);
	curl_global_cleanup();
	return st;
}
