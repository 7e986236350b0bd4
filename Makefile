# shelfops: PGXS build.  One C file per concern under src/; the install script is
# assembled from the ordered parts under sql/install/ so each concern keeps its own
# SQL beside nothing else.  Regression tests live in test/sql with their expected
# output in expected/ (test/expected is a link to it, for pg_regress --inputdir).

EXTENSION   = shelfops
EXTVERSION  = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big  = shelfops
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# Versions (docs/architecture.md, "Releases and upgrades"): the current version
# (default_version in shelfops.control) is assembled from sql/install/; every
# released version's install script is kept, frozen, in sql/released/, and every
# step between two versions is one upgrade script sql/shelfops--A--B.sql.
INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))
DATA_built    = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA          = $(wildcard sql/released/$(EXTENSION)--*.sql) $(wildcard sql/$(EXTENSION)--*--*.sql)

REGRESS      = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --load-extension=shelfops

# isolationtester specs (test/specs/*.spec; expected output in expected/ as well)
ISOLATION      = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --load-extension=shelfops

PG_CPPFLAGS = -I$(srcdir)/src/include -DSHELFOPS_VERSION='"$(EXTVERSION)"' -Wall -Wextra -Werror \
              -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK  += -lxgboost $(shell pkg-config --libs json-c zlib)

# No LLVM bitcode: the JIT gains nothing from our functions and clang may be absent.
override with_llvm := no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)

# The `shelfops` command-line program (src/cli/, libpq only), built beside the
# module by the same `make` and installed to pg_config --bindir, with a link in
# CLI_LINKDIR so it is on the PATH.  PGXS's PROGRAM cannot share a Makefile with
# MODULE_big (both use OBJS), hence these few rules of its own.
CLI          = bin/shelfops
CLI_SRCS     = $(sort $(wildcard src/cli/*.c))
CLI_CFLAGS   = -std=gnu11 -O2 -g -Wall -Wextra -Werror -DSHELFOPS_VERSION='"$(EXTVERSION)"'
CLI_LINKDIR ?= /usr/local/bin

all: $(CLI)

include $(PGXS)

$(CLI): $(CLI_SRCS) $(wildcard src/cli/*.h) $(EXTENSION).control
	@mkdir -p bin
	$(CC) $(CLI_CFLAGS) -I$(shell $(PG_CONFIG) --includedir) -o $@ $(CLI_SRCS) \
	    -L$(shell $(PG_CONFIG) --libdir) -lpq

install: install-cli
install-cli: $(CLI)
	$(INSTALL_PROGRAM) $(CLI) '$(DESTDIR)$(bindir)/shelfops'
	if [ -d '$(DESTDIR)$(CLI_LINKDIR)' ]; then ln -sf '$(bindir)/shelfops' '$(DESTDIR)$(CLI_LINKDIR)/shelfops'; fi
uninstall: uninstall-cli
uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/shelfops'
	if [ -L '$(DESTDIR)$(CLI_LINKDIR)/shelfops' ]; then rm -f '$(DESTDIR)$(CLI_LINKDIR)/shelfops'; fi
clean: clean-cli
clean-cli:
	rm -f $(CLI)
.PHONY: install-cli uninstall-cli clean-cli

$(DATA_built): $(INSTALL_PARTS) Makefile
	cat $(INSTALL_PARTS) > $@

$(OBJS): $(wildcard src/include/*.h)
# SHELFOPS_VERSION (the version recorded with every training run) comes from the control file
src/train.o: $(EXTENSION).control


# ---------------------------------------------------------------------------
# Reliability targets (docs/reliability-faults.md)
#
#   make fuzz FUZZ_SECONDS=N   build the libFuzzer harnesses of test/fuzz with
#                              clang and run each for N seconds (default 30)
#   make asan-check            build the extension with ASan + UBSan into a
#                              private tree under .build/asan, start a throwaway
#                              server from it with the sanitizer runtime
#                              preloaded, run the regression suite, fail on any
#                              sanitizer report (scripts/asan_check.sh)
FUZZ_SECONDS ?= 30

.PHONY: fuzz asan-check
fuzz:
	$(MAKE) -C test/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

asan-check:
	bash scripts/asan_check.sh
