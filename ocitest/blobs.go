package ocitest

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
)

// getBlob serves GET and HEAD of a blob (end-2), with Range support: single,
// suffix and multiple ranges (206, multipart for several) and 416 with
// "Content-Range: bytes */<size>" when nothing requested overlaps.
func (s *server) getBlob(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := parseDigest(c.Reference)
	if err != nil {
		return err
	}
	content, err := s.store.Blob(c.Repo, d)
	if err != nil {
		return s.missingBlob(w, r, c, d, err)
	}
	if done, err := s.blobQuirks(w, r, c, d, content); done {
		return err
	}
	if rh := r.Header.Get("Range"); rh != "" {
		if _, err := parseRange(rh, content.Size()); err != nil {
			e := newAPIError(http.StatusRequestedRangeNotSatisfiable, memstore.ErrSizeInvalid,
				fmt.Sprintf("range %q: %v (blob has %d bytes)", rh, err, content.Size()))
			e.Header = http.Header{
				"Content-Range": {fmt.Sprintf("bytes */%d", content.Size())},
				"Accept-Ranges": {"bytes"},
			}
			return e
		}
	}
	h := w.Header()
	etag := `"` + string(d) + `"`
	const cacheControl = "max-age=31536000" // content-addressed: never changes
	if !rangeOrConditional(r.Header) {
		// The whole blob: its stored buffers are written as they are, with
		// no copy through an intermediate buffer.
		setHeaders(h, "Content-Type", "application/octet-stream", "Docker-Content-Digest", string(d),
			"Accept-Ranges", "bytes", "Etag", etag, "Cache-Control", cacheControl,
			"Content-Length", strconv.FormatInt(content.Size(), 10))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			content.WriteTo(w)
		}
		return nil
	}
	// ServeContent does the Range and conditional-request work over the
	// stored buffers.
	setHeaders(h, "Content-Type", "application/octet-stream", "Docker-Content-Digest", string(d),
		"Accept-Ranges", "bytes", "Etag", etag, "Cache-Control", cacheControl)
	http.ServeContent(w, r, "", time.Time{}, content.NewReader())
	return nil
}

// rangeOrConditional reports whether a GET asks for part of the content or
// makes it conditional, which http.ServeContent answers.
func rangeOrConditional(h http.Header) bool {
	for _, k := range [...]string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// deleteBlob unlinks a blob from the repository (end-10): 202.
func (s *server) deleteBlob(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := parseDigest(c.Reference)
	if err != nil {
		return err
	}
	if err := s.store.DeleteBlob(c.Repo, d); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.Header().Set("Docker-Content-Digest", string(d))
	w.WriteHeader(http.StatusAccepted)
	return nil
}
