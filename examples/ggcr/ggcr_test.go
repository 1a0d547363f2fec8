// Package ggcr_test shows go-containerregistry's pkg/v1/remote and
// pkg/crane working against ocifixture: the spec-mode walk-through is in
// this file, registries' quirks in quirks_test.go.
package ggcr_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
)

const client = "ggcr"

func TestMain(m *testing.M) { os.Exit(outcomes.Main(m, client)) }

// ref parses a reference on the fixture; ggcr talks plain HTTP to
// loopback addresses, name.Insecure makes it explicit.
func ref(t *testing.T, reg *ocitest.Registry, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(reg.Ref(s), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fastRetry keeps ggcr's retry policy (3 tries) but waits milliseconds
// instead of 1s and 3s.
var fastRetry = remote.WithRetryBackoff(remote.Backoff{Duration: 10 * time.Millisecond, Factor: 1, Steps: 3})

// ociImage adapts ocitest's generated content (same digests on every run)
// to ggcr's v1.Image, so remote.Write pushes exactly those bytes.
type ociImage struct{ img *ocitest.Image }

func (i ociImage) MediaType() (types.MediaType, error) {
	return types.MediaType(i.img.Descriptor().MediaType), nil
}
func (i ociImage) RawManifest() ([]byte, error)   { return i.img.Bytes(), nil }
func (i ociImage) RawConfigFile() ([]byte, error) { return i.img.Config.Data, nil }
func (i ociImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, b := range i.img.Blobs() {
		if b.Descriptor.Digest.String() == h.String() {
			return static.NewLayer(b.Data, types.MediaType(b.Descriptor.MediaType)), nil
		}
	}
	return nil, fmt.Errorf("no blob %s", h)
}

func v1Image(t *testing.T, img *ocitest.Image) v1.Image {
	t.Helper()
	v, err := partial.CompressedToImage(ociImage{img})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkPulled compares a pulled image with what was pushed, byte for byte.
func checkPulled(t *testing.T, got v1.Image, want *ocitest.Image) {
	t.Helper()
	raw, err := got.RawManifest()
	if err != nil || !bytes.Equal(raw, want.Bytes()) {
		t.Fatalf("manifest differs (err %v)", err)
	}
	cfg, err := got.RawConfigFile()
	if err != nil || !bytes.Equal(cfg, want.Config.Data) {
		t.Fatalf("config differs (err %v)", err)
	}
	layers, err := got.Layers()
	if err != nil || len(layers) != len(want.Layers) {
		t.Fatalf("layers: %d, %v; want %d", len(layers), err, len(want.Layers))
	}
	for k, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(data, want.Layers[k].Data) {
			t.Fatalf("layer %d differs (err %v)", k, err)
		}
	}
}

func TestImage(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage(ocitest.Layers(2))

	if err := remote.Write(ref(t, reg, "team/app:v1"), v1Image(t, img)); err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "team/app", "v1", img.Digest())
	// ggcr checks each blob with a HEAD, then uploads it: POST, one streamed
	// PATCH, PUT.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.BlobHead}, 3)
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadChunk}, 3)
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestPut, Status: 201}, 1)

	pulled, err := remote.Image(ref(t, reg, "team/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	checkPulled(t, pulled, img)
	outcomes.Record(t, client, "image", outcomes.Pass)
}

func TestIndex(t *testing.T) {
	reg := ocitest.New(t)
	amd := ocitest.NewImage(ocitest.Seed(1))
	arm := ocitest.NewImage(ocitest.Seed(2))
	// An index built with ggcr's own mutate package.
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: v1Image(t, amd), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: v1Image(t, arm), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	if err := remote.WriteIndex(ref(t, reg, "team/multi:v1"), idx); err != nil {
		t.Fatal(err)
	}
	want, _ := idx.RawManifest()

	pulled, err := remote.Index(ref(t, reg, "team/multi:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := pulled.RawManifest(); !bytes.Equal(raw, want) {
		t.Fatal("index differs")
	}
	// Pulling the tag with a platform picks the child.
	child, err := remote.Image(ref(t, reg, "team/multi:v1"), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}))
	if err != nil {
		t.Fatal(err)
	}
	checkPulled(t, child, arm)
	outcomes.Record(t, client, "index", outcomes.Pass)
}

func TestResolve(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img) // seeded: not recorded

	desc, err := remote.Head(ref(t, reg, "team/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != img.Digest().String() || string(desc.MediaType) != ocispec.MediaTypeImageManifest || desc.Size != int64(len(img.Bytes())) {
		t.Fatalf("resolved %+v", desc)
	}
	// A HEAD, nothing else.
	reg.AssertRequestLines(t, ocitest.Match{Repo: "team/app"}, "HEAD /v2/team/app/manifests/v1 -> 200")
	outcomes.Record(t, client, "resolve", outcomes.Pass)
}

func TestCopy(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage(ocitest.Layers(2))
	reg.PushImage(t, "team/app", "v1", img)

	if err := crane.Copy(reg.Ref("team/app:v1"), reg.Ref("other/app:v1"), crane.Insecure); err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "other/app", "v1", img.Digest())
	// crane mounts every blob from the source repository: no blob bytes are
	// uploaded again.
	mounts := reg.Filter(ocitest.Match{Kind: ocitest.BlobMount, Status: 201})
	if len(mounts) != 3 {
		t.Fatalf("%d mounts, want 3", len(mounts))
	}
	for _, m := range mounts {
		if m.Query.Get("from") != "team/app" {
			t.Errorf("mount from %q", m.Query.Get("from"))
		}
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadChunk}, 0)
	outcomes.Record(t, client, "copy", "pass (mounts each blob `from` the source)")
}

func TestTags250(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v000", img)
	for i := 1; i < 250; i++ {
		reg.Tag(t, "team/app", fmt.Sprintf("v%03d", i), img.Digest())
	}

	tags, err := remote.List(ref(t, reg, "team/app").Context(), remote.WithPageSize(100))
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 250 || tags[0] != "v000" || tags[249] != "v249" {
		t.Fatalf("%d tags: %v ... ", len(tags), tags[:3])
	}
	// Three pages, following the Link header.
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.TagsList},
		"GET /v2/team/app/tags/list?n=100 -> 200",
		"GET /v2/team/app/tags/list?last=v099&n=100 -> 200",
		"GET /v2/team/app/tags/list?last=v199&n=100 -> 200",
	)
	outcomes.Record(t, client, "tags-250", outcomes.Pass)
}

const sbomType = "application/vnd.example.sbom.v1+json"

// pushReferrers pushes an image and two artifacts about it (an SBOM and a
// signature) with ggcr, and returns the image and the SBOM.
func pushReferrers(t *testing.T, reg *ocitest.Registry, repo string, opts ...remote.Option) (*ocitest.Image, *ocitest.Image) {
	t.Helper()
	img := ocitest.NewImage()
	if err := remote.Write(ref(t, reg, repo+":v1"), v1Image(t, img), opts...); err != nil {
		t.Fatal(err)
	}
	subject := img.Descriptor()
	sbom := ocitest.NewArtifact(sbomType, &subject, []byte(`{"packages":[]}`))
	sig := ocitest.NewArtifact("application/vnd.example.signature", &subject, []byte("sig"))
	for _, a := range []*ocitest.Image{sbom, sig} {
		if err := remote.Write(ref(t, reg, repo+"@"+a.Digest().String()), v1Image(t, a), opts...); err != nil {
			t.Fatal(err)
		}
	}
	return img, sbom
}

func TestReferrers(t *testing.T) {
	reg := ocitest.New(t)
	img, sbom := pushReferrers(t, reg, "team/app")
	// After each manifest with a subject, ggcr asks the referrers API whether
	// the registry keeps the list itself (it does not read OCI-Subject).
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ReferrersList, Status: 200}, 2)

	subject := ref(t, reg, "team/app@"+img.Digest().String()).(name.Digest)
	all, err := remote.Referrers(subject)
	if err != nil {
		t.Fatal(err)
	}
	if im, _ := all.IndexManifest(); len(im.Manifests) != 2 {
		t.Fatalf("%d referrers, want 2", len(im.Manifests))
	}
	outcomes.Record(t, client, "referrers", outcomes.Pass)

	t.Run("filter", func(t *testing.T) {
		reg.ResetRequests()
		sboms, err := remote.Referrers(subject, remote.WithFilter("artifactType", sbomType))
		if err != nil {
			t.Fatal(err)
		}
		im, _ := sboms.IndexManifest()
		if len(im.Manifests) != 1 || im.Manifests[0].Digest.String() != sbom.Digest().String() || im.Manifests[0].ArtifactType != sbomType {
			t.Fatalf("filtered referrers: %+v", im.Manifests)
		}
		// Despite its doc ("sets the filter querystring"), WithFilter never
		// reaches the registry: ggcr fetches every referrer and filters them
		// itself (pkg/v1/remote/referrers.go filterReferrersResponse).
		reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.ReferrersList},
			"GET /v2/team/app/referrers/"+img.Digest().String()+" -> 200")
		outcomes.Record(t, client, "referrers-filter", "pass (filters client-side: `WithFilter` does not send `?artifactType=`)")
	})
}

func TestDelete(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	if err := remote.Delete(ref(t, reg, "team/app@"+img.Digest().String())); err != nil {
		t.Fatal(err)
	}
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.ManifestDelete}, "DELETE /v2/team/app/manifests/"+img.Digest().String()+" -> 202")
	// Deleting by digest removed the tag too.
	if _, err := remote.Head(ref(t, reg, "team/app:v1")); err == nil {
		t.Fatal("tag still resolves")
	}
	outcomes.Record(t, client, "delete", outcomes.Pass)
}

// bigBlob is 32 MiB of deterministic noise.
func bigBlob() []byte {
	b := make([]byte, 32<<20)
	rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

func TestChunked32MiB(t *testing.T) {
	reg := ocitest.New(t)
	data := bigBlob()
	layer := static.NewLayer(data, types.OCILayer)

	if err := remote.WriteLayer(ref(t, reg, "team/big").Context(), layer); err != nil {
		t.Fatal(err)
	}
	d, _ := layer.Digest()
	reg.CheckBlob(t, "team/big", digest.Digest(d.String()), data)
	// ggcr cannot be told a chunk size: it streams the whole blob in one
	// PATCH (without Content-Range), then PUTs the digest.
	chunks := reg.Filter(ocitest.Match{Kind: ocitest.UploadChunk})
	if len(chunks) != 1 || chunks[0].BodySize != 32<<20 || chunks[0].Header.Get("Content-Range") != "" {
		t.Fatalf("PATCHes: %v", chunks)
	}
	outcomes.Record(t, client, "chunked-32mib", "pass (one streamed PATCH of 32 MiB: ggcr has no chunk size option)")
}
