package ocitest

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
)

// Response header and metadata quirks (catalog section 2). Most of them
// rewrite the headers of a successful answer as its status line goes out,
// in headerWriter; the others change how missing content is answered.

// withHeaderQuirks wraps w so that the header quirks active for this call
// rewrite its successful answer; w itself when none can.
func withHeaderQuirks(w http.ResponseWriter, c *call) http.ResponseWriter {
	hq, rq := c.q.Headers, c.q.Referrers
	var on bool
	switch c.Kind {
	case ManifestGet, ManifestHead:
		on = hq.OmitDigest.On() || hq.DigestHeader.On() || hq.OmitContentLength.On() || hq.ContentType.On()
	case BlobGet, BlobHead:
		on = hq.OmitContentLength.On()
	case ManifestPut:
		on = hq.OmitDigest.On() || rq.Unsupported.On() || rq.SubjectHeader.On()
	case UploadComplete, UploadMonolithic, BlobMount:
		on = hq.OmitDigest.On()
	}
	if !on {
		return w
	}
	return &headerWriter{ResponseWriter: w, c: c}
}

// headerWriter applies the header quirks to a handler's answer when its
// status line goes out. Error answers (4xx, 5xx) are left alone.
type headerWriter struct {
	http.ResponseWriter
	c     *call
	wrote bool
}

func (hw *headerWriter) WriteHeader(code int) {
	if hw.wrote {
		hw.ResponseWriter.WriteHeader(code)
		return
	}
	hw.wrote = true
	chunk := false
	if code < http.StatusBadRequest {
		chunk = applyHeaderQuirks(hw.Header(), hw.c, code)
	}
	hw.ResponseWriter.WriteHeader(code)
	if chunk {
		// Sending the header now, without Content-Length, makes net/http
		// send the body chunked; otherwise it would compute the length
		// of a small body itself.
		http.NewResponseController(hw.ResponseWriter).Flush()
	}
}

func (hw *headerWriter) Write(b []byte) (int, error) {
	if !hw.wrote {
		hw.WriteHeader(http.StatusOK)
	}
	return hw.ResponseWriter.Write(b)
}

func (hw *headerWriter) Unwrap() http.ResponseWriter { return hw.ResponseWriter }

// applyHeaderQuirks rewrites the headers of a successful answer (status
// code) and reports whether its body must go out chunked.
func applyHeaderQuirks(h http.Header, c *call, code int) (chunk bool) {
	o := c.q.Headers.OmitDigest
	switch c.Kind {
	case ManifestGet, ManifestHead:
		manifestDigestHeader(h, c)
		if code == http.StatusOK {
			manifestContentType(h, c)
		}
		return omitContentLength(h, c, code)
	case BlobGet, BlobHead:
		return omitContentLength(h, c, code)
	case ManifestPut:
		if o.On() && o.Value.PutManifest {
			dropHeader(h, "Docker-Content-Digest", c, o.By)
		}
		subjectHeader(h, c)
	case UploadComplete, UploadMonolithic, BlobMount:
		if o.On() && o.Value.PutBlob {
			dropHeader(h, "Docker-Content-Digest", c, o.By)
		}
	}
	return false
}

// dropHeader deletes header name, noting the quirk by if it was there.
func dropHeader(h http.Header, name string, c *call, by string) {
	if h.Get(name) != "" {
		h.Del(name)
		c.note(by)
	}
}

// manifestDigestHeader drops or falsifies Docker-Content-Digest on a
// manifest GET or HEAD (no-digest-on-tag-get, digest-header-wrong).
func manifestDigestHeader(h http.Header, c *call) {
	d := h.Get("Docker-Content-Digest")
	if d == "" {
		return
	}
	hq := c.q.Headers
	if o := hq.OmitDigest; o.On() {
		byTag := !memstore.IsDigest(c.Reference)
		if c.Kind == ManifestHead && o.Value.Head ||
			c.Kind == ManifestGet && (byTag && o.Value.GetByTag || !byTag && o.Value.GetByDigest) {
			dropHeader(h, "Docker-Content-Digest", c, o.By)
			return
		}
	}
	if dh := hq.DigestHeader; dh.On() {
		switch dh.Value {
		case quirks.DigestHeaderNoAlgorithm:
			h.Set("Docker-Content-Digest", digest.Digest(d).Encoded())
			c.note(dh.By)
		case quirks.DigestHeaderOtherDigest:
			h.Set("Docker-Content-Digest", string(otherDigest(digest.Digest(d))))
			c.note(dh.By)
		}
	}
}

// otherDigest is a well-formed digest, of d's algorithm, of a document
// that is not the one d identifies.
func otherDigest(d digest.Digest) digest.Digest {
	alg := d.Algorithm()
	if !alg.Available() {
		alg = digest.Canonical
	}
	return alg.FromString("ocifixture: a different document than " + string(d))
}

// manifestContentType misreports a manifest's media type (wrong-content-type).
func manifestContentType(h http.Header, c *call) {
	ct := c.q.Headers.ContentType
	if !ct.On() {
		return
	}
	stored := h.Get("Content-Type")
	switch ct.Value.Mode {
	case quirks.ContentTypeFixed:
		if ct.Value.Value != stored {
			h.Set("Content-Type", ct.Value.Value)
			c.note(ct.By)
		}
	case quirks.ContentTypeWithParams:
		h.Set("Content-Type", stored+"; "+ct.Value.Value)
		c.note(ct.By)
	case quirks.ContentTypeEmpty:
		h["Content-Type"] = nil // nil, not absent: net/http would sniff a type
		c.note(ct.By)
	}
}

// omitContentLength drops Content-Length from a manifest or blob answer
// (missing-content-length) and reports whether the body must be chunked.
func omitContentLength(h http.Header, c *call, code int) bool {
	ol := c.q.Headers.OmitContentLength
	if !ol.On() || code != http.StatusOK && code != http.StatusPartialContent {
		return false
	}
	o := ol.Value
	if !(c.Kind == ManifestGet && o.ManifestGet || c.Kind == ManifestHead && o.ManifestHead ||
		c.Kind == BlobGet && o.BlobGet || c.Kind == BlobHead && o.BlobHead) {
		return false
	}
	n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if err != nil || n < o.MinSize {
		return false
	}
	h.Del("Content-Length")
	c.note(ol.By)
	return c.Kind == ManifestGet || c.Kind == BlobGet
}

// missingManifest is the answer to a manifest GET or HEAD the store could
// not serve (err): a HEAD refused whatever it asks for
// (head-manifest-unsupported), or another status for missing content
// (not-found-as-403).
func missingManifest(c *call, err error) error {
	if hm := c.q.Headers.HeadManifest; c.Kind == ManifestHead && hm.On() && hm.Value.Status != http.StatusNotFound {
		return refuse(c, hm)
	}
	return missingContent(c, err)
}

// refuseManifestHead refuses a HEAD of an existing manifest
// (head-manifest-unsupported); nil for everything else.
func refuseManifestHead(c *call) error {
	if hm := c.q.Headers.HeadManifest; c.Kind == ManifestHead && hm.On() {
		return refuse(c, hm)
	}
	return nil
}

// missingContent answers a 404 of the store with the status the
// not-found-as-403 quirk prescribes for this kind of request.
func missingContent(c *call, err error) error {
	mc := c.q.Headers.MissingContent
	if !mc.On() {
		return err
	}
	on := mc.Value.On
	if !(c.Kind == ManifestGet && on.ManifestGet || c.Kind == ManifestHead && on.ManifestHead ||
		c.Kind == BlobGet && on.BlobGet || c.Kind == BlobHead && on.BlobHead) {
		return err
	}
	e, ok := memstore.AsError(err)
	if !ok || statusOf(e) != http.StatusNotFound {
		return err
	}
	c.note(mc.By)
	if mc.Value.Error.Code == "" {
		return &apiError{Status: mc.Value.Error.Status, Err: e}
	}
	return &quirkError{resp: mc.Value.Error}
}

// missingBlob is the answer to a blob GET or HEAD of digest d the store
// could not serve (err): a manifest of that digest served through the blob
// endpoint (wrong-content-type's Artifactory variant), or the missing
// content answer.
func (s *server) missingBlob(w http.ResponseWriter, r *http.Request, c *call, d digest.Digest, err error) error {
	bm := c.q.Headers.BlobEndpointManifests
	serve := bm.On() && (bm.Value == quirks.BlobEndpointBoth || bm.Value == quirks.BlobEndpointHead200Get404 && c.Kind == BlobHead)
	if serve && errors.Is(err, memstore.ErrBlobUnknown) {
		if m, merr := s.store.Manifest(c.Repo, string(d)); merr == nil {
			c.note(bm.By)
			h := w.Header()
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Docker-Content-Digest", string(d))
			h.Set("Accept-Ranges", "bytes")
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(m.Content))
			return nil
		}
	}
	return missingContent(c, err)
}

// rewriteErrorCode rewrites the code (and message) of an error answer as
// nonstandard-error-codes prescribes; errors other quirks prescribe and
// errors without a code are left alone.
func rewriteErrorCode(c *call, err error) error {
	ec := c.q.Headers.ErrorCodes
	if !ec.On() {
		return err
	}
	var ae *apiError
	var se *memstore.Error
	var status int
	switch {
	case errors.As(err, &ae):
		status, se = ae.Status, ae.Err
	case errors.As(err, &se):
		status = statusOf(se)
	default:
		return err
	}
	for _, rw := range ec.Value {
		if string(se.Code) != rw.From {
			continue
		}
		c.note(ec.By)
		out := &apiError{Status: status, Err: &memstore.Error{Code: memstore.Code(rw.To), Message: se.Message, Detail: se.Detail}}
		if rw.Message != "" {
			out.Err.Message = rw.Message
		}
		if ae != nil {
			out.Header = ae.Header
		}
		return out
	}
	return err
}
