// Package containerd_test shows containerd v2's core/remotes/docker
// (resolver, fetcher, pusher) working against ocifixture: the spec-mode
// walk-through is in this file, registries' quirks in quirks_test.go.
// containerd's registry client has no tag listing and no delete.
package containerd_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
)

const client = "containerd"

func TestMain(m *testing.M) { os.Exit(outcomes.Main(m, client)) }

// resolver is containerd's registry client, speaking plain HTTP.
func resolver() remotes.Resolver {
	return docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchAllHosts)),
	})
}

// provider serves generated content to containerd's push code, as its
// content store would.
type provider map[digest.Digest][]byte

func (p provider) add(m ocitest.Manifest) provider {
	p[m.Descriptor().Digest] = m.Bytes()
	switch m := m.(type) {
	case *ocitest.Image:
		for _, b := range m.Blobs() {
			p[b.Descriptor.Digest] = b.Data
		}
	case *ocitest.Index:
		for _, c := range m.Manifests {
			p.add(c)
		}
	}
	return p
}

func (p provider) ReaderAt(_ context.Context, desc ocispec.Descriptor) (content.ReaderAt, error) {
	b, ok := p[desc.Digest]
	if !ok {
		return nil, fmt.Errorf("%s: %w", desc.Digest, errdefs.ErrNotFound)
	}
	return readerAt{bytes.NewReader(b)}, nil
}

type readerAt struct{ *bytes.Reader }

func (readerAt) Close() error { return nil }

// push pushes m and everything it refers to with remotes.PushContent, as
// containerd's client does.
func push(t *testing.T, ref string, m ocitest.Manifest) {
	t.Helper()
	ctx := context.Background()
	pusher, err := resolver().Pusher(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remotes.PushContent(ctx, pusher, m.Descriptor(), provider{}.add(m), nil, platforms.All, nil); err != nil {
		t.Fatal(err)
	}
}

// fetch reads desc with containerd's fetcher.
func fetch(t *testing.T, ref string, desc ocispec.Descriptor) []byte {
	t.Helper()
	ctx := context.Background()
	f, err := resolver().Fetcher(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := f.Fetch(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImage(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage(ocitest.Layers(2))
	ref := reg.Ref("team/app:v1")

	push(t, ref, img)
	reg.CheckTag(t, "team/app", "v1", img.Digest())
	// Each blob: HEAD, POST, then one streamed PUT of the bytes.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadComplete, Status: 201}, 3)
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadChunk}, 0)

	name, desc, err := resolver().Resolve(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := fetch(t, name, desc); !bytes.Equal(got, img.Bytes()) {
		t.Fatal("manifest differs")
	}
	for _, b := range img.Blobs() {
		if got := fetch(t, name, b.Descriptor); !bytes.Equal(got, b.Data) {
			t.Fatalf("blob %s differs", b.Descriptor.Digest)
		}
	}
	outcomes.Record(t, client, "image", outcomes.Pass)
}

func TestIndex(t *testing.T) {
	reg := ocitest.New(t)
	idx := ocitest.NewIndex()
	ref := reg.Ref("team/multi:v1")

	push(t, ref, idx)
	reg.CheckTag(t, "team/multi", "v1", idx.Digest())
	// With a ref of name:tag, containerd's pusher PUTs every manifest to the
	// tag, the children before the index: for a moment the tag names one
	// platform's image (and a registry with immutable tags refuses the
	// second PUT). A ref of name:tag@digest PUTs the children by digest.
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.ManifestPut},
		"PUT /v2/team/multi/manifests/v1 -> 201",
		"PUT /v2/team/multi/manifests/v1 -> 201",
		"PUT /v2/team/multi/manifests/v1 -> 201",
	)
	push(t, reg.Ref("team/multi2:v1@"+idx.Digest().String()), idx)
	puts := reg.Filter(ocitest.Match{Kind: ocitest.ManifestPut, Repo: "team/multi2"})
	children := map[string]bool{idx.Manifests[0].Descriptor().Digest.String(): true, idx.Manifests[1].Descriptor().Digest.String(): true}
	if len(puts) != 3 || !children[puts[0].Reference] || !children[puts[1].Reference] || puts[2].Reference != "v1" {
		t.Fatalf("manifest PUTs: %v", puts) // the children go up concurrently, in either order
	}

	name, desc, err := resolver().Resolve(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := fetch(t, name, desc); !bytes.Equal(got, idx.Bytes()) {
		t.Fatal("index differs")
	}
	arm := idx.Manifests[1].(*ocitest.Image)
	if got := fetch(t, name, arm.Descriptor()); !bytes.Equal(got, arm.Bytes()) {
		t.Fatal("child differs")
	}
	for _, b := range arm.Blobs() {
		if got := fetch(t, name, b.Descriptor); !bytes.Equal(got, b.Data) {
			t.Fatalf("blob %s differs", b.Descriptor.Digest)
		}
	}
	outcomes.Record(t, client, "index", "pass, but with a `name:tag` ref each child manifest is PUT to the tag before the index")
}

func TestResolve(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	_, desc, err := resolver().Resolve(context.Background(), reg.Ref("team/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != img.Digest() || desc.MediaType != ocispec.MediaTypeImageManifest || desc.Size != int64(len(img.Bytes())) {
		t.Fatalf("resolved %+v", desc)
	}
	reg.AssertRequestLines(t, ocitest.Match{}, "HEAD /v2/team/app/manifests/v1 -> 200")
	outcomes.Record(t, client, "resolve", outcomes.Pass)
}

func TestCopy(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.New(t)
	img := ocitest.NewImage(ocitest.Layers(2))
	reg.PushImage(t, "team/app", "v1", img)

	// containerd mounts a blob when its descriptor names the repositories
	// it came from, in the containerd.io/distribution.source.<host> label
	// its content store keeps (keyed by host name, without the port).
	pusher, err := resolver().Pusher(ctx, reg.Ref("other/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range img.Blobs() {
		desc := b.Descriptor
		desc.Annotations = map[string]string{"containerd.io/distribution.source.127.0.0.1": "team/app"}
		if _, err := pusher.Push(ctx, desc); !errdefs.IsAlreadyExists(err) {
			t.Fatalf("push %s: %v", desc.Digest, err)
		}
	}
	push(t, reg.Ref("other/app:v1"), img)
	reg.CheckTag(t, "other/app", "v1", img.Digest())
	mounts := reg.Filter(ocitest.Match{Kind: ocitest.BlobMount, Status: 201})
	if len(mounts) != 3 || mounts[0].Query.Get("from") != "team/app" {
		t.Fatalf("mounts: %v", mounts)
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadComplete}, 0)
	outcomes.Record(t, client, "copy", "pass (mounts when the descriptor carries the `containerd.io/distribution.source.<host>` label)")
}

func TestTagsAndDelete(t *testing.T) {
	outcomes.Record(t, client, "tags-250", "n/a: no tag listing in `core/remotes/docker`")
	outcomes.Record(t, client, "delete", "n/a: no delete in `core/remotes/docker`")
	outcomes.Record(t, client, "ecr-page-limit", "n/a: no tag listing")
}

const sbomType = "application/vnd.example.sbom.v1+json"

// pushReferrers pushes an image, then an SBOM and a signature about it.
func pushReferrers(t *testing.T, reg *ocitest.Registry) (*ocitest.Image, *ocitest.Image) {
	t.Helper()
	img := ocitest.NewImage()
	push(t, reg.Ref("team/app:v1"), img)
	subject := img.Descriptor()
	sbom := ocitest.NewArtifact(sbomType, &subject, []byte(`{"packages":[]}`))
	sig := ocitest.NewArtifact("application/vnd.example.signature", &subject, []byte("sig"))
	for _, a := range []*ocitest.Image{sbom, sig} {
		push(t, reg.Ref("team/app@"+a.Digest().String()), a)
	}
	return img, sbom
}

// referrers lists what containerd finds about subject.
func referrers(t *testing.T, reg *ocitest.Registry, subject digest.Digest, artifactTypes ...string) []ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	f, err := resolver().Fetcher(ctx, reg.Ref("team/app"))
	if err != nil {
		t.Fatal(err)
	}
	found, err := f.(remotes.ReferrersFetcher).FetchReferrers(ctx, subject, remotes.WithReferrerArtifactTypes(artifactTypes...))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestReferrers(t *testing.T) {
	reg := ocitest.New(t)
	img, sbom := pushReferrers(t, reg)
	if found := referrers(t, reg, img.Digest()); len(found) != 2 {
		t.Fatalf("%d referrers", len(found))
	}
	outcomes.Record(t, client, "referrers", outcomes.Pass)

	t.Run("filter", func(t *testing.T) {
		reg.ResetRequests()
		found := referrers(t, reg, img.Digest(), sbomType)
		if len(found) != 1 || found[0].Digest != sbom.Digest() {
			t.Fatalf("referrers %v", found)
		}
		reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.ReferrersList},
			"GET /v2/team/app/referrers/"+img.Digest().String()+"?artifactType="+sbomType+" -> 200")
		outcomes.Record(t, client, "referrers-filter", outcomes.Pass)
	})
}

func TestChunked32MiB(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.New(t)
	data := make([]byte, 32<<20)
	rand.NewChaCha8([32]byte{1}).Read(data)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(data), Size: int64(len(data))}

	pusher, err := resolver().Pusher(ctx, reg.Ref("team/big:latest"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := pusher.Push(ctx, desc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx, desc.Size, desc.Digest); err != nil {
		t.Fatal(err)
	}
	reg.CheckBlob(t, "team/big", desc.Digest, data)
	// containerd streams the blob in the closing PUT: no PATCH.
	put := reg.Filter(ocitest.Match{Kind: ocitest.UploadComplete})
	if len(put) != 1 || put[0].BodySize != 32<<20 || reg.Count(ocitest.Match{Kind: ocitest.UploadChunk}) != 0 {
		t.Fatalf("PUTs %v", put)
	}
	outcomes.Record(t, client, "chunked-32mib", "pass (monolithic: one streamed PUT of 32 MiB; no chunked upload)")
}
