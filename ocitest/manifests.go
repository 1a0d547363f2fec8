package ocitest

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
)

// checkReference validates a manifest reference from the path: a digest
// (400 DIGEST_INVALID when malformed) or a tag (400 when it breaks the
// spec's tag grammar). It returns the digest for digest references.
func checkReference(ref string) (digest.Digest, error) {
	if memstore.IsDigest(ref) {
		return parseDigest(ref)
	}
	if !memstore.ValidTag(ref) {
		return "", newAPIError(http.StatusBadRequest, memstore.ErrTagInvalid, fmt.Sprintf("invalid tag %q", ref))
	}
	return "", nil
}

// getManifest serves GET and HEAD of a manifest by tag or digest (end-3).
// The manifest is returned as the exact bytes pushed with the media type it
// was pushed as: a stored manifest has one representation, so there is
// nothing to negotiate whatever the Accept header lists.
// Docker-Content-Digest uses the requested digest's algorithm.
func (s *server) getManifest(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := checkReference(c.Reference)
	if err != nil {
		return err
	}
	m, err := s.store.Manifest(c.Repo, s.manifestRef(c))
	if err != nil {
		return missingManifest(c, err)
	}
	if err := refuseManifestHead(c); err != nil {
		return err
	}
	if d == "" {
		// By tag: the digest the manifest was pushed by. A manifest pushed
		// by its sha512 digest with ?tag= answers sha512 here, as the
		// conformance suite ("Tag Param sha512") requires.
		d = m.Digest
	}
	if m, d, err = s.manifestGetQuirks(r, c, m, d); err != nil {
		return err
	}
	h := w.Header()
	etag := `"` + string(d) + `"`
	if noneMatch(r.Header.Values("If-None-Match"), etag) {
		setHeaders(h, "Docker-Content-Digest", string(d), "Etag", etag)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	setHeaders(h, "Docker-Content-Digest", string(d), "Etag", etag,
		"Content-Type", m.MediaType, "Content-Length", strconv.Itoa(len(m.Content)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(m.Content)
	}
	return nil
}

// noneMatch reports whether If-None-Match header values match etag: "*",
// or a comma-separated list of entity tags compared weakly (RFC 9110
// 13.1.2: W/"x" matches "x"). (Fix: only a header that was exactly etag
// or "*" matched, so a client sending several tags, or a weak one, never
// got its 304.)
func noneMatch(values []string, etag string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
	}
	return false
}

// putManifest stores a manifest by tag or digest (end-7), applying any
// ?tag= parameters: 201 with Location, Docker-Content-Digest, OCI-Subject
// for manifests with a subject and an OCI-Tag for each ?tag= applied.
func (s *server) putManifest(w http.ResponseWriter, r *http.Request, c *call) error {
	d, err := checkReference(c.Reference)
	if err != nil {
		return err
	}
	if err := s.uploadRequireRepo(r, c); err != nil {
		return err
	}
	body, err := readManifestBody(r, s.store.MaxManifestSize())
	if err != nil {
		return err
	}
	if err := rejectSubjectField(c, body); err != nil {
		return err
	}
	if err := s.manifestPutQuirks(r, c, body); err != nil {
		return err
	}
	var tags []string
	if r.URL.RawQuery != "" {
		tags = r.URL.Query()["tag"]
	}
	m, err := s.store.PutManifest(c.Repo, c.Reference, r.Header.Get("Content-Type"), body, tags...)
	if err != nil {
		return err
	}
	if d == "" {
		// Pushed by tag: the canonical digest of these bytes, whatever
		// algorithm an earlier push by digest used.
		d = m.Digest
		if d.Algorithm() != digest.SHA256 {
			d = digest.FromBytes(body)
		}
	}
	h := w.Header()
	setHeaders(h, "Location", manifestLocation(c.Repo, d), "Docker-Content-Digest", string(d), "Content-Length", "0")
	if m.Subject != nil {
		h.Set("OCI-Subject", string(m.Subject.Digest))
	}
	for _, t := range tags {
		h.Add("OCI-Tag", t)
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

// readManifestBody reads a manifest upload, refusing more than limit bytes
// (413) before reading them when Content-Length already says so.
func readManifestBody(r *http.Request, limit int64) ([]byte, error) {
	tooLarge := func(n string) error {
		return newAPIError(http.StatusRequestEntityTooLarge, memstore.ErrTooLarge,
			fmt.Sprintf("manifest of %s bytes exceeds the limit of %d bytes", n, limit))
	}
	if limit > 0 && r.ContentLength > limit {
		return nil, tooLarge(strconv.FormatInt(r.ContentLength, 10))
	}
	var body []byte
	var err error
	// The manifest goes to the store as read, and the request record
	// keeps the same bytes.
	keep := readingWhole(r.Body)
	defer func() { keep(body) }()
	// Fix: with no limit configured, any Content-Length was allocated up
	// front, so a client announcing a huge body (and sending none) crashed
	// the test binary with an out-of-memory fatal error. Beyond the default
	// limit the body now grows only as bytes arrive.
	if r.ContentLength >= 0 && r.ContentLength <= max(limit, memstore.DefaultMaxManifestSize) {
		body = make([]byte, r.ContentLength)
		var n int
		n, err = io.ReadFull(r.Body, body)
		body = body[:n]
	} else {
		rd := io.Reader(r.Body)
		if limit > 0 {
			rd = io.LimitReader(r.Body, limit+1)
		}
		body, err = io.ReadAll(rd)
		if limit > 0 && int64(len(body)) > limit {
			return nil, tooLarge("more than " + strconv.FormatInt(limit, 10))
		}
	}
	if err != nil {
		return nil, newAPIError(http.StatusBadRequest, memstore.ErrManifestInvalid, fmt.Sprintf("reading manifest: %v", err))
	}
	return body, nil
}

// deleteManifest deletes a tag, or a manifest by digest with its tags
// (end-9): 202.
func (s *server) deleteManifest(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := checkReference(c.Reference); err != nil {
		return err
	}
	if err := s.store.DeleteManifest(c.Repo, c.Reference); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
