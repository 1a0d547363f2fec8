package containerd_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
	"github.com/ocifixture/ocifixture/quirks"
)

func TestECRTagDigest(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.ECR()...))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	_, desc, err := resolver().Resolve(context.Background(), reg.Ref("team/app:v1"))
	if err != nil || desc.Digest != img.Digest() {
		t.Fatalf("resolved %v, %v", desc, err)
	}
	// containerd resolves with HEAD, which ECR answers with the digest; it
	// fetches manifests by digest afterwards.
	reg.AssertRequestLines(t, ocitest.Match{}, "HEAD /v2/team/app/manifests/v1 -> 200")
	outcomes.Record(t, client, "ecr-tag-digest", "pass (resolves with HEAD, which has the header)")
}

// referrersFallback pushes an image and two artifacts under a preset
// without the referrers API and lists the referrers.
func referrersFallback(t *testing.T, preset []quirks.Quirk) {
	reg := ocitest.New(t, ocitest.WithQuirks(preset...))
	img, sbom := pushReferrers(t, reg)
	fallback := "sha256-" + img.Digest().Encoded()
	// containerd's pusher does not keep the fallback tag...
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestPut, Reference: fallback}, 0)
	// ...so its reader, which falls back to it, finds nothing.
	if found := referrers(t, reg, img.Digest()); len(found) != 0 {
		t.Fatalf("found %v", found)
	}
	reg.AssertRequestLines(t, ocitest.Match{Func: func(r ocitest.Request) bool { return r.Kind == ocitest.ReferrersList || r.Reference == fallback }},
		"GET /v2/team/app/referrers/"+img.Digest().String()+" -> 404",
		"GET /v2/team/app/manifests/"+fallback+" -> 404",
	)

	// Once another tool has written the tag, containerd finds the artifact
	// there, and applies the artifactType filter itself.
	reg.PushIndex(t, "team/app", fallback, ocitest.NewIndex(ocitest.Children(sbom, ocitest.NewArtifact("application/vnd.example.signature", ptr(img.Descriptor()), []byte("sig")))))
	found := referrers(t, reg, img.Digest(), sbomType)
	if len(found) != 1 || found[0].Digest != sbom.Digest() {
		t.Fatalf("found %v", found)
	}
}

func ptr[T any](v T) *T { return &v }

const fallbackOutcome = "fails: its pusher never writes the `sha256-<hex>` tag, so nothing is found; its reader does fall back to the tag (and filters)"

func TestGHCRReferrersFallback(t *testing.T) {
	referrersFallback(t, quirks.GHCR())
	outcomes.Record(t, client, "ghcr-referrers-fallback", fallbackOutcome)
}

func TestDockerHubReferrersFallback(t *testing.T) {
	referrersFallback(t, quirks.DockerHub())
	outcomes.Record(t, client, "dockerhub-referrers-fallback", fallbackOutcome)
}

func TestDockerHubRateLimit(t *testing.T) {
	// Docker Hub with a limit of one pull that counts HEADs too (containerd
	// resolves with HEAD; regclient users report HEAD-only limits), and a
	// Retry-After of 10s on the 429.
	reg := ocitest.New(t, ocitest.WithQuirks(append(quirks.DockerHub(),
		quirks.DockerHubRateLimit(quirks.RateLimit{Limit: 1, Window: 6 * time.Hour, Counted: quirks.CallManifestHead | quirks.CallManifestGet}),
		quirks.UnusualRetryAfter(quirks.RetryAfterSeconds, 10*time.Second))...))
	reg.PushImage(t, "team/app", "v1", ocitest.NewImage())

	if _, _, err := resolver().Resolve(context.Background(), reg.Ref("team/app:v1")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err := resolver().Resolve(context.Background(), reg.Ref("team/app:v1"))
	// containerd retries a 429 at once, without reading Retry-After, until
	// its 5 attempts are spent.
	got := reg.Count(ocitest.Match{Kind: ocitest.ManifestHead, Status: 429})
	if err == nil || got != 5 || time.Since(start) > 5*time.Second {
		t.Fatalf("%v; %d 429s in %v", err, got, time.Since(start))
	}
	outcomes.Record(t, client, "dockerhub-429", fmt.Sprintf("fails after %d immediate tries (HEADs counted): ignores `Retry-After`", got))
}

func TestPatch503(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.New(t)
	img := ocitest.NewImage(ocitest.Layers(1))
	reg.FailNext(ocitest.Match{Kind: ocitest.UploadComplete}, http.StatusServiceUnavailable)
	pusher, err := resolver().Pusher(ctx, reg.Ref("team/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	layer := img.Layers[0]
	w, err := pusher.Push(ctx, layer.Descriptor)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Write(layer.Data)
	if err == nil {
		err = w.Commit(ctx, layer.Descriptor.Size, layer.Descriptor.Digest)
	}
	// containerd never PATCHes: the bytes stream in the closing PUT, which
	// cannot be replayed, so a 503 there fails the push.
	if err == nil {
		t.Fatal("push succeeded")
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadComplete}, 1)
	outcomes.Record(t, client, "patch-503", "n/a: never PATCHes; a 503 on its streamed PUT fails the push, no retry")
}

func TestBlobRedirect(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.RedirectBlobs(quirks.BlobRedirect{})))
	img := ocitest.NewImage(ocitest.Layers(2))
	reg.PushImage(t, "team/app", "v1", img)
	for _, b := range img.Blobs() {
		if got := fetch(t, reg.Ref("team/app:v1"), b.Descriptor); !bytes.Equal(got, b.Data) {
			t.Fatalf("blob %s differs", b.Descriptor.Digest)
		}
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.BlobGet, Status: 307}, 3)
	outcomes.Record(t, client, "blob-redirect", outcomes.Pass)
}
