package ocitest

import (
	"bytes"
	"fmt"
	"sort"
	"testing"

	"github.com/opencontainers/go-digest"
)

// Seeding writes content straight into the registry's store, without HTTP
// and without appearing in what the registry serves as requests. Each
// helper reports failure with t.Fatalf.

// PushBlob stores data in repo and returns its digest.
func (reg *Registry) PushBlob(t testing.TB, repo string, data []byte) digest.Digest {
	t.Helper()
	info, err := reg.store.PutBlob(repo, "", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("ocitest: pushing blob to %s: %v", repo, err)
	}
	return info.Digest
}

// PushManifest stores m and everything it references in repo, tagged with
// tag (by digest only when tag is empty): an image's blobs, or an index's
// child manifests and their blobs, recursively.
func (reg *Registry) PushManifest(t testing.TB, repo, tag string, m Manifest) {
	t.Helper()
	if err := reg.Push(repo, tag, m); err != nil {
		t.Fatalf("%v", err)
	}
}

// PushImage stores an image (or artifact) and its blobs in repo under tag.
func (reg *Registry) PushImage(t testing.TB, repo, tag string, img *Image) {
	t.Helper()
	reg.PushManifest(t, repo, tag, img)
}

// PushArtifact stores an artifact made by NewArtifact, with its blobs, in
// repo under tag (by digest only when tag is empty).
func (reg *Registry) PushArtifact(t testing.TB, repo, tag string, a *Image) {
	t.Helper()
	reg.PushManifest(t, repo, tag, a)
}

// PushIndex stores an index, its child manifests and their blobs in repo.
func (reg *Registry) PushIndex(t testing.TB, repo, tag string, idx *Index) {
	t.Helper()
	reg.PushManifest(t, repo, tag, idx)
}

// Push is PushManifest returning an error instead of failing a test, for
// TestMain, Example functions and programs.
func (reg *Registry) Push(repo, tag string, m Manifest) error {
	switch m := m.(type) {
	case *Image:
		for _, b := range m.Blobs() {
			if _, err := reg.store.PutBlob(repo, b.Descriptor.Digest, bytes.NewReader(b.Data), int64(len(b.Data))); err != nil {
				return fmt.Errorf("ocitest: pushing blob %s to %s: %w", b.Descriptor.Digest, repo, err)
			}
		}
	case *Index:
		for _, child := range m.Manifests {
			if err := reg.Push(repo, "", child); err != nil {
				return err
			}
		}
	}
	d := m.Descriptor()
	ref := tag
	if ref == "" {
		ref = string(d.Digest)
	}
	if _, err := reg.store.PutManifest(repo, ref, d.MediaType, m.Bytes()); err != nil {
		return fmt.Errorf("ocitest: pushing %s to %s: %w", d.Digest, repo, err)
	}
	return nil
}

// Tag points tag in repo at the manifest d already stored there.
func (reg *Registry) Tag(t testing.TB, repo, tag string, d digest.Digest) {
	t.Helper()
	m, err := reg.store.Manifest(repo, string(d))
	if err == nil {
		_, err = reg.store.PutManifest(repo, tag, m.MediaType, m.Content)
	}
	if err != nil {
		t.Fatalf("ocitest: pointing %s:%s at %s: %v", repo, tag, d, err)
	}
}

// Content declares what Seed stores: repository → tag → manifest.
type Content map[string]map[string]Manifest

// Seed stores every manifest of c under its repository and tag, in sorted
// order so that the store's state does not depend on map iteration.
func (reg *Registry) Seed(t testing.TB, c Content) {
	t.Helper()
	repos := make([]string, 0, len(c))
	for r := range c {
		repos = append(repos, r)
	}
	sort.Strings(repos)
	for _, repo := range repos {
		tags := make([]string, 0, len(c[repo]))
		for tag := range c[repo] {
			tags = append(tags, tag)
		}
		sort.Strings(tags)
		for _, tag := range tags {
			reg.PushManifest(t, repo, tag, c[repo][tag])
		}
	}
}
