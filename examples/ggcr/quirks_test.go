package ggcr_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
	"github.com/ocifixture/ocifixture/quirks"
)

// statusOf is the HTTP status of a ggcr error, 0 if it has none.
func statusOf(err error) int {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode
	}
	return 0
}

func TestECRPageLimit(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.ECR()...))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)
	repo := ref(t, reg, "team/app").Context()

	// ggcr asks for n=1000 by default, because of ECR (ggcr issue #1091).
	if _, err := remote.List(repo); err != nil {
		t.Fatal(err)
	}
	// Asking for more gets ECR's 405, and ggcr has no fallback.
	_, err := remote.List(repo, remote.WithPageSize(5000))
	if statusOf(err) != http.StatusMethodNotAllowed || !strings.Contains(err.Error(), "UNSUPPORTED") {
		t.Fatalf("List with n=5000: %v", err)
	}
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.TagsList},
		"GET /v2/team/app/tags/list?n=1000 -> 200",
		"GET /v2/team/app/tags/list?n=5000 -> 405",
	)
	outcomes.Record(t, client, "ecr-page-limit", "default `n=1000` passes; `WithPageSize(5000)` fails: 405 `UNSUPPORTED`, no fallback")
}

func TestECRTagDigest(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.ECR()...))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	desc, err := remote.Get(ref(t, reg, "team/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	// The GET by tag had no Docker-Content-Digest; ggcr hashes the body.
	get := reg.Filter(ocitest.Match{Kind: ocitest.ManifestGet})
	if len(get) != 1 || get[0].ResponseHeader.Get("Docker-Content-Digest") != "" {
		t.Fatalf("manifest GETs: %v", get)
	}
	if desc.Digest.String() != img.Digest().String() {
		t.Fatalf("digest %s, want %s", desc.Digest, img.Digest())
	}
	outcomes.Record(t, client, "ecr-tag-digest", "pass (hashes the body)")
}

// referrersFallback pushes an image and two artifacts about it (an SBOM,
// then a signature) under a preset without the referrers API, and returns
// what ggcr lists as the image's referrers.
func referrersFallback(t *testing.T, preset []quirks.Quirk) (reg *ocitest.Registry, sbom *ocitest.Image, found []string) {
	reg = ocitest.New(t, ocitest.WithQuirks(preset...))
	img, sbom := pushReferrers(t, reg, "team/app", fastRetry)
	fallback := "sha256-" + img.Digest().Encoded()

	// For each artifact ggcr asked the referrers API (404), then read and
	// rewrote the sha256-<hex> tag: an index of the artifacts.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ReferrersList, Status: 404}, 2)
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestGet, Reference: fallback}, 2)
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestPut, Reference: fallback, Status: 201}, 2)

	subject := ref(t, reg, "team/app@"+img.Digest().String()).(name.Digest)
	idx, err := remote.Referrers(subject)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	for _, d := range im.Manifests {
		found = append(found, d.ArtifactType)
	}
	return reg, sbom, found
}

func TestGHCRReferrersFallback(t *testing.T) {
	_, _, found := referrersFallback(t, quirks.GHCR())
	if len(found) != 2 {
		t.Fatalf("referrers %v, want 2", found)
	}
	outcomes.Record(t, client, "ghcr-referrers-fallback", "pass (tag schema)")
}

func TestDockerHubReferrersFallback(t *testing.T) {
	reg, _, found := referrersFallback(t, quirks.DockerHub())
	// Docker Hub shows a pushed tag a moment late (read-after-write-lag):
	// when ggcr read the fallback tag to add the signature, the GET missed
	// the index it had just written (404), so ggcr wrote a new index with
	// the signature alone: the SBOM is lost, a read-modify-write race ggcr
	// knows of ("TODO: use conditional requests", pkg/v1/remote/write.go).
	fallback := "sha256-" + ocitest.NewImage().Digest().Encoded()
	reg.AssertRequestLines(t, ocitest.Match{Reference: fallback},
		"GET /v2/team/app/manifests/"+fallback+" -> 404",
		"PUT /v2/team/app/manifests/"+fallback+" -> 201",
		"GET /v2/team/app/manifests/"+fallback+" -> 404", // lag: the index just written is not visible yet
		"PUT /v2/team/app/manifests/"+fallback+" -> 201",
		"GET /v2/team/app/manifests/"+fallback+" -> 200", // lag: the listing sees the previous index
	)
	stored, err := reg.Store().Manifest("team/app", fallback)
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Manifests []struct{ ArtifactType string }
	}
	if err := json.Unmarshal(stored.Content, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 || idx.Manifests[0].ArtifactType != "application/vnd.example.signature" {
		t.Fatalf("stored fallback index: %s", stored.Content)
	}
	if len(found) != 1 || found[0] != sbomType {
		t.Fatalf("listed referrers %v, want the (stale) SBOM alone", found)
	}
	outcomes.Record(t, client, "dockerhub-referrers-fallback", "fails: loses an artifact: under the tag read lag its read-modify-write of the `sha256-<hex>` index starts from a 404")
}

func TestDockerHubRateLimit(t *testing.T) {
	// Docker Hub, with a limit of one pull and a Retry-After on the 429.
	reg := ocitest.New(t, ocitest.WithQuirks(append(quirks.DockerHub(),
		quirks.DockerHubRateLimit(quirks.RateLimit{Limit: 1, Window: 6 * time.Hour}),
		quirks.UnusualRetryAfter(quirks.RetryAfterSeconds, 10*time.Second))...))
	reg.PushImage(t, "team/app", "v1", ocitest.NewImage())

	if _, err := remote.Get(ref(t, reg, "team/app:v1"), fastRetry); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := remote.Get(ref(t, reg, "team/app:v1"), fastRetry)
	if statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("second pull: %v", err)
	}
	// ggcr retries a 429 like a 5xx, on its own backoff (1s, 3s by default;
	// shortened here), without reading Retry-After: 10s.
	got := reg.Filter(ocitest.Match{Kind: ocitest.ManifestGet, Status: 429})
	if len(got) != 3 || got[0].ResponseHeader.Get("Retry-After") != "10" || time.Since(start) > 5*time.Second {
		t.Fatalf("%d 429s in %v: %v", len(got), time.Since(start), got)
	}
	outcomes.Record(t, client, "dockerhub-429", fmt.Sprintf("fails after %d tries: retries 429 on its own backoff (1s, 3s), ignores `Retry-After`", len(got)))
}

func TestPatch503(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage(ocitest.Layers(1))
	reg.FailNext(ocitest.Match{Kind: ocitest.UploadChunk}, http.StatusServiceUnavailable)

	if err := remote.Write(ref(t, reg, "team/app:v1"), v1Image(t, img), fastRetry); err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "team/app", "v1", img.Digest())
	// ggcr retries the whole blob upload (a new POST, PATCH, PUT), not the
	// PATCH alone.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.UploadChunk, Status: 503}, 1)
	starts := reg.Count(ocitest.Match{Kind: ocitest.UploadStart})
	if starts != 3 { // two blobs, one of them twice
		t.Fatalf("%d upload sessions, want 3", starts)
	}
	outcomes.Record(t, client, "patch-503", "pass: retries once, restarting the blob's upload (new POST)")
}

func TestBlobRedirect(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.RedirectBlobs(quirks.BlobRedirect{})))
	img := ocitest.NewImage(ocitest.Layers(2))
	reg.PushImage(t, "team/app", "v1", img)

	pulled, err := remote.Image(ref(t, reg, "team/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	checkPulled(t, pulled, img)
	// Config and layers: a 307 each, then the CDN host (another port).
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.BlobGet, Status: 307}, 3)
	cdn := reg.Filter(ocitest.Match{Func: func(r ocitest.Request) bool { return strings.HasPrefix(r.Path, "/registry-v2/") }})
	if len(cdn) != 3 || cdn[0].Status != 200 || cdn[0].Header.Get("Authorization") != "" {
		t.Fatalf("CDN requests: %v", cdn)
	}
	outcomes.Record(t, client, "blob-redirect", outcomes.Pass)
}
