/*
 * gen - writes N seeded, messy property listings as NDJSON or CSV, the
 * input of the benchmark.  The same seed gives the same bytes, and the
 * -m (messy) variant is the same listings with their values typed by
 * hand, as etl-clean meets them: prices as text, areas with units, dates
 * in local formats, property types in any case.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
"usage: gen [-hm] [-f ndjson|csv] [-n rows] [-s seed]\n";

/* Listings and their spelling draw from two streams, so -m spells the same listings. */
static uint64_t	 listing_state, spelling_state, *rng_state = &listing_state;

/* splitmix64: small, fast, and the same on every machine. */
static uint64_t
rnd(void)
{
	uint64_t	 z;

	z = (*rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
unif(void)
{
	return (rnd() >> 11) * 0x1.0p-53;
}

static unsigned
pick(unsigned n)
{
	return (unsigned)(unif() * n);
}

static int
chance(double p)
{
	return unif() < p;
}

static double
gauss(void)
{
	double	 u, v;

	u = unif();
	v = unif();
	if (u < 1e-300)
		u = 1e-300;
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *cities[] = {
	"Zürich", "Genève", "Basel", "Lausanne", "Bern", "Winterthur",
	"Luzern", "St. Gallen", "Lugano", "Biel/Bienne", "Thun", "Köniz",
	"La Chaux-de-Fonds", "Fribourg", "Schaffhausen", "Chur", "Vernier",
	"Neuchâtel", "Uster", "Sion", "Lancy", "Emmen", "Yverdon-les-Bains",
	"Zug", "Kriens", "Rapperswil-Jona", "Dübendorf", "Montreux",
	"Dietikon", "Frauenfeld", "Wetzikon", "Baar", "Meyrin", "Wädenswil",
	"Carouge", "Renens", "Aarau", "Riehen", "Allschwil", "Wettingen",
	"Bülach", "Kreuzlingen", "Horgen", "Onex", "Bellinzona", "Olten",
	"Nyon", "Vevey", "Kloten", "Pully", "Grenchen", "Baden", "Gossau",
	"Locarno", "Muttenz", "Thônex", "Solothurn", "Pratteln", "Burgdorf",
	"Martigny", "Monthey", "Sierre", "Morges", "Delémont", "Hérémence",
	"Küsnacht", "Zollikon", "Männedorf", "Stäfa", "Wil", "Herisau",
	"Appenzell", "Glarus", "Sarnen", "Stans", "Altdorf", "Schwyz",
	"Liestal", "Porrentruy", "Bulle", "Payerne", "Estavayer-le-Lac",
	"Gruyères", "Château-d'Œx", "Zermatt", "Davos", "St. Moritz",
	"Ascona", "Mendrisio", "Chiasso", "Brig-Glis", "Visp", "Interlaken",
	"Grindelwald", "Spiez", "Langenthal", "Lenzburg", "Brugg", "Zofingen",
	"Affoltern am Albis", "Einsiedeln", "Arosa", "Val-de-Ruz", "Le Locle",
	"Écublens", "Bussigny", "Crissier", "Prilly", "Épalinges", "Gland",
	"Rolle", "Aubonne", "Versoix", "Plan-les-Ouates", "Veyrier",
	"Chêne-Bougeries", "Bex", "Aigle", "Villars-sur-Ollon", "Crans-Montana",
};

static const char *city_suffix[] = { "", " Nord", " Süd" };

static const char *cantons[] = {
	"ZH", "GE", "BS", "VD", "BE", "LU", "SG", "TI", "FR", "SH", "GR",
	"NE", "VS", "ZG", "TG", "AG", "SO", "BL", "JU", "AI", "AR", "GL",
	"OW", "NW", "UR", "SZ"
};

/* Base types and how often; the check's enum keeps the first eight. */
static const char *types[] = {
	"apartment", "house", "Wohnung", "Haus", "appartement", "maison",
	"Apartment", "House", "villa", "studio", "loft", "Attika"
};
static const unsigned type_weight[] = {
	20, 12, 16, 8, 10, 6, 6, 4, 5, 5, 4, 4
};

/* Hand-typed types of the messy variant: all but the last three map. */
static const char *messy_types[] = {
	"Wohnung", "WOHNUNG", " Wohnung ", "appartement", "Appartement",
	"Apartment", "apartment", "Haus", "HAUS", "maison", "Maison ",
	"house", "villa", "Studio", "Loft"
};

static const char *features[] = {
	"balcony", "lift", "garage", "garden", "cellar", "lake view",
	"fireplace", "Minergie", "wheelchair access", "pool"
};

static const char *agents[] = {
	"Immo Muster AG", "Régie du Léman SA", "Wüest & Partner",
	"Casa Ticino Sagl", "Privat", "Engel & Völkers", "Naef Immobilier",
	"Livit AG", "Wincasa", "Comptoir Immobilier", "Bernard Nicod",
	"Homegate Direkt"
};

static const char *titles[] = {
	"Helle %s-Zimmer-Wohnung in %s",
	"Grosszügige %s-Zimmer-Wohnung mit Balkon, %s",
	"Appartement de %s pièces à %s",
	"Magnifique %s pièces avec vue \"lac\" - %s",
	"Appartamento di %s locali a %s",
	"Bright %s-room flat in %s, \"lake view\"",
	"Einfamilienhaus (%s Zi.) in %s – ruhige Lage",
	"Maison familiale de %s pièces, %s",
};

static const char *sentences[] = {
	"Diese moderne Wohnung überzeugt durch ihre offene Küche und den "
	    "grossen Wohn-/Essbereich.",
	"Le séjour lumineux donne accès à une terrasse de 20 m² orientée "
	    "plein sud.",
	"Ruhige Lage, nur 5 Gehminuten vom Bahnhof und von der Schule.",
	"L'appartement a été entièrement rénové en 2019 (cuisine, salle de "
	    "bains, sols).",
	"Bezugstermin nach Vereinbarung.\nBesichtigungen: Mo–Fr, 9–17 Uhr.",
	"Appartamento luminoso con vista sul lago e posto auto coperto.",
	"Bright open-plan living room with \"Minergie\" standard and "
	    "floor heating.",
	"Charges: CHF 350.–/mois\tacompte chauffage inclus.",
	"Nebenkosten: CHF 280.– pro Monat (Akonto).",
	"Waschturm in der Wohnung, Kellerabteil und Estrich.",
	"Proche des commerces, écoles et transports publics (ligne 7).",
	"Garage double, jardin arborisé, cheminée de salon.",
	"Plan: siehe Anhang \\\\server\\exposé\\plan.pdf",
	"Ideal für Familien 🏡 – grosser Garten mit Spielplatz.",
	"Vue imprenable sur les Alpes ⛰ et le Léman.",
	"Haustiere auf Anfrage erlaubt; Rauchen nicht gestattet.",
	"Dernier étage avec ascenseur, accès direct au grenier.",
	"Parking: 1 Einstellhallenplatz à CHF 150.– zusätzlich.",
	"Zona tranquilla, a due passi dal centro storico.",
	"Available immediately; viewing by appointment only.",
};

static const char *bad_prices[] = {
	"Sem info", "Preis auf Anfrage", "Prix sur demande", "on request"
};

static struct buf {
	char	*p;
	size_t	 len, cap;
} out;

static void
flush_out(void)
{
	size_t	 off;
	ssize_t	 n;

	for (off = 0; off < out.len; off += (size_t)n) {
		n = write(STDOUT_FILENO, out.p + off, out.len - off);
		if (n < 0) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			if (errno == EPIPE)
				exit(0);
			perror("gen: write");
			exit(74);
		}
	}
	out.len = 0;
}

static void
put(const char *s, size_t n)
{
	if (out.len + n > out.cap) {
		flush_out();
		if (n > out.cap) {
			out.cap = n;
			if ((out.p = realloc(out.p, out.cap)) == NULL) {
				perror("gen");
				exit(70);
			}
		}
	}
	memcpy(out.p + out.len, s, n);
	out.len += n;
}

static void
puts_(const char *s)
{
	put(s, strlen(s));
}

static void
putf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
putf(const char *fmt, ...)
{
	char	 tmp[512];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Decodes one UTF-8 sequence; the text here is ours, so it is valid. */
static unsigned
utf8_next(const unsigned char **sp)
{
	const unsigned char	*s = *sp;
	unsigned		 c;

	if (s[0] < 0x80) {
		c = s[0];
		*sp = s + 1;
	} else if (s[0] < 0xe0) {
		c = (s[0] & 0x1f) << 6 | (s[1] & 0x3f);
		*sp = s + 2;
	} else if (s[0] < 0xf0) {
		c = (s[0] & 0x0f) << 12 | (s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		*sp = s + 3;
	} else {
		c = (s[0] & 0x07) << 18 | (s[1] & 0x3f) << 12 |
		    (s[2] & 0x3f) << 6 | (s[3] & 0x3f);
		*sp = s + 4;
	}
	return c;
}

/* A JSON string; with uescape, non-ASCII as \uXXXX (surrogate pairs). */
static void
json_str(const char *str, int uescape)
{
	const unsigned char	*s = (const unsigned char *)str, *start;
	unsigned		 c;
	char			 tmp[16];

	put("\"", 1);
	while (*s != '\0') {
		start = s;
		c = utf8_next(&s);
		switch (c) {
		case '"':
			put("\\\"", 2);
			break;
		case '\\':
			put("\\\\", 2);
			break;
		case '\n':
			put("\\n", 2);
			break;
		case '\t':
			put("\\t", 2);
			break;
		default:
			if (c < 0x20) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", c);
				put(tmp, 6);
			} else if (c >= 0x80 && uescape) {
				if (c >= 0x10000) {
					c -= 0x10000;
					snprintf(tmp, sizeof(tmp),
					    "\\u%04x\\u%04x", 0xd800 + (c >> 10),
					    0xdc00 + (c & 0x3ff));
					put(tmp, 12);
				} else {
					snprintf(tmp, sizeof(tmp), "\\u%04x", c);
					put(tmp, 6);
				}
			} else
				put((const char *)start, (size_t)(s - start));
		}
	}
	put("\"", 1);
}

static void
csv_str(const char *s)
{
	if (strpbrk(s, ",\"\n\r") == NULL) {
		puts_(s);
		return;
	}
	put("\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			put("\"", 1);
		put(s, 1);
	}
	put("\"", 1);
}

/* 1'250'000 with sep between groups of three digits. */
static void
grouped(char *dst, size_t size, long long v, const char *sep)
{
	char	 digits[32];
	size_t	 n, i, len, seplen = strlen(sep);

	n = (size_t)snprintf(digits, sizeof(digits), "%lld", v);
	len = 0;
	for (i = 0; i < n && len + seplen + 2 < size; i++) {
		if (i > 0 && (n - i) % 3 == 0) {
			memcpy(dst + len, sep, seplen);
			len += seplen;
		}
		dst[len++] = digits[i];
	}
	dst[len] = '\0';
}

struct listing {
	char		 id[32];
	char		 city[64];
	const char	*canton;
	char		 title[160];
	char		 desc[1024];
	char		 feat[160];
	const char	*feats[4];
	int		 nfeat;
	const char	*agent;
	char		 phone[32];
	int		 zip;
	long long	 price;
	double		 area;		/* NAN: missing, -1: null */
	double		 rooms;
	const char	*type;
	int		 y, m, d, hh, mi, ss, tz;
	double		 lat, lon;
	int		 floor;
	int		 is_new;
};

static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

static void
make_listing(struct listing *l, unsigned long long i)
{
	char		 rooms[16];
	unsigned	 c, w, k, n, total;
	double		 z, ppm2;
	size_t		 len;

	snprintf(l->id, sizeof(l->id), "CH%08llu-%04x", i,
	    (unsigned)(rnd() & 0xffff));
	/* Zipf-like: the big cities come up far more often. */
	z = unif();
	c = (unsigned)(pow(z, 2.2) * NELEM(cities) * NELEM(city_suffix));
	snprintf(l->city, sizeof(l->city), "%s%s",
	    cities[c % NELEM(cities)], city_suffix[c / NELEM(cities)]);
	l->canton = cantons[c % NELEM(cantons)];
	l->zip = 1000 + (int)((c * 7919u) % 9000u);

	l->rooms = 1 + pick(14) * 0.5;
	l->area = round((18 + l->rooms * 22 + gauss() * 12) * 10) / 10;
	if (l->area < 12)
		l->area = 12 + pick(30);
	if (chance(0.5))
		l->area = round(l->area);
	if (chance(0.01))
		l->area = chance(0.5) ? 3.6 : 900 + pick(4000);
	if (chance(0.01))
		l->area = chance(0.5) ? NAN : -1;
	ppm2 = (4000 + (c % 97) * 80) * exp(gauss() * 0.35);
	l->price = (long long)round(
	    (isnan(l->area) || l->area < 0 ? 90 : l->area) * ppm2 / 1000) *
	    1000;
	if (chance(0.004))
		l->price = chance(0.5) ? 1 : 250000000 + (long long)pick(1000000);

	for (total = 0, k = 0; k < NELEM(type_weight); k++)
		total += type_weight[k];
	w = pick(total);
	for (k = 0; w >= type_weight[k]; k++)
		w -= type_weight[k];
	l->type = types[k];

	l->y = 2018 + (int)pick(8);
	l->m = 1 + (int)pick(12);
	l->d = 1 + (int)pick((unsigned)mdays[l->m - 1]);
	l->hh = (int)pick(24);
	l->mi = (int)pick(60);
	l->ss = (int)pick(60);
	l->tz = chance(0.7) ? 1 : chance(0.5) ? 2 : 0;
	l->lat = 45.8 + unif() * 2.0;
	l->lon = 5.9 + unif() * 4.6;
	l->floor = (int)pick(9) - 1;
	l->is_new = chance(0.15);

	snprintf(rooms, sizeof(rooms), "%g", l->rooms);
	snprintf(l->title, sizeof(l->title), titles[pick(NELEM(titles))],
	    rooms, l->city);

	n = pick(3);
	len = 0;
	l->desc[0] = '\0';
	for (k = 0; k < n; k++) {
		const char *s = sentences[pick(NELEM(sentences))];

		if (len + strlen(s) + 2 >= sizeof(l->desc))
			break;
		if (k > 0)
			l->desc[len++] = ' ';
		memcpy(l->desc + len, s, strlen(s) + 1);
		len += strlen(s);
	}

	l->nfeat = (int)pick(4);
	l->feat[0] = '\0';
	for (k = 0; k < (unsigned)l->nfeat; k++) {
		l->feats[k] = features[pick(NELEM(features))];
		if (k > 0)
			strcat(l->feat, "|");
		strcat(l->feat, l->feats[k]);
	}
	l->agent = agents[pick(NELEM(agents))];
	snprintf(l->phone, sizeof(l->phone), "+41 %02u %03u %02u %02u",
	    21 + pick(70), pick(1000), pick(100), pick(100));
}

static void
ndjson(const struct listing *l, int messy)
{
	char	 g[64], t[96];
	int	 uesc = chance(0.1), k;
	unsigned r;

	puts_("{\"id\":");
	json_str(l->id, 0);
	puts_(",\"title\":");
	json_str(l->title, uesc);
	puts_(",\"city\":");
	json_str(l->city, uesc);
	putf(",\"zip\":%d,\"canton\":\"%s\"", l->zip, l->canton);

	if (!messy)
		putf(",\"price\":%lld,\"currency\":\"CHF\"", l->price);
	else {
		puts_(",\"raw_price\":");
		r = pick(100);
		if (r < 60)
			putf("%lld", l->price);
		else if (r < 75) {
			grouped(g, sizeof(g), l->price, "'");
			snprintf(t, sizeof(t), "%s CHF", g);
			json_str(t, 0);
		} else if (r < 83) {
			grouped(g, sizeof(g), l->price, "'");
			snprintf(t, sizeof(t), "CHF %s.–", g);
			json_str(t, 0);
		} else if (r < 90) {
			grouped(g, sizeof(g), l->price,
			    chance(0.5) ? " " : "\u00a0");
			snprintf(t, sizeof(t), "%s €", g);
			json_str(t, uesc);
		} else if (r < 97) {
			snprintf(t, sizeof(t), "%.2f Mio CHF",
			    l->price / 10000 / 100.0);
			json_str(t, 0);
		} else
			json_str(bad_prices[pick(NELEM(bad_prices))], 0);
	}

	if (isnan(l->area))
		;
	else if (l->area < 0)
		puts_(",\"living_area\":null");
	else if (!messy || chance(0.7))
		putf(",\"living_area\":%.1f", l->area);
	else {
		r = pick(100);
		if (r < 50)
			snprintf(t, sizeof(t), "%g m²", l->area);
		else if (r < 70)
			snprintf(t, sizeof(t), "%gm2", l->area);
		else
			snprintf(t, sizeof(t), "%.0f sq ft",
			    round(l->area / 0.09290304));
		puts_(",\"living_area\":");
		json_str(t, uesc);
	}

	if (!messy || chance(0.8))
		putf(",\"rooms\":%g", l->rooms);
	else if (chance(0.5)) {
		snprintf(t, sizeof(t), "%g", l->rooms);
		puts_(",\"rooms\":");
		json_str(t, 0);
	} else
		puts_(",\"rooms\":\"\"");

	puts_(",\"property_type\":");
	json_str(messy ? messy_types[pick(NELEM(messy_types))] : l->type, 0);

	if (!messy || chance(0.6))
		putf(",\"scraping_date\":\"%04d-%02d-%02d\"", l->y, l->m, l->d);
	else if (chance(0.02))
		putf(",\"scraping_date\":\"%s\"",
		    chance(0.5) ? "2021-02-30" : "31.04.2023");
	else if (chance(0.5))
		putf(",\"scraping_date\":\"%02d.%02d.%04d\"", l->d, l->m, l->y);
	else
		putf(",\"scraping_date\":\"%02d/%02d/%04d\"", l->d, l->m, l->y);

	putf(",\"seen_at\":\"%04d-%02d-%02dT%02d:%02d:%02d%s\"", l->y, l->m,
	    l->d, l->hh, l->mi, l->ss,
	    l->tz == 0 ? "Z" : l->tz == 1 ? "+01:00" : "+02:00");
	putf(",\"lat\":%.6f,\"lon\":%.6f,\"floor\":%d,\"is_new\":%s",
	    l->lat, l->lon, l->floor, l->is_new ? "true" : "false");
	puts_(",\"features\":[");
	for (k = 0; k < l->nfeat; k++) {
		if (k > 0)
			put(",", 1);
		json_str(l->feats[k], 0);
	}
	puts_("],\"agent\":{\"name\":");
	json_str(l->agent, uesc);
	puts_(",\"phone\":");
	json_str(l->phone, 0);
	puts_("},\"description\":");
	json_str(l->desc, uesc);
	puts_("}\n");
}

static const char csv_header[] =
    "id,title,city,zip,canton,price,currency,living_area,rooms,"
    "property_type,scraping_date,seen_at,lat,lon,floor,is_new,features,"
    "agent_name,agent_phone,description\n";

static void
csv(const struct listing *l)
{
	csv_str(l->id);
	put(",", 1);
	csv_str(l->title);
	put(",", 1);
	csv_str(l->city);
	putf(",%d,%s,%lld,CHF,", l->zip, l->canton, l->price);
	if (!isnan(l->area) && l->area >= 0)
		putf("%.1f", l->area);
	putf(",%g,", l->rooms);
	csv_str(l->type);
	putf(",%04d-%02d-%02d,%04d-%02d-%02dT%02d:%02d:%02d%s", l->y, l->m,
	    l->d, l->y, l->m, l->d, l->hh, l->mi, l->ss,
	    l->tz == 0 ? "Z" : l->tz == 1 ? "+01:00" : "+02:00");
	putf(",%.6f,%.6f,%d,%s,", l->lat, l->lon, l->floor,
	    l->is_new ? "true" : "false");
	csv_str(l->feat);
	put(",", 1);
	csv_str(l->agent);
	put(",", 1);
	csv_str(l->phone);
	put(",", 1);
	csv_str(l->desc);
	put("\n", 1);
}

static unsigned long long
number(const char *s, const char *what)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-') {
		fprintf(stderr, "gen: %s: not a number: %s\n", what, s);
		exit(64);
	}
	return v;
}

int
main(int argc, char *argv[])
{
	struct listing		 l;
	unsigned long long	 n = 1000, seed = 42, i;
	int			 ch, messy = 0, is_csv = 0;

	while ((ch = getopt(argc, argv, "f:hmn:s:")) != -1) {
		switch (ch) {
		case 'f':
			if (strcmp(optarg, "csv") == 0)
				is_csv = 1;
			else if (strcmp(optarg, "ndjson") != 0) {
				fprintf(stderr, "gen: -f: ndjson or csv\n");
				return 64;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'm':
			messy = 1;
			break;
		case 'n':
			n = number(optarg, "-n");
			break;
		case 's':
			seed = number(optarg, "-s");
			break;
		default:
			fputs(usage_text, stderr);
			return 64;
		}
	}
	if (optind != argc || (is_csv && messy)) {
		fputs(usage_text, stderr);
		return 64;
	}
	listing_state = seed;
	spelling_state = seed ^ 0x5deece66dULL;
	out.cap = 1 << 20;
	if ((out.p = malloc(out.cap)) == NULL) {
		perror("gen");
		return 70;
	}
	if (is_csv)
		put(csv_header, sizeof(csv_header) - 1);
	for (i = 1; i <= n; i++) {
		rng_state = &listing_state;
		make_listing(&l, i);
		rng_state = &spelling_state;
		if (is_csv)
			csv(&l);
		else
			ndjson(&l, messy);
	}
	flush_out();
	return 0;
}
