package memstore

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestSnapshotEmpty(t *testing.T) {
	got := New().Snapshot()
	want := Snapshot{
		Blobs:        map[digest.Digest]int64{},
		Repositories: map[string]RepositorySnapshot{},
		Uploads:      map[string]UploadInfo{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("empty Snapshot (-want +got):\n%s", diff)
	}
	if got.Blobs == nil || got.Repositories == nil || got.Uploads == nil {
		t.Error("empty Snapshot has nil maps")
	}
}

// buildState fills a store with one of everything and returns what its
// snapshot must be.
func buildState(t *testing.T) (*Store, Snapshot) {
	t.Helper()
	f := newFixture(t)
	s := f.s
	subject := ocispec.Descriptor{MediaType: MediaTypeOCIManifest, Digest: sha256Of([]byte("subject")), Size: 7}
	img := mustPutManifest(t, s, "app", "v1", MediaTypeOCIManifest, f.image(t, nil), "latest")
	img2body := f.image(t, func(m *ocispec.Manifest) { m.Layers = m.Layers[:1] })
	img2 := mustPutManifest(t, s, "app", string(digest.SHA512.FromBytes(img2body)), MediaTypeOCIManifest, img2body)
	ref1 := mustPutManifest(t, s, "app", "r1", MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) { m.Subject = &subject; m.ArtifactType = mtSBOM }))
	ref2 := mustPutManifest(t, s, "app", "r2", MediaTypeOCIManifest, f.image(t, func(m *ocispec.Manifest) { m.Subject = &subject; m.Layers = nil }))
	if _, err := s.MountBlob("mirror", "app", f.layer.Digest); err != nil {
		t.Fatal(err)
	}
	u1 := mustStart(t, s, "app", "")
	mustAppend(t, s, "app", u1.ID, "partial")
	u2 := mustStart(t, s, "mirror", digest.SHA512)
	done := mustStart(t, s, "app", "")
	if _, err := s.CompleteUpload("app", done.ID, sha256Of([]byte("done")), 0, strings.NewReader("done"), 4); err != nil {
		t.Fatal(err)
	}
	cancelled := mustStart(t, s, "app", "")
	if err := s.CancelUpload("app", cancelled.ID); err != nil {
		t.Fatal(err)
	}

	sorted := func(ds ...digest.Digest) []digest.Digest {
		out := append([]digest.Digest(nil), ds...)
		slices.Sort(out)
		return out
	}
	doneDigest := sha256Of([]byte("done"))
	want := Snapshot{
		Blobs: map[digest.Digest]int64{
			f.config.Digest: f.config.Size,
			f.layer.Digest:  f.layer.Size,
			f.layer2.Digest: f.layer2.Size,
			doneDigest:      4,
		},
		Repositories: map[string]RepositorySnapshot{
			"app": {
				Blobs:     sorted(f.config.Digest, f.layer.Digest, f.layer2.Digest, doneDigest),
				Manifests: sorted(img.Digest, img2.Digest, ref1.Digest, ref2.Digest),
				Tags:      map[string]digest.Digest{"v1": img.Digest, "latest": img.Digest, "r1": ref1.Digest, "r2": ref2.Digest},
				Referrers: map[digest.Digest][]digest.Digest{subject.Digest: {ref1.Digest, ref2.Digest}},
			},
			"mirror": {
				Blobs:     []digest.Digest{f.layer.Digest},
				Manifests: []digest.Digest{},
				Tags:      map[string]digest.Digest{},
				Referrers: map[digest.Digest][]digest.Digest{},
			},
		},
		Uploads: map[string]UploadInfo{
			u1.ID: {ID: u1.ID, Repository: "app", Size: 7, Algorithm: digest.SHA256},
			u2.ID: {ID: u2.ID, Repository: "mirror", Size: 0, Algorithm: digest.SHA512},
		},
	}
	return s, want
}

func TestSnapshotState(t *testing.T) {
	s, want := buildState(t)
	got := s.Snapshot()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
	// A manifest pushed by its sha512 digest is listed once, by that digest.
	for _, d := range got.Repositories["app"].Manifests {
		m, err := s.Manifest("app", string(d))
		if err != nil || m.Digest != d {
			t.Errorf("Snapshot lists %s, which is not a manifest's own digest (%v)", d, err)
		}
	}
}

func TestSnapshotIsACopy(t *testing.T) {
	s, want := buildState(t)
	snap := s.Snapshot()
	// Scribble over everything the snapshot holds.
	for d := range snap.Blobs {
		snap.Blobs[d] = -1
	}
	snap.Blobs["sha256:extra"] = 1
	for name, rs := range snap.Repositories {
		for i := range rs.Blobs {
			rs.Blobs[i] = "x"
		}
		for i := range rs.Manifests {
			rs.Manifests[i] = "x"
		}
		rs.Tags["new"] = "x"
		for k, list := range rs.Referrers {
			for i := range list {
				list[i] = "x"
			}
			rs.Referrers[k] = append(list, "y")
		}
		snap.Repositories[name] = rs
	}
	snap.Repositories["new"] = RepositorySnapshot{}
	for id := range snap.Uploads {
		delete(snap.Uploads, id)
	}
	if diff := cmp.Diff(want, s.Snapshot()); diff != "" {
		t.Errorf("modifying a snapshot changed the store (-want +got):\n%s", diff)
	}
}

func TestSnapshotDeterministic(t *testing.T) {
	s1, _ := buildState(t)
	s2, _ := buildState(t)
	if diff := cmp.Diff(s1.Snapshot(), s2.Snapshot()); diff != "" {
		t.Errorf("two stores built the same way differ (-first +second):\n%s", diff)
	}
	// Repeated snapshots of one store are equal.
	if diff := cmp.Diff(s1.Snapshot(), s1.Snapshot()); diff != "" {
		t.Errorf("repeated snapshots differ:\n%s", diff)
	}
}

func TestSnapshotTracksChanges(t *testing.T) {
	s, _ := buildState(t)
	before := s.Snapshot()
	mustPutBlob(t, s, "app", []byte("new blob"))
	after := s.Snapshot()
	if cmp.Equal(before, after) {
		t.Fatal("pushing a blob did not change the snapshot")
	}
	d := sha256Of([]byte("new blob"))
	if after.Blobs[d] != 8 {
		t.Errorf("new blob size = %d", after.Blobs[d])
	}
	// The change is exactly the new blob.
	before.Blobs[d] = 8
	rs := before.Repositories["app"]
	rs.Blobs = append(rs.Blobs, d)
	slices.Sort(rs.Blobs)
	before.Repositories["app"] = rs
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("unexpected changes (-want +got):\n%s", diff)
	}
}
