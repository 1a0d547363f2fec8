#!/usr/bin/env bash
# Runs the benchmarks and prints the table of BENCHMARKS.md, then
# benchstat's comparison of the implementations. On a quiet machine:
#
#	bash bench/run.sh                  # everything, -count 5 (about 8 minutes)
#	BENCH=Ping COUNT=3 bash bench/run.sh
#
# Raw results are kept in $OUT (default bench/results.txt).
set -euo pipefail
cd "$(dirname "$0")"
out="${OUT:-results.txt}"
go test -run '^$' -bench "${BENCH:-.}" -count "${COUNT:-5}" -benchmem -timeout 3h "$@" . | tee "$out"
echo
echo "machine: $(go env GOOS)/$(go env GOARCH), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3)"
echo
go run ./internal/benchtable "$out"
echo
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl "$out"
