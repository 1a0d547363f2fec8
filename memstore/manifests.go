package memstore

import (
	"maps"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest is a stored manifest. Its fields must not be modified; Content
// is the exact bytes that were pushed.
type Manifest struct {
	// Digest is the digest the manifest was first pushed by (sha256 when
	// first pushed by tag). The manifest can also be fetched by its digest
	// under the other supported algorithm.
	Digest    digest.Digest
	MediaType string
	Content   []byte
	// Subject is the manifest's subject descriptor, nil if it has none.
	Subject *ocispec.Descriptor
	// ArtifactType is the type the referrers API reports: the artifactType
	// field, or for image manifests without one, the config's mediaType.
	ArtifactType string
	Annotations  map[string]string

	// sha256 is the key the repository stores the manifest under (its
	// sha512 digest is indexed beside it, lazily: sha512.go).
	sha256 digest.Digest
	// descJSON is Descriptor() as encoding/json writes it, for manifests
	// with a subject: the referrers index is put together from these.
	descJSON []byte
}

// Descriptor describes m as the referrers API lists it.
func (m *Manifest) Descriptor() ocispec.Descriptor {
	return ocispec.Descriptor{
		MediaType:    m.MediaType,
		Digest:       m.Digest,
		Size:         int64(len(m.Content)),
		ArtifactType: m.ArtifactType,
		Annotations:  maps.Clone(m.Annotations), // callers may modify their copy
	}
}

// IsDigest reports whether a manifest reference is a digest rather than a
// tag (tags cannot contain ':').
func IsDigest(ref string) bool { return strings.Contains(ref, ":") }

// PutManifest stores content as a manifest of repository name. ref is a tag
// or a digest; a digest must match the content under its algorithm. tags are
// further tags to point at the manifest (the spec's ?tag= parameters).
// contentType is the request's Content-Type. The store takes ownership of
// content, which must not change afterwards: the manifest's fields share
// its bytes. On error content is the caller's again. A manifest new to the
// repository counts towards the store's byte limit (ErrStoreFull). On
// error nothing changes.
func (s *Store) PutManifest(name, ref, contentType string, content []byte, tags ...string) (*Manifest, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if max := s.MaxManifestSize(); max > 0 && int64(len(content)) > max {
		return nil, errorf(ErrTooLarge, "manifest of %d bytes exceeds the limit of %d bytes", len(content), max)
	}
	sum256 := digestOf(digest.SHA256, content)
	canonical, sum512 := sum256, digest.Digest("")
	if IsDigest(ref) {
		d, err := ParseDigest(ref)
		if err != nil {
			return nil, err
		}
		computed := sum256
		if d.Algorithm() == digest.SHA512 {
			sum512 = digestOf(digest.SHA512, content)
			computed = sum512
		}
		if d != computed {
			return nil, withDetail(ErrDigestInvalid, map[string]string{"expected": ref, "computed": string(computed)},
				"manifest content does not match digest %s", ref)
		}
		canonical = d
	} else {
		tags = append([]string{ref}, tags...)
	}
	for _, t := range tags {
		if !ValidTag(t) {
			return nil, errorf(ErrTagInvalid, "invalid tag %q", t)
		}
	}
	p, err := parseManifest(contentType, content)
	if err != nil {
		return nil, err
	}

	s.makeRoom(int64(len(content)))
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[name]
	if err := s.checkReferencesLocked(name, r, &p); err != nil {
		return nil, err
	}
	var m *Manifest
	if r != nil {
		m = r.manifests[sum256]
	}
	if m == nil && !s.tryCharge(int64(len(content))) {
		return nil, s.fullError(int64(len(content)))
	}
	if r == nil {
		r = s.repoLocked(name, true)
	}
	if m == nil {
		m = &Manifest{
			Digest:       canonical,
			MediaType:    p.mediaType,
			Content:      content,
			Subject:      p.subject,
			ArtifactType: p.artifactType,
			Annotations:  p.annotations,
			sha256:       sum256,
		}
		r.manifests[sum256] = m
		r.addSHA512Locked(m, sum512)
		if m.Subject != nil {
			m.descJSON = descriptorJSON(m)
			subject := m.Subject.Digest
			r.referrers[referrersKey(subject)] = append(r.referrers[subject], m)
			s.forgetReferrersIndex(r, m.Subject.Digest)
		}
	}
	for _, t := range tags {
		r.setTag(t, m)
	}
	return m, nil
}

// checkReferencesLocked checks that the blobs a manifest names are in the
// repository: the config always, layers and child manifests in strict mode.
// A referenced blob that is present must have the size the manifest claims.
func (s *Store) checkReferencesLocked(name string, r *repo, p *parsedManifest) error {
	if p.config != nil {
		if err := s.checkBlobLocked(name, r, *p.config, true); err != nil {
			return err
		}
	}
	for _, d := range p.layers {
		if err := s.checkBlobLocked(name, r, d, s.cfg.requireAll); err != nil {
			return err
		}
	}
	if s.cfg.requireAll {
		for _, d := range p.children {
			if r == nil || s.manifestByDigestLocked(r, d.Digest) == nil {
				return unknownReference(name, d)
			}
		}
	}
	return nil
}

// checkBlobLocked checks one blob a manifest names: that it is in the
// repository, if required, and has the size the manifest claims.
func (s *Store) checkBlobLocked(name string, r *repo, d ocispec.Descriptor, required bool) error {
	var e *blobEntry
	if r != nil {
		if _, linked := r.blobs[d.Digest]; linked {
			e = s.blobs[d.Digest]
		}
	}
	switch {
	case e == nil && required:
		return unknownReference(name, d)
	case e != nil && e.content.Size() != d.Size:
		return errorf(ErrManifestInvalid, "blob %s has %d bytes, the manifest says %d", d.Digest, e.content.Size(), d.Size)
	}
	return nil
}

// referrersKey is a subject digest as a key of repo.referrers: a copy of
// its own. A manifest's Subject.Digest shares the manifest's bytes
// (decodeManifest), and an assignment to a map replaces the stored key
// with the one given, so a key that were a slice of one manifest's bytes
// would keep them alive after that manifest is deleted, and hand them out
// in Snapshot.
func referrersKey(d digest.Digest) digest.Digest {
	return digest.Digest(strings.Clone(string(d)))
}

func unknownReference(name string, d ocispec.Descriptor) error {
	// A clone: d.Digest shares the refused manifest's bytes, which the
	// caller may reuse (decodeManifest).
	return withDetail(ErrManifestBlobUnknown, map[string]string{"digest": strings.Clone(string(d.Digest))},
		"manifest references %s, unknown to repository %q", d.Digest, name)
}

// setTag points tag at m, keeping tagNames sorted.
func (r *repo) setTag(tag string, m *Manifest) {
	if _, ok := r.tags[tag]; !ok {
		i, _ := slices.BinarySearch(r.tagNames, tag)
		r.tagNames = slices.Insert(r.tagNames, i, tag)
		r.tagOrder = append(r.tagOrder, tag)
	}
	r.tags[tag] = m
}

// deleteTag removes tag, keeping tagNames sorted.
func (r *repo) deleteTag(tag string) {
	delete(r.tags, tag)
	if i, ok := slices.BinarySearch(r.tagNames, tag); ok {
		r.tagNames = slices.Delete(r.tagNames, i, i+1)
	}
	if i := slices.Index(r.tagOrder, tag); i >= 0 {
		r.tagOrder = slices.Delete(r.tagOrder, i, i+1)
	}
}

// Manifest returns the manifest ref (a tag or a digest) of repository name.
// ErrNameUnknown if the repository does not exist, ErrManifestUnknown if the
// manifest or tag does not.
func (s *Store) Manifest(name, ref string) (*Manifest, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repos[name]
	if r == nil {
		return nil, errorf(ErrNameUnknown, "repository %q not known to registry", name)
	}
	var m *Manifest
	if IsDigest(ref) {
		m = s.manifestByDigestLocked(r, digest.Digest(ref))
	} else {
		m = r.tags[ref]
	}
	if m == nil {
		return nil, withDetail(ErrManifestUnknown, map[string]string{"reference": ref},
			"manifest %s unknown to repository %q", ref, name)
	}
	return m, nil
}

// DeleteManifest deletes ref from repository name. A tag is just untagged.
// A digest deletes the manifest itself, every tag pointing at it, and its
// entry in the referrers index.
func (s *Store) DeleteManifest(name, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[name]
	if r == nil {
		return errorf(ErrNameUnknown, "repository %q not known to registry", name)
	}
	if !IsDigest(ref) {
		if _, ok := r.tags[ref]; !ok {
			return withDetail(ErrManifestUnknown, map[string]string{"reference": ref}, "tag %q unknown to repository %q", ref, name)
		}
		r.deleteTag(ref)
		return nil
	}
	m := s.manifestByDigestLocked(r, digest.Digest(ref))
	if m == nil {
		return withDetail(ErrManifestUnknown, map[string]string{"reference": ref}, "manifest %s unknown to repository %q", ref, name)
	}
	delete(r.manifests, m.sha256)
	r.forgetSHA512Locked(m)
	s.release(int64(len(m.Content)))
	for _, t := range slices.Clone(r.tagNames) {
		if r.tags[t] == m {
			r.deleteTag(t)
		}
	}
	if m.Subject != nil {
		s.forgetReferrersIndex(r, m.Subject.Digest)
		list := slices.DeleteFunc(r.referrers[m.Subject.Digest], func(x *Manifest) bool { return x == m })
		if len(list) == 0 {
			delete(r.referrers, m.Subject.Digest)
		} else {
			r.referrers[referrersKey(m.Subject.Digest)] = list
		}
	}
	return nil
}

// Tags returns up to n tags of repository name (all when n < 0) in lexical
// order after last, and whether more follow. ErrNameUnknown if the
// repository does not exist.
func (s *Store) Tags(name, last string, n int) ([]string, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repos[name]
	if r == nil {
		return nil, false, errorf(ErrNameUnknown, "repository %q not known to registry", name)
	}
	tags, more := page(r.tagNames, last, n)
	return tags, more, nil
}

// TagsInPushOrder returns every tag of repository name in the order the
// tags were first pushed, the order storage-backed registries list them
// in. ErrNameUnknown if the repository does not exist.
func (s *Store) TagsInPushOrder(name string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repos[name]
	if r == nil {
		return nil, errorf(ErrNameUnknown, "repository %q not known to registry", name)
	}
	return slices.Clone(r.tagOrder), nil
}

// Referrers returns descriptors of the manifests in repository name whose
// subject is d, in the order they were pushed, keeping only those of
// artifactType when it is not empty. A repository that does not exist has
// no referrers.
func (s *Store) Referrers(name string, d digest.Digest, artifactType string) []ocispec.Descriptor {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []ocispec.Descriptor{}
	r := s.repos[name]
	if r == nil {
		return out
	}
	for _, m := range r.referrers[d] {
		if artifactType == "" || m.ArtifactType == artifactType {
			out = append(out, m.Descriptor())
		}
	}
	return out
}
