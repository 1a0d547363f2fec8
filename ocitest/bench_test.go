package ocitest

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
)

// What the fixture costs per request in the handler itself, without the
// network: the part of the bench/ module's figures that is ocitest's own.
//
//	go test -run '^$' -bench . -benchmem ./ocitest

// benchServe serves the request next makes, b.N times, checking the status
// each time.
func benchServe(b *testing.B, reg *Registry, want int, next func() *http.Request) {
	b.Helper()
	b.ReportAllocs()
	w := &discardWriter{h: http.Header{}} // perf_test.go
	for b.Loop() {
		req := next()
		clear(w.h)
		w.status = 0
		reg.ServeHTTP(w, req)
		if w.status != want {
			b.Fatalf("%s %s: status %d, want %d", req.Method, req.URL, w.status, want)
		}
	}
}

func BenchmarkServeBlobHead(b *testing.B) {
	reg := New(b)
	d := reg.PushBlob(b, "app", bytes.Repeat([]byte{'x'}, 4096))
	req, _ := http.NewRequest(http.MethodHead, "/v2/app/blobs/"+string(d), nil)
	benchServe(b, reg, http.StatusOK, func() *http.Request { return req })
}

func BenchmarkServeManifestGet(b *testing.B) {
	reg := New(b)
	reg.PushImage(b, "app", "v1", NewImage())
	req, _ := http.NewRequest(http.MethodGet, "/v2/app/manifests/v1", nil)
	benchServe(b, reg, http.StatusOK, func() *http.Request { return req })
}

func BenchmarkServeManifestPut(b *testing.B) {
	reg := New(b)
	img := NewImage()
	reg.PushImage(b, "app", "v1", img)
	body := img.Bytes()
	prefix, suffix, ok := bytes.Cut(body, []byte(`"schemaVersion":2`))
	if !ok {
		b.Fatalf("manifest %s has no schemaVersion", body)
	}
	i := 0
	benchServe(b, reg, http.StatusCreated, func() *http.Request {
		// A unique manifest each time: an annotation-free variant would be
		// the same manifest again.
		i++
		m := make([]byte, 0, len(body)+40)
		m = append(m, prefix...)
		m = append(m, `"annotations":{"n":"`...)
		m = strconv.AppendInt(m, int64(i), 10)
		m = append(m, `"},"schemaVersion":2`...)
		m = append(m, suffix...)
		req, _ := http.NewRequest(http.MethodPut, "/v2/app/manifests/latest", bytes.NewReader(m))
		req.Header.Set("Content-Type", img.Descriptor().MediaType)
		return req
	})
}
