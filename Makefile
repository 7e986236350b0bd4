# shelfops: PGXS build.  One C file per concern under src/; the install script is
# assembled from the ordered parts under sql/install/ so each concern keeps its own
# SQL beside nothing else.  Regression tests live in test/sql with their expected
# output in expected/ (test/expected is a link to it, for pg_regress --inputdir).

EXTENSION   = shelfops
EXTVERSION  = 0.1.0
MODULE_big  = shelfops
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))
DATA_built    = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA          = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*--*.sql))

REGRESS      = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --load-extension=shelfops

# isolationtester specs (test/specs/*.spec; expected output in expected/ as well)
ISOLATION      = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --load-extension=shelfops

PG_CPPFLAGS = -I$(srcdir)/src/include -Wall -Wextra -Werror \
              -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK  += -lxgboost $(shell pkg-config --libs json-c zlib)

# No LLVM bitcode: the JIT gains nothing from our functions and clang may be absent.
override with_llvm := no

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(DATA_built): $(INSTALL_PARTS) Makefile
	cat $(INSTALL_PARTS) > $@

$(OBJS): $(wildcard src/include/*.h)

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
