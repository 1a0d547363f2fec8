package oras_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
	"github.com/ocifixture/ocifixture/quirks"
)

// statusOf is the HTTP status of an oras error response, 0 if it has none.
func statusOf(err error) int {
	var e *errcode.ErrorResponse
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

func TestECRPageLimit(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.ECR()...))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v000", img)
	for i := 1; i < 250; i++ {
		reg.Tag(t, "team/app", fmt.Sprintf("v%03d", i), img.Digest())
	}
	list := func(pageSize int) (int, error) {
		repo := repository(t, reg, "team/app")
		repo.TagListPageSize = pageSize
		n := 0
		err := repo.Tags(context.Background(), "", func(page []string) error { n += len(page); return nil })
		return n, err
	}
	// By default oras sends no n; ECR pages by 100 and oras follows Link.
	if n, err := list(0); err != nil || n != 250 {
		t.Fatalf("default listing: %d tags, %v", n, err)
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.TagsList, Status: 200}, 3)
	// Asking for more than 1000 gets ECR's 405; oras has no fallback.
	if _, err := list(5000); statusOf(err) != http.StatusMethodNotAllowed {
		t.Fatalf("n=5000: %v", err)
	}
	outcomes.Record(t, client, "ecr-page-limit", "default (no `n`) passes, following ECR's pages of 100; `TagListPageSize = 5000` fails: 405 `UNSUPPORTED`, no fallback")
}

func TestECRTagDigest(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.ECR()...))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	desc, rc, err := repository(t, reg, "team/app").FetchReference(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	body, err := content.ReadAll(rc, desc)
	rc.Close()
	if err != nil || !bytes.Equal(body, img.Bytes()) || desc.Digest != img.Digest() {
		t.Fatalf("fetched %v (err %v)", desc, err)
	}
	get := reg.Filter(ocitest.Match{Kind: ocitest.ManifestGet})
	if len(get) != 1 || get[0].ResponseHeader.Get("Docker-Content-Digest") != "" {
		t.Fatalf("manifest GETs: %v", get)
	}
	outcomes.Record(t, client, "ecr-tag-digest", "pass (hashes the body)")
}

// referrersFallback pushes an image and two artifacts (an SBOM, then a
// signature) under a preset without the referrers API, lists the SBOMs with
// the artifactType filter, and returns them and what the fallback tag holds.
func referrersFallback(t *testing.T, preset []quirks.Quirk) (reg *ocitest.Registry, found []ocispec.Descriptor, stored []string) {
	reg = ocitest.New(t, ocitest.WithQuirks(preset...))
	img, _ := pushReferrers(t, reg, repository(t, reg, "team/app"))
	fallback := "sha256-" + img.Digest().Encoded()
	// The manifest PUTs had no OCI-Subject, so oras kept the sha256-<hex>
	// index itself: read it, write it back with the new artifact.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestPut, Reference: fallback, Status: 201}, 2)

	err := repository(t, reg, "team/app").Referrers(context.Background(), img.Descriptor(), sbomType, func(page []ocispec.Descriptor) error {
		found = append(found, page...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Listing asks the referrers API (404), then reads the tag and filters.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ReferrersList, Status: 404}, 1)

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
	reg, found, stored := referrersFallback(t, quirks.GHCR())
	if len(found) != 1 || len(stored) != 2 {
		t.Fatalf("found %v; fallback index holds %v", found, stored)
	}
	// oras garbage-collects the index it replaced.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestDelete, Status: 202}, 1)

	t.Run("oras.Copy", func(t *testing.T) {
		// Copying an artifact whose subject was just pushed: oras.Copy
		// walks to the subject and checks it with a HEAD, which GHCR's
		// read-after-write lag answers 404; oras then wants to copy the
		// subject too, and the source does not have it.
		ctx := context.Background()
		reg := ocitest.New(t, ocitest.WithQuirks(quirks.GHCR()...))
		repo := repository(t, reg, "team/app")
		img := ocitest.NewImage()
		if _, err := oras.Copy(ctx, local(t, "v1", img, img.Blobs()...), "v1", repo, "v1", oras.DefaultCopyOptions); err != nil {
			t.Fatal(err)
		}
		subject := img.Descriptor()
		sbom := ocitest.NewArtifact(sbomType, &subject, []byte(`{}`))
		_, err := oras.Copy(ctx, local(t, "x", sbom, sbom.Blobs()...), "x", repo, sbom.Digest().String(), oras.DefaultCopyOptions)
		if err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("copy: %v", err)
		}
		head := "HEAD /v2/team/app/manifests/" + img.Digest().String()
		reg.AssertRequestLines(t, ocitest.Match{Reference: img.Digest().String()},
			head+" -> 404", // before the image push: right
			head+" -> 404", // after it: the lag
		)
	})
	outcomes.Record(t, client, "ghcr-referrers-fallback", "pass (tag schema) with `Repository.Push`; `oras.Copy` of the artifact fails: its HEAD of the just-pushed subject meets the read lag (404)")
}

func TestDockerHubReferrersFallback(t *testing.T) {
	reg, found, stored := referrersFallback(t, quirks.DockerHub())
	// As with ggcr: Docker Hub's tag read lag answers oras's read of the
	// fallback tag, right after it wrote it, with 404, so oras starts a new
	// index with the signature alone. The listing right after sees the
	// previous index (the SBOM alone).
	fallback := "sha256-" + ocitest.NewImage().Digest().Encoded()
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.ManifestGet, Reference: fallback},
		"GET /v2/team/app/manifests/"+fallback+" -> 404",
		"GET /v2/team/app/manifests/"+fallback+" -> 404", // lag
		"GET /v2/team/app/manifests/"+fallback+" -> 200", // lag: the previous index
	)
	if len(stored) != 1 || stored[0] != "application/vnd.example.signature" || len(found) != 1 {
		t.Fatalf("found %v; fallback index holds %v", found, stored)
	}
	outcomes.Record(t, client, "dockerhub-referrers-fallback", "fails: loses an artifact: under the tag read lag its read-modify-write of the `sha256-<hex>` index starts from a 404")
}

func TestDockerHubRateLimit(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(append(quirks.DockerHub(),
		quirks.DockerHubRateLimit(quirks.RateLimit{Limit: 1, Window: 6 * time.Hour}),
		quirks.UnusualRetryAfter(quirks.RetryAfterSeconds, time.Second))...))
	reg.PushImage(t, "team/app", "v1", ocitest.NewImage())
	repo := repository(t, reg, "team/app")

	fetch := func() error {
		_, rc, err := repo.FetchReference(context.Background(), "v1")
		if err == nil {
			rc.Close()
		}
		return err
	}
	if err := fetch(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := fetch()
	if statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("second pull: %v", err)
	}
	// oras's retry policy: 5 retries, waiting Retry-After when a 429 has one.
	got := reg.Count(ocitest.Match{Kind: ocitest.ManifestGet, Status: 429})
	if got != 6 || time.Since(start) < 5*time.Second {
		t.Fatalf("%d 429s in %v", got, time.Since(start))
	}
	outcomes.Record(t, client, "dockerhub-429", fmt.Sprintf("fails after %d tries, waiting `Retry-After` (1s) between them", got))
}

func TestPatch503(t *testing.T) {
	reg := ocitest.New(t)
	img := ocitest.NewImage(ocitest.Layers(1))
	reg.FailNext(ocitest.Match{Kind: ocitest.UploadComplete}, http.StatusServiceUnavailable)
	layer := img.Layers[0]
	if err := repository(t, reg, "team/app").Push(context.Background(), layer.Descriptor, bytes.NewReader(layer.Data)); err != nil {
		t.Fatal(err)
	}
	// oras never PATCHes. Its retrying transport repeats the failed PUT,
	// since a bytes.Reader body can be rewound (a plain io.Reader could not).
	reg.AssertRequestLines(t, ocitest.Match{Kind: ocitest.UploadComplete},
		"PUT /v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000001?digest="+layer.Descriptor.Digest.String()+" -> 503",
		"PUT /v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000001?digest="+layer.Descriptor.Digest.String()+" -> 201",
	)
	outcomes.Record(t, client, "patch-503", "n/a: never PATCHes; a 503 on its one PUT is retried when the body can be rewound")
}

func TestBlobRedirect(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithQuirks(quirks.RedirectBlobs(quirks.BlobRedirect{})))
	img := ocitest.NewImage(ocitest.Layers(2))
	reg.PushImage(t, "team/app", "v1", img)
	repo := repository(t, reg, "team/app")

	for _, b := range img.Blobs() {
		got, err := content.FetchAll(context.Background(), repo, b.Descriptor)
		if err != nil || !bytes.Equal(got, b.Data) {
			t.Fatalf("blob %s: %v", b.Descriptor.Digest, err)
		}
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.BlobGet, Status: 307}, 3)
	outcomes.Record(t, client, "blob-redirect", outcomes.Pass)
}
