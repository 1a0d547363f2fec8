package memstore

import (
	"hash"
	"io"
	"time"
)

// Resource limits: see "Resource limits" in the package documentation.

// WithMaxStoreBytes caps the bytes the store holds at once (default
// DefaultMaxStoreBytes, 4 GiB): blobs (once per digest, however many
// repositories link them), manifests (once per repository holding them)
// and the bytes received by open upload sessions. A push that would pass
// it fails with ErrStoreFull and stores nothing; a streamed body is cut off
// as soon as it passes. Deleting content and ending sessions frees space,
// and pushing content the store already has costs nothing (a monolithic
// push of a blob the store holds is hashed without being kept). n <= 0
// removes the limit.
func WithMaxStoreBytes(n int64) Option {
	return func(c *config) { c.maxStoreBytes = n }
}

// WithMaxUploads caps the upload sessions open at once (default
// DefaultMaxUploads). StartUpload beyond it fails with ErrTooManyUploads;
// sessions already open are unaffected, and completing, cancelling or the
// expiry of a session makes room. n <= 0 removes the limit.
func WithMaxUploads(n int) Option {
	return func(c *config) { c.maxUploads = n }
}

// WithUploadTTL makes upload sessions expire ttl after they were opened,
// as the reference implementation purges uploads by their start time. A
// request to an expired session fails with ErrBlobUploadUnknown and the
// session's bytes are freed. Expired sessions are purged lazily, when they
// are next addressed or when the store needs room; the store runs no
// goroutine. ttl <= 0 (the default) means sessions never expire.
func WithUploadTTL(ttl time.Duration) Option {
	return func(c *config) { c.uploadTTL = ttl }
}

// WithClock sets the clock the store reads the time from (session expiry),
// for example a fake clock's Now. nil means time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// MaxBlobSize is the blob and session size limit in bytes (0: none).
func (s *Store) MaxBlobSize() int64 { return max(s.cfg.maxBlobSize, 0) }

// MaxStoreBytes is the limit on the bytes the store holds (0: none).
func (s *Store) MaxStoreBytes() int64 { return max(s.cfg.maxStoreBytes, 0) }

// MaxUploads is the limit on open upload sessions (0: none).
func (s *Store) MaxUploads() int { return max(s.cfg.maxUploads, 0) }

// Usage is what a store holds, as its limits count it.
type Usage struct {
	// Bytes counts blobs (once per digest), manifests (once per repository
	// holding them) and the bytes received by open upload sessions.
	Bytes int64
	// Uploads is the number of open upload sessions.
	Uploads int
}

// Usage reports what the store holds now. Expired sessions are purged
// first, so they are not counted.
func (s *Store) Usage() Usage {
	s.purgeExpired()
	s.mu.RLock()
	n := len(s.uploads)
	s.mu.RUnlock()
	return Usage{Bytes: s.used.Load(), Uploads: n}
}

// tryCharge claims n bytes of the store's budget, reporting false (and
// claiming nothing) if that would pass the limit.
func (s *Store) tryCharge(n int64) bool {
	limit := s.cfg.maxStoreBytes
	for {
		cur := s.used.Load()
		if limit > 0 && cur+n > limit {
			return false
		}
		if s.used.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// charge is tryCharge that, when the store is full and sessions can
// expire, purges expired sessions and tries once more. The caller must not
// hold s.mu.
func (s *Store) charge(n int64) bool {
	if s.tryCharge(n) {
		return true
	}
	if s.cfg.uploadTTL <= 0 {
		return false
	}
	s.purgeExpired()
	return s.tryCharge(n)
}

// release returns n charged bytes to the budget.
func (s *Store) release(n int64) {
	if n != 0 {
		s.used.Add(-n)
	}
}

// makeRoom purges expired sessions if n more bytes would not fit, for
// callers that then charge while holding s.mu (which purging needs).
func (s *Store) makeRoom(n int64) {
	if limit := s.cfg.maxStoreBytes; s.cfg.uploadTTL > 0 && limit > 0 && s.used.Load()+n > limit {
		s.purgeExpired()
	}
}

// fullError is the ErrStoreFull for a push of n more bytes.
func (s *Store) fullError(n int64) error {
	limit, used := s.cfg.maxStoreBytes, s.used.Load()
	return withDetail(ErrStoreFull, map[string]int64{"limit": limit, "used": used, "requested": n},
		"storing %d more bytes would take the store past its limit of %d bytes (%d in use); "+
			"delete content, end upload sessions or raise memstore.WithMaxStoreBytes", n, limit, used)
}

// readCharged is readBody charging the bytes to the store's budget: a
// declared length all at once before reading, a streamed body as it
// arrives (so an endless one is cut off when the store is full). On
// success the n bytes read stay charged and belong to the caller; on error
// nothing stays charged.
func (s *Store) readCharged(r io.Reader, h hash.Hash, expect, limit int64) ([][]byte, int64, error) {
	bh := &bodyHash{h: h}
	defer bh.wait()
	return s.readChargedHashing(r, bh, expect, limit)
}

// readChargedHashing is readCharged writing to bh, which may still be
// hashing when it returns (see readBodyHashing).
func (s *Store) readChargedHashing(r io.Reader, bh *bodyHash, expect, limit int64) ([][]byte, int64, error) {
	if limit > 0 && expect > limit {
		return nil, 0, errorf(ErrTooLarge, "declared length %d exceeds the limit of %d bytes", expect, limit)
	}
	if expect >= 0 {
		if !s.charge(expect) {
			return nil, 0, s.fullError(expect)
		}
		chunks, n, err := readBodyHashing(r, bh, expect, limit)
		if err != nil {
			s.release(expect)
		}
		return chunks, n, err
	}
	cr := &chargeReader{r: r, s: s}
	chunks, n, err := readBodyHashing(cr, bh, -1, limit)
	if err != nil {
		s.release(cr.charged)
		return nil, 0, err
	}
	s.release(cr.charged - n) // zero: readBody keeps every byte it reads
	return chunks, n, nil
}

// chargeReader charges every byte read through it to the store's budget
// and fails with ErrStoreFull when the budget runs out.
type chargeReader struct {
	r       io.Reader
	s       *Store
	charged int64
}

func (c *chargeReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		if !c.s.charge(int64(n)) {
			return 0, c.s.fullError(c.charged + int64(n))
		}
		c.charged += int64(n)
	}
	return n, err
}

// hashBody reads r to its end into h only, with readBody's checks
// (declared length, size limit): for content the store already holds,
// which a push then costs no memory.
func hashBody(r io.Reader, h hash.Hash, expect, limit int64) (int64, error) {
	if limit > 0 && expect > limit {
		return 0, errorf(ErrTooLarge, "declared length %d exceeds the limit of %d bytes", expect, limit)
	}
	most := int64(-1) // the most bytes worth reading: one past what may come
	switch {
	case expect >= 0:
		most = expect
	case limit > 0:
		most = limit
	}
	src := r
	if most >= 0 {
		src = io.LimitReader(r, most+1)
	}
	n, err := io.Copy(h, src)
	switch {
	case err != nil:
		return 0, bodyError(err)
	case expect >= 0 && n < expect:
		return 0, errorf(ErrSizeInvalid, "body has %d bytes, Content-Length said %d", n, expect)
	case expect >= 0 && n > expect:
		return 0, errorf(ErrSizeInvalid, "body is longer than the declared %d bytes", expect)
	case limit > 0 && n > limit:
		return 0, errorf(ErrTooLarge, "body exceeds the limit of %d bytes", limit)
	}
	return n, nil
}

// bodyError is the error for a body that failed to read: errors of the
// store's own (ErrStoreFull from a chargeReader) as they are, anything
// else (a client that hung up) ErrBlobUploadInvalid.
func bodyError(err error) error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return errorf(ErrBlobUploadInvalid, "reading body: %v", err)
}

// expired reports whether session u has outlived the store's TTL at now.
// u.started never changes, so no lock is needed.
func (s *Store) expired(u *upload, now time.Time) bool {
	return s.cfg.uploadTTL > 0 && !now.Before(u.started.Add(s.cfg.uploadTTL))
}

// purgeExpired ends every expired session and frees its bytes. A session
// busy with a request right now is left for that request to find expired:
// the usual lock order is session then store, so sessions are only tried
// here, never waited for.
func (s *Store) purgeExpired() {
	if s.cfg.uploadTTL <= 0 {
		return
	}
	now := s.cfg.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, u := range s.uploads {
		if !s.expired(u, now) || !u.mu.TryLock() {
			continue
		}
		if !u.closed {
			u.closed = true
			s.release(u.content.Size())
		}
		delete(s.uploads, id)
		u.mu.Unlock()
	}
}
