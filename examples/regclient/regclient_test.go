// Package regclient_test shows regclient working against ocifixture: the
// spec-mode walk-through is in this file, registries' quirks in
// quirks_test.go.
package regclient_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regclient/regclient"
	"github.com/regclient/regclient/config"
	"github.com/regclient/regclient/scheme"
	regopts "github.com/regclient/regclient/scheme/reg"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/regclient/regclient/types/manifest"
	"github.com/regclient/regclient/types/ref"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
	"github.com/ocifixture/ocifixture/quirks"
)

const client = "regclient"

func TestMain(m *testing.M) { os.Exit(outcomes.Main(m, client)) }

// newClient is a regclient for the fixture: plain HTTP, and retries that
// start after 10ms instead of 100ms.
func newClient(reg *ocitest.Registry, host config.Host, opts ...regclient.Opt) *regclient.RegClient {
	host.Name = reg.Host()
	host.TLS = config.TLSDisabled
	return regclient.New(append([]regclient.Opt{
		regclient.WithConfigHost(host),
		regclient.WithRegOpts(regopts.WithDelay(10*time.Millisecond, time.Second)),
	}, opts...)...)
}

func mustRef(t *testing.T, s string) ref.Ref {
	t.Helper()
	r, err := ref.New(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// push uploads generated content with regclient: blobs, then the manifest.
func push(t *testing.T, rc *regclient.RegClient, r ref.Ref, m ocitest.Manifest, blobs ...ocitest.Blob) {
	t.Helper()
	ctx := context.Background()
	for _, b := range blobs {
		if _, err := rc.BlobPut(ctx, r, descriptor.Descriptor{MediaType: b.Descriptor.MediaType, Digest: b.Descriptor.Digest, Size: b.Descriptor.Size}, bytes.NewReader(b.Data)); err != nil {
			t.Fatal(err)
		}
	}
	rm, err := manifest.New(manifest.WithRaw(m.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.ManifestPut(ctx, r, rm); err != nil {
		t.Fatal(err)
	}
}

// checkBlob reads a blob with regclient and compares it.
func checkBlob(t *testing.T, rc *regclient.RegClient, r ref.Ref, b ocitest.Blob) {
	t.Helper()
	rdr, err := rc.BlobGet(context.Background(), r, descriptor.Descriptor{MediaType: b.Descriptor.MediaType, Digest: b.Descriptor.Digest, Size: b.Descriptor.Size})
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	got, err := io.ReadAll(rdr)
	if err != nil || !bytes.Equal(got, b.Data) {
		t.Fatalf("blob %s differs (err %v)", b.Descriptor.Digest, err)
	}
}

func checkManifest(t *testing.T, rc *regclient.RegClient, r ref.Ref, want []byte) manifest.Manifest {
	t.Helper()
	m, err := rc.ManifestGet(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := m.RawBody()
	if err != nil || !bytes.Equal(raw, want) {
		t.Fatalf("manifest differs (err %v)", err)
	}
	return m
}

func TestImage(t *testing.T) {
	reg := ocitest.New(t)
	rc := newClient(reg, config.Host{})
	img := ocitest.NewImage(ocitest.Layers(2))
	r := mustRef(t, reg.Ref("team/app:v1"))

	push(t, rc, r, img, img.Blobs()...)
	reg.CheckTag(t, "team/app", "v1", img.Digest())
	// Each blob: first an anonymous mount attempt (POST ?mount= without
	// from, answered with an upload session), then one PUT of the bytes.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.BlobMount, Status: 202}, 3)
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadComplete, Status: 201}, 3)

	checkManifest(t, rc, r, img.Bytes())
	for _, b := range img.Blobs() {
		checkBlob(t, rc, r, b)
	}
	outcomes.Record(t, client, "image", outcomes.Pass)
}

func TestIndex(t *testing.T) {
	reg := ocitest.New(t)
	rc := newClient(reg, config.Host{})
	idx := ocitest.NewIndex()
	r := mustRef(t, reg.Ref("team/multi:v1"))
	for _, child := range idx.Manifests {
		img := child.(*ocitest.Image)
		push(t, rc, r.SetDigest(img.Digest().String()), img, img.Blobs()...)
	}
	push(t, rc, r, idx)

	checkManifest(t, rc, r, idx.Bytes())
	arm := idx.Manifests[1].(*ocitest.Image)
	checkManifest(t, rc, r.SetDigest(arm.Digest().String()), arm.Bytes())
	for _, b := range arm.Blobs() {
		checkBlob(t, rc, r, b)
	}
	outcomes.Record(t, client, "index", outcomes.Pass)
}

func TestResolve(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	m, err := newClient(reg, config.Host{}).ManifestHead(context.Background(), mustRef(t, reg.Ref("team/app:v1")))
	if err != nil {
		t.Fatal(err)
	}
	d := m.GetDescriptor()
	if d.Digest != img.Digest() || d.MediaType != ocispec.MediaTypeImageManifest || d.Size != int64(len(img.Bytes())) {
		t.Fatalf("resolved %+v", d)
	}
	reg.AssertRequestLines(t, ocitest.Match{Repo: "team/app"}, "HEAD /v2/team/app/manifests/v1 -> 200")
	outcomes.Record(t, client, "resolve", outcomes.Pass)
}

func TestCopy(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage(ocitest.Layers(2))
	reg.PushImage(t, "team/app", "v1", img)

	rc := newClient(reg, config.Host{})
	if err := rc.ImageCopy(context.Background(), mustRef(t, reg.Ref("team/app:v1")), mustRef(t, reg.Ref("other/app:v1"))); err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "other/app", "v1", img.Digest())
	mounts := reg.Filter(ocitest.Match{Kind: ocitest.BlobMount, Status: 201})
	if len(mounts) != 3 || mounts[0].Query.Get("from") != "team/app" {
		t.Fatalf("mounts: %v", mounts)
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadComplete}, 0)
	outcomes.Record(t, client, "copy", "pass (mounts each blob `from` the source)")
}

func TestTags250(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v000", img)
	for i := 1; i < 250; i++ {
		reg.Tag(t, "team/app", fmt.Sprintf("v%03d", i), img.Digest())
	}
	rc := newClient(reg, config.Host{})
	r := mustRef(t, reg.Ref("team/app"))
	count := func(opts ...scheme.TagOpts) int {
		tl, err := rc.TagList(context.Background(), r, opts...)
		if err != nil {
			t.Fatal(err)
		}
		tags, _ := tl.GetTags()
		return len(tags)
	}
	// WithTagLimit is a limit on the total, sent as n: one page of 100.
	if n := count(scheme.WithTagLimit(100)); n != 100 {
		t.Fatalf("%d tags with limit 100", n)
	}
	// Without it: one request, all 250.
	if n := count(); n != 250 {
		t.Fatalf("%d tags", n)
	}
	// When the registry pages on its own, regclient follows Link.
	reg.EnableQuirks(t, quirks.DefaultPageSize(100))
	if n := count(); n != 250 {
		t.Fatalf("%d tags in pages", n)
	}
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.TagsList},
		"GET /v2/team/app/tags/list?n=100 -> 200",
		"GET /v2/team/app/tags/list -> 200",
		"GET /v2/team/app/tags/list -> 200",
		"GET /v2/team/app/tags/list?last=v099&n=100 -> 200",
		"GET /v2/team/app/tags/list?last=v199&n=100 -> 200",
	)
	outcomes.Record(t, client, "tags-250", "pass (follows `Link`; `WithTagLimit(n)` caps the total, so it never asks for pages itself)")
}

const sbomType = "application/vnd.example.sbom.v1+json"

// pushReferrers pushes an image, then an SBOM and a signature about it.
func pushReferrers(t *testing.T, rc *regclient.RegClient, r ref.Ref) (*ocitest.Image, *ocitest.Image) {
	t.Helper()
	img := ocitest.NewImage()
	push(t, rc, r, img, img.Blobs()...)
	subject := img.Descriptor()
	sbom := ocitest.NewArtifact(sbomType, &subject, []byte(`{"packages":[]}`))
	sig := ocitest.NewArtifact("application/vnd.example.signature", &subject, []byte("sig"))
	for _, a := range []*ocitest.Image{sbom, sig} {
		push(t, rc, r.SetDigest(a.Digest().String()), a, a.Blobs()...)
	}
	return img, sbom
}

func listReferrers(t *testing.T, rc *regclient.RegClient, subject ref.Ref, artifactType string) []descriptor.Descriptor {
	t.Helper()
	rl, err := rc.ReferrerList(context.Background(), subject, scheme.WithReferrerMatchOpt(descriptor.MatchOpt{ArtifactType: artifactType}))
	if err != nil {
		t.Fatal(err)
	}
	return rl.Descriptors
}

func TestReferrers(t *testing.T) {
	reg := ocitest.New(t)
	rc := newClient(reg, config.Host{})
	r := mustRef(t, reg.Ref("team/app:v1"))
	img, sbom := pushReferrers(t, rc, r)
	subject := r.SetDigest(img.Digest().String())
	// The PUTs were answered with OCI-Subject: no fallback tag was written.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestPut, Reference: "sha256-*"}, 0)

	if found := listReferrers(t, newClient(reg, config.Host{}), subject, ""); len(found) != 2 {
		t.Fatalf("%d referrers", len(found))
	}
	outcomes.Record(t, client, "referrers", outcomes.Pass)

	t.Run("filter", func(t *testing.T) {
		reg.ResetRequests()
		found := listReferrers(t, newClient(reg, config.Host{}), subject, sbomType)
		if len(found) != 1 || found[0].Digest != sbom.Digest() {
			t.Fatalf("referrers %v", found)
		}
		reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.ReferrersList},
			"GET /v2/team/app/referrers/"+img.Digest().String()+"?artifactType="+sbomType+" -> 200")
		outcomes.Record(t, client, "referrers-filter", outcomes.Pass)
	})
}

func TestDelete(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)
	rc := newClient(reg, config.Host{})
	r := mustRef(t, reg.Ref("team/app:v1"))

	if err := rc.ManifestDelete(context.Background(), r.SetDigest(img.Digest().String())); err != nil {
		t.Fatal(err)
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestDelete, Status: 202}, 1)
	if _, err := rc.ManifestHead(context.Background(), r); err == nil {
		t.Fatal("tag still resolves")
	}
	outcomes.Record(t, client, "delete", outcomes.Pass)
}

func TestChunked32MiB(t *testing.T) {
	reg := ocitest.New(t)
	data := make([]byte, 32<<20)
	rand.NewChaCha8([32]byte{1}).Read(data)
	d := descriptor.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(data), Size: int64(len(data))}
	// Blobs over BlobMax go up in chunks of BlobChunk.
	rc := newClient(reg, config.Host{BlobMax: 1 << 20, BlobChunk: 8 << 20})

	if _, err := rc.BlobPut(context.Background(), mustRef(t, reg.Ref("team/big")), d, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	reg.CheckBlob(t, "team/big", d.Digest, data)
	chunks := reg.Filter(ocitest.Match{Kind: ocitest.UploadChunk, Status: 202})
	if len(chunks) != 4 || chunks[1].Header.Get("Content-Range") != fmt.Sprintf("%d-%d", 8<<20, 16<<20-1) {
		t.Fatalf("PATCHes: %v", chunks)
	}
	outcomes.Record(t, client, "chunked-32mib", "pass (4 PATCHes of 8 MiB with `Content-Range`, set by `config.Host{BlobMax, BlobChunk}`)")
}
