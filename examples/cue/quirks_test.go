package cue_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"cuelabs.dev/go/oci/ociregistry"
	"cuelabs.dev/go/oci/ociregistry/ociclient"
	"github.com/opencontainers/go-digest"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
	"github.com/ocifixture/ocifixture/quirks"
)

func TestECRPageLimit(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.ECR()...))
	reg.PushImage(t, "team/app", "v1", ocitest.NewImage())
	count := func(c ociregistry.Interface) (int, error) {
		n := 0
		for _, err := range c.Tags(context.Background(), "team/app", "") {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	// ociclient asks for n=1000 by default, because of ECR.
	if n, err := count(newClient(t, reg, ociclient.Options{})); err != nil || n != 1 {
		t.Fatalf("%d tags, %v", n, err)
	}
	_, err := count(newClient(t, reg, ociclient.Options{ListPageSize: 5000}))
	if !errors.Is(err, ociregistry.ErrUnsupported) {
		t.Fatalf("n=5000: %v", err)
	}
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.TagsList},
		"GET /v2/team/app/tags/list?n=1000 -> 200",
		"GET /v2/team/app/tags/list?n=5000 -> 405",
	)
	outcomes.Record(t, client, "ecr-page-limit", "default `n=1000` passes; `ListPageSize: 5000` fails: 405 `UNSUPPORTED`, no fallback")
}

func TestECRTagDigest(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.ECR()...))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	r, err := newClient(t, reg, ociclient.Options{}).GetTag(context.Background(), "team/app", "v1")
	body := readAll(t, r, err)
	if r.Descriptor().Digest != img.Digest() || !bytes.Equal(body, img.Bytes()) {
		t.Fatalf("descriptor %+v", r.Descriptor())
	}
	// The GET had no digest; ociclient hashed the body (it would HEAD for
	// manifests over 128 KiB).
	reg.AssertRequestLines(t, ocitest.Match{}, "GET /v2/team/app/manifests/v1 -> 200")
	outcomes.Record(t, client, "ecr-tag-digest", "pass (hashes the body; HEADs for manifests over 128 KiB)")
}

// referrersFallback pushes an image and two artifacts under a preset
// without the referrers API and lists the referrers.
func referrersFallback(t *testing.T, preset []quirks.Quirk) {
	reg := ocitest.New(t, ocitest.WithQuirks(preset...))
	c := newClient(t, reg, ociclient.Options{})
	img, sbom := pushReferrers(t, c)
	fallback := "sha256-" + img.Digest().Encoded()
	// ociclient's PushManifest does not keep the fallback tag...
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestPut, Reference: fallback}, 0)
	// ...so its reader, which falls back to it, finds nothing.
	if found := referrers(t, c, img.Digest(), ""); len(found) != 0 {
		t.Fatalf("found %v", found)
	}
	reg.AssertRequestLines(t, ocitest.Match{Func: func(r ocitest.Request) bool { return r.Kind == ocitest.ReferrersList || r.Reference == fallback }},
		"GET /v2/team/app/referrers/"+img.Digest().String()+" -> 404",
		"GET /v2/team/app/manifests/"+fallback+" -> 404",
	)
	// Once another tool has written the tag, ociclient finds the artifact
	// there, and applies the artifactType filter itself.
	sig := ocitest.NewArtifact("application/vnd.example.signature", ptr(img.Descriptor()), []byte("sig"))
	reg.PushIndex(t, "team/app", fallback, ocitest.NewIndex(ocitest.Children(sbom, sig)))
	found := referrers(t, c, img.Digest(), sbomType)
	if len(found) != 1 || found[0].Digest != sbom.Digest() {
		t.Fatalf("found %v", found)
	}
}

func ptr[T any](v T) *T { return &v }

const fallbackOutcome = "fails: `PushManifest` never writes the `sha256-<hex>` tag, so nothing is found; its reader does fall back to the tag (and filters)"

func TestGHCRReferrersFallback(t *testing.T) {
	referrersFallback(t, quirks.GHCR())
	outcomes.Record(t, client, "ghcr-referrers-fallback", fallbackOutcome)
}

func TestDockerHubReferrersFallback(t *testing.T) {
	referrersFallback(t, quirks.DockerHub())
	outcomes.Record(t, client, "dockerhub-referrers-fallback", fallbackOutcome)
}

func TestDockerHubRateLimit(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(append(quirks.DockerHub(),
		quirks.DockerHubRateLimit(quirks.RateLimit{Limit: 1, Window: 6 * time.Hour}),
		quirks.UnusualRetryAfter(quirks.RetryAfterSeconds, 10*time.Second))...))
	reg.PushImage(t, "team/app", "v1", ocitest.NewImage())
	c := newClient(t, reg, ociclient.Options{})

	r, err := c.GetTag(context.Background(), "team/app", "v1")
	readAll(t, r, err)
	_, err = c.GetTag(context.Background(), "team/app", "v1")
	// ociclient does not retry: the 429 is ErrTooManyRequests at once.
	if !errors.Is(err, ociregistry.ErrTooManyRequests) {
		t.Fatalf("second pull: %v", err)
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestGet, Status: 429}, 1)
	outcomes.Record(t, client, "dockerhub-429", "fails at once: no retry (`ErrTooManyRequests`)")
}

func TestPatch503(t *testing.T) {
	reg := ocitest.New(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	reg.FailNext(ocitest.Match{Kind: ocitest.UploadChunk}, http.StatusServiceUnavailable)
	c := newClient(t, reg, ociclient.Options{})

	w, err := c.PushBlobChunked(context.Background(), "team/app", 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for off := 0; off < len(data) && werr == nil; off += 256 << 10 {
		_, werr = w.Write(data[off : off+256<<10])
	}
	if werr == nil {
		_, werr = w.Commit(digest.FromBytes(data))
	}
	// ociclient does not retry: the push fails with the 503.
	if werr == nil {
		t.Fatal("push succeeded")
	}
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.UploadChunk}, "PATCH /v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000001 -> 503")
	outcomes.Record(t, client, "patch-503", "fails at once: no retry")
}

func TestBlobRedirect(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.RedirectBlobs(quirks.BlobRedirect{})))
	img := ocitest.NewImage(ocitest.Layers(2))
	reg.PushImage(t, "team/app", "v1", img)
	c := newClient(t, reg, ociclient.Options{})
	for _, b := range img.Blobs() {
		r, err := c.GetBlob(context.Background(), "team/app", b.Descriptor.Digest)
		if got := readAll(t, r, err); !bytes.Equal(got, b.Data) {
			t.Fatalf("blob %s differs", b.Descriptor.Digest)
		}
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.BlobGet, Status: 307}, 3)
	outcomes.Record(t, client, "blob-redirect", outcomes.Pass)
}
