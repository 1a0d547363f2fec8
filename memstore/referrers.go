package memstore

import (
	"encoding/json"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The referrers index of a subject is answered from bytes, not rebuilt:
// each manifest with a subject keeps its descriptor encoded (descJSON,
// made once when it is pushed), and the index of a subject is those
// joined, cached until the subject's referrers change.

// referrersIndexPrefix and referrersIndexSuffix wrap the descriptors of an
// index exactly as encoding/json writes an ocispec.Index with only
// SchemaVersion, MediaType and Manifests set.
const (
	referrersIndexPrefix = `{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageIndex + `","manifests":[`
	referrersIndexSuffix = `]}`
)

// descriptorJSON is m's referrers descriptor as encoding/json writes it.
func descriptorJSON(m *Manifest) []byte {
	b, err := json.Marshal(m.Descriptor())
	if err != nil {
		panic("memstore: encoding a descriptor: " + err.Error()) // strings and an int64 always encode
	}
	return b
}

// ReferrersIndex returns the referrers of subject d in repository name as
// an encoded OCI image index: the JSON encoding/json writes for an
// ocispec.Index (schemaVersion 2, the image index media type) whose
// manifests are Referrers(name, d, artifactType). A subject without
// referrers, also in a repository that does not exist, has an empty
// index. The unfiltered index is kept until the subject's referrers
// change, so asking again costs nothing; the bytes are shared and must
// not be modified.
func (s *Store) ReferrersIndex(name string, d digest.Digest, artifactType string) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repos[name]
	if r == nil {
		return []byte(referrersIndexPrefix + referrersIndexSuffix)
	}
	list := r.referrers[d]
	if artifactType != "" {
		return encodeReferrers(list, artifactType)
	}
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if b, ok := r.referrersIndex[d]; ok {
		return b
	}
	b := encodeReferrers(list, "")
	if r.referrersIndex == nil {
		r.referrersIndex = map[digest.Digest][]byte{}
	}
	r.referrersIndex[d] = b
	return b
}

// encodeReferrers joins the encoded descriptors of list (those of
// artifactType, when not empty) into an index, in one exact-size buffer.
func encodeReferrers(list []*Manifest, artifactType string) []byte {
	n := len(referrersIndexPrefix) + len(referrersIndexSuffix)
	for _, m := range list {
		n += len(m.descJSON) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, referrersIndexPrefix...)
	first := true
	for _, m := range list {
		if artifactType != "" && m.ArtifactType != artifactType {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, m.descJSON...)
	}
	return append(b, referrersIndexSuffix...)
}

// forgetReferrersIndex drops the cached index of subject d; the caller
// holds s.mu for writing.
func (s *Store) forgetReferrersIndex(r *repo, d digest.Digest) {
	s.indexMu.Lock()
	delete(r.referrersIndex, d)
	s.indexMu.Unlock()
}
