# etl - a toolkit of small programs for a property-data pipeline.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DESTDIR	?=

CC	?= cc
CFLAGS	?= -O2 -g
PKG_CONFIG ?= pkg-config
PKGS	 = jansson libzstd libcurl zlib

override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Ilib \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lcsv -lm
# Only the libraries a tool calls are loaded: libcurl and the dozens it
# brings are for etl-fetch and etl-notify, not for every start.
override LDFLAGS += -Wl,--as-needed

# make SANITIZE=1: AddressSanitizer, UBSan and LeakSanitizer, into the same bin/.
ifeq ($(SANITIZE),1)
override CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif

TOOLS	 = $(patsubst tools/%.c,%,$(wildcard tools/etl-*.c))
BINS	 = $(addprefix bin/,$(TOOLS))
LIBSRC	 = $(wildcard lib/*.c)
LIBOBJ	 = $(LIBSRC:.c=.o)
# Every header: a change to any rebuilds what may include it.
HDRS	 = $(wildcard lib/*.h)
MAN1	 = $(wildcard man/etl-*.1)
MAN7	 = man/etl.7

# Debian packages the build, the tests and the demo need.
DEBS	 = build-essential pkg-config libjansson-dev libcsv-dev libzstd-dev \
	   libcurl4-openssl-dev zlib1g-dev zstd bats mandoc shellcheck jq \
	   miller python3 python3-numpy python3-aiosmtpd parallel gzip \
	   util-linux curl tzdata
# The dashboard (pipelines/dashboard.sh): gnuplot draws its charts; its
# test (tests/94-dashboard.bats) opens it in headless Chromium.
DEBS	+= gnuplot-nox chromium

# etl-check: JSON Schema's pattern (ECMA-262) runs on PCRE2.
DEBS	+= libpcre2-dev
PCRE2_LIBS = $(shell $(PKG_CONFIG) --libs libpcre2-8 2>/dev/null || echo -lpcre2-8)
bin/etl-check: LDLIBS += $(PCRE2_LIBS)

# etl-load: the only tool that links libpq and libsqlite3 (its packages).
LOAD_PKGS = libpq sqlite3
DEBS	+= libpq-dev libsqlite3-dev sqlite3 postgresql

# Past one machine (pipelines/cluster/, tests/96-cluster.bats): Slurm with
# munge, and ssh workers for GNU parallel (rsync for --transferfile).
DEBS	+= slurmctld slurmd slurm-client munge openssh-server openssh-client rsync

all: $(BINS)

# Rebuild everything when the sanitizer choice changes.
.build-flags: FORCE
	@echo 'SANITIZE=$(SANITIZE) CFLAGS=$(CFLAGS)' | cmp -s - $@ || \
	    echo 'SANITIZE=$(SANITIZE) CFLAGS=$(CFLAGS)' > $@
FORCE:

# The lib's loaders (etl-load's engines) include libpq's and SQLite's headers.
LOAD_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(LOAD_PKGS) 2>/dev/null)
lib/%.o: lib/%.c $(HDRS) .build-flags
	$(CC) $(CFLAGS) $(LOAD_CFLAGS) -c -o $@ $<

lib/libetl.a: $(LIBOBJ)
	$(AR) rcs $@ $(LIBOBJ)

bin/%: tools/%.c lib/libetl.a $(HDRS) .build-flags
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< lib/libetl.a $(LDLIBS)

# Test programs, built for the suite.
TESTBINS = tests/bin/scan-diff tests/bin/real-diff tests/bin/faultinject.so
# A module's own tests: tests/unit/NAME.c drives it alone, as tests/bin/unit-NAME.
UNITS	 = $(patsubst tests/unit/%.c,tests/bin/unit-%,$(wildcard tests/unit/*.c))
TESTBINS += $(UNITS)

bin/etl-load: tools/etl-load.c lib/libetl.a $(HDRS) .build-flags
	@mkdir -p bin
	$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(LOAD_PKGS) 2>/dev/null) \
	    $(LDFLAGS) -o $@ $< lib/libetl.a \
	    $(shell $(PKG_CONFIG) --libs $(LOAD_PKGS) 2>/dev/null) $(LDLIBS)

tests/bin/unit-%: tests/unit/%.c lib/libetl.a $(HDRS) .build-flags
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(LOAD_PKGS) 2>/dev/null) \
	    $(LDFLAGS) -o $@ $< lib/libetl.a \
	    $(shell $(PKG_CONFIG) --libs $(LOAD_PKGS) 2>/dev/null) $(PCRE2_LIBS) $(LDLIBS)

tests/bin/%: tests/%.c lib/libetl.a $(HDRS) .build-flags
	@mkdir -p tests/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< lib/libetl.a $(LDLIBS)

# Installs what is missing, only when pkg-config or a command says so.
deps:
	@missing=; \
	for p in $(PKGS); do $(PKG_CONFIG) --exists $$p 2>/dev/null || missing=1; done; \
	test -f /usr/include/csv.h || missing=1; \
	test -f /usr/share/zoneinfo/Europe/Zurich || missing=1; \
	$(PKG_CONFIG) --exists libpcre2-8 2>/dev/null || missing=1; \
	for p in $(LOAD_PKGS); do $(PKG_CONFIG) --exists $$p 2>/dev/null || missing=1; done; \
	command -v sqlite3 >/dev/null || missing=1; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing=1; \
	for c in bats mandoc jq mlr zstd; do command -v $$c >/dev/null || missing=1; done; \
	/usr/bin/python3 -c 'import numpy, aiosmtpd' 2>/dev/null || missing=1; \
	for c in gnuplot chromium; do command -v $$c >/dev/null || missing=1; done; \
	for c in sbatch ssh rsync; do command -v $$c >/dev/null || missing=1; done; \
	for c in slurmctld slurmd munged sshd; do test -x /usr/sbin/$$c || missing=1; done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing $(DEBS)"; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEBS); \
	fi

BATS_FLAGS ?=
TESTS	?= tests
# make test VALGRIND=1: every tool under valgrind (tests/helper.bash).
export VALGRIND

test: deps
	$(MAKE) all $(TESTBINS)
	bats $(BATS_FLAGS) $(TESTS)

asan:
	$(MAKE) clean
	$(MAKE) test SANITIZE=1

demo: deps
	$(MAKE) all
	$(MAKE) -s -f pipelines/listings.mk demo

lint: all
	mandoc -Tlint -W warning $(MAN1) $(MAN7)
	shellcheck -x tests/*.bash pipelines/*.sh pipelines/cluster/*.sh .ci/run $(wildcard bench/*.sh)

bench: all
	bench/run.sh

# libFuzzer targets (clang); FUZZ_TIME seconds each.
FUZZ_TIME ?= 30
fuzz: fuzz-deps
	$(MAKE) -C fuzz run FUZZ_TIME=$(FUZZ_TIME)

# clang and libFuzzer, when clang cannot link a fuzzer yet.
fuzz-deps:
	@echo 'int LLVMFuzzerTestOneInput(const char *p, long n) { return 0; }' | \
	    clang -x c -fsanitize=fuzzer,address -o /dev/null - 2>/dev/null || { \
		echo "make fuzz-deps: installing clang libclang-rt-dev"; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
		    clang "libclang-rt-$$(clang --version 2>/dev/null | \
		    sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)-dev" || \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
		    clang libclang-rt-14-dev; }

# The fault-injection shim the tests preload.
tests/bin/faultinject.so: tests/faultinject.c
	@mkdir -p tests/bin
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ $< -ldl

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(TOOLS))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(addsuffix .1,$(TOOLS)))
	rm -f $(DESTDIR)$(MANDIR)/man7/etl.7

clean:
	rm -rf bin tests/bin lib/*.o lib/libetl.a .build-flags demo

.PHONY: all deps test asan demo lint bench fuzz fuzz-deps install uninstall clean FORCE
