package bench

import (
	"flag"
	"os"
	"runtime"
	"testing"
)

// warmHeapBytes is how much heap each benchmark process faults in before
// it measures anything: more than any workload's heap grows to, but for
// the heap measure's 256 MiB of stored blobs.
const warmHeapBytes = 512 << 20

// TestMain faults in warmHeapBytes of heap and lets it go before the
// benchmarks, so that no workload pays for fresh pages. In this VM a page
// costs about 13 µs to fault in, and a registry that keeps a few hundred
// bytes per request was otherwise timed by how often its heap crossed
// into new pages, and by whether the implementation run before it had
// left freed pages behind (the 4 KiB push, run right after the floor,
// paid for pages that ggcr and cue then reused), rather than by its work
// (BENCHMARKS.md). run.sh also sets GODEBUG=madvdontneed=0: pages the
// runtime hands back to the kernel then stay mapped until the kernel
// needs them (MADV_FREE), so that taking them back costs no fault either.
// Garbage collection is not changed. Tests (no -bench) skip the warm-up.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		warmHeap(warmHeapBytes)
	}
	os.Exit(m.Run())
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
