/*
 * real-diff - etl_json_real() against its reference,
 * etl_json_real_printf(): printf's "%.Ng" with the fewest of 15, 16 or
 * 17 digits that reads back, on doubles of every shape: prices, areas,
 * ratios, random bit patterns and their neighbours.
 * Prints the first differences and exits 1 on any.
 *
 *	real-diff [COUNT [SEED]]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etl.h"

static double
sample(long i)
{
	uint64_t u;
	double d = 0;

	switch (i % 7) {
	case 0:		/* decimals as written in data: 6309.52, 0.001 */
		d = (random() % 100000000) / pow(10, random() % 12);
		break;
	case 1:		/* any magnitude */
		d = (double)random() / RAND_MAX * pow(10, random() % 44 - 22);
		break;
	case 2:		/* any bit pattern */
		u = (uint64_t)random() << 42 ^ (uint64_t)random() << 21 ^
		    (uint64_t)random();
		memcpy(&d, &u, sizeof(d));
		break;
	case 3:		/* prices with cents */
		d = random() % 1000000 + (random() % 100) / 100.0;
		break;
	case 4:		/* results of arithmetic */
		d = (double)(random() % 2000000) * 0.01 / 3;
		break;
	case 5:		/* one ulp off a short decimal */
		d = nextafter((random() % 100000) / 100.0,
		    random() % 2 ? INFINITY : -INFINITY);
		break;
	default:	/* edges of the fixed notation */
		d = ldexp(1.0, (int)(random() % 120) - 60) *
		    (random() % 2 ? 1e15 : 1e-4);
		break;
	}
	return random() % 2 ? -d : d;
}

int
main(int argc, char *argv[])
{
	struct etl_buf want = { 0 }, got = { 0 };
	long i, n = argc > 1 ? atol(argv[1]) : 1000000, bad = 0;
	static const double fixed[] = {
		0, -0.0, 1, -1, 0.1, 1e-4, 9.9999999999999e-5, 1e15, 999999999999999,
		1e15 - 0.5, 123456789012345.6, 0.30000000000000004, 1e300, 5e-324,
		2.5e-7, 100, 1e22, 4503599627370497.5
	};

	srandom(argc > 2 ? (unsigned)atol(argv[2]) : 1);
	for (i = 0; i < n + (long)(sizeof(fixed) / sizeof(*fixed)); i++) {
		double d = i < (long)(sizeof(fixed) / sizeof(*fixed)) ?
		    fixed[i] : sample(i);

		want.len = got.len = 0;
		etl_json_real_printf(&want, d);
		etl_json_real(&got, d);
		if (want.len != got.len || memcmp(want.p, got.p, want.len) != 0)
			if (bad++ < 10)
				printf("%a: want %.*s, got %.*s\n", d,
				    (int)want.len, want.p, (int)got.len, got.p);
	}
	printf("%ld of %ld differ\n", bad, n);
	etl_buf_free(&want);
	etl_buf_free(&got);
	return bad != 0;
}
