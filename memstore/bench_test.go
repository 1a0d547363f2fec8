package memstore

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The store's share of a manifest push, without HTTP: the number the
// bench/ module's manifest PUT workload spends above its floor is mostly
// this, so it is worth watching on its own.
//
//	go test -run '^$' -bench . -benchmem ./memstore

// benchImageManifest returns a small image manifest whose config and layer
// are stored in repo "app", and a function that makes the i-th unique
// variant of it (an annotation differs).
func benchImageManifest(b *testing.B, s *Store) func(i int) []byte {
	b.Helper()
	config := []byte(`{"architecture":"amd64","os":"linux"}`)
	layer := bytes.Repeat([]byte{'x'}, 4096)
	descs := make([]ocispec.Descriptor, 2)
	for i, c := range [][]byte{config, layer} {
		d := digest.FromBytes(c)
		if _, err := s.PutBlob("app", d, bytes.NewReader(c), int64(len(c))); err != nil {
			b.Fatal(err)
		}
		descs[i] = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip, Digest: d, Size: int64(len(c))}
	}
	descs[0].MediaType = ocispec.MediaTypeImageConfig
	m := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      descs[0],
		Layers:      descs[1:],
		Annotations: map[string]string{"org.example.n": "MARK"},
	}
	body, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	prefix, suffix, _ := bytes.Cut(body, []byte("MARK"))
	return func(i int) []byte {
		out := make([]byte, 0, len(body)+20)
		out = append(out, prefix...)
		out = strconv.AppendInt(out, int64(i), 10)
		return append(out, suffix...)
	}
}

func BenchmarkPutManifestByTag(b *testing.B) {
	s := New()
	next := benchImageManifest(b, s)
	i := 0
	for b.Loop() {
		if _, err := s.PutManifest("app", "latest", ocispec.MediaTypeImageManifest, next(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkPutManifestByDigest(b *testing.B) {
	s := New()
	next := benchImageManifest(b, s)
	i := 0
	for b.Loop() {
		body := next(i)
		if _, err := s.PutManifest("app", string(digest.FromBytes(body)), ocispec.MediaTypeImageManifest, body); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkManifestByTag(b *testing.B) {
	s := New()
	next := benchImageManifest(b, s)
	if _, err := s.PutManifest("app", "v1", ocispec.MediaTypeImageManifest, next(0)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Manifest("app", "v1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseManifest is the validation of a manifest push alone: the
// decoding and the checks of its fields, without hashing or storing.
func BenchmarkParseManifest(b *testing.B) {
	body := benchImageManifest(b, New())(1)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseManifest(ocispec.MediaTypeImageManifest, body); err != nil {
			b.Fatal(err)
		}
	}
}
