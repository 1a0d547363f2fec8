package ocitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// seedWantManifest checks that GET /v2/<repo>/manifests/<ref> serves m's
// exact bytes with its media type and digest.
func seedWantManifest(t *testing.T, reg *Registry, repo, ref string, m Manifest) {
	t.Helper()
	resp := do(t, reg, "GET", "/v2/"+repo+"/manifests/"+ref, nil, "Accept: "+m.Descriptor().MediaType)
	wantStatus(t, resp, http.StatusOK)
	if string(resp.Body) != string(m.Bytes()) {
		t.Errorf("%s:%s body differs from the generated manifest:\n got %s\nwant %s", repo, ref, resp.Body, m.Bytes())
	}
	wantHeader(t, resp, "Content-Type", m.Descriptor().MediaType)
	wantHeader(t, resp, "Docker-Content-Digest", string(m.Descriptor().Digest))
}

// seedWantBlobs checks that every blob of m (and of its children) is served
// byte for byte from repo, and every child manifest by digest.
func seedWantBlobs(t *testing.T, reg *Registry, repo string, m Manifest) {
	t.Helper()
	switch m := m.(type) {
	case *Image:
		for _, b := range m.Blobs() {
			resp := do(t, reg, "GET", "/v2/"+repo+"/blobs/"+string(b.Descriptor.Digest), nil)
			wantStatus(t, resp, http.StatusOK)
			if string(resp.Body) != string(b.Data) {
				t.Errorf("blob %s: served %d bytes that differ from the %d generated", b.Descriptor.Digest, len(resp.Body), len(b.Data))
			}
		}
	case *Index:
		for _, c := range m.Manifests {
			seedWantManifest(t, reg, repo, string(c.Descriptor().Digest), c)
			seedWantBlobs(t, reg, repo, c)
		}
	}
}

// seedTags lists a repository's tags over HTTP.
func seedTags(t *testing.T, reg *Registry, repo string) []string {
	t.Helper()
	resp := do(t, reg, "GET", "/v2/"+repo+"/tags/list", nil)
	wantStatus(t, resp, http.StatusOK)
	var body struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatalf("tags list: %v: %s", err, resp.Body)
	}
	if body.Name != repo {
		t.Errorf("tags list name = %q, want %q", body.Name, repo)
	}
	return body.Tags
}

func TestSeedPushBlob(t *testing.T) {
	reg := New(t)
	data := []byte("some blob bytes")
	d := reg.PushBlob(t, "team/app", data)
	if d != digest.FromBytes(data) {
		t.Errorf("PushBlob returned %s, want %s", d, digest.FromBytes(data))
	}
	if n := len(reg.Requests()); n != 0 {
		t.Errorf("seeding recorded %d requests", n)
	}
	resp := do(t, reg, "GET", "/v2/team/app/blobs/"+string(d), nil)
	wantStatus(t, resp, http.StatusOK)
	if string(resp.Body) != string(data) {
		t.Errorf("blob = %q, want %q", resp.Body, data)
	}
	// Blobs are visible in the repository they were pushed to only.
	wantStatus(t, do(t, reg, "GET", "/v2/other/blobs/"+string(d), nil), http.StatusNotFound)
	// An empty blob is a blob too.
	e := reg.PushBlob(t, "team/app", nil)
	resp = do(t, reg, "GET", "/v2/team/app/blobs/"+string(e), nil)
	wantStatus(t, resp, http.StatusOK)
	if len(resp.Body) != 0 {
		t.Errorf("empty blob served %d bytes", len(resp.Body))
	}
}

func TestSeedPushImage(t *testing.T) {
	reg := New(t)
	img := NewImage(Layers(3), LayerSize(2000))
	reg.PushImage(t, "team/app", "v1", img)
	reg.PushImage(t, "team/app", "v2", img)
	other := NewImage(Seed(7))
	reg.PushImage(t, "team/app", "", other) // by digest only
	if n := len(reg.Requests()); n != 0 {
		t.Fatalf("seeding recorded %d requests", n)
	}

	seedWantManifest(t, reg, "team/app", "v1", img)
	seedWantManifest(t, reg, "team/app", "v2", img)
	seedWantManifest(t, reg, "team/app", string(img.Digest()), img)
	seedWantBlobs(t, reg, "team/app", img)
	seedWantManifest(t, reg, "team/app", string(other.Digest()), other)
	seedWantBlobs(t, reg, "team/app", other)
	if diff := cmp.Diff([]string{"v1", "v2"}, seedTags(t, reg, "team/app")); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	// Docker media types are served as such.
	dimg := NewImage(DockerMediaTypes(), Seed(8))
	reg.PushImage(t, "team/docker", "latest", dimg)
	seedWantManifest(t, reg, "team/docker", "latest", dimg)
	seedWantBlobs(t, reg, "team/docker", dimg)

	// Every request above was ours, over HTTP; seeding added none.
	for _, r := range reg.Requests() {
		if r.Method != "GET" {
			t.Errorf("unexpected recorded request %s", r)
		}
	}
}

func TestSeedPushByDigestOnly(t *testing.T) {
	reg := New(t)
	img := NewImage()
	reg.PushImage(t, "team/app", "", img)
	seedWantManifest(t, reg, "team/app", string(img.Digest()), img)
	if tags := seedTags(t, reg, "team/app"); len(tags) != 0 {
		t.Errorf("push by digest created tags %q", tags)
	}
	snap := reg.Store().Snapshot().Repositories["team/app"]
	if diff := cmp.Diff([]digest.Digest{img.Digest()}, snap.Manifests); diff != "" {
		t.Errorf("manifests (-want +got):\n%s", diff)
	}
}

func TestSeedPushIndex(t *testing.T) {
	reg := New(t)
	idx := NewIndex()
	reg.PushIndex(t, "team/multi", "v1", idx)
	seedWantManifest(t, reg, "team/multi", "v1", idx)
	seedWantBlobs(t, reg, "team/multi", idx)

	nested := NewIndex(Children(NewIndex(Seed(1)), NewImage(Seed(9)), NewArtifact("application/vnd.example", nil, []byte("x"))))
	reg.PushIndex(t, "team/nested", "", nested)
	seedWantManifest(t, reg, "team/nested", string(nested.Digest()), nested)
	seedWantBlobs(t, reg, "team/nested", nested)
	if tags := seedTags(t, reg, "team/nested"); len(tags) != 0 {
		t.Errorf("children or a digest push created tags %q", tags)
	}

	docker := NewIndex(DockerMediaTypes(), Seed(2))
	reg.PushIndex(t, "team/docker", "list", docker)
	seedWantManifest(t, reg, "team/docker", "list", docker)
	seedWantBlobs(t, reg, "team/docker", docker)

	// The whole tree is valid for a store that checks every reference.
	strict := New(t, WithStore(memstore.New(memstore.WithRequireReferences())))
	strict.PushIndex(t, "team/nested", "v1", nested)
	seedWantManifest(t, strict, "team/nested", "v1", nested)
}

func TestSeedPushArtifact(t *testing.T) {
	reg := New(t)
	img := NewImage()
	reg.PushImage(t, "team/app", "v1", img)
	subject := img.Descriptor()
	subject.Platform = nil

	const sbomType = "application/vnd.example.sbom.v1+json"
	const sigType = "application/vnd.example.sig.v1"
	sbom := NewArtifact(sbomType, &subject, []byte(`{"packages":[]}`))
	sig := NewArtifact(sigType, &subject)
	reg.PushArtifact(t, "team/app", "", sbom)
	reg.PushArtifact(t, "team/app", "sig", sig)
	if n := len(reg.Requests()); n != 0 {
		t.Fatalf("seeding recorded %d requests", n)
	}

	seedWantManifest(t, reg, "team/app", string(sbom.Digest()), sbom)
	seedWantBlobs(t, reg, "team/app", sbom)
	seedWantManifest(t, reg, "team/app", "sig", sig)
	seedWantBlobs(t, reg, "team/app", sig)

	resp := do(t, reg, "GET", "/v2/team/app/referrers/"+string(img.Digest()), nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", ocispec.MediaTypeImageIndex)
	var ix ocispec.Index
	if err := json.Unmarshal(resp.Body, &ix); err != nil {
		t.Fatalf("referrers: %v: %s", err, resp.Body)
	}
	want := []ocispec.Descriptor{
		{MediaType: ocispec.MediaTypeImageManifest, Digest: sbom.Digest(), Size: int64(len(sbom.Bytes())), ArtifactType: sbomType},
		{MediaType: ocispec.MediaTypeImageManifest, Digest: sig.Digest(), Size: int64(len(sig.Bytes())), ArtifactType: sigType},
	}
	if diff := cmp.Diff(want, ix.Manifests); diff != "" {
		t.Errorf("referrers (-want +got):\n%s", diff)
	}
	reg.CheckReferrers(t, "team/app", img.Digest(), sbom.Digest(), sig.Digest())
}

func TestSeedTag(t *testing.T) {
	reg := New(t)
	a, b := NewImage(Seed(1)), NewImage(Seed(2))
	reg.PushImage(t, "team/app", "", a)
	reg.PushImage(t, "team/app", "", b)

	reg.Tag(t, "team/app", "latest", a.Digest())
	seedWantManifest(t, reg, "team/app", "latest", a)
	reg.Tag(t, "team/app", "stable", a.Digest())
	reg.Tag(t, "team/app", "latest", b.Digest()) // moves the tag
	seedWantManifest(t, reg, "team/app", "latest", b)
	seedWantManifest(t, reg, "team/app", "stable", a)
	if diff := cmp.Diff([]string{"latest", "stable"}, seedTags(t, reg, "team/app")); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	reg.CheckTag(t, "team/app", "latest", b.Digest())

	// An index keeps its media type when tagged.
	idx := NewIndex(Seed(3))
	reg.PushIndex(t, "team/app", "", idx)
	reg.Tag(t, "team/app", "multi", idx.Digest())
	seedWantManifest(t, reg, "team/app", "multi", idx)
	if n := reg.Count(Match{Kind: ManifestPut}); n != 0 {
		t.Errorf("Tag recorded %d manifest PUTs", n)
	}
}

// seedContent is a varied Content: several repositories, tags, indexes and
// referrers of one subject, so that a push order that followed map
// iteration would show up in the referrers order.
func seedContent() Content {
	base := NewImage(Seed(100))
	subject := base.Descriptor()
	subject.Platform = nil
	app := map[string]Manifest{"base": base}
	for i := range 8 {
		tag := fmt.Sprintf("sig-%d", i)
		app[tag] = NewArtifact("application/vnd.example.sig", &subject, []byte(tag))
	}
	return Content{
		"team/app":    app,
		"team/multi":  {"v1": NewIndex(Seed(1)), "v2": NewIndex(Seed(2)), "docker": NewIndex(Seed(3), DockerMediaTypes())},
		"library/one": {"latest": NewImage(Layers(2), LayerSize(10))},
		"a":           {"x": NewImage(Seed(5)), "y": NewImage(Seed(5)), "z": NewImage(Seed(6))},
	}
}

func TestSeedContent(t *testing.T) {
	reg := New(t)
	c := seedContent()
	reg.Seed(t, c)
	if n := len(reg.Requests()); n != 0 {
		t.Fatalf("Seed recorded %d requests", n)
	}
	for repo, tags := range c {
		var want []string
		for tag, m := range tags {
			want = append(want, tag)
			seedWantManifest(t, reg, repo, tag, m)
			seedWantBlobs(t, reg, repo, m)
		}
		if diff := cmp.Diff(want, seedTags(t, reg, repo), cmp.Transformer("sort", seedSorted)); diff != "" {
			t.Errorf("%s tags (-want +got):\n%s", repo, diff)
		}
	}
	// Referrers of the base image come in Seed's (sorted tag) order.
	var sigs []digest.Digest
	for i := range 8 {
		sigs = append(sigs, c["team/app"][fmt.Sprintf("sig-%d", i)].Descriptor().Digest)
	}
	reg.CheckReferrers(t, "team/app", c["team/app"]["base"].Descriptor().Digest, sigs...)
}

func seedSorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}

func TestSeedDeterministic(t *testing.T) {
	first := New(t)
	first.Seed(t, seedContent())
	want := first.Store().Snapshot()
	// Map iteration order varies from run to run; several registries make
	// an order-dependent Seed very likely to show.
	for i := range 5 {
		reg := New(t)
		reg.Seed(t, seedContent())
		if diff := cmp.Diff(want, reg.Store().Snapshot()); diff != "" {
			t.Fatalf("registry %d: Seed gave a different store (-first +this):\n%s", i, diff)
		}
		if n := len(reg.Requests()); n != 0 {
			t.Errorf("Seed recorded %d requests", n)
		}
	}
	// Seeding the same content twice changes nothing.
	first.Seed(t, seedContent())
	unchanged(t, first, want)
}

// seedFakeTB is a testing.TB that records failures instead of failing the
// test. Fatal* and FailNow end the calling goroutine with runtime.Goexit,
// as the real ones do, so calls must run in seedRunFake's goroutine.
// Methods not defined here panic (nil embedded TB): seeding must not use
// them.
type seedFakeTB struct {
	testing.TB
	mu     sync.Mutex
	fatals []string
	errors []string
	failed bool
}

func (f *seedFakeTB) Helper() {}
func (f *seedFakeTB) Name() string {
	return "seedFakeTB"
}

func (f *seedFakeTB) Logf(string, ...any) {}
func (f *seedFakeTB) Log(...any)          {}

func (f *seedFakeTB) fatal(msg string) {
	f.mu.Lock()
	f.fatals = append(f.fatals, msg)
	f.failed = true
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *seedFakeTB) Fatalf(format string, args ...any) { f.fatal(fmt.Sprintf(format, args...)) }
func (f *seedFakeTB) Fatal(args ...any)                 { f.fatal(fmt.Sprint(args...)) }
func (f *seedFakeTB) FailNow()                          { f.fatal("FailNow") }

func (f *seedFakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
	f.failed = true
}

func (f *seedFakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// seedRunFake runs fn with a fake TB in its own goroutine and reports the
// fatal messages and whether fn returned normally.
func seedRunFake(t *testing.T, fn func(tb testing.TB)) (fatals, errs []string, returned bool) {
	t.Helper()
	fake := &seedFakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(fake)
		returned = true
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("seeding with a fake TB did not finish")
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	return fake.fatals, fake.errors, returned
}

func TestSeedFailures(t *testing.T) {
	img := NewImage()
	tests := []struct {
		name string
		// unchanged: the store must be exactly as before
		unchanged bool
		fn        func(reg *Registry, tb testing.TB)
		want      string // in the fatal message
	}{
		{"PushBlob invalid repo", true, func(reg *Registry, tb testing.TB) { reg.PushBlob(tb, "Team/App", []byte("x")) }, "Team/App"},
		{"PushImage invalid repo", true, func(reg *Registry, tb testing.TB) { reg.PushImage(tb, "Team/App", "v1", img) }, "Team/App"},
		{"PushImage empty repo", true, func(reg *Registry, tb testing.TB) { reg.PushImage(tb, "", "v1", img) }, "invalid"},
		{"PushIndex invalid repo", true, func(reg *Registry, tb testing.TB) { reg.PushIndex(tb, "bad//name", "v1", NewIndex()) }, "bad//name"},
		{"PushArtifact invalid repo", true, func(reg *Registry, tb testing.TB) {
			reg.PushArtifact(tb, "-bad", "", NewArtifact("application/vnd.example", nil))
		}, "-bad"},
		{"Seed invalid repo", true, func(reg *Registry, tb testing.TB) {
			reg.Seed(tb, Content{"UPPER": {"v1": img}})
		}, "UPPER"},
		{"PushImage invalid tag", false, func(reg *Registry, tb testing.TB) { reg.PushImage(tb, "team/app", "-bad tag", img) }, "-bad tag"},
		{"Tag unknown digest", true, func(reg *Registry, tb testing.TB) {
			reg.Tag(tb, "team/app", "v2", NewImage(Seed(42)).Digest())
		}, string(NewImage(Seed(42)).Digest())},
		{"Tag unknown repo", true, func(reg *Registry, tb testing.TB) { reg.Tag(tb, "team/nothing", "v2", img.Digest()) }, "team/nothing"},
		{"Tag invalid tag", true, func(reg *Registry, tb testing.TB) { reg.Tag(tb, "team/app", "-bad", img.Digest()) }, "-bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			reg.PushImage(t, "team/app", "v1", img) // something for Tag to find
			before := reg.Store().Snapshot()
			fatals, errs, returned := seedRunFake(t, func(tb testing.TB) { tt.fn(reg, tb) })
			if returned {
				t.Errorf("the call returned normally; want it to stop the test")
			}
			if len(fatals) != 1 {
				t.Fatalf("fatal failures %q, want exactly one", fatals)
			}
			if len(errs) != 0 {
				t.Errorf("unexpected Errorf calls: %q", errs)
			}
			if !strings.Contains(fatals[0], tt.want) {
				t.Errorf("failure %q does not mention %q", fatals[0], tt.want)
			}
			if tt.unchanged {
				unchanged(t, reg, before)
			}
			if n := len(reg.Requests()); n != 0 {
				t.Errorf("seeding recorded %d requests", n)
			}
		})
	}
}
