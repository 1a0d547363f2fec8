// Package oras_test shows oras-go v2 (registry/remote, oras.Copy) working
// against ocifixture: the spec-mode walk-through is in this file,
// registries' quirks in quirks_test.go.
package oras_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
)

const client = "oras"

func TestMain(m *testing.M) { os.Exit(outcomes.Main(m, client)) }

// repository opens a repository on the fixture over plain HTTP.
func repository(t *testing.T, reg *ocitest.Registry, name string) *remote.Repository {
	t.Helper()
	repo, err := remote.NewRepository(reg.Host() + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	return repo
}

// local is an in-memory OCI store holding ocitest's generated content, tagged.
func local(t *testing.T, tag string, m ocitest.Manifest, blobs ...ocitest.Blob) *memory.Store {
	t.Helper()
	ctx := context.Background()
	store := memory.New()
	for _, b := range blobs {
		if err := store.Push(ctx, b.Descriptor, bytes.NewReader(b.Data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Push(ctx, m.Descriptor(), bytes.NewReader(m.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := store.Tag(ctx, m.Descriptor(), tag); err != nil {
		t.Fatal(err)
	}
	return store
}

// checkSame compares what a store holds for desc with want, byte for byte.
func checkSame(t *testing.T, store content.Fetcher, desc ocispec.Descriptor, want []byte) {
	t.Helper()
	got, err := content.FetchAll(context.Background(), store, desc)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s differs (err %v)", desc.Digest, err)
	}
}

func TestImage(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.New(t)
	img := ocitest.NewImage(ocitest.Layers(2))
	repo := repository(t, reg, "team/app")

	// Push: copy from an in-memory store to the registry.
	if _, err := oras.Copy(ctx, local(t, "v1", img, img.Blobs()...), "v1", repo, "v1", oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "team/app", "v1", img.Digest())
	// oras uploads each blob monolithically: POST, then one PUT with the bytes.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadStart, Status: 202}, 3)
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadComplete, Status: 201}, 3)
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadChunk}, 0)

	// Pull: copy back into an empty store, and compare.
	pulled := memory.New()
	desc, err := oras.Copy(ctx, repo, "v1", pulled, "v1", oras.DefaultCopyOptions)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, pulled, desc, img.Bytes())
	for _, b := range img.Blobs() {
		checkSame(t, pulled, b.Descriptor, b.Data)
	}
	outcomes.Record(t, client, "image", outcomes.Pass)
}

func TestIndex(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.New(t)
	idx := ocitest.NewIndex()
	var blobs []ocitest.Blob
	src := memory.New()
	for _, child := range idx.Manifests {
		img := child.(*ocitest.Image)
		blobs = append(blobs, img.Blobs()...)
		if err := src.Push(ctx, img.Descriptor(), bytes.NewReader(img.Bytes())); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range blobs {
		if exists, _ := src.Exists(ctx, b.Descriptor); !exists {
			if err := src.Push(ctx, b.Descriptor, bytes.NewReader(b.Data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := src.Push(ctx, idx.Descriptor(), bytes.NewReader(idx.Bytes())); err != nil {
		t.Fatal(err)
	}
	if err := src.Tag(ctx, idx.Descriptor(), "v1"); err != nil {
		t.Fatal(err)
	}
	repo := repository(t, reg, "team/multi")
	if _, err := oras.Copy(ctx, src, "v1", repo, "v1", oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "team/multi", "v1", idx.Digest())

	pulled := memory.New()
	desc, err := oras.Copy(ctx, repo, "v1", pulled, "v1", oras.DefaultCopyOptions)
	if err != nil {
		t.Fatal(err)
	}
	checkSame(t, pulled, desc, idx.Bytes())
	for _, child := range idx.Manifests {
		checkSame(t, pulled, child.Descriptor(), child.Bytes())
	}
	for _, b := range blobs {
		checkSame(t, pulled, b.Descriptor, b.Data)
	}
	outcomes.Record(t, client, "index", outcomes.Pass)
}

func TestResolve(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img) // seeded: not recorded

	desc, err := repository(t, reg, "team/app").Resolve(context.Background(), "v1")
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

	opts := oras.DefaultCopyOptions
	// oras mounts only when told where a blob may come from.
	opts.MountFrom = func(context.Context, ocispec.Descriptor) ([]string, error) { return []string{"team/app"}, nil }
	_, err := oras.Copy(ctx, repository(t, reg, "team/app"), "v1", repository(t, reg, "other/app"), "v1", opts)
	if err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "other/app", "v1", img.Digest())
	mounts := reg.Filter(ocitest.Match{Kind: ocitest.BlobMount, Status: 201})
	if len(mounts) != 3 || mounts[0].Query.Get("from") != "team/app" {
		t.Fatalf("mounts: %v", mounts)
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadComplete}, 0)
	outcomes.Record(t, client, "copy", "pass (mounts when given `CopyGraphOptions.MountFrom`)")
}

func TestTags250(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v000", img)
	for i := 1; i < 250; i++ {
		reg.Tag(t, "team/app", fmt.Sprintf("v%03d", i), img.Digest())
	}
	repo := repository(t, reg, "team/app")
	repo.TagListPageSize = 100

	var tags []string
	err := repo.Tags(context.Background(), "", func(page []string) error {
		tags = append(tags, page...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 250 || tags[249] != "v249" {
		t.Fatalf("%d tags", len(tags))
	}
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.TagsList},
		"GET /v2/team/app/tags/list?n=100 -> 200",
		"GET /v2/team/app/tags/list?last=v099&n=100 -> 200",
		"GET /v2/team/app/tags/list?last=v199&n=100 -> 200",
	)
	outcomes.Record(t, client, "tags-250", outcomes.Pass)
}

const sbomType = "application/vnd.example.sbom.v1+json"

// pushReferrers pushes an image with oras.Copy, then an SBOM and a
// signature about it with Repository.Push (their blobs, then the manifest
// by digest).
func pushReferrers(t *testing.T, reg *ocitest.Registry, repo *remote.Repository) (*ocitest.Image, *ocitest.Image) {
	t.Helper()
	ctx := context.Background()
	img := ocitest.NewImage()
	if _, err := oras.Copy(ctx, local(t, "v1", img, img.Blobs()...), "v1", repo, "v1", oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
	subject := img.Descriptor()
	sbom := ocitest.NewArtifact(sbomType, &subject, []byte(`{"packages":[]}`))
	sig := ocitest.NewArtifact("application/vnd.example.signature", &subject, []byte("sig"))
	for _, a := range []*ocitest.Image{sbom, sig} {
		for _, b := range a.Blobs() {
			if exists, _ := repo.Exists(ctx, b.Descriptor); !exists {
				if err := repo.Push(ctx, b.Descriptor, bytes.NewReader(b.Data)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := repo.Push(ctx, a.Descriptor(), bytes.NewReader(a.Bytes())); err != nil {
			t.Fatal(err)
		}
	}
	return img, sbom
}

// referrers lists what oras finds about subject, of artifactType ("": all).
func referrers(t *testing.T, repo *remote.Repository, subject ocispec.Descriptor, artifactType string) []ocispec.Descriptor {
	t.Helper()
	var found []ocispec.Descriptor
	err := repo.Referrers(context.Background(), subject, artifactType, func(page []ocispec.Descriptor) error {
		found = append(found, page...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestReferrers(t *testing.T) {
	reg := ocitest.New(t)
	repo := repository(t, reg, "team/app")
	img, sbom := pushReferrers(t, reg, repo)
	// The registry answered each PUT with OCI-Subject, so oras knows it keeps
	// the referrers list: no referrers request, no fallback tag.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ReferrersList}, 0)

	if found := referrers(t, repository(t, reg, "team/app"), img.Descriptor(), ""); len(found) != 2 {
		t.Fatalf("%d referrers", len(found))
	}
	outcomes.Record(t, client, "referrers", outcomes.Pass)

	t.Run("filter", func(t *testing.T) {
		reg.ResetRequests()
		found := referrers(t, repository(t, reg, "team/app"), img.Descriptor(), sbomType)
		if len(found) != 1 || found[0].Digest != sbom.Digest() {
			t.Fatalf("referrers: %v", found)
		}
		// The filter is sent to the registry, which applies it (request lines
		// show the query decoded).
		reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.ReferrersList},
			"GET /v2/team/app/referrers/"+img.Digest().String()+"?artifactType="+sbomType+" -> 200")
		outcomes.Record(t, client, "referrers-filter", outcomes.Pass)
	})
}

func TestDelete(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	repo := repository(t, reg, "team/app")
	if err := repo.Delete(context.Background(), img.Descriptor()); err != nil {
		t.Fatal(err)
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestDelete, Status: 202}, 1)
	if _, err := repo.Resolve(context.Background(), "v1"); err == nil {
		t.Fatal("tag still resolves")
	}
	outcomes.Record(t, client, "delete", outcomes.Pass)
}

func TestChunked32MiB(t *testing.T) {
	reg := ocitest.New(t)
	data := make([]byte, 32<<20)
	rand.NewChaCha8([32]byte{1}).Read(data)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(data), Size: int64(len(data))}

	if err := repository(t, reg, "team/big").Push(context.Background(), desc, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	reg.CheckBlob(t, "team/big", desc.Digest, data)
	// oras-go has no chunked upload: POST, then the whole blob in one PUT.
	put := reg.Filter(ocitest.Match{Kind: ocitest.UploadComplete})
	if len(put) != 1 || put[0].BodySize != 32<<20 || reg.Count(ocitest.Match{Kind: ocitest.UploadChunk}) != 0 {
		t.Fatalf("PUTs %v", put)
	}
	outcomes.Record(t, client, "chunked-32mib", "pass (monolithic: one PUT of 32 MiB; oras-go has no chunked upload)")
}
