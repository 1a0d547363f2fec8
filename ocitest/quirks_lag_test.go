package ocitest

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const lagManifestType = "Content-Type: " + ocispec.MediaTypeImageManifest

func lagTagList(t *testing.T, reg *Registry, repo string) []string {
	t.Helper()
	resp := do(t, reg, "GET", "/v2/"+repo+"/tags/list", nil)
	wantStatus(t, resp, http.StatusOK)
	var body struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Tags
}

func TestQuirkReadAfterWriteLagNewTag(t *testing.T) {
	q := quirks.ReadAfterWriteLag(quirks.Lag{Tags: 2, Manifests: 1, TagList: 1})
	reg := New(t, WithQuirks(q))
	name := "read-after-write-lag(tags=2,manifests=1,tagList=1)"
	img := newTestImage("a", nil, "")
	pushImage(t, reg, "app", "v1", img)
	dhWantQuirks(t, reg) // the push itself is answered as usual

	for range 2 {
		wantError(t, do(t, reg, "GET", "/v2/app/manifests/v1", nil), http.StatusNotFound, "MANIFEST_UNKNOWN")
		dhWantQuirks(t, reg, name)
	}
	resp := do(t, reg, "GET", "/v2/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest))
	dhWantQuirks(t, reg)

	wantStatus(t, do(t, reg, "HEAD", "/v2/app/manifests/"+string(img.Digest), nil), http.StatusNotFound)
	dhWantQuirks(t, reg, name)
	wantStatus(t, do(t, reg, "HEAD", "/v2/app/manifests/"+string(img.Digest), nil), http.StatusOK)
	dhWantQuirks(t, reg)

	if tags := lagTagList(t, reg, "app"); len(tags) != 0 {
		t.Errorf("first tag list = %v, want the new tag left out", tags)
	}
	dhWantQuirks(t, reg, name)
	if tags := lagTagList(t, reg, "app"); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("second tag list = %v", tags)
	}
	dhWantQuirks(t, reg)

	// Blobs were not asked to lag; seeded content never lags.
	wantStatus(t, do(t, reg, "GET", "/v2/app/blobs/"+string(digest.FromBytes(img.Layer)), nil), http.StatusOK)
	dhWantQuirks(t, reg)
	reg.PushImage(t, "app", "seeded", NewImage())
	wantStatus(t, do(t, reg, "GET", "/v2/app/manifests/seeded", nil), http.StatusOK)
	dhWantQuirks(t, reg)
}

func TestQuirkReadAfterWriteLagMovedTag(t *testing.T) {
	q := quirks.ReadAfterWriteLag(quirks.Lag{Tags: 1, TagList: 1, Manifests: 1})
	reg := New(t, WithQuirks(q))
	old, moved := newTestImage("old", nil, ""), newTestImage("new", nil, "")
	pushImage(t, reg, "app", "v1", old)
	// Let the first push show.
	wantStatus(t, do(t, reg, "GET", "/v2/app/manifests/v1", nil), http.StatusNotFound)
	wantStatus(t, do(t, reg, "GET", "/v2/app/manifests/"+string(old.Digest), nil), http.StatusNotFound)
	lagTagList(t, reg, "app")
	pushBlob(t, reg, "app", moved.Config)
	pushBlob(t, reg, "app", moved.Layer)
	wantStatus(t, do(t, reg, "PUT", "/v2/app/manifests/v1", moved.Manifest, lagManifestType), http.StatusCreated)

	// The moved tag still shows the old manifest once; the tag list, which
	// already had v1, is unchanged.
	resp := do(t, reg, "GET", "/v2/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Docker-Content-Digest", string(old.Digest))
	dhWantQuirks(t, reg, q.String())
	if last := dhLast(t, reg); last.Reference != "v1" {
		t.Errorf("recorded reference %q, want the tag as sent", last.Reference)
	}
	resp = do(t, reg, "GET", "/v2/app/manifests/v1", nil)
	wantHeader(t, resp, "Docker-Content-Digest", string(moved.Digest))
	dhWantQuirks(t, reg)
	if tags := lagTagList(t, reg, "app"); !slices.Equal(tags, []string{"v1"}) {
		t.Errorf("tag list = %v", tags)
	}
	dhWantQuirks(t, reg)

	// Re-tagging an existing manifest does not hide it by digest.
	wantStatus(t, do(t, reg, "PUT", "/v2/app/manifests/v2", old.Manifest, lagManifestType), http.StatusCreated)
	wantStatus(t, do(t, reg, "GET", "/v2/app/manifests/"+string(old.Digest), nil), http.StatusOK)
	dhWantQuirks(t, reg)
}

func TestQuirkReadAfterWriteLagBlobs(t *testing.T) {
	q := quirks.ReadAfterWriteLag(quirks.Lag{Blobs: 1})
	reg := New(t, WithQuirks(q))
	img := newTestImage("b", nil, "")
	cfg := pushBlob(t, reg, "app", img.Config)
	layer := pushBlob(t, reg, "app", img.Layer)

	// GHCR's "unknown blob" between layer push and manifest push.
	resp := do(t, reg, "PUT", "/v2/app/manifests/v1", img.Manifest, lagManifestType)
	wantError(t, resp, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
	dhWantQuirks(t, reg, "read-after-write-lag(blobs=1)")
	// That read used the config's lag; the layer's is left for a GET.
	wantError(t, do(t, reg, "GET", "/v2/app/blobs/"+string(layer), nil), http.StatusNotFound, "BLOB_UNKNOWN")
	dhWantQuirks(t, reg, q.String())
	wantStatus(t, do(t, reg, "HEAD", "/v2/app/blobs/"+string(cfg), nil), http.StatusOK)
	dhWantQuirks(t, reg)
	wantStatus(t, do(t, reg, "PUT", "/v2/app/manifests/v1", img.Manifest, lagManifestType), http.StatusCreated)
	dhWantQuirks(t, reg)

	// A blob already in the repository does not lag when pushed again.
	pushBlob(t, reg, "app", img.Config)
	wantStatus(t, do(t, reg, "GET", "/v2/app/blobs/"+string(cfg), nil), http.StatusOK)
	dhWantQuirks(t, reg)
	// A mount into another repository is new there.
	resp = do(t, reg, "POST", "/v2/other/blobs/uploads/?mount="+string(cfg)+"&from=app", nil)
	wantStatus(t, resp, http.StatusCreated)
	wantStatus(t, do(t, reg, "GET", "/v2/other/blobs/"+string(cfg), nil), http.StatusNotFound)
	wantStatus(t, do(t, reg, "GET", "/v2/other/blobs/"+string(cfg), nil), http.StatusOK)
}

func TestQuirkReadAfterWriteLagReferrers(t *testing.T) {
	q := quirks.ReadAfterWriteLag(quirks.Lag{Referrers: 1})
	reg := New(t, WithQuirks(q))
	subject := newTestImage("subject", nil, "")
	pushImage(t, reg, "app", "v1", subject)
	sig := newTestImage("sig", subject.descriptor(), "application/vnd.example.sig")
	pushImage(t, reg, "app", string(sig.Digest), sig)

	path := "/v2/app/referrers/" + string(subject.Digest)
	var index ocispec.Index
	resp := do(t, reg, "GET", path, nil)
	wantStatus(t, resp, http.StatusOK)
	json.Unmarshal(resp.Body, &index)
	if len(index.Manifests) != 0 {
		t.Errorf("first listing has %d referrers, want the new one left out", len(index.Manifests))
	}
	dhWantQuirks(t, reg, q.String())
	resp = do(t, reg, "GET", path, nil)
	json.Unmarshal(resp.Body, &index)
	if len(index.Manifests) != 1 || index.Manifests[0].Digest != sig.Digest {
		t.Errorf("second listing = %+v", index.Manifests)
	}
	dhWantQuirks(t, reg)
	// Only referrers were asked to lag: the manifest itself is visible.
	wantStatus(t, do(t, reg, "GET", "/v2/app/manifests/"+string(sig.Digest), nil), http.StatusOK)
	dhWantQuirks(t, reg)
}

func TestQuirkReadAfterWriteLagOtherRegistries(t *testing.T) {
	// One quirk value in two registries: their lags do not mix.
	q := quirks.ReadAfterWriteLag(quirks.Lag{Tags: 1})
	a, b := New(t, WithQuirks(q)), New(t, WithQuirks(q))
	img := newTestImage("x", nil, "")
	pushImage(t, a, "app", "v1", img)
	pushImage(t, b, "app", "v1", img)
	wantStatus(t, do(t, a, "GET", "/v2/app/manifests/v1", nil), http.StatusNotFound)
	wantStatus(t, do(t, b, "GET", "/v2/app/manifests/v1", nil), http.StatusNotFound)
	wantStatus(t, do(t, a, "GET", "/v2/app/manifests/v1", nil), http.StatusOK)
}
