/*
 * regex.c - ECMA-262 regular expressions, the dialect of JSON Schema's
 * pattern, run by PCRE2.  The two are close; where they differ the
 * pattern is rewritten before PCRE2 compiles it: "." and \s take
 * ECMA-262's line terminators and white space, [] and [^] are the empty
 * and the full class, escapes PCRE2 reads otherwise (\v, \cX, \uHHHH,
 * \u{H}, \0) become \x{H}, and what is PCRE2's alone ((?i), (?P<n>),
 * (?#), \A, \z, \Q, possessive a++ ...) is refused.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "etl.h"

/*
 * Bounds on one match: backtracking steps and heap.  A pattern that
 * backtracks without end ("(a+)+$" on "aaaa…b") stops there, and the
 * caller says the match gave up rather than waiting for it.
 */
#define MATCH_LIMIT	10000000
#define HEAP_LIMIT_KIB	65536

struct etl_regex {
	pcre2_code		*code;
	pcre2_match_data	*md;
};

/* ECMA-262 WhiteSpace and LineTerminator, as class items. */
#define ECMA_SPACE \
	"\\t\\n\\x{0b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}" \
	"\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}"

struct tr {
	const char	*p, *end;
	struct etl_buf	*out;
	char		*err;
	size_t		 errlen;
};

static int ETL_PRINTF(2, 3)
fail(struct tr *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, t->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* n hex digits at p into *v: 0, else -1. */
static int
hexn(const char *p, const char *end, int n, unsigned long *v)
{
	int i, h;

	*v = 0;
	if (end - p < n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((h = etl_hexval((unsigned char)p[i])) < 0)
			return -1;
		*v = *v * 16 + (unsigned long)h;
	}
	return 0;
}

/* \u after the backslash and the u: \uHHHH, a surrogate pair, \u{H…}. */
static int
unicode_escape(struct tr *t, unsigned long *cp)
{
	unsigned long lo;
	const char *q;

	if (t->p < t->end && *t->p == '{') {
		for (q = t->p + 1, *cp = 0; q < t->end && etl_hexval(*q) >= 0; q++)
			if ((*cp = *cp * 16 + (unsigned long)etl_hexval(*q)) > 0x10ffff)
				return fail(t, "\\u{…} beyond U+10FFFF");
		if (q == t->p + 1 || q == t->end || *q != '}')
			return fail(t, "malformed \\u{…} escape");
		t->p = q + 1;
	} else {
		if (hexn(t->p, t->end, 4, cp) == -1)
			return fail(t, "\\u needs four hex digits");
		t->p += 4;
		if (*cp >= 0xd800 && *cp <= 0xdbff && t->end - t->p >= 6 &&
		    t->p[0] == '\\' && t->p[1] == 'u' &&
		    hexn(t->p + 2, t->end, 4, &lo) == 0 &&
		    lo >= 0xdc00 && lo <= 0xdfff) {
			*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
			t->p += 6;
		}
	}
	if (*cp >= 0xd800 && *cp <= 0xdfff)
		return fail(t, "a lone surrogate \\u%04lX never matches UTF-8 text",
		    *cp);
	return 0;
}

/*
 * The General_Category values by their long names and aliases (Unicode's
 * PropertyValueAliases.txt), which ECMA-262 accepts and PCRE2 10.42 does
 * not.
 */
static const char *const gc_names[][2] = {
	{ "Other", "C" }, { "Control", "Cc" }, { "cntrl", "Cc" },
	{ "Format", "Cf" }, { "Unassigned", "Cn" }, { "Private_Use", "Co" },
	{ "Surrogate", "Cs" }, { "Letter", "L" }, { "Cased_Letter", "L&" },
	{ "LC", "L&" }, { "Lowercase_Letter", "Ll" }, { "Modifier_Letter", "Lm" },
	{ "Other_Letter", "Lo" }, { "Titlecase_Letter", "Lt" },
	{ "Uppercase_Letter", "Lu" }, { "Mark", "M" }, { "Combining_Mark", "M" },
	{ "Spacing_Mark", "Mc" }, { "Enclosing_Mark", "Me" },
	{ "Nonspacing_Mark", "Mn" }, { "Number", "N" }, { "Decimal_Number", "Nd" },
	{ "digit", "Nd" }, { "Letter_Number", "Nl" }, { "Other_Number", "No" },
	{ "Punctuation", "P" }, { "punct", "P" },
	{ "Connector_Punctuation", "Pc" }, { "Dash_Punctuation", "Pd" },
	{ "Close_Punctuation", "Pe" }, { "Final_Punctuation", "Pf" },
	{ "Initial_Punctuation", "Pi" }, { "Other_Punctuation", "Po" },
	{ "Open_Punctuation", "Ps" }, { "Symbol", "S" }, { "Currency_Symbol", "Sc" },
	{ "Modifier_Symbol", "Sk" }, { "Math_Symbol", "Sm" },
	{ "Other_Symbol", "So" }, { "Separator", "Z" }, { "Line_Separator", "Zl" },
	{ "Paragraph_Separator", "Zp" }, { "Space_Separator", "Zs" },
};

/*
 * \p{…} and \P{…}: ECMA-262 writes General_Category=L, gc=L, Script=Greek,
 * sc=Greek, scx=Greek; PCRE2 reads L, sc:Greek, scx:Greek.
 */
static int
property(struct tr *t, int c)
{
	const char *q, *v, *eq;
	size_t n, i;

	if (t->p >= t->end || *t->p != '{')
		return fail(t, "\\%c needs {property}", c);
	for (q = t->p + 1; q < t->end && *q != '}'; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		    (*q >= '0' && *q <= '9') || *q == '_' || *q == '='))
			return fail(t, "\\%c{…}: not a property name", c);
	if (q == t->end)
		return fail(t, "\\%c{ is not closed", c);
	v = t->p + 1;
	n = (size_t)(q - v);
	etl_buf_addc(t->out, '\\');
	etl_buf_addc(t->out, c);
	etl_buf_addc(t->out, '{');
	if ((eq = memchr(v, '=', n)) != NULL) {
		size_t kn = (size_t)(eq - v);

		if ((kn == 2 && memcmp(v, "gc", 2) == 0) ||
		    (kn == 16 && memcmp(v, "General_Category", 16) == 0))
			;
		else if ((kn == 2 && memcmp(v, "sc", 2) == 0) ||
		    (kn == 6 && memcmp(v, "Script", 6) == 0))
			etl_buf_adds(t->out, "sc:");
		else if ((kn == 3 && memcmp(v, "scx", 3) == 0) ||
		    (kn == 17 && memcmp(v, "Script_Extensions", 17) == 0))
			etl_buf_adds(t->out, "scx:");
		else
			return fail(t, "\\%c{…}: unknown property", c);
		n -= kn + 1;
		v = eq + 1;
	}
	for (i = 0; i < sizeof(gc_names) / sizeof(*gc_names); i++)
		if (strlen(gc_names[i][0]) == n &&
		    memcmp(gc_names[i][0], v, n) == 0) {
			v = gc_names[i][1];
			n = strlen(v);
			break;
		}
	etl_buf_add(t->out, v, n);
	etl_buf_addc(t->out, '}');
	t->p = q + 1;
	return 0;
}

/*
 * One escape after its backslash, inside a class or not.  *cls is set
 * when it stands for a class (\d …) and so cannot end a range.
 */
static int
escape(struct tr *t, int in_class, int *negspace)
{
	unsigned long cp;
	int c;

	if (t->p == t->end)
		return fail(t, "a pattern cannot end with \\");
	c = (unsigned char)*t->p++;
	switch (c) {
	case 'd': case 'D': case 'w': case 'W':
		/* Without PCRE2_UCP these are ASCII, as in ECMA-262. */
		etl_buf_addc(t->out, '\\');
		etl_buf_addc(t->out, c);
		return 0;
	case 'b': case 'B':
		if (in_class) {
			if (c == 'B')
				return fail(t, "\\B in a class");
			etl_buf_adds(t->out, "\\x{08}");
		} else {
			etl_buf_addc(t->out, '\\');
			etl_buf_addc(t->out, c);
		}
		return 0;
	case 's':
		etl_buf_adds(t->out, in_class ? ECMA_SPACE : "[" ECMA_SPACE "]");
		return 0;
	case 'S':
		if (in_class)
			*negspace = 1;
		else
			etl_buf_adds(t->out, "[^" ECMA_SPACE "]");
		return 0;
	case 't': case 'n': case 'r': case 'f':
		etl_buf_addc(t->out, '\\');
		etl_buf_addc(t->out, c);
		return 0;
	case 'v':
		etl_buf_adds(t->out, "\\x{0b}");
		return 0;
	case '0':
		if (t->p < t->end && *t->p >= '0' && *t->p <= '9')
			return fail(t, "octal escapes are not ECMA-262");
		etl_buf_adds(t->out, "\\x{00}");
		return 0;
	case 'c':
		if (t->p == t->end || !((*t->p >= 'a' && *t->p <= 'z') ||
		    (*t->p >= 'A' && *t->p <= 'Z')))
			return fail(t, "\\c must be followed by a letter");
		etl_buf_printf(t->out, "\\x{%02x}", *t->p++ % 32);
		return 0;
	case 'x':
		if (hexn(t->p, t->end, 2, &cp) == -1)
			return fail(t, "\\x needs two hex digits");
		t->p += 2;
		etl_buf_printf(t->out, "\\x{%lx}", cp);
		return 0;
	case 'u':
		if (unicode_escape(t, &cp) == -1)
			return -1;
		etl_buf_printf(t->out, "\\x{%lx}", cp);
		return 0;
	case 'p': case 'P':
		return property(t, c);
	case 'k':
		if (in_class)
			return fail(t, "\\k in a class");
		if (t->p == t->end || *t->p != '<')
			return fail(t, "\\k must name a group: \\k<name>");
		etl_buf_adds(t->out, "\\k");
		return 0;	/* <name> follows as it is */
	}
	if (c >= '1' && c <= '9') {
		if (in_class)
			return fail(t, "a back reference in a class");
		etl_buf_adds(t->out, "\\g{");
		etl_buf_addc(t->out, c);
		while (t->p < t->end && *t->p >= '0' && *t->p <= '9')
			etl_buf_addc(t->out, *t->p++);
		etl_buf_addc(t->out, '}');
		return 0;
	}
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return fail(t, "\\%c is not an ECMA-262 escape", c);
	/* An identity escape: the character itself. */
	if (c < 0x80) {
		etl_buf_addc(t->out, '\\');
		etl_buf_addc(t->out, c);
	} else
		etl_buf_addc(t->out, c);	/* a UTF-8 sequence follows as is */
	return 0;
}

/*
 * A class after its "[".  A class holding \S, which PCRE2 reads as ASCII
 * only, becomes an alternation: [a\S] is (?:[a]|[^space]), [^a\S] is
 * (?![a])[space].
 */
static int
class(struct tr *t)
{
	struct etl_buf *out = t->out, items = { 0 };
	int neg = 0, negspace = 0, r = 0;

	if (t->p < t->end && *t->p == '^') {
		neg = 1;
		t->p++;
	}
	if (t->p < t->end && *t->p == ']') {
		t->p++;
		etl_buf_adds(out, neg ? "[\\s\\S]" : "(?!)");
		return 0;
	}
	t->out = &items;
	for (;;) {
		if (t->p == t->end) {
			r = fail(t, "a class [ is not closed");
			break;
		}
		if (*t->p == ']') {
			t->p++;
			break;
		}
		if (*t->p == '\\') {
			t->p++;
			if ((r = escape(t, 1, &negspace)) == -1)
				break;
		} else if (*t->p == '[') {
			/* Literal in ECMA-262, a POSIX class opener in PCRE2. */
			etl_buf_adds(&items, "\\[");
			t->p++;
		} else
			etl_buf_addc(&items, *t->p++);
	}
	t->out = out;
	if (r == 0) {
		etl_buf_cstr(&items);
		if (!negspace)
			etl_buf_printf(out, "[%s%s]", neg ? "^" : "", items.p);
		else if (neg)
			etl_buf_printf(out, "(?:%s%s%s[" ECMA_SPACE "])",
			    items.len ? "(?![" : "", items.len ? items.p : "",
			    items.len ? "])" : "");
		else if (items.len)
			etl_buf_printf(out, "(?:[%s]|[^" ECMA_SPACE "])", items.p);
		else
			etl_buf_adds(out, "[^" ECMA_SPACE "]");
	}
	etl_buf_free(&items);
	return r;
}

/* {n}, {n,}, {n,m} at t->p: its length, or 0 when it is not one. */
static size_t
braces(const char *p, const char *end)
{
	const char *q = p + 1;
	int digits = 0;

	while (q < end && *q >= '0' && *q <= '9')
		q++, digits++;
	if (!digits)
		return 0;
	if (q < end && *q == ',')
		for (q++; q < end && *q >= '0' && *q <= '9'; q++)
			;
	return q < end && *q == '}' ? (size_t)(q + 1 - p) : 0;
}

/* ECMA-262 pattern text to PCRE2 pattern text: 0, or -1 with err set. */
static int
translate(const char *src, size_t n, struct etl_buf *out, char *err,
    size_t errlen)
{
	struct tr t = { src, src + n, out, err, errlen };
	/* What precedes a quantifier: 0 nothing to repeat, 1 an atom, 2 a quantifier. */
	int prev = 0, dummy = 0;
	size_t q;

	while (t.p < t.end) {
		int c = (unsigned char)*t.p;

		switch (c) {
		case '\\':
			t.p++;
			if (t.p < t.end && (*t.p == 'b' || *t.p == 'B')) {
				etl_buf_addc(out, '\\');
				etl_buf_addc(out, *t.p++);
				prev = 0;
				continue;
			}
			if (escape(&t, 0, &dummy) == -1)
				return -1;
			prev = 1;
			continue;
		case '[':
			t.p++;
			if (class(&t) == -1)
				return -1;
			prev = 1;
			continue;
		case '.':
			t.p++;
			etl_buf_adds(out, "[^\\n\\r\\x{2028}\\x{2029}]");
			prev = 1;
			continue;
		case '(':
			t.p++;
			etl_buf_addc(out, '(');
			if (t.p < t.end && *t.p == '?') {
				const char *g = t.p + 1;

				if (g < t.end && (*g == ':' || *g == '=' || *g == '!')) {
					etl_buf_add(out, t.p, 2);
					t.p += 2;
				} else if (t.end - g >= 2 && g[0] == '<' &&
				    (g[1] == '=' || g[1] == '!')) {
					etl_buf_add(out, t.p, 3);
					t.p += 3;
				} else if (g < t.end && *g == '<') {
					const char *e = g + 1;

					while (e < t.end && (*e == '_' ||
					    (*e >= 'a' && *e <= 'z') ||
					    (*e >= 'A' && *e <= 'Z') ||
					    (e > g + 1 && *e >= '0' && *e <= '9')))
						e++;
					if (e == g + 1 || e == t.end || *e != '>')
						return fail(&t, "a group name must be "
						    "ASCII letters, digits and _");
					etl_buf_add(out, t.p, (size_t)(e + 1 - t.p));
					t.p = e + 1;
				} else
					return fail(&t, "(?%c is not ECMA-262",
					    g < t.end ? *g : ' ');
			}
			prev = 0;
			continue;
		case ')':
			t.p++;
			etl_buf_addc(out, ')');
			prev = 1;
			continue;
		case '|':
		case '^':
		case '$':
			t.p++;
			etl_buf_addc(out, c);
			prev = 0;
			continue;
		case '*':
		case '+':
		case '?':
			q = 1;
			break;
		case '{':
			if ((q = braces(t.p, t.end)) == 0) {
				t.p++;
				etl_buf_adds(out, "\\{");	/* Annex B: a literal */
				prev = 1;
				continue;
			}
			break;
		case '}':
		case ']':
			t.p++;
			etl_buf_addc(out, '\\');
			etl_buf_addc(out, c);
			prev = 1;
			continue;
		default:
			etl_buf_addc(out, c);
			t.p++;
			prev = 1;
			continue;
		}
		/* A quantifier, q bytes, then perhaps ? (lazy). */
		if (prev != 1)
			return fail(&t, "nothing to repeat before %c", c);
		etl_buf_add(out, t.p, q);
		t.p += q;
		if (t.p < t.end && *t.p == '?')
			etl_buf_addc(out, *t.p++);
		prev = 2;
	}
	return 0;
}

static pcre2_match_context *
match_context(void)
{
	static pcre2_match_context *mc;

	if (mc == NULL) {
		if ((mc = pcre2_match_context_create(NULL)) == NULL)
			etl_die(ETL_EX_SOFTWARE, "out of memory");
		pcre2_set_match_limit(mc, MATCH_LIMIT);
		pcre2_set_heap_limit(mc, HEAP_LIMIT_KIB);
	}
	return mc;
}

static struct etl_regex *
compile(const char *pat, size_t n, char *err, size_t errlen)
{
	struct etl_regex *re;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int e;

	re = ecalloc(1, sizeof(*re));
	re->code = pcre2_compile((PCRE2_SPTR)(pat ? pat : ""), n,
	    PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_UNSET_BACKREF |
	    PCRE2_NEVER_BACKSLASH_C, &e, &off, NULL);
	if (re->code == NULL) {
		pcre2_get_error_message(e, msg, sizeof(msg));
		snprintf(err, errlen, "%s", (char *)msg);
		free(re);
		return NULL;
	}
	/* Without JIT support PCRE2 interprets: slower, the same answers. */
	(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	if ((re->md = pcre2_match_data_create_from_pattern(re->code, NULL)) == NULL)
		etl_die(ETL_EX_SOFTWARE, "out of memory");
	return re;
}

struct etl_regex *
etl_regex_new(const char *src, size_t n, char *err, size_t errlen)
{
	struct etl_buf pat = { 0 };
	struct etl_regex *re;

	re = translate(src, n, &pat, err, errlen) == -1 ? NULL :
	    compile(pat.p, pat.len, err, errlen);
	etl_buf_free(&pat);
	return re;
}

struct etl_regex *
etl_regex_pcre2(const char *pat)
{
	struct etl_regex *re;
	char err[256];

	if ((re = compile(pat, strlen(pat), err, sizeof(err))) == NULL)
		etl_die(ETL_EX_SOFTWARE, "%s: %s", pat, err);
	return re;
}

int
etl_regex_match(struct etl_regex *re, const char *s, size_t n)
{
	int r;

	r = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, re->md,
	    match_context());
	/* JIT's own stack is small; the interpreter's is the heap. */
	if (r == PCRE2_ERROR_JIT_STACKLIMIT)
		r = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_JIT,
		    re->md, match_context());
	if (r >= 0)
		return 1;
	if (r == PCRE2_ERROR_NOMATCH)
		return 0;
	return -1;
}

void
etl_regex_free(struct etl_regex *re)
{
	if (re == NULL)
		return;
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	free(re);
}
