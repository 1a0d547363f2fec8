package memstore

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"
)

// DefaultMaxManifestSize is the manifest size limit the spec asks registries
// to support at least (4 MiB).
const DefaultMaxManifestSize = 4 << 20

// Default resource limits, chosen so that a client under test that
// misbehaves (an endless body, sessions opened in a loop) fails fast with a
// clear error instead of exhausting the test process's memory. See
// limits.go.
const (
	// DefaultMaxBlobSize is the largest blob or upload session (1 GiB).
	DefaultMaxBlobSize = 1 << 30
	// DefaultMaxStoreBytes is the most content the store holds at once
	// (4 GiB): blobs, manifests and the bytes of open upload sessions.
	DefaultMaxStoreBytes = 4 << 30
	// DefaultMaxUploads is the most upload sessions open at once.
	DefaultMaxUploads = 1000
)

// Store is an in-memory registry content store. The zero value is not
// usable; create one with New. All methods are safe for concurrent use.
type Store struct {
	cfg config

	mu       sync.RWMutex
	indexMu  sync.Mutex // guards every repo's referrersIndex (referrers.go)
	sha512Mu sync.Mutex // guards every repo's sha512 index under mu.RLock (sha512.go)
	blobs    map[digest.Digest]*blobEntry
	repos    map[string]*repo
	uploads  map[string]*upload
	nextID   uint64

	// used is the number of bytes charged against cfg.maxStoreBytes
	// (limits.go). It changes atomically so that bodies can be charged as
	// they stream in without holding mu.
	used atomic.Int64
}

// blobEntry is one stored blob and the number of repositories it is linked
// into; it is dropped when the last link goes.
type blobEntry struct {
	content *Content
	links   int
}

// repo is one repository's view of the store.
type repo struct {
	blobs     map[digest.Digest]struct{}
	manifests map[digest.Digest]*Manifest // keyed by the sha256 digest of the bytes
	// sha512 indexes the manifests by their sha512 digest, lazily: those
	// in unhashed are not in it yet (sha512.go).
	sha512    map[digest.Digest]*Manifest
	unhashed  []*Manifest
	tags      map[string]*Manifest
	tagNames  []string // sorted; kept in step with tags for cheap pagination
	tagOrder  []string // in the order tags were first pushed (what storage-ordered registries list)
	referrers map[digest.Digest][]*Manifest
	// referrersIndex caches the encoded referrers index of a subject
	// (referrers.go), guarded by Store.indexMu; it is dropped when the
	// subject's referrers change.
	referrersIndex map[digest.Digest][]byte
}

func newRepo() *repo {
	return &repo{
		blobs:     map[digest.Digest]struct{}{},
		manifests: map[digest.Digest]*Manifest{},
		tags:      map[string]*Manifest{},
		referrers: map[digest.Digest][]*Manifest{},
	}
}

type config struct {
	maxManifestSize int64
	maxBlobSize     int64
	maxStoreBytes   int64
	maxUploads      int
	uploadTTL       time.Duration
	now             func() time.Time
	requireAll      bool
}

// Option configures a Store.
type Option func(*config)

// WithMaxManifestSize sets the largest manifest accepted, in bytes
// (default DefaultMaxManifestSize). n <= 0 removes the limit.
func WithMaxManifestSize(n int64) Option {
	return func(c *config) { c.maxManifestSize = n }
}

// WithMaxBlobSize sets the largest blob accepted, in bytes, which is also
// the most an upload session may hold (default DefaultMaxBlobSize, 1 GiB).
// A body that goes past it, declared or streamed, is cut off with
// ErrTooLarge and nothing is stored. n <= 0 removes the limit.
func WithMaxBlobSize(n int64) Option {
	return func(c *config) { c.maxBlobSize = n }
}

// WithRequireReferences makes the store refuse a manifest unless every
// layer (other than non-distributable ones) and, for an index, every child
// manifest is already in the repository, as the reference implementation
// (distribution) does.
//
// By default only an image manifest's config must exist: sparse manifests,
// whose layers or child manifests were not pushed, are accepted, as the spec
// allows and the conformance suite's OCI_DATA_SPARSE data requires.
func WithRequireReferences() Option {
	return func(c *config) { c.requireAll = true }
}

// New returns an empty store.
func New(opts ...Option) *Store {
	cfg := config{
		maxManifestSize: DefaultMaxManifestSize,
		maxBlobSize:     DefaultMaxBlobSize,
		maxStoreBytes:   DefaultMaxStoreBytes,
		maxUploads:      DefaultMaxUploads,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	return &Store{
		cfg:     cfg,
		blobs:   map[digest.Digest]*blobEntry{},
		repos:   map[string]*repo{},
		uploads: map[string]*upload{},
	}
}

// MaxManifestSize is the manifest size limit in bytes (0: none).
func (s *Store) MaxManifestSize() int64 {
	if s.cfg.maxManifestSize < 0 {
		return 0
	}
	return s.cfg.maxManifestSize
}

// repoLocked returns the named repository, creating it when create is set.
// The caller holds s.mu (for writing when create is set).
func (s *Store) repoLocked(name string, create bool) *repo {
	r := s.repos[name]
	if r == nil && create {
		r = newRepo()
		s.repos[name] = r
	}
	return r
}

// RepositoryExists reports whether anything was ever stored in name.
func (s *Store) RepositoryExists(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.repos[name] != nil
}

// Repositories returns up to n repository names (all when n < 0) in
// lexical order, starting after last (from the beginning when last is
// empty), and whether more follow.
func (s *Store) Repositories(last string, n int) ([]string, bool) {
	s.mu.RLock()
	names := make([]string, 0, len(s.repos))
	for name := range s.repos {
		names = append(names, name)
	}
	s.mu.RUnlock()
	sort.Strings(names)
	return page(names, last, n)
}

// page cuts one page out of a sorted list: up to n items after last.
func page(sorted []string, last string, n int) ([]string, bool) {
	start := 0
	if last != "" {
		start = sort.Search(len(sorted), func(i int) bool { return sorted[i] > last })
	}
	rest := sorted[start:]
	if n == 0 {
		return []string{}, false // an empty page says nothing about what follows
	}
	if n < 0 || n >= len(rest) {
		return append([]string{}, rest...), false
	}
	return append([]string{}, rest[:n]...), true
}
