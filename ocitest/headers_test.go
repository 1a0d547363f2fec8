package ocitest

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSetHeaders: setHeaders leaves the same header map as h.Set, whatever
// the keys' case, in one allocation for canonical keys, and values that a
// later Add or Set of one key does not leak into another.
func TestSetHeaders(t *testing.T) {
	kv := []string{"Content-Type", "a/b", "etag", `"x"`, "Docker-Content-Digest", "sha256:1", "content-length", "0"}
	want, got := http.Header{}, http.Header{}
	for i := 0; i < len(kv); i += 2 {
		want.Set(kv[i], kv[i+1])
	}
	setHeaders(got, kv...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("setHeaders (-h.Set +setHeaders):\n%s", diff)
	}
	got.Add("Content-Type", "c/d")
	got.Set("Etag", "y")
	if got.Get("Docker-Content-Digest") != "sha256:1" || got.Get("Content-Length") != "0" {
		t.Errorf("changing one header changed another: %v", got)
	}
	if diff := cmp.Diff([]string{"a/b", "c/d"}, got.Values("Content-Type")); diff != "" {
		t.Errorf("Add after setHeaders (-want +got):\n%s", diff)
	}

	h := http.Header{}
	if n := testing.AllocsPerRun(100, func() {
		setHeaders(h, "Content-Type", "a/b", "Etag", `"x"`, "Docker-Content-Digest", "sha256:1")
	}); n != 1 {
		t.Errorf("setHeaders with canonical keys allocated %v times, want 1", n)
	}
}
