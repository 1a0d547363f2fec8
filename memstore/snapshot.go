package memstore

import (
	"slices"

	"github.com/opencontainers/go-digest"
)

// Snapshot is a plain-value copy of the store's state, made to be compared
// with go-cmp (for example "a rejected request changed nothing"). Slices
// are sorted, so equal states give equal snapshots.
type Snapshot struct {
	// Blobs maps every stored blob to its size.
	Blobs map[digest.Digest]int64
	// Repositories maps repository names to their state.
	Repositories map[string]RepositorySnapshot
	// Uploads maps open upload session ids to their state.
	Uploads map[string]UploadInfo
}

// RepositorySnapshot is one repository's state.
type RepositorySnapshot struct {
	// Blobs are the blobs linked into the repository.
	Blobs []digest.Digest
	// Manifests are the manifests' digests (as pushed).
	Manifests []digest.Digest
	// Tags maps each tag to its manifest's digest.
	Tags map[string]digest.Digest
	// Referrers maps subject digests to the digests of their referrers, in
	// push order.
	Referrers map[digest.Digest][]digest.Digest
}

// Snapshot copies the store's current state.
func (s *Store) Snapshot() Snapshot {
	s.mu.RLock()
	snap := Snapshot{
		Blobs:        make(map[digest.Digest]int64, len(s.blobs)),
		Repositories: make(map[string]RepositorySnapshot, len(s.repos)),
		Uploads:      make(map[string]UploadInfo, len(s.uploads)),
	}
	for d, e := range s.blobs {
		snap.Blobs[d] = e.content.Size()
	}
	for name, r := range s.repos {
		rs := RepositorySnapshot{
			Blobs:     make([]digest.Digest, 0, len(r.blobs)),
			Manifests: []digest.Digest{},
			Tags:      make(map[string]digest.Digest, len(r.tags)),
			Referrers: make(map[digest.Digest][]digest.Digest, len(r.referrers)),
		}
		for d := range r.blobs {
			rs.Blobs = append(rs.Blobs, d)
		}
		slices.Sort(rs.Blobs)
		for _, m := range r.manifests {
			rs.Manifests = append(rs.Manifests, m.Digest)
		}
		slices.Sort(rs.Manifests)
		for t, m := range r.tags {
			rs.Tags[t] = m.Digest
		}
		for subj, list := range r.referrers {
			ds := make([]digest.Digest, len(list))
			for i, m := range list {
				ds[i] = m.Digest
			}
			rs.Referrers[subj] = ds
		}
		snap.Repositories[name] = rs
	}
	uploads := make([]*upload, 0, len(s.uploads))
	now := s.cfg.now()
	for _, u := range s.uploads {
		if !s.expired(u, now) { // expired sessions are gone, if not yet purged
			uploads = append(uploads, u)
		}
	}
	s.mu.RUnlock()
	// Session locks are taken after the store lock is released: a session
	// completing holds its own lock while it takes the store lock.
	for _, u := range uploads {
		u.mu.Lock()
		if !u.closed {
			snap.Uploads[u.id] = u.info()
		}
		u.mu.Unlock()
	}
	return snap
}
