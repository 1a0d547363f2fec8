package memstore

import (
	"encoding"
	"fmt"
	"hash"
	"io"
	"sync"

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
	mu      sync.Mutex
	id      string
	repo    string
	alg     digest.Algorithm
	h       hash.Hash
	content *Content
	closed  bool // completed or cancelled
}

func (u *upload) info() UploadInfo {
	return UploadInfo{ID: u.id, Repository: u.repo, Size: u.content.Size(), Algorithm: u.alg}
}

// StartUpload opens an upload session in repository name whose bytes are
// hashed with alg as they arrive (sha256 when alg is empty). Session ids
// are UUID-shaped and deterministic per store, so request logs compare
// across runs.
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	u := &upload{
		id:      fmt.Sprintf("00000000-0000-4000-8000-%012x", s.nextID),
		repo:    name,
		alg:     alg,
		h:       alg.Hash(),
		content: &Content{},
	}
	s.uploads[u.id] = u
	return u.info(), nil
}

// lockUpload finds session id of repository name and returns it locked.
// A session that was never issued, belongs to another repository, or has
// ended is ErrBlobUploadUnknown.
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
// chunk fails, the session is left exactly as it was.
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
			limit = -1 // already full: any byte is too many
		}
	}
	saved, err := u.h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return fmt.Errorf("memstore: saving hash state: %w", err)
	}
	chunks, _, err := readBody(r, u.h, size, max(limit, 0))
	if err == nil && limit < 0 && len(chunks) > 0 {
		err = errorf(ErrTooLarge, "upload exceeds the limit of %d bytes", s.cfg.maxBlobSize)
	}
	if err != nil {
		if uerr := u.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(saved); uerr != nil {
			return fmt.Errorf("memstore: restoring hash state: %w", uerr)
		}
		return err
	}
	for _, ch := range chunks {
		u.content.appendChunk(ch)
	}
	return nil
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

	before := len(u.content.chunks)
	saved, err := u.h.(encoding.BinaryMarshaler).MarshalBinary()
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
		u.rollback(before, saved)
		return BlobInfo{}, withDetail(ErrDigestInvalid, map[string]string{"expected": string(d), "computed": string(got)},
			"uploaded content digest %s does not match %s", got, d)
	}
	u.closed = true
	s.mu.Lock()
	delete(s.uploads, u.id)
	s.mu.Unlock()
	s.linkBlob(name, d, u.content)
	return BlobInfo{Digest: d, Size: u.content.Size()}, nil
}

// uploadDigest is the digest of everything u received, under alg. The
// running hash answers for the session's own algorithm; another algorithm
// means hashing the stored buffers once more, which only a client that
// announced one algorithm and finished with another causes.
func (s *Store) uploadDigest(u *upload, alg digest.Algorithm) digest.Digest {
	if alg == u.alg {
		return digest.NewDigest(alg, u.h)
	}
	h := alg.Hash()
	u.content.WriteTo(h)
	return digest.NewDigest(alg, h)
}

// rollback drops chunks appended after the first n and restores the hash
// state saved before them.
func (u *upload) rollback(n int, hashState []byte) {
	if n != len(u.content.chunks) {
		u.content = newContent(u.content.chunks[:n:n])
	}
	// The state came from this same hash, so restoring it cannot fail.
	_ = u.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(hashState)
}

// CancelUpload ends session id and discards its bytes.
func (s *Store) CancelUpload(name, id string) error {
	u, err := s.lockUpload(name, id)
	if err != nil {
		return err
	}
	defer u.mu.Unlock()
	u.closed = true
	s.mu.Lock()
	delete(s.uploads, u.id)
	s.mu.Unlock()
	return nil
}
