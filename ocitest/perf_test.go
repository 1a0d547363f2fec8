package ocitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/ocifixture/ocifixture/quirks"
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
// warm-up call; 0 under the race detector, which allocates on its own.
func allocatedPerRun(runs int, f func()) uint64 {
	f()
	if raceEnabled {
		return 0
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestTagListEncoding: the tag list written without encoding/json is
// byte for byte what encoding/json writes, and anything needing escapes
// goes to encoding/json.
func TestTagListEncoding(t *testing.T) {
	for _, tt := range []struct {
		repo string
		tags []string
		ok   bool
	}{
		{"app", []string{}, true},
		{"team/app", []string{"v1"}, true},
		{"a/b-c_d.e", []string{"1.0", "latest", "V_2-rc.1", strings.Repeat("x", 128)}, true},
		{"app", []string{"a<b"}, false},
		{"app", []string{`q"`}, false},
		{"app", []string{"é"}, false},
		{"a&b", []string{"v1"}, false},
	} {
		got, ok := appendTagList([]byte("prefix"), tt.repo, tt.tags)
		if ok != tt.ok {
			t.Errorf("appendTagList(%q, %q): ok %v, want %v", tt.repo, tt.tags, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		want, _ := json.Marshal(map[string]any{"name": tt.repo, "tags": tt.tags})
		if string(got) != "prefix"+string(want)+"\n" {
			t.Errorf("appendTagList(%q, %q) = %s, want prefix%s", tt.repo, tt.tags, got, want)
		}
	}
}

// TestTagsPageCost: a page of a 100,000-tag repository costs the page,
// not the repository: a few allocations, none per tag of the repository.
func TestTagsPageCost(t *testing.T) {
	reg := New(t)
	img := NewImage()
	reg.PushImage(t, "perf/tags", "t000000", img)
	tags := make([]string, 100_000)
	for i := range tags {
		tags[i] = fmt.Sprintf("t%06d", i)
	}
	if _, err := reg.Store().PutManifest("perf/tags", tags[0], img.Descriptor().MediaType, img.Bytes(), tags[1:]...); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "/v2/perf/tags/tags/list?n=100&last=t050000", nil)
	var w *discardWriter
	page := func() {
		w = &discardWriter{h: http.Header{}}
		reg.ServeHTTP(w, req)
	}
	page()
	if w.status != http.StatusOK || w.n != int64(len(`{"name":"perf/tags","tags":[]}`)+1+100*10-1) {
		t.Fatalf("GET page: status %d, %d bytes", w.status, w.n)
	}
	if perPage := allocatedPerRun(20, page); perPage > 16<<10 {
		t.Errorf("a page of 100 tags allocated %d bytes, want a few KiB", perPage)
	}
}

// TestReferrersListCost: the referrers of a subject with 1,000 referrers
// are answered from the store's cached index: the same bytes as the
// quirk path builds, and no allocation per referrer.
func TestReferrersListCost(t *testing.T) {
	reg := New(t)
	img := NewImage()
	reg.PushImage(t, "perf/refs", "v1", img)
	subject := img.Descriptor()
	for i := range 1000 {
		a := NewArtifact("application/vnd.example.sbom", &subject, []byte(fmt.Sprint(i)))
		reg.PushArtifact(t, "perf/refs", fmt.Sprintf("a%04d", i), a)
	}
	path := "/v2/perf/refs/referrers/" + string(img.Digest())
	req, _ := http.NewRequest("GET", path, nil)
	var w *discardWriter
	list := func() {
		w = &discardWriter{h: http.Header{}}
		reg.ServeHTTP(w, req)
	}
	list()
	if w.status != http.StatusOK {
		t.Fatalf("GET referrers: status %d", w.status)
	}
	if perList := allocatedPerRun(20, list); perList > 16<<10 {
		t.Errorf("listing 1,000 referrers allocated %d bytes, want a few KiB", perList)
	}

	// The quirk path (a page size larger than the list changes nothing)
	// answers the same bytes.
	fast := do(t, reg, "GET", path, nil)
	reg.SetQuirks(quirks.ReferrersPageSize(5000, false))
	slow := do(t, reg, "GET", path, nil)
	reg.SetQuirks()
	if !bytes.Equal(fast.Body, slow.Body) || fast.Header.Get("Content-Length") != slow.Header.Get("Content-Length") {
		t.Errorf("the cached index (%d bytes) differs from the encoded one (%d bytes)", len(fast.Body), len(slow.Body))
	}
	filtered := do(t, reg, "GET", path+"?artifactType=application/vnd.example.sbom", nil)
	if !bytes.Equal(filtered.Body, fast.Body) || filtered.Header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Errorf("filtered by the one artifact type: %d bytes, OCI-Filters-Applied %q", len(filtered.Body), filtered.Header.Get("OCI-Filters-Applied"))
	}
}
