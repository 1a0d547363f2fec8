package regclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/opencontainers/go-digest"
	"net/http"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regclient/regclient/config"
	"github.com/regclient/regclient/scheme"
	"github.com/regclient/regclient/types/descriptor"
	"github.com/regclient/regclient/types/errs"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
	"github.com/ocifixture/ocifixture/quirks"
)

func TestECRPageLimit(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.ECR()...))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v000", img)
	for i := 1; i < 250; i++ {
		reg.Tag(t, "team/app", fmt.Sprintf("v%03d", i), img.Digest())
	}
	rc := newClient(reg, config.Host{})
	r := mustRef(t, reg.Ref("team/app"))

	tl, err := rc.TagList(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if tags, _ := tl.GetTags(); len(tags) != 250 {
		t.Fatalf("%d tags", len(tags))
	}
	_, err = rc.TagList(context.Background(), r, scheme.WithTagLimit(5000))
	if err == nil {
		t.Fatal("n=5000 accepted")
	}
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.TagsList},
		"GET /v2/team/app/tags/list -> 200",
		"GET /v2/team/app/tags/list?last=v099&n=100 -> 200",
		"GET /v2/team/app/tags/list?last=v199&n=100 -> 200",
		"GET /v2/team/app/tags/list?n=5000 -> 405",
	)
	outcomes.Record(t, client, "ecr-page-limit", "default (no `n`) passes, following ECR's pages of 100; `WithTagLimit(5000)` fails: 405 `UNSUPPORTED`, no fallback")
}

func TestECRTagDigest(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.ECR()...))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	m, err := newClient(reg, config.Host{}).ManifestGet(context.Background(), mustRef(t, reg.Ref("team/app:v1")))
	if err != nil {
		t.Fatal(err)
	}
	if m.GetDescriptor().Digest != img.Digest() {
		t.Fatalf("digest %s", m.GetDescriptor().Digest)
	}
	get := reg.Filter(ocitest.Match{Kind: ocitest.ManifestGet})
	if len(get) != 1 || get[0].ResponseHeader.Get("Docker-Content-Digest") != "" {
		t.Fatalf("manifest GETs: %v", get)
	}
	outcomes.Record(t, client, "ecr-tag-digest", "pass (hashes the body)")
}

// referrersFallback pushes an image and two artifacts (an SBOM, then a
// signature) under a preset without the referrers API, lists the SBOMs, and
// returns them and what the fallback tag holds.
func referrersFallback(t *testing.T, preset []quirks.Quirk) (reg *ocitest.Registry, found []descriptor.Descriptor, stored []string) {
	reg = ocitest.New(t, ocitest.WithQuirks(preset...))
	r := mustRef(t, reg.Ref("team/app:v1"))
	img, _ := pushReferrers(t, newClient(reg, config.Host{}), r)
	fallback := "sha256-" + img.Digest().Encoded()
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestPut, Reference: fallback, Status: 201}, 2)

	found = listReferrers(t, newClient(reg, config.Host{}), r.SetDigest(img.Digest().String()), sbomType)
	m, err := reg.Store().Manifest("team/app", fallback)
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(m.Content, &idx); err != nil {
		t.Fatal(err)
	}
	for _, d := range idx.Manifests {
		stored = append(stored, d.ArtifactType)
	}
	return reg, found, stored
}

func TestGHCRReferrersFallback(t *testing.T) {
	_, found, stored := referrersFallback(t, quirks.GHCR())
	if len(found) != 1 || len(stored) != 2 {
		t.Fatalf("found %v; fallback index holds %v", found, stored)
	}
	outcomes.Record(t, client, "ghcr-referrers-fallback", "pass (tag schema)")
}

func TestDockerHubReferrersFallback(t *testing.T) {
	reg, found, stored := referrersFallback(t, quirks.DockerHub())
	// As with ggcr and oras: Docker Hub's tag read lag answers the read of
	// the fallback tag right after regclient wrote it with 404, so regclient
	// writes a new index with the signature alone; the listing right after
	// sees the previous index (the SBOM alone).
	fallback := "sha256-" + ocitest.NewImage().Digest().Encoded()
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.ManifestGet, Reference: fallback},
		"GET /v2/team/app/manifests/"+fallback+" -> 404",
		"GET /v2/team/app/manifests/"+fallback+" -> 404", // lag
		"GET /v2/team/app/manifests/"+fallback+" -> 200", // lag: the previous index
	)
	if len(stored) != 1 || stored[0] != "application/vnd.example.signature" || len(found) != 1 || found[0].ArtifactType != sbomType {
		t.Fatalf("found %v; fallback index holds %v", found, stored)
	}
	outcomes.Record(t, client, "dockerhub-referrers-fallback", "fails: loses an artifact: under the tag read lag its read-modify-write of the `sha256-<hex>` index starts from a 404")
}

func TestDockerHubRateLimit(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(append(quirks.DockerHub(),
		quirks.DockerHubRateLimit(quirks.RateLimit{Limit: 1, Window: 6 * time.Hour}),
		quirks.UnusualRetryAfter(quirks.RetryAfterSeconds, time.Second))...))
	reg.PushImage(t, "team/app", "v1", ocitest.NewImage())
	rc := newClient(reg, config.Host{})
	r := mustRef(t, reg.Ref("team/app:v1"))

	if _, err := rc.ManifestGet(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := rc.ManifestGet(context.Background(), r)
	// regclient waits Retry-After (1s) before each retry, up to its retry
	// limit (5, plus one try kept for auth).
	got := reg.Count(ocitest.Match{Kind: ocitest.ManifestGet, Status: 429})
	if !errors.Is(err, errs.ErrRetryLimitExceeded) || got != 6 || time.Since(start) < 5*time.Second {
		t.Fatalf("%v; %d 429s in %v", err, got, time.Since(start))
	}
	outcomes.Record(t, client, "dockerhub-429", fmt.Sprintf("fails after %d tries, waiting `Retry-After` (1s) between them", got))
}

// chunkedPut uploads 3 MiB in chunks of 1 MiB with the first PATCH whose
// Content-Range starts at start answered 503.
func chunkedPut(t *testing.T, start string) (*ocitest.Registry, error) {
	reg := ocitest.New(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 3<<16)
	d := descriptor.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(data), Size: int64(len(data))}
	rc := newClient(reg, config.Host{BlobMax: 1 << 20, BlobChunk: 1 << 20})
	reg.FailNext(ocitest.Match{Kind: ocitest.UploadChunk, Func: func(r ocitest.Request) bool {
		return strings.HasPrefix(r.Header.Get("Content-Range"), start+"-")
	}}, http.StatusServiceUnavailable)
	_, err := rc.BlobPut(context.Background(), mustRef(t, reg.Ref("team/app")), d, bytes.NewReader(data))
	return reg, err
}

func TestPatch503(t *testing.T) {
	// A 503 on the second chunk: regclient asks the upload status (GET,
	// Range: 0-1048575) and sends the chunk again.
	reg, err := chunkedPut(t, "1048576")
	if err != nil {
		t.Fatal(err)
	}
	reg.AssertRequestLines(t, ocitest.Match{Func: func(r ocitest.Request) bool { return r.Kind == ocitest.UploadChunk || r.Kind == ocitest.UploadStatus }},
		"PATCH /v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000001 -> 202",
		"PATCH /v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000001 -> 503",
		"GET /v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000001 -> 204",
		"PATCH /v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000001 -> 202",
		"PATCH /v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000001 -> 202",
	)

	t.Run("first chunk", func(t *testing.T) {
		// A 503 on the first chunk: the session holds nothing, and the
		// status says "Range: 0-0" (what distribution sends; the spec's
		// 0-<end-of-range> cannot say "no bytes"). regclient reads it as one
		// byte received, resumes at byte 1, and gets 416 (with the same
		// Range) until its chunk retry limit (10) stops it.
		reg, err := chunkedPut(t, "0")
		if err == nil {
			t.Fatal("upload succeeded")
		}
		status := reg.Filter(ocitest.Match{Kind: ocitest.UploadStatus})
		if len(status) != 1 || status[0].ResponseHeader.Get("Range") != "0-0" {
			t.Fatalf("status requests: %v", status)
		}
		// (10 or 11 of them: regclient's count varies from run to run.)
		bad := reg.Filter(ocitest.Match{Kind: ocitest.UploadChunk, Status: 416})
		if len(bad) < 10 || len(bad) > 11 || bad[0].Header.Get("Content-Range") != "1-1048575" {
			t.Fatalf("416s: %v", bad)
		}
	})
	outcomes.Record(t, client, "patch-503", "pass: re-syncs with `GET` upload status and resends the chunk; but a 503 on the first chunk fails: it reads the empty session's `Range: 0-0` as one byte and resends from byte 1 (416) until its retry limit")
}

func TestBlobRedirect(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.RedirectBlobs(quirks.BlobRedirect{})))
	img := ocitest.NewImage(ocitest.Layers(2))
	reg.PushImage(t, "team/app", "v1", img)
	rc := newClient(reg, config.Host{})
	for _, b := range img.Blobs() {
		checkBlob(t, rc, mustRef(t, reg.Ref("team/app")), b)
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.BlobGet, Status: 307}, 3)
	outcomes.Record(t, client, "blob-redirect", outcomes.Pass)
}
