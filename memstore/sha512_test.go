package memstore

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestManifestBySHA512 follows manifests through the lazy sha512 index
// (sha512.go): pushed by tag or sha256, looked up, deleted and pushed
// again by sha512, in an order that makes the index catch up more than
// once.
func TestManifestBySHA512(t *testing.T) {
	f := newFixture(t)
	bodyA := f.image(t, nil)
	bodyB := f.image(t, func(m *ocispec.Manifest) { m.Layers = m.Layers[:1] })
	bodyC := f.image(t, func(m *ocispec.Manifest) { m.Layers = nil })
	bodyD := f.image(t, func(m *ocispec.Manifest) { m.Annotations = map[string]string{"n": "d"} })
	d512 := func(b []byte) string { return string(digest.SHA512.FromBytes(b)) }

	a := mustPutManifest(t, f.s, "app", "a", MediaTypeOCIManifest, bodyA)
	b := mustPutManifest(t, f.s, "app", string(sha256Of(bodyB)), MediaTypeOCIManifest, bodyB)
	lookup := func(ref string, want *Manifest) {
		t.Helper()
		got, err := f.s.Manifest("app", ref)
		switch {
		case want == nil:
			checkErr(t, err, ErrManifestUnknown)
		case err != nil || got != want:
			t.Errorf("Manifest(%s) = %v, %v; want the manifest %s", ref, got, err, want.Digest)
		}
	}
	lookup(d512(bodyA), a)
	lookup(d512(bodyB), b)
	lookup(d512(bodyC), nil)

	// Indexed after the index caught up, then deleted by sha512.
	c := mustPutManifest(t, f.s, "app", "c", MediaTypeOCIManifest, bodyC)
	lookup(d512(bodyC), c)
	if err := f.s.DeleteManifest("app", d512(bodyB)); err != nil {
		t.Fatalf("DeleteManifest by sha512: %v", err)
	}
	lookup(d512(bodyB), nil)
	lookup(string(sha256Of(bodyB)), nil)

	// Deleted before anybody asked by sha512: it must not come back.
	mustPutManifest(t, f.s, "app", "gone", MediaTypeOCIManifest, bodyD)
	if err := f.s.DeleteManifest("app", string(sha256Of(bodyD))); err != nil {
		t.Fatal(err)
	}
	lookup(d512(bodyD), nil)

	// Pushed by sha512: found by both digests, listed by the one it was
	// pushed by, and a push of the same bytes by tag is the same manifest.
	d := mustPutManifest(t, f.s, "app", d512(bodyD), MediaTypeOCIManifest, bodyD)
	lookup(d512(bodyD), d)
	lookup(string(sha256Of(bodyD)), d)
	if again := mustPutManifest(t, f.s, "app", "d", MediaTypeOCIManifest, bodyD); again != d {
		t.Error("a push by tag of bytes pushed by sha512 made a second manifest")
	}
	want := []digest.Digest{a.Digest, c.Digest, d.Digest}
	slices.Sort(want)
	if diff := cmp.Diff(want, f.s.Snapshot().Repositories["app"].Manifests); diff != "" {
		t.Errorf("Snapshot manifests (-want +got):\n%s", diff)
	}
	if err := f.s.DeleteManifest("app", string(sha256Of(bodyD))); err != nil {
		t.Fatal(err)
	}
	lookup(d512(bodyD), nil)
	lookup("d", nil)
}

// TestRequireReferencesBySHA512: in strict mode an index may name its
// children by sha512 digest, though they were pushed by tag.
func TestRequireReferencesBySHA512(t *testing.T) {
	f := newFixture(t, WithRequireReferences())
	child := f.image(t, nil)
	mustPutManifest(t, f.s, "app", "child", MediaTypeOCIManifest, child)
	desc := ocispec.Descriptor{MediaType: MediaTypeOCIManifest, Digest: digest.SHA512.FromBytes(child), Size: int64(len(child))}
	mustPutManifest(t, f.s, "app", "index", MediaTypeOCIIndex, index(t, nil, desc))

	missing := f.image(t, func(m *ocispec.Manifest) { m.Layers = nil })
	desc.Digest = digest.SHA512.FromBytes(missing)
	before := f.s.Snapshot()
	_, err := f.s.PutManifest("app", "broken", MediaTypeOCIIndex, index(t, nil, desc))
	checkErr(t, err, ErrManifestBlobUnknown)
	checkUnchanged(t, f.s, before)
}

// TestSHA512LookupsConcurrent: readers that all ask by sha512 at once,
// under the store's read lock, build the index once and agree (run with
// -race).
func TestSHA512LookupsConcurrent(t *testing.T) {
	f := newFixture(t)
	var bodies [][]byte
	for i := range 20 {
		body := f.image(t, func(m *ocispec.Manifest) { m.Annotations = map[string]string{"i": string(rune('a' + i))} })
		mustPutManifest(t, f.s, "app", string(sha256Of(body)), MediaTypeOCIManifest, body)
		bodies = append(bodies, body)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range bodies {
				body := bodies[(i+w)%len(bodies)]
				m, err := f.s.Manifest("app", string(digest.SHA512.FromBytes(body)))
				if err != nil || m.sha256 != sha256Of(body) {
					t.Errorf("Manifest by sha512 = %v, %v", m, err)
				}
			}
		})
	}
	wg.Wait()
}

// TestRefusedManifestBufferReusable: the strings of a parsed manifest
// share its bytes (decodeManifest), so whatever outlives a refused
// manifest must be a copy: the caller owns the buffer again and may
// reuse it.
func TestRefusedManifestBufferReusable(t *testing.T) {
	f := newFixture(t)
	body := f.image(t, func(m *ocispec.Manifest) { m.Config = f.missingConfig })
	want := string(f.missingConfig.Digest)
	_, err := f.s.PutManifest("app", "v1", MediaTypeOCIManifest, body)
	checkErr(t, err, ErrManifestBlobUnknown)
	for i := range body {
		body[i] = 'x'
	}
	e, _ := AsError(err)
	if e == nil {
		t.Fatalf("error %v is not an *Error", err)
	}
	if got := e.Detail.(map[string]string)["digest"]; got != want {
		t.Errorf("error detail digest = %q after the buffer was reused, want %q", got, want)
	}
	if !strings.Contains(e.Message, want) {
		t.Errorf("error message %q lost the digest %s", e.Message, want)
	}
}

// TestManifestUnchangedBySHA512Lookup: a sha512 lookup indexes beside the
// manifests, never in them, so callers may copy or compare the
// *Manifest values they hold while others look manifests up (run with
// -race).
func TestManifestUnchangedBySHA512Lookup(t *testing.T) {
	f := newFixture(t)
	m := mustPutManifest(t, f.s, "app", "v1", MediaTypeOCIManifest, f.image(t, nil))
	before := *m
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := f.s.Manifest("app", string(digest.SHA512.FromBytes(m.Content))); err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() {
		if diff := cmp.Diff(before, *m, cmp.AllowUnexported(Manifest{})); diff != "" {
			t.Errorf("a sha512 lookup changed the manifest (-before +after):\n%s", diff)
		}
	})
	wg.Wait()
}

// TestReferrersKeysOwnTheirBytes: a manifest's Subject.Digest shares its
// content, and a map assignment replaces a string key with the one given,
// so every referrers key must be a copy: else a deleted referrer's bytes
// stayed alive behind the key, and Snapshot handed them out.
func TestReferrersKeysOwnTheirBytes(t *testing.T) {
	f := newFixture(t)
	subject := ocispec.Descriptor{MediaType: MediaTypeOCIManifest, Digest: sha256Of([]byte("subject")), Size: 7}
	var ms []*Manifest
	for i := range 3 {
		ms = append(ms, mustPutManifest(t, f.s, "app", "r"+strconv.Itoa(i), MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) {
			m.Subject = &subject
			m.Annotations = map[string]string{"n": strconv.Itoa(i)}
		})))
	}
	inside := func(s string, b []byte) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		return p >= lo && p < lo+uintptr(len(b))
	}
	check := func(step string) {
		t.Helper()
		keys := slices.Collect(maps.Keys(f.s.repos["app"].referrers))
		for k := range f.s.Snapshot().Repositories["app"].Referrers {
			keys = append(keys, k)
		}
		for _, k := range keys {
			for i, m := range ms {
				if inside(string(k), m.Content) {
					t.Errorf("%s: referrers key %s is a slice of manifest %d's bytes", step, k, i)
				}
			}
		}
	}
	check("after the pushes")
	if err := f.s.DeleteManifest("app", string(ms[0].Digest)); err != nil {
		t.Fatal(err)
	}
	check("after deleting a referrer")
}
