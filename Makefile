# xlb build: BPF objects, skeletons, the library, the binaries and the tests,
# all generated under build/. `make help` lists the targets.

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
TRIPLET  := $(shell $(CC) -dumpmachine 2>/dev/null)

PKGS     := libbpf libxdp jansson libmicrohttpd
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -Iuser -I$(BUILD) \
	    $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz -lm
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -Ibpf \
	      -I/usr/include/$(TRIPLET)

# Every bpf/NAME.bpf.c and bench/NAME.bpf.c is one BPF object and skeleton.
BPF_SRCS   := $(wildcard bpf/*.bpf.c) $(wildcard bench/*.bpf.c)
BPF_OBJS   := $(addprefix $(BUILD)/,$(notdir $(BPF_SRCS:.bpf.c=.bpf.o)))
SKELS      := $(BPF_OBJS:.bpf.o=.skel.h)
BPF_HDRS   := $(wildcard bpf/*.h) $(wildcard include/*.h)
HDRS       := $(wildcard include/*.h) $(wildcard user/*.h) $(wildcard tests/lib/*.h)

LIB_SRCS   := $(wildcard user/*.c)
LIB_OBJS   := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
LIB        := $(BUILD)/libxlb.a

# Every tools/NAME.c (what `make install` ships) and tests/lab/NAME.c (the
# lab's servers and clients) is one binary, build/NAME with '_' spelled '-'.
TOOLS      := $(addprefix $(BUILD)/,$(subst _,-,$(notdir $(basename $(wildcard tools/*.c)))))
LAB_BINS   := $(addprefix $(BUILD)/,$(subst _,-,$(notdir $(basename $(wildcard tests/lab/*.c)))))
BENCH_BIN  := $(BUILD)/xlb-bench
BINS       := $(TOOLS) $(LAB_BINS) $(BENCH_BIN)

# The packet builder that the unit tests and the benchmark share.
PKT_OBJ    := $(BUILD)/tests/pkt.o

UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_BIN   := $(BUILD)/xlb-unit

# The differential fuzzer: the reference model, the frame generator, and the
# unit tests' private-namespace helper.
FUZZ_SRCS  := $(wildcard tests/fuzz/*.c) tests/unit/bpf_env.c
FUZZ_BIN   := $(BUILD)/xlb-fuzz
FUZZ_SEED  ?= 1
FUZZ_FRAMES ?= 10000000

.PHONY: all clean deps test unit e2e demo demo-scaleout bench fuzz install format help
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS)

all: $(BINS) $(UNIT_BIN) $(FUZZ_BIN)

help:
	@echo "make            build everything into $(BUILD)/"
	@echo "make deps       install the Debian packages needed to build and test"
	@echo "make test       build, then run the unit tests and the end-to-end tests (root)"
	@echo "make demo       bring up a veth lab, balance real traffic, show it (root)"
	@echo "make demo-scaleout  three load balancers behind BGP/ECMP, one dies (root)"
	@echo "make bench      run the benchmarks, write $(BUILD)/bench.json (root)"
	@echo "make fuzz       differential fuzzing: FUZZ_FRAMES (10M) frames against the model (root)"
	@echo "make install    install binaries, man pages, systemd unit (PREFIX, DESTDIR)"
	@echo "make format     clang-format every C source"

DEB_PKGS := make clang llvm gcc libc6-dev pkg-config libbpf-dev libxdp-dev bpftool \
	    libelf-dev zlib1g-dev libcunit1-dev libjansson-dev libmicrohttpd-dev iproute2 ethtool \
	    procps util-linux psmisc python3 jq groff-base strace iputils-ping curl prometheus bird2
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "all build and test packages are installed"; fi

$(BUILD) $(BUILD)/user $(BUILD)/tests:
	@mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.bpf.o: bench/%.bpf.c $(BPF_HDRS) bpf/xlb.bpf.c | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/user/%.o: user/%.c $(HDRS) $(SKELS) | $(BUILD)/user
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

define BIN_RULE
$(BUILD)/$(subst _,-,$(notdir $(basename $(1)))): $(1) $(LIB) $(HDRS) $(SKELS)
	$$(CC) $$(CFLAGS) -o $$@ $$< $(LIB) $$(LDLIBS)
endef
$(foreach src,$(wildcard tools/*.c) $(wildcard tests/lab/*.c),$(eval $(call BIN_RULE,$(src))))

$(PKT_OBJ): tests/lib/pkt.c tests/lib/pkt.h | $(BUILD)/tests
	$(CC) $(CFLAGS) -c $< -o $@

$(BENCH_BIN): bench/xlb_bench.c $(PKT_OBJ) $(LIB) $(HDRS) $(SKELS)
	$(CC) $(CFLAGS) -Itests/lib -o $@ $< $(PKT_OBJ) $(LIB) $(LDLIBS)

$(UNIT_BIN): $(UNIT_SRCS) $(wildcard tests/unit/*.h) $(PKT_OBJ) $(LIB) $(HDRS) $(SKELS)
	$(CC) $(CFLAGS) -Itests/unit -Itests/lib -o $@ $(UNIT_SRCS) $(PKT_OBJ) $(LIB) $(LDLIBS) -lcunit

$(FUZZ_BIN): $(FUZZ_SRCS) $(wildcard tests/fuzz/*.h) $(LIB) $(HDRS) $(SKELS)
	$(CC) $(CFLAGS) -Itests/fuzz -Itests/unit -o $@ $(FUZZ_SRCS) $(LIB) $(LDLIBS)

unit: $(UNIT_BIN)
	$(UNIT_BIN)

test: all
	bash tests/run-tests.sh

e2e: all
	for t in tests/e2e/test_*.sh; do bash $$t || exit 1; done

demo: deps
	$(MAKE) all
	bash tests/demo.sh

fuzz: $(FUZZ_BIN)
	$(FUZZ_BIN) -s $(FUZZ_SEED) -n $(FUZZ_FRAMES)

demo-scaleout: deps
	$(MAKE) all
	bash tests/demo_scaleout.sh

bench: all
	$(BUILD)/xlb-bench --json $(BUILD)/bench.json

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)/lib/systemd/system
	install -m 0755 $(TOOLS) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' xlbd.service.in > $(DESTDIR)/lib/systemd/system/xlbd@.service

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
