# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: Apache-2.0
#
# Benchmark programs (included by the top Makefile) into $(O)/bench/; `make check` also builds them with
# ASan+UBSan (SANITIZE=1) for tests/benchmarks/.
# benchmarks/README.md says what each measures; `make bench` runs them all through benchmarks/run.

BENCH_PROGRAMS := $(O)/bench/stream $(O)/bench/latprobe
BENCH_CFLAGS = -std=c11 $(WARN) $(OPT_CFLAGS) $(CPPFLAGS) $(CFLAGS)

$(O)/bench/stream: benchmarks/stream/stream.c
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(BENCH_CFLAGS) -fopenmp -o $@ $< $(ALL_LDFLAGS)

$(O)/bench/latprobe: benchmarks/jitter/latprobe.c
	@mkdir -p $(@D)
	$(call msg,CC,$<)
	$(Q)$(CC) $(BENCH_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

.PHONY: bench-programs
bench-programs: $(BENCH_PROGRAMS)
