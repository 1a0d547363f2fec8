package ocitest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
)

// startUpload opens an upload session (end-4a, end-4c): 202 with the
// session's Location.
func (s *server) startUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	if done, err := s.uploadQuirks(w, r, c); done {
		return err
	}
	var alg digest.Algorithm
	if a := r.URL.Query().Get("digest-algorithm"); a != "" {
		alg = digest.Algorithm(a)
		if !memstore.SupportedAlgorithm(alg) {
			return newAPIError(http.StatusBadRequest, memstore.ErrDigestInvalid,
				fmt.Sprintf("unsupported digest-algorithm %q; use sha256 or sha512", a))
		}
	}
	return s.openSession(w, c.Repo, alg)
}

// openSession starts a session and writes the 202 that announces it.
func (s *server) openSession(w http.ResponseWriter, repo string, alg digest.Algorithm) error {
	info, err := s.store.StartUpload(repo, alg)
	if err != nil {
		return err
	}
	h := w.Header()
	if s.cfg.chunkMinLength > 0 {
		h.Set("OCI-Chunk-Min-Length", strconv.FormatInt(s.cfg.chunkMinLength, 10))
	}
	writeSession(w, info, http.StatusAccepted)
	return nil
}

// writeSession writes a response describing an open session: Location,
// Range (the bytes received so far) and the Docker upload id.
func writeSession(w http.ResponseWriter, info memstore.UploadInfo, status int) {
	h := w.Header()
	h.Set("Location", uploadLocation(info.Repository, info.ID))
	h.Set("Range", uploadRange(info.Size))
	h.Set("Docker-Upload-UUID", info.ID)
	if status != http.StatusNoContent {
		h.Set("Content-Length", "0")
	}
	w.WriteHeader(status)
}

// uploadRange formats the Range header of a session holding size bytes:
// "0-<last byte>". With nothing received there is no last byte; "0-0" is
// what the reference implementation sends and what clients expect.
func uploadRange(size int64) string {
	return "0-" + strconv.FormatInt(max(size-1, 0), 10)
}

// monolithicUpload stores a blob sent in the POST itself (end-4b): 201.
func (s *server) monolithicUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	if done, err := s.uploadQuirks(w, r, c); done {
		return err
	}
	d, err := parseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		return err
	}
	info, err := s.store.PutBlob(c.Repo, d, r.Body, r.ContentLength)
	if err != nil {
		return err
	}
	writeBlobCreated(w, c.Repo, info.Digest)
	return nil
}

// writeBlobCreated answers a finished upload or mount: 201 with the blob's
// Location and digest.
func writeBlobCreated(w http.ResponseWriter, repo string, d digest.Digest) {
	h := w.Header()
	h.Set("Location", blobLocation(repo, d))
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// mountBlob links a blob from another repository (end-11), or from any
// repository when "from" is absent: 201 on success. When the blob cannot be
// mounted it opens an ordinary session instead (202), as the spec asks.
func (s *server) mountBlob(w http.ResponseWriter, r *http.Request, c *call) error {
	if done, err := s.uploadQuirks(w, r, c); done {
		return err
	}
	q := r.URL.Query()
	d, err := parseDigest(q.Get("mount"))
	if err != nil {
		return err
	}
	from := q.Get("from")
	if from != "" && !memstore.ValidName(from) {
		return newAPIError(http.StatusBadRequest, memstore.ErrNameInvalid, fmt.Sprintf("invalid source repository name %q", from))
	}
	// With auth on, the client must be allowed to read the source, and a
	// mount without from (which could find the blob in any repository) is
	// not done: both open a session instead, as registries do.
	if c.auth == nil || (from != "" && c.mayPull(from)) {
		if _, err := s.store.MountBlob(c.Repo, from, d); err == nil {
			writeBlobCreated(w, c.Repo, d)
			return nil
		}
	}
	// The session hashes with the mount digest's algorithm: that is the one
	// the client will finish the upload with.
	return s.openSession(w, c.Repo, d.Algorithm())
}

// patchUpload appends a chunk (end-5): 202 with the new Range. A chunk
// that does not start where the upload ends is a 416 carrying the current
// Range, so the client can resume.
func (s *server) patchUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	if done, err := s.uploadQuirks(w, r, c); done {
		return err
	}
	start, size, err := chunkBounds(r)
	if err != nil {
		return s.withUploadState(err, c)
	}
	info, err := s.store.AppendUpload(c.Repo, c.UploadID, start, r.Body, size)
	if err != nil {
		return s.withUploadState(err, c)
	}
	writeSession(w, info, http.StatusAccepted)
	return nil
}

// chunkBounds reads a chunk's Content-Range and Content-Length: the offset
// it claims to start at (-1 if none: a streamed chunk appends) and its
// length (-1 if unknown). The two headers must agree.
func chunkBounds(r *http.Request) (start, size int64, err error) {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return -1, r.ContentLength, nil
	}
	first, last, err := parseContentRange(cr)
	if err != nil {
		// "<n>-<n-1>" with no body is an empty chunk at offset n: cue's
		// ociclient closes a chunked upload so (a PUT with no body). The
		// spec's closing PUT needs no Content-Range then, and distribution
		// ignores it; the offset is still checked.
		if n, ok := emptyContentRange(cr); ok && r.ContentLength == 0 {
			return n, 0, nil
		}
		return 0, 0, newAPIError(http.StatusRequestedRangeNotSatisfiable, memstore.ErrRangeInvalid,
			fmt.Sprintf("malformed Content-Range %q: want <start>-<end>", cr))
	}
	size = last - first + 1
	if size <= 0 {
		// Fix: a range ending at the largest int64 (0-9223372036854775807)
		// overflowed to a negative length, which then meant "unknown", and
		// the chunk was appended as if no range had been given.
		return 0, 0, newAPIError(http.StatusRequestedRangeNotSatisfiable, memstore.ErrRangeInvalid,
			fmt.Sprintf("Content-Range %q: the length overflows", cr))
	}
	if r.ContentLength >= 0 && r.ContentLength != size {
		return 0, 0, newAPIError(http.StatusBadRequest, memstore.ErrSizeInvalid,
			fmt.Sprintf("Content-Range %q covers %d bytes but Content-Length is %d", cr, size, r.ContentLength))
	}
	return first, size, nil
}

// emptyContentRange recognises the empty range "<n>-<n-1>" (n > 0) and
// returns n.
func emptyContentRange(cr string) (int64, bool) {
	first, last, ok := strings.Cut(strings.TrimSpace(cr), "-")
	if !ok {
		return 0, false
	}
	n, err1 := parseNonNegative(first)
	end, err2 := parseNonNegative(last)
	return n, err1 == nil && err2 == nil && n > 0 && end == n-1
}

// withUploadState adds the session's current Location and Range to a 416,
// which is how the spec lets a client find where to resume.
func (s *server) withUploadState(err error, c *call) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		e, ok := memstore.AsError(err)
		if !ok {
			return err
		}
		ae = &apiError{Status: statusOf(e), Err: e}
	}
	if ae.Status != http.StatusRequestedRangeNotSatisfiable {
		return err
	}
	info, serr := s.store.Upload(c.Repo, c.UploadID)
	if serr != nil {
		return serr
	}
	ae.Header = http.Header{}
	ae.Header.Set("Location", uploadLocation(info.Repository, info.ID))
	ae.Header.Set("Range", uploadRange(info.Size))
	ae.Header.Set("Docker-Upload-UUID", info.ID)
	return ae
}

// completeUpload closes a session (end-6), with an optional last chunk in
// the body: 201 with the blob's Location.
func (s *server) completeUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	if done, err := s.uploadQuirks(w, r, c); done {
		return err
	}
	q := r.URL.Query()
	if !q.Has("digest") {
		return newAPIError(http.StatusBadRequest, memstore.ErrDigestInvalid, "closing an upload needs ?digest=<digest of the whole blob>")
	}
	d, err := parseDigest(q.Get("digest"))
	if err != nil {
		return err
	}
	start, size, err := chunkBounds(r)
	if err != nil {
		return s.withUploadState(err, c)
	}
	var body io.Reader
	if size != 0 || start >= 0 {
		body = r.Body // a last chunk (size -1: streamed), or an empty one at start
	}
	info, err := s.store.CompleteUpload(c.Repo, c.UploadID, d, start, body, size)
	if err != nil {
		return s.withUploadState(err, c)
	}
	writeBlobCreated(w, c.Repo, info.Digest)
	return nil
}

// uploadStatus reports a session's progress (end-13): 204 with Range.
func (s *server) uploadStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	if done, err := s.uploadQuirks(w, r, c); done {
		return err
	}
	info, err := s.store.Upload(c.Repo, c.UploadID)
	if err != nil {
		return err
	}
	writeSession(w, info, http.StatusNoContent)
	return nil
}

// cancelUpload ends a session and drops its bytes (end-14): 204.
func (s *server) cancelUpload(w http.ResponseWriter, r *http.Request, c *call) error {
	if done, err := s.uploadQuirks(w, r, c); done {
		return err
	}
	if err := s.store.CancelUpload(c.Repo, c.UploadID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
