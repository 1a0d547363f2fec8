#!/usr/bin/env bash
# Runs the benchmarks and prints the table of BENCHMARKS.md, then
# benchstat's comparison of the implementations. On a quiet machine:
#
#	bash bench/run.sh                  # everything, 5 rounds (about 10 minutes)
#	BENCH=Ping COUNT=3 bash bench/run.sh
#
# Each round runs each implementation in a process of its own, so that no
# implementation starts in a heap another one grew: in a VM a fresh page
# costs microseconds to fault in, and whoever ran after a registry that
# kept 100 MiB would find its pages already there (BENCHMARKS.md).
#
# Raw results are kept in $OUT (default bench/results.txt). BENCH selects
# workloads (a -bench pattern without the /impl level); IMPLS the
# implementations.
set -euo pipefail
cd "$(dirname "$0")"
out="${OUT:-results.txt}"
impls="${IMPLS:-floor ocifixture ggcr cue}"
bin="$(mktemp -d)/bench.test"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" .
: >"$out"
for round in $(seq "${COUNT:-5}"); do
	for impl in $impls; do
		echo "# round $round, impl=$impl" >&2
		"$bin" -test.run '^$' -test.bench "(${BENCH:-.})/impl=$impl\$" -test.count 1 \
			-test.benchmem -test.timeout 3h "$@" | grep -v '^\(PASS\|ok \)' | tee -a "$out"
	done
done
echo
echo "machine: $(go env GOOS)/$(go env GOARCH), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3)"
echo
go run ./internal/benchtable "$out"
echo
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl "$out"
