# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: Apache-2.0
#
# C build of packages/ (plain make, included by the top Makefile). Everything lands under $(O)/.
# SANITIZE=1 builds with ASan+UBSan (what `make check` uses).

CC ?= cc
PKGS := hwloc json-c zlib inih libsystemd numa
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# (-Wno-format-truncation: paths are built in PATH_MAX buffers; a longer one is cut and then not found)
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes -Wvla \
	-Wno-missing-field-initializers -Wno-format-truncation
# the version programs print: the top entry of debian/changelog (the .debs pass their own)
ASIOS_VERSION ?= $(shell dpkg-parsechangelog -l debian/changelog -SVersion 2>/dev/null)
BASE_CFLAGS := -std=c11 $(WARN) -Ipackages/libasios/include $(PKG_CFLAGS) -MMD -MP -DASIOS_VERSION='"$(ASIOS_VERSION)"'
ifeq ($(SANITIZE),1)
OPT_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT_LDFLAGS := -fsanitize=address,undefined
else
OPT_CFLAGS := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
OPT_LDFLAGS :=
endif
# CPPFLAGS/CFLAGS/LDFLAGS from the environment come last (dpkg-buildflags: hardening, -ffile-prefix-map)
ALL_CFLAGS = $(BASE_CFLAGS) $(OPT_CFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(OPT_LDFLAGS) $(LDFLAGS)

LIBASIOS_SRCS := $(sort $(wildcard packages/libasios/src/*.c))
LIBASIOS_OBJS := $(LIBASIOS_SRCS:%.c=$(O)/%.o)
LIBASIOS := $(O)/libasios.a

ASIOSCTL_SRCS := $(sort $(wildcard packages/asiosctl/*.c))
ASIOSCTL_OBJS := $(ASIOSCTL_SRCS:%.c=$(O)/%.o)
IRQD_SRCS := $(sort $(wildcard packages/asios-irqd/*.c))
IRQD_OBJS := $(IRQD_SRCS:%.c=$(O)/%.o)
NUMAD_SRCS := $(sort $(wildcard packages/asios-numad/*.c))
NUMAD_OBJS := $(NUMAD_SRCS:%.c=$(O)/%.o)
PROGRAMS := $(O)/asiosctl $(O)/asios-irqd $(O)/asios-numad

UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)

# libFuzzer harnesses: clang only, always with ASan+UBSan
FUZZ_CC ?= clang
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZERS := $(FUZZ_SRCS:tests/fuzz/%.c=$(O)/fuzz/%)
FUZZ_CFLAGS := -std=c11 -g -O1 $(WARN) -Wno-unknown-warning-option -Ipackages/libasios/include $(PKG_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBASIOS): $(LIBASIOS_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(O)/asiosctl: $(ASIOSCTL_OBJS) $(LIBASIOS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/asios-irqd: $(IRQD_OBJS) $(LIBASIOS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/asios-numad: $(NUMAD_OBJS) $(LIBASIOS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/tests/%: tests/unit/%.c $(LIBASIOS)
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(LIBASIOS) $(PKG_LIBS) -lcmocka

$(O)/fuzz/%: tests/fuzz/%.c $(LIBASIOS_SRCS)
	@mkdir -p $(@D)
	$(call msg,FUZZCC,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(LIBASIOS_SRCS) $(PKG_LIBS)

$(O)/bench-observe: benchmarks/observe/bench-observe.c $(LIBASIOS)
	$(call msg,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBASIOS) $(PKG_LIBS)

# Static programs for the busybox qemu guest (tests/vm/numa.sh): asiosctl linked against the static hwloc,
# json-c, inih, libnuma and zlib (libudev stubbed: Debian ships no libudev.a), the workload and the triad.
STATIC_LIBS := -lhwloc -ljson-c -linih -lnuma -lz -lm -lpthread
GUEST_PROGRAMS := $(O)/guest/asiosctl $(O)/guest/numa-hog $(O)/guest/triad
# (without the daemon helpers of daemon.c: they need libsystemd, which Debian ships only as a shared library)
$(O)/guest/asiosctl: $(ASIOSCTL_SRCS) $(filter-out %/daemon.c,$(LIBASIOS_SRCS)) tests/vm/udev-stub.c
	@mkdir -p $(@D)
	$(call msg,STATIC,$@)
	$(Q)$(CC) -std=c11 $(WARN) -Ipackages/libasios/include $(PKG_CFLAGS) -O2 -static -o $@ $^ $(STATIC_LIBS)
$(O)/guest/numa-hog: tests/vm/numa-hog.c
	@mkdir -p $(@D)
	$(call msg,STATIC,$@)
	$(Q)$(CC) -std=c11 $(WARN) -O2 -static -o $@ $<
$(O)/guest/triad: benchmarks/numa/triad.c
	@mkdir -p $(@D)
	$(call msg,STATIC,$@)
	$(Q)$(CC) -std=c11 $(WARN) -O2 -static -o $@ $<

.PHONY: test-programs fuzzers guest-programs
guest-programs: $(GUEST_PROGRAMS)

test-programs: $(UNIT_BINS) $(PROGRAMS)
fuzzers: $(FUZZERS)

-include $(LIBASIOS_OBJS:.o=.d) $(ASIOSCTL_OBJS:.o=.d) $(IRQD_OBJS:.o=.d) $(NUMAD_OBJS:.o=.d) $(UNIT_BINS:=.d)
