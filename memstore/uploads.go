package memstore

import (
	"encoding"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// UploadInfo describes an upload session.
type UploadInfo struct {
	ID         string
	Repository string
	// Size is the number of bytes received so far.
	Size int64
	// Algorithm is the digest algorithm the bytes are hashed with as they
	// arrive.
	Algorithm digest.Algorithm
}

// upload is one session. Its mutex is held while a chunk streams in, so the
// store-wide lock is never held during network reads.
type upload struct {
	mu   sync.Mutex
	id   string
	repo string
	alg  digest.Algorithm
	h    hash.Hash // use hash(), which waits for a chunk still being hashed
	// hashing, when not nil, is closed once the last chunk appended is in
	// h: a chunk's request is answered as soon as its bytes are in, and
	// its hashing goes on alongside the next request.
	hashing <-chan struct{}
	content *Content
	closed  bool      // completed, cancelled or expired
	started time.Time // when it was opened (expiry); never changes
}

// hash is the session's running hash, once every chunk appended is in it.
// The caller holds u.mu.
func (u *upload) hash() hash.Hash {
	if u.hashing != nil {
		<-u.hashing
		u.hashing = nil
	}
	return u.h
}

func (u *upload) info() UploadInfo {
	return UploadInfo{ID: u.id, Repository: u.repo, Size: u.content.Size(), Algorithm: u.alg}
}

// StartUpload opens an upload session in repository name whose bytes are
// hashed with alg as they arrive (sha256 when alg is empty). Session ids
// are UUID-shaped and deterministic per store, so request logs compare
// across runs. ErrTooManyUploads if the store has its limit of open
// sessions (WithMaxUploads).
func (s *Store) StartUpload(name string, alg digest.Algorithm) (UploadInfo, error) {
	if err := checkName(name); err != nil {
		return UploadInfo{}, err
	}
	if alg == "" {
		alg = digest.SHA256
	}
	if !SupportedAlgorithm(alg) {
		return UploadInfo{}, errorf(ErrDigestInvalid, "unsupported digest algorithm %q", alg)
	}
	limit := s.cfg.maxUploads
	if limit > 0 && s.uploadCount() >= limit {
		s.purgeExpired() // expired sessions make room
	}
	now := s.cfg.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit > 0 && len(s.uploads) >= limit {
		return UploadInfo{}, withDetail(ErrTooManyUploads, map[string]int{"limit": limit},
			"%d upload sessions are open, the store's limit: complete or cancel some, or raise memstore.WithMaxUploads", len(s.uploads))
	}
	s.nextID++
	u := &upload{
		id:      fmt.Sprintf("00000000-0000-4000-8000-%012x", s.nextID),
		repo:    name,
		alg:     alg,
		h:       alg.Hash(),
		content: &Content{},
		started: now,
	}
	s.uploads[u.id] = u
	return u.info(), nil
}

// uploadCount is the number of sessions in the table.
func (s *Store) uploadCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.uploads)
}

// endUpload marks u ended and drops it from the session table. The caller
// holds u.mu and has settled what u's bytes are charged as.
func (s *Store) endUpload(u *upload) {
	u.closed = true
	s.mu.Lock()
	delete(s.uploads, u.id)
	s.mu.Unlock()
}

// lockUpload finds session id of repository name and returns it locked.
// A session that was never issued, belongs to another repository, has
// ended or has expired is ErrBlobUploadUnknown; an expired one is ended
// here and its bytes freed.
func (s *Store) lockUpload(name, id string) (*upload, error) {
	s.mu.RLock()
	u := s.uploads[id]
	s.mu.RUnlock()
	if u == nil || u.repo != name {
		return nil, errorf(ErrBlobUploadUnknown, "upload %q unknown to repository %q", id, name)
	}
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil, errorf(ErrBlobUploadUnknown, "upload %q has ended", id)
	}
	if s.expired(u, s.cfg.now()) {
		s.release(u.content.Size())
		s.endUpload(u)
		u.mu.Unlock()
		return nil, errorf(ErrBlobUploadUnknown, "upload %q expired %s after it was opened", id, s.cfg.uploadTTL)
	}
	return u, nil
}

// Upload reports the state of session id.
func (s *Store) Upload(name, id string) (UploadInfo, error) {
	u, err := s.lockUpload(name, id)
	if err != nil {
		return UploadInfo{}, err
	}
	defer u.mu.Unlock()
	return u.info(), nil
}

// AppendUpload adds the bytes read from r to session id. start is the
// offset the chunk claims to begin at (-1: wherever the upload ends now);
// any other offset than the current size is ErrRangeInvalid. size is the
// chunk's declared length, or -1 when unknown. If reading or checking the
// chunk fails, the session is left exactly as it was. A session may hold
// at most the blob size limit (ErrTooLarge), and its bytes count towards
// the store's limit (ErrStoreFull).
func (s *Store) AppendUpload(name, id string, start int64, r io.Reader, size int64) (UploadInfo, error) {
	u, err := s.lockUpload(name, id)
	if err != nil {
		return UploadInfo{}, err
	}
	defer u.mu.Unlock()
	if err := s.appendLocked(u, start, r, size); err != nil {
		return u.info(), err
	}
	return u.info(), nil
}

// appendLocked streams one chunk into u, restoring the hash state if the
// chunk is refused part way.
func (s *Store) appendLocked(u *upload, start int64, r io.Reader, size int64) error {
	cur := u.content.Size()
	if start >= 0 && start != cur {
		return withDetail(ErrRangeInvalid, map[string]int64{"size": cur, "start": start},
			"chunk starts at %d but the upload has %d bytes", start, cur)
	}
	limit := int64(0)
	if s.cfg.maxBlobSize > 0 {
		limit = s.cfg.maxBlobSize - cur
		if limit <= 0 {
			// Already full: any byte is too many, and none is read past
			// the first (an endless body must not keep the request going).
			if size > 0 || size < 0 && readsAny(r) {
				return errorf(ErrTooLarge, "upload exceeds the limit of %d bytes", s.cfg.maxBlobSize)
			}
			return nil
		}
	}
	saved, err := u.hash().(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return fmt.Errorf("memstore: saving hash state: %w", err)
	}
	// The bytes are charged as they arrive; once appended, the session's
	// bytes own the charge.
	bh := &bodyHash{h: u.h}
	chunks, _, err := s.readChargedHashing(r, bh, size, limit)
	if err != nil {
		bh.wait()
		if uerr := u.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(saved); uerr != nil {
			return fmt.Errorf("memstore: restoring hash state: %w", uerr)
		}
		if e, ok := err.(*Error); ok && e.Kind() == ErrTooLarge && cur > 0 {
			// The limit readBody saw is what was left; say what the limit is.
			return errorf(ErrTooLarge, "upload exceeds the limit of %d bytes (the session held %d)", s.cfg.maxBlobSize, cur)
		}
		return err
	}
	for _, ch := range chunks {
		u.content.appendChunk(ch)
	}
	u.hashing = bh.finish()
	return nil
}

// readsAny reports whether r yields at least one byte, reading at most one.
func readsAny(r io.Reader) bool {
	var one [1]byte
	m, _ := io.ReadFull(r, one[:])
	return m > 0
}

// CompleteUpload ends session id, optionally streaming a last chunk from r
// (nil for none; start and size as for AppendUpload), and stores the blob
// under d after checking that the whole upload hashes to it. On any error
// nothing is stored and the session is left as it was before the call, so
// the client may retry.
func (s *Store) CompleteUpload(name, id string, d digest.Digest, start int64, r io.Reader, size int64) (BlobInfo, error) {
	if _, err := ParseDigest(string(d)); err != nil {
		return BlobInfo{}, err
	}
	u, err := s.lockUpload(name, id)
	if err != nil {
		return BlobInfo{}, err
	}
	defer u.mu.Unlock()

	before, sizeBefore := len(u.content.chunks), u.content.Size()
	saved, err := u.hash().(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return BlobInfo{}, fmt.Errorf("memstore: saving hash state: %w", err)
	}
	if r != nil {
		if err := s.appendLocked(u, start, r, size); err != nil {
			return BlobInfo{}, err
		}
	}
	got := s.uploadDigest(u, d.Algorithm())
	if got != d {
		s.release(u.content.Size() - sizeBefore) // the last chunk is dropped
		u.rollback(before, saved)
		return BlobInfo{}, withDetail(ErrDigestInvalid, map[string]string{"expected": string(d), "computed": string(got)},
			"uploaded content digest %s does not match %s", got, d)
	}
	s.endUpload(u)
	// The session's charge passes to the blob (or is returned if the
	// store already has it), so linking cannot fail.
	if err := s.linkBlob(name, d, u.content, u.content.Size()); err != nil {
		return BlobInfo{}, err
	}
	return BlobInfo{Digest: d, Size: u.content.Size()}, nil
}

// uploadDigest is the digest of everything u received, under alg. The
// running hash answers for the session's own algorithm; another algorithm
// means hashing the stored buffers once more, which only a client that
// announced one algorithm and finished with another causes.
func (s *Store) uploadDigest(u *upload, alg digest.Algorithm) digest.Digest {
	if alg == u.alg {
		return hashDigest(alg, u.hash())
	}
	h := alg.Hash()
	u.content.WriteTo(h)
	return hashDigest(alg, h)
}

// rollback drops chunks appended after the first n and restores the hash
// state saved before them.
func (u *upload) rollback(n int, hashState []byte) {
	if n != len(u.content.chunks) {
		u.content = newContent(u.content.chunks[:n:n])
	}
	// The state came from this same hash, so restoring it cannot fail.
	_ = u.hash().(encoding.BinaryUnmarshaler).UnmarshalBinary(hashState)
}

// CancelUpload ends session id and discards its bytes.
func (s *Store) CancelUpload(name, id string) error {
	u, err := s.lockUpload(name, id)
	if err != nil {
		return err
	}
	defer u.mu.Unlock()
	s.release(u.content.Size())
	s.endUpload(u)
	return nil
}
