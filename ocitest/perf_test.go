package ocitest

import (
	"bytes"
	"net/http"
	"runtime"
	"testing"

	"github.com/opencontainers/go-digest"
)

// Tests of what the fast paths promise (see bench/ for the numbers).

// discardWriter is a ResponseWriter that keeps nothing, so that only the
// registry's own allocations are counted.
type discardWriter struct {
	h      http.Header
	status int
	n      int64
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += int64(len(b))
	return len(b), nil
}

// TestBlobGetWritesStoredBytes: a whole-blob GET writes the stored buffers
// as they are: no copy through a buffer, no allocation in proportion to
// the blob, with the request recorder on.
func TestBlobGetWritesStoredBytes(t *testing.T) {
	reg := New(t)
	blob := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16)
	d := digest.FromBytes(blob)
	if _, err := reg.Store().PutBlob("perf/app", d, bytes.NewReader(blob), int64(len(blob))); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "/v2/perf/app/blobs/"+string(d), nil)
	var w *discardWriter
	get := func() {
		w = &discardWriter{h: http.Header{}}
		reg.ServeHTTP(w, req)
	}
	get()
	if w.status != http.StatusOK || w.n != int64(len(blob)) || w.h.Get("Content-Length") != "4194304" {
		t.Fatalf("GET: status %d, %d bytes, Content-Length %q", w.status, w.n, w.h.Get("Content-Length"))
	}
	if perGet := allocatedPerRun(20, get); perGet > 8<<10 {
		t.Errorf("a GET of a 4 MiB blob allocated %d bytes, want a few KiB at most", perGet)
	}
}

// allocatedPerRun is the mean number of bytes f allocates, after one
// warm-up call.
func allocatedPerRun(runs int, f func()) uint64 {
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}
