package quirks

import (
	"fmt"
	"strings"
	"sync"
)

// LagBehavior is how a request is answered as to read-after-write
// consistency.
type LagBehavior struct {
	// Lag makes content pushed over HTTP invisible to the next reads.
	Lag Setting[Lag]
}

// Lag says how many reads of freshly pushed content still see the state
// before the push. Counts are per pushed item (a tag, a manifest, a blob,
// a referrer, a new tag in the list) and deterministic.
type Lag struct {
	// Tags is how many manifest GETs and HEADs by a pushed tag still see
	// what the tag pointed at before (404 MANIFEST_UNKNOWN for a new tag).
	Tags int
	// Manifests is how many GETs and HEADs by digest of a newly pushed
	// manifest answer 404 MANIFEST_UNKNOWN.
	Manifests int
	// Blobs is how many reads of a newly pushed blob fail: blob GETs and
	// HEADs answer 404 BLOB_UNKNOWN, and a manifest PUT that references it
	// answers 400 MANIFEST_BLOB_UNKNOWN.
	Blobs int
	// Referrers is how many referrers listings of a subject leave out a
	// newly pushed referrer.
	Referrers int
	// TagList is how many tag listings leave out a newly created tag.
	TagList int

	state *lagState
}

type lagState struct {
	mu      sync.Mutex
	pending map[string]*lagEntry
}

type lagEntry struct {
	left int
	old  string
}

// Wrote starts the lag of key (an item the caller names): the next n reads
// of it see old, the state before the write ("" for none).
func (l Lag) Wrote(key string, n int, old string) {
	if l.state == nil {
		return
	}
	l.state.mu.Lock()
	defer l.state.mu.Unlock()
	if n <= 0 {
		delete(l.state.pending, key)
		return
	}
	l.state.pending[key] = &lagEntry{left: n, old: old}
}

// Stale counts one read of key and reports whether it still sees the
// state before the write, and that state.
func (l Lag) Stale(key string) (old string, stale bool) {
	if l.state == nil {
		return "", false
	}
	l.state.mu.Lock()
	defer l.state.mu.Unlock()
	e := l.state.pending[key]
	if e == nil {
		return "", false
	}
	e.left--
	if e.left <= 0 {
		delete(l.state.pending, key)
	}
	return e.old, true
}

func init() {
	register("read-after-write-lag", func() Quirk { return ReadAfterWriteLag(Lag{Tags: 2, Manifests: 2, TagList: 2}) })
}

// ReadAfterWriteLag makes content pushed over HTTP invisible for a few
// reads, as eventually consistent registries do: after PUT
// .../manifests/<tag> → 201, the next l.Tags GETs by that tag answer 404
// MANIFEST_UNKNOWN (or the manifest the tag pointed at before), the next
// l.Manifests GETs by the new digest 404, tag lists leave a new tag out
// l.TagList times and referrers lists leave a new referrer out l.Referrers
// times; after a blob upload → 201 the next l.Blobs GETs and HEADs of it
// answer 404 BLOB_UNKNOWN and a manifest PUT naming it answers 400
// MANIFEST_BLOB_UNKNOWN. Docker Hub (tag not found right after push), GHCR
// (manifest unknown, "unknown blob" between layer and manifest push),
// GCR/Artifact Registry (signature tag not yet visible) and registries on
// S3-like stores show it; release pipelines that push then read back
// failed, and signing tools that verify right after signing. Content
// seeded directly (PushImage, Seed) does not lag. Counts are per item and
// kept in the quirk value: make a new one per registry.
//
// Catalog id read-after-write-lag. Evidence:
// https://github.com/int128/docker-manifest-create-action/issues/857,
// https://github.com/bell-sw/Liberica/pull/27,
// https://github.com/p2pool-starter-stack/pithead/issues/429,
// https://github.com/VooZ2/terento/pull/165,
// https://github.com/pome-sh/digital-twins/pull/434,
// https://github.com/kubernetes-sigs/promo-tools/issues/536,
// https://github.com/kubernetes-sigs/bom/issues/94,
// https://github.com/openshift/image-registry/pull/220,
// https://github.com/akhilerm/tag-push-action/issues/88
func ReadAfterWriteLag(l Lag) Quirk {
	l.state = &lagState{pending: map[string]*lagEntry{}}
	var p []string
	for _, f := range []struct {
		name string
		n    int
	}{{"tags", l.Tags}, {"manifests", l.Manifests}, {"blobs", l.Blobs}, {"referrers", l.Referrers}, {"tagList", l.TagList}} {
		if f.n > 0 {
			p = append(p, fmt.Sprintf("%s=%d", f.name, f.n))
		}
	}
	return newQuirk("read-after-write-lag", strings.Join(p, ","), func(b *Behavior, by string) { b.Lag.Lag.set(l, by) })
}
