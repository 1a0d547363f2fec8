#!/usr/bin/env bash
# Runs the benchmarks and prints the table of BENCHMARKS.md, then
# benchstat's comparison of the implementations. On a quiet machine:
#
#	bash bench/run.sh                  # everything, 5 rounds (about 9 minutes)
#	BENCH=Ping COUNT=3 bash bench/run.sh
#	bash bench/run.sh -test.benchtime=2s   # further arguments go to the test binary
#
# Each round is a process of its own running every workload once against
# every implementation, so that the implementations of one round run one
# right after the other (go test -count would run all rounds of one
# implementation before the next), in an order that rotates from round to
# round (BENCH_ROUND; main_test.go). Every process runs with
# GODEBUG=madvdontneed=0 and first faults in 512 MiB of heap
# (main_test.go): in a VM a fresh page costs microseconds, and without
# this each implementation was timed partly by whether the one before it
# had left pages it could reuse.
#
# Raw results are kept in $OUT (default bench/results.txt).
set -euo pipefail
cd "$(dirname "$0")"
out="${OUT:-results.txt}"
export GODEBUG="${GODEBUG:+$GODEBUG,}madvdontneed=0"
bin="$(mktemp -d)/bench.test"
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" .
: >"$out"
for round in $(seq "${COUNT:-5}"); do
	echo "# round $round" >&2
	BENCH_ROUND=$((round - 1)) "$bin" -test.run '^$' -test.bench "${BENCH:-.}" -test.count 1 -test.benchmem \
		-test.timeout 3h "$@" | { grep -v '^\(PASS$\|ok \)' || true; } | tee -a "$out"
done
echo
echo "machine: $(go env GOOS)/$(go env GOARCH), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3)"
echo
go run ./internal/benchtable "$out"
echo
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col '/impl@(ocifixture ggcr cue floor)' "$out"
