package bench

import (
	"flag"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// warmHeapBytes is how much heap each benchmark process faults in before
// it measures anything: more than the small-request workloads' heaps grow
// to. Large transfers can still grow past it, and then pay for their own
// pages (BENCHMARKS.md).
const warmHeapBytes = 512 << 20

// TestMain prepares a benchmark process: it puts the implementations in
// the order of the round (rotateImpls), and faults in warmHeapBytes of
// heap and lets it go, so that small requests pay for no fresh pages. In
// this VM a page costs about 13 µs to fault in, and a registry that keeps
// a few hundred bytes per request was otherwise timed by how often its
// heap crossed into new pages, and by whether the implementation run
// before it had left freed pages behind (the 4 KiB push, run right after
// the floor, paid for pages that ggcr and cue then reused), rather than by
// its work (BENCHMARKS.md). run.sh also sets GODEBUG=madvdontneed=0: pages
// the runtime hands back to the kernel then stay mapped until the kernel
// needs them (MADV_FREE), so that taking them back costs no fault either.
// Garbage collection is not changed. Tests, and benchmarks run a fixed
// number of times (-benchtime=1x, CI's smoke run), skip the warm-up.
func TestMain(m *testing.M) {
	flag.Parse()
	rotateImpls(os.Getenv("BENCH_ROUND"))
	bench, benchtime := flag.Lookup("test.bench"), flag.Lookup("test.benchtime")
	if bench != nil && bench.Value.String() != "" &&
		(benchtime == nil || !strings.HasSuffix(benchtime.Value.String(), "x")) {
		warmHeap(warmHeapBytes)
	}
	os.Exit(m.Run())
}

// rotateImpls rotates the order of impls and registries by the round
// number run.sh passes (BENCH_ROUND; none or 0: the order as declared),
// so that over the rounds each implementation runs in each position of a
// workload: whatever the one before leaves behind (pages, caches, a
// warmer CPU) falls on each in turn.
func rotateImpls(round string) {
	k, err := strconv.Atoi(round)
	if err != nil || k < 0 {
		return
	}
	impls = rotated(impls, k)
	registries = rotated(registries, k)
}

func rotated(set []impl, k int) []impl {
	k %= len(set)
	return append(slices.Clone(set[k:]), set[:k]...)
}

// warmHeap allocates n bytes in 1 MiB pieces, touches every page, and
// lets them go.
func warmHeap(n int) {
	pieces := make([][]byte, 0, n>>20)
	for range n >> 20 {
		p := make([]byte, 1<<20)
		for i := 0; i < len(p); i += 4096 {
			p[i] = 1
		}
		pieces = append(pieces, p)
	}
	runtime.KeepAlive(pieces)
	pieces = nil
	runtime.GC()
}
