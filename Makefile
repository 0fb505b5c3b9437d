# Tern: `make run` sets up a demo and serves it; `make test` runs every test.
# Sources are found by folder, so a new file needs no Makefile change.

CC      ?= cc
PKGS    := libevent libevent_openssl sqlite3 libcares libcrypt openssl
CFLAGS  ?= -O2 -g
# -Wno-format-truncation: log lines and replies are cut to their buffers on
# purpose; what must not be cut (paths, addresses) is length-checked.
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
           -Wno-format-nonliteral -Wno-format-truncation -Isrc -MMD -MP
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -levent_openssl -levent -lsqlite3 -lcares -lcrypt -lssl -lcrypto) -lpthread

# One build tree per flavour: plain, and AddressSanitizer + UBSan.
B       ?= build
ifeq ($(SANITIZE),1)
B       := build-asan
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

SRCS      := $(shell find src -name '*.c' | sort)
LIB_SRCS  := $(filter-out src/main.c,$(SRCS))
# The Lua script Dovecot runs for every login (src/mailbox/dovecot_auth.lua)
# is built into tern as a C string: `tern serve` writes it out beside
# Dovecot's configuration.
LIB_OBJS  := $(LIB_SRCS:%.c=$(B)/%.o) $(B)/gen/dovecot_auth_lua.o
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TESTS     := $(TEST_SRCS:tests/unit/%.c=$(B)/tests/%)

.PHONY: all tern unit-tests test test-unit test-integration test-fuzz fuzz run bench clean deps

all: $(B)/tern

$(B)/tern: $(B)/src/main.o $(B)/libtern.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/gen/dovecot_auth_lua.c: src/mailbox/dovecot_auth.lua
	@mkdir -p $(dir $@)
	{ echo '/* Made by the Makefile from $<: do not edit. */'; \
	  echo 'const char dovecot_auth_lua[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@

$(B)/gen/%.o: $(B)/gen/%.c
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/libtern.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(B)/libtern.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libtern.a $(LDLIBS) -lcmocka

unit-tests: $(TESTS)

deps:
	scripts/deps.sh

# Unit and integration tests, plain and under ASan + UBSan, and a short run
# of each network parser's fuzzer so that the harnesses keep building.
test: deps
	$(MAKE) test-fuzz
	$(MAKE) SANITIZE=1 test-unit test-integration
	$(MAKE) test-unit test-integration

test-fuzz:
	tests/fuzz/run.sh 5

# A longer fuzzing session: make fuzz FUZZ_SECONDS=600
FUZZ_SECONDS ?= 120
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECONDS)

test-unit: $(B)/tern $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t; done

test-integration: $(B)/tern
	TERN_BIN=$(CURDIR)/$(B)/tern /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration

run: deps all
	scripts/run-demo.sh

bench: deps all
	bench/run.sh

clean:
	rm -rf build build-asan run

-include $(shell find $(B) -name "*.d" 2>/dev/null)
