/*
 * units.c - units of area and their square metres.  Every factor is exact
 * decimal text, so a conversion is exact until the final double: the foot
 * is 0.3048 m and the yard 0.9144 m (international yard and pound, 1959;
 * NIST Handbook 44, Appendix C), the South Asian land units are defined
 * in square feet.  The sources of each are in etl-clean(1), AREAS.
 */
#include "etl.h"

struct unit {
	const char	*key;		/* etl_unit_key() of the spelling */
	const char	*name;		/* the unit's, for a rule's "units" */
	const char	*m2;
};

#define SQFT	"0.09290304"		/* (0.3048 m)^2 */
#define SQYD	"0.83612736"		/* (0.9144 m)^2 */
#define ACRE	"4046.8564224"		/* 43,560 sq ft */
#define GUNTHA	"101.17141056"		/* 1,089 sq ft, 1/40 acre */
#define CENT	"40.468564224"		/* 435.6 sq ft, 1/100 acre */
#define PERCH	"25.29285264"		/* 272.25 sq ft, 1/160 acre */
#define GROUND	"222.967296"		/* 2,400 sq ft */
#define BIGHA	"2529.285264"		/* 27,225 sq ft: the pucca bigha */

#define U(key, name, m2)	{ key, name, m2 }

/* Each family: one name and its m², in as many spellings as are seen. */
static const struct unit units[] = {
	U("m2", "m2", "1"), U("sqm", "m2", "1"), U("qm", "m2", "1"),
	U("mq", "m2", "1"), U("sqmt", "m2", "1"), U("sqmts", "m2", "1"),
	U("sqmtr", "m2", "1"), U("sqmtrs", "m2", "1"),
	U("sqmeter", "m2", "1"), U("sqmeters", "m2", "1"),
	U("sqmetre", "m2", "1"), U("sqmetres", "m2", "1"),
	U("squaremeter", "m2", "1"), U("squaremeters", "m2", "1"),
	U("squaremetre", "m2", "1"), U("squaremetres", "m2", "1"),
	U("metrecarre", "m2", "1"), U("metrescarres", "m2", "1"),
	U("metercarre", "m2", "1"), U("quadratmeter", "m2", "1"),
	U("metriquadri", "m2", "1"), U("metriquadrati", "m2", "1"),
	U("metroquadro", "m2", "1"), U("metroquadrato", "m2", "1"),
	U("ft2", "sqft", SQFT), U("sqft", "sqft", SQFT),
	U("sqfeet", "sqft", SQFT), U("sqfoot", "sqft", SQFT),
	U("sft", "sqft", SQFT), U("sf", "sqft", SQFT),
	U("squarefoot", "sqft", SQFT), U("squarefeet", "sqft", SQFT),
	U("squareft", "sqft", SQFT), U("piedcarre", "sqft", SQFT),
	U("piedscarres", "sqft", SQFT),
	U("yd2", "sqyd", SQYD), U("sqyd", "sqyd", SQYD),
	U("sqyds", "sqyd", SQYD), U("sqyard", "sqyd", SQYD),
	U("sqyards", "sqyd", SQYD), U("squareyard", "sqyd", SQYD),
	U("squareyards", "sqyd", SQYD), U("gaj", "sqyd", SQYD),
	U("gaz", "sqyd", SQYD),
	U("acre", "acre", ACRE), U("acres", "acre", ACRE),
	U("ac", "acre", ACRE),
	U("ha", "ha", "10000"), U("hectare", "ha", "10000"),
	U("hectares", "ha", "10000"), U("hektar", "ha", "10000"),
	U("ettaro", "ha", "10000"), U("ettari", "ha", "10000"),
	U("a", "are", "100"), U("are", "are", "100"),
	U("ares", "are", "100"), U("ar", "are", "100"),
	U("km2", "km2", "1000000"), U("sqkm", "km2", "1000000"),
	U("guntha", "guntha", GUNTHA), U("gunthas", "guntha", GUNTHA),
	U("gunta", "guntha", GUNTHA), U("guntas", "guntha", GUNTHA),
	U("cent", "cent", CENT), U("cents", "cent", CENT),
	U("decimal", "cent", CENT), U("decimals", "cent", CENT),
	U("perch", "perch", PERCH), U("perches", "perch", PERCH),
	U("ground", "ground", GROUND), U("grounds", "ground", GROUND),
	U("bigha", "bigha", BIGHA), U("bighas", "bigha", BIGHA),
	{ NULL, NULL, NULL }
};

void
etl_unit_key(struct etl_buf *b, const char *s, size_t n)
{
	static struct etl_buf f;
	const unsigned char *p;
	size_t i;

	etl_fold(&f, s, n);
	p = (const unsigned char *)f.p;
	b->len = 0;
	for (i = 0; i < f.len; i++) {
		if ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9'))
			etl_buf_addc(b, p[i]);
		else if (p[i] == 0xc2 && i + 1 < f.len && p[i + 1] == 0xb2) {
			etl_buf_addc(b, '2');			/* ² */
			i++;
		} else if (p[i] == 0xe3 && i + 2 < f.len && p[i + 1] == 0x8e &&
		    p[i + 2] == 0xa1) {
			etl_buf_adds(b, "m2");			/* ㎡ */
			i += 2;
		}
	}
	etl_buf_cstr(b);
}

static const struct unit *
find(const char *key)
{
	const struct unit *u;

	for (u = units; u->key; u++)
		if (strcmp(u->key, key) == 0)
			return u;
	return NULL;
}

const char *
etl_unit_m2(const char *key)
{
	const struct unit *u = find(key);

	return u ? u->m2 : NULL;
}

const char *
etl_unit_name(const char *key)
{
	const struct unit *u = find(key);

	return u ? u->name : NULL;
}

const char *
etl_unit_find(const json_t *over, const char *key)
{
	const char *name = etl_unit_name(key);
	size_t n = strlen(key);
	json_t *f;

	if (over) {
		if ((f = json_object_get(over, name ? name : key)) != NULL)
			return json_string_value(f);
		/* a rule's own unit in the plural: "kanals" */
		if (name == NULL && n > 1 && key[n - 1] == 's' &&
		    (f = json_object_getn(over, key, n - 1)) != NULL)
			return json_string_value(f);
	}
	return etl_unit_m2(key);
}
