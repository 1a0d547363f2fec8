package ocitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Referrers quirks (catalog section 8): a missing or odd referrers API,
// an unreliable OCI-Subject header, manifests with a subject refused, and
// the fallback tag resolving to the subject.

// referrersUnsupported answers a referrers request as a registry without
// the API does (no-referrers-api, referrers-odd-unsupported-status). It
// reports whether it answered; the error, if any, is the answer to write.
func referrersUnsupported(w http.ResponseWriter, c *call) (bool, error) {
	u := c.q.Referrers.Unsupported
	if !u.On() {
		return false, nil
	}
	c.note(u.By)
	if u.Value.Redirect && memstore.IsDigest(c.Reference) {
		// GHCR's Location cuts the digest down to its algorithm; asking
		// there gets the answer (a 429).
		alg, _, _ := strings.Cut(c.Reference, ":")
		w.Header().Set("Location", "/v2/"+c.Repo+"/referrers/"+alg)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusSeeOther)
		return true, nil
	}
	return true, &quirkError{resp: u.Value.Error}
}

// referrersFilter is the artifactType the store filters by, and whether
// the answer announces it with OCI-Filters-Applied (referrers-filter-ignored).
func referrersFilter(c *call, artifactType string) (filter string, announce bool) {
	f := c.q.Referrers.Filter
	if artifactType == "" || !f.On() {
		return artifactType, artifactType != ""
	}
	switch f.Value {
	case quirks.FilterIgnored:
		c.note(f.By)
		return "", false
	case quirks.FilterAppliedWithoutHeader:
		c.note(f.By)
		return artifactType, false
	}
	return artifactType, true
}

// pageReferrers cuts the page of descs the request asks for, with a Link
// to the next page (referrers-pagination): the descriptors after ?last=,
// at most the quirk's page size or the client's n.
func pageReferrers(w http.ResponseWriter, r *http.Request, c *call, descs []ocispec.Descriptor) []ocispec.Descriptor {
	p := c.q.Referrers.Paging
	if !p.On() {
		return descs
	}
	q := r.URL.Query()
	limit := -1
	if p.Value.PageSize > 0 {
		limit = p.Value.PageSize
	}
	if n, err := strconv.Atoi(q.Get("n")); p.Value.HonourN && err == nil && n >= 0 && (limit < 0 || n < limit) {
		limit = n
	}
	start := 0
	if last := q.Get("last"); last != "" {
		start = slices.IndexFunc(descs, func(d ocispec.Descriptor) bool { return string(d.Digest) == last }) + 1
	}
	page := descs[start:]
	changed := start > 0
	if limit >= 0 && limit < len(page) {
		page, changed = page[:limit], true
		if limit > 0 {
			next := url.Values{"last": {string(page[limit-1].Digest)}, "n": {strconv.Itoa(limit)}}
			if at := q.Get("artifactType"); at != "" {
				next.Set("artifactType", at)
			}
			w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, next.Encode()))
		}
	}
	if changed {
		c.note(p.By)
	}
	return page
}

// writeOddReferrers answers a referrers request with 200 but not a proper
// index (referrers-200-wrong-shape), reporting whether it did.
func writeOddReferrers(w http.ResponseWriter, r *http.Request, c *call, descs []ocispec.Descriptor) (bool, error) {
	sh := c.q.Referrers.Shape
	if !sh.On() {
		return false, nil
	}
	var body []byte
	switch sh.Value.Body {
	case quirks.ReferrersEmptyBody:
		if len(descs) > 0 {
			return false, nil
		}
	case quirks.ReferrersNullManifests:
		if len(descs) > 0 {
			return false, nil
		}
		body = []byte(`{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageIndex + `","manifests":null}` + "\n")
	case quirks.ReferrersHTML:
		body = []byte("<!DOCTYPE html>\n<html><head><title>Registry</title></head><body><p>Welcome.</p></body></html>\n")
	default:
		if sh.Value.ContentType == "" || sh.Value.ContentType == ocispec.MediaTypeImageIndex {
			return false, nil
		}
		c.note(sh.By)
		return true, writeJSON(w, r, sh.Value.ContentType, referrersIndex(descs))
	}
	c.note(sh.By)
	h := w.Header()
	h.Set("Content-Type", sh.Value.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return true, nil
}

// referrersIndex is the image index listing descs.
func referrersIndex(descs []ocispec.Descriptor) ocispec.Index {
	return ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: descs,
	}
}

// subjectHeader sends or drops the OCI-Subject header of a manifest PUT's
// answer: a registry without the referrers API does not send it, unless
// oci-subject-header-unreliable says always; never drops it regardless.
func subjectHeader(h http.Header, c *call) {
	if h.Get("OCI-Subject") == "" {
		return
	}
	rq := c.q.Referrers
	if sh := rq.SubjectHeader; sh.On() {
		switch sh.Value {
		case quirks.SubjectHeaderNever:
			dropHeader(h, "OCI-Subject", c, sh.By)
			return
		case quirks.SubjectHeaderAlways:
			if rq.Unsupported.On() {
				c.note(sh.By) // kept although the API is absent
			}
			return
		}
	}
	if rq.Unsupported.On() {
		dropHeader(h, "OCI-Subject", c, rq.Unsupported.By)
	}
}

// rejectSubjectField refuses a manifest whose body has a field the
// subject-field-rejected quirk names; nil otherwise (also for bodies that
// are not JSON: the spec's validation answers those).
func rejectSubjectField(c *call, body []byte) error {
	rf := c.q.Referrers.RejectFields
	if !rf.On() {
		return nil
	}
	var m struct {
		Subject      json.RawMessage `json:"subject"`
		ArtifactType string          `json:"artifactType"`
	}
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	hasSubject := len(m.Subject) > 0 && !bytes.Equal(m.Subject, []byte("null"))
	if hasSubject && rf.Value.Fields&quirks.SubjectField != 0 ||
		m.ArtifactType != "" && rf.Value.Fields&quirks.ArtifactTypeField != 0 {
		c.note(rf.By)
		return &quirkError{resp: rf.Value.Error}
	}
	return nil
}

// manifestRef is the reference a manifest GET or HEAD looks up: the
// subject <alg>:<hex> for its fallback tag <alg>-<hex> when the subject is
// in the repository and fallback-tag-anomalies is on, else the request's.
func (s *server) manifestRef(c *call) string {
	fb := c.q.Referrers.FallbackTagToSubject
	if !fb.On() || memstore.IsDigest(c.Reference) {
		return c.Reference
	}
	alg, hex, ok := strings.Cut(c.Reference, "-")
	if !ok {
		return c.Reference
	}
	d := alg + ":" + hex
	if _, err := memstore.ParseDigest(d); err != nil {
		return c.Reference
	}
	if _, err := s.store.Manifest(c.Repo, d); err != nil {
		return c.Reference
	}
	c.note(fb.By)
	return d
}
