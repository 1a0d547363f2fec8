package memstore

import (
	"io"

	"github.com/opencontainers/go-digest"
)

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Digest digest.Digest
	Size   int64
}

// Blob returns the content of blob d as seen from repository name.
// ErrBlobUnknown if the blob is not linked into that repository.
func (s *Store) Blob(name string, d digest.Digest) (*Content, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repos[name]
	if r == nil {
		return nil, errorf(ErrBlobUnknown, "blob %s unknown to repository %q", d, name)
	}
	if _, ok := r.blobs[d]; !ok {
		return nil, errorf(ErrBlobUnknown, "blob %s unknown to repository %q", d, name)
	}
	return s.blobs[d].content, nil
}

// StatBlob is Blob without the content.
func (s *Store) StatBlob(name string, d digest.Digest) (BlobInfo, error) {
	c, err := s.Blob(name, d)
	if err != nil {
		return BlobInfo{}, err
	}
	return BlobInfo{Digest: d, Size: c.Size()}, nil
}

// PutBlob stores the bytes read from r as a blob of repository name in one
// step. size is the expected length, or -1 when unknown. When d is empty the
// blob is addressed by its sha256 digest; otherwise the bytes must hash to
// d (ErrDigestInvalid) and nothing is stored if they do not.
func (s *Store) PutBlob(name string, d digest.Digest, r io.Reader, size int64) (BlobInfo, error) {
	if err := checkName(name); err != nil {
		return BlobInfo{}, err
	}
	alg := digest.SHA256
	if d != "" {
		if _, err := ParseDigest(string(d)); err != nil {
			return BlobInfo{}, err
		}
		alg = d.Algorithm()
	}
	h := alg.Hash()
	if d != "" {
		if c := s.storedBlob(d); c != nil {
			return s.repushBlob(name, d, c, r, size)
		}
	}
	chunks, n, err := s.readCharged(r, h, size, s.cfg.maxBlobSize)
	if err != nil {
		return BlobInfo{}, err
	}
	got := hashDigest(alg, h)
	if d != "" && got != d {
		s.release(n)
		return BlobInfo{}, withDetail(ErrDigestInvalid, map[string]string{"expected": string(d), "computed": string(got)},
			"content digest %s does not match %s", got, d)
	}
	if err := s.linkBlob(name, got, newContent(chunks), n); err != nil {
		return BlobInfo{}, err
	}
	return BlobInfo{Digest: got, Size: n}, nil
}

// storedBlob is the content of blob d if the store holds it in any
// repository.
func (s *Store) storedBlob(d digest.Digest) *Content {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.blobs[d]; e != nil {
		return e.content
	}
	return nil
}

// repushBlob is PutBlob of a blob the store already holds as c: the body
// is hashed to check it but not kept, so the push costs no memory.
func (s *Store) repushBlob(name string, d digest.Digest, c *Content, r io.Reader, size int64) (BlobInfo, error) {
	h := d.Algorithm().Hash()
	if _, err := hashBody(r, h, size, s.cfg.maxBlobSize); err != nil {
		return BlobInfo{}, err
	}
	if got := hashDigest(d.Algorithm(), h); got != d {
		return BlobInfo{}, withDetail(ErrDigestInvalid, map[string]string{"expected": string(d), "computed": string(got)},
			"content digest %s does not match %s", got, d)
	}
	// Nothing is charged: if the blob was deleted meanwhile, linkBlob
	// charges c to store it again.
	if err := s.linkBlob(name, d, c, 0); err != nil {
		return BlobInfo{}, err
	}
	return BlobInfo{Digest: d, Size: c.Size()}, nil
}

// linkBlob stores c under d (unless a blob with that digest already exists,
// whose bytes are then kept) and links it into repository name. charged is
// how many of c's bytes the caller has charged to the store's budget: the
// charge is kept for a new blob (topped up to c's size, ErrStoreFull if
// that does not fit) and returned when the bytes are not kept.
func (s *Store) linkBlob(name string, d digest.Digest, c *Content, charged int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[name]; r != nil {
		if _, ok := r.blobs[d]; ok {
			s.release(charged)
			return nil
		}
	}
	e := s.blobs[d]
	if e == nil {
		if extra := c.Size() - charged; extra > 0 && !s.tryCharge(extra) {
			s.release(charged)
			return s.fullError(extra)
		}
		e = &blobEntry{content: c}
		s.blobs[d] = e
	} else {
		s.release(charged)
	}
	r := s.repoLocked(name, true)
	e.links++
	r.blobs[d] = struct{}{}
	return nil
}

// MountBlob links blob d from repository from into repository name. With
// from empty, the blob is mounted from any repository that has it (the
// spec's anonymous mount). ErrBlobUnknown if the source does not have it.
func (s *Store) MountBlob(name, from string, d digest.Digest) (BlobInfo, error) {
	if err := checkName(name); err != nil {
		return BlobInfo{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.blobs[d]
	if e == nil {
		return BlobInfo{}, errorf(ErrBlobUnknown, "blob %s unknown to registry", d)
	}
	if from != "" {
		src := s.repos[from]
		if src == nil {
			return BlobInfo{}, errorf(ErrBlobUnknown, "blob %s unknown to repository %q", d, from)
		}
		if _, ok := src.blobs[d]; !ok {
			return BlobInfo{}, errorf(ErrBlobUnknown, "blob %s unknown to repository %q", d, from)
		}
	}
	r := s.repoLocked(name, true)
	if _, ok := r.blobs[d]; !ok {
		r.blobs[d] = struct{}{}
		e.links++
	}
	return BlobInfo{Digest: d, Size: e.content.Size()}, nil
}

// DeleteBlob unlinks blob d from repository name; the bytes are freed when
// no repository links them any more. ErrBlobUnknown if it was not linked.
func (s *Store) DeleteBlob(name string, d digest.Digest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[name]
	if r == nil {
		return errorf(ErrBlobUnknown, "blob %s unknown to repository %q", d, name)
	}
	if _, ok := r.blobs[d]; !ok {
		return errorf(ErrBlobUnknown, "blob %s unknown to repository %q", d, name)
	}
	delete(r.blobs, d)
	s.unlinkLocked(d)
	return nil
}

// unlinkLocked drops one link to blob d, freeing it at zero.
func (s *Store) unlinkLocked(d digest.Digest) {
	if e := s.blobs[d]; e != nil {
		e.links--
		if e.links <= 0 {
			delete(s.blobs, d)
			s.release(e.content.Size())
		}
	}
}
