package memstore

import (
	"slices"

	"github.com/opencontainers/go-digest"
)

// A manifest can be fetched by its sha256 or its sha512 digest, but almost
// every client only ever uses sha256, and hashing each pushed manifest a
// second time was a fifth of the cost of a push. So a repository stores
// manifests under their sha256 digest, and indexes them by sha512 only
// once somebody asks for a sha512 digest: then the manifests pushed since
// the last such lookup (repo.unhashed) are hashed, once each.
//
// The index (repo.sha512 and repo.unhashed) changes either under Store.mu
// held for writing, or under Store.mu held for reading together with
// Store.sha512Mu, so lookups need not give up their read lock. It is kept
// beside the manifests, never in them: a *Manifest does not change once
// made, so callers may copy or compare the ones they hold at any time.

// addSHA512Locked indexes a new manifest by sum512, its sha512 digest,
// or, when that is not known yet (""), leaves it for the next sha512
// lookup. The caller holds s.mu for writing.
func (r *repo) addSHA512Locked(m *Manifest, sum512 digest.Digest) {
	if sum512 == "" {
		r.unhashed = append(r.unhashed, m)
		return
	}
	if r.sha512 == nil {
		r.sha512 = map[digest.Digest]*Manifest{}
	}
	r.sha512[sum512] = m
}

// forgetSHA512Locked drops a deleted manifest from the sha512 index. The
// caller holds s.mu for writing.
func (r *repo) forgetSHA512Locked(m *Manifest) {
	if i := slices.Index(r.unhashed, m); i >= 0 {
		// Not hashed yet: forgotten without hashing it (and not kept
		// alive by the list).
		r.unhashed = slices.Delete(r.unhashed, i, i+1)
		return
	}
	d := m.Digest
	if d.Algorithm() != digest.SHA512 {
		d = digestOf(digest.SHA512, m.Content)
	}
	delete(r.sha512, d)
}

// manifestByDigestLocked returns the manifest of r with digest d, nil if
// there is none. The caller holds s.mu, for reading or writing.
func (s *Store) manifestByDigestLocked(r *repo, d digest.Digest) *Manifest {
	if d.Algorithm() != digest.SHA512 {
		return r.manifests[d]
	}
	s.sha512Mu.Lock()
	defer s.sha512Mu.Unlock()
	if len(r.unhashed) > 0 {
		pending := r.unhashed
		r.unhashed = nil
		for _, m := range pending {
			r.addSHA512Locked(m, digestOf(digest.SHA512, m.Content))
		}
	}
	return r.sha512[d]
}
