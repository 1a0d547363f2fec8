package ocitest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// pageParams reads the n and last query parameters of a list request. n
// is -1 when absent (the whole list); a value that is not a non-negative
// integer is a 400.
func pageParams(q url.Values) (last string, n int, err error) {
	n = -1
	if q.Has("n") {
		v := q.Get("n")
		n, err = strconv.Atoi(v)
		if err != nil || n < 0 {
			return "", 0, newAPIError(http.StatusBadRequest, memstore.ErrUnsupported,
				fmt.Sprintf("invalid n=%q: want a non-negative integer", v))
		}
	}
	return q.Get("last"), n, nil
}

// setNextLink sets the RFC 5988 Link header to the page after last.
func setNextLink(w http.ResponseWriter, path, last string, n int) {
	q := url.Values{"last": {last}, "n": {strconv.Itoa(n)}}
	w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, path, q.Encode()))
}

// writeJSON writes v as a 200 JSON response of the given content type.
func writeJSON(w http.ResponseWriter, r *http.Request, contentType string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("ocitest: encoding response: %w", err)
	}
	return writeEncoded(w, r, contentType, append(body, '\n'))
}

// writeEncoded writes body, JSON already encoded, as a 200 response.
func writeEncoded(w http.ResponseWriter, r *http.Request, contentType string, body []byte) error {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return nil
}

// listTags serves a repository's tags (end-8), paginated by n and last
// with a Link header to the next page. n=0 gives an empty list and no Link.
// Listing quirks change the paging, the order and the encoding.
func (s *server) listTags(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := s.pageRequest(r, c)
	if err != nil {
		return err
	}
	lq := c.q.List
	var tags []string
	var more bool
	if lq.TagOrder.On() && lq.TagOrder.Value != quirks.TagsLexical {
		all, err := s.store.TagsInPushOrder(c.Repo)
		if err != nil {
			return err
		}
		if lq.TagOrder.Value == quirks.TagsReverse {
			slices.Sort(all)
			slices.Reverse(all)
		}
		if len(all) > 1 {
			c.note(lq.TagOrder.By)
		}
		tags, more = pageOf(all, p.last, p.n)
	} else {
		tags, more, err = s.store.Tags(c.Repo, p.last, p.n)
		if err != nil {
			return err
		}
	}
	if more && p.n > 0 {
		s.setNext(w, c, "/v2/"+c.Repo+"/tags/list", tags[len(tags)-1], p)
	}
	tags = s.lagTags(c, tags)
	return s.writeTagList(w, r, c, tags)
}

// page is what a list request asks for, after the listing quirks.
type page struct {
	last      string
	n         int
	defaulted bool // n came from a default page size, not from the client
}

// pageRequest reads n and last and applies the listing quirks to them.
func (s *server) pageRequest(r *http.Request, c *call) (page, error) {
	q := r.URL.Query()
	lq := c.q.List
	if lq.OpaqueCursor.On() {
		if q.Has("last") {
			return page{}, refuse(c, lq.OpaqueCursor)
		}
		if next := q.Get("next"); next != "" {
			last, err := base64.RawURLEncoding.DecodeString(next)
			if err != nil {
				return page{}, refuse(c, lq.OpaqueCursor)
			}
			q.Set("last", string(last))
		}
	}
	last, n, err := pageParams(q)
	if err != nil {
		return page{}, err
	}
	if lq.IgnorePageParams.On() {
		if n >= 0 || last != "" {
			c.note(lq.IgnorePageParams.By)
		}
		return page{n: -1}, nil
	}
	if lq.IgnoreLast.On() && last != "" {
		c.note(lq.IgnoreLast.By)
		last = ""
	}
	if lq.MaxPageSize.On() && n > lq.MaxPageSize.Value.Max {
		c.note(lq.MaxPageSize.By)
		return page{}, &quirkError{resp: lq.MaxPageSize.Value.Error}
	}
	p := page{last: last, n: n}
	if n < 0 && lq.DefaultPageSize.On() {
		p.n, p.defaulted = lq.DefaultPageSize.Value, true
	}
	return p, nil
}

// setNext sets the Link header to the page after last, and notes the quirk
// responsible when the client did not ask for pages.
func (s *server) setNext(w http.ResponseWriter, c *call, path, last string, p page) {
	lq := c.q.List
	if p.defaulted {
		c.note(lq.DefaultPageSize.By)
	}
	if lq.OpaqueCursor.On() {
		c.note(lq.OpaqueCursor.By)
		q := url.Values{"next": {base64.RawURLEncoding.EncodeToString([]byte(last))}, "n": {strconv.Itoa(p.n)}}
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, path, q.Encode()))
		return
	}
	setNextLink(w, path, last, p.n)
}

// pageOf cuts a page out of a list in any order: up to n items after the
// item last (from the start if last is not in the list).
func pageOf(list []string, last string, n int) ([]string, bool) {
	start := 0
	if last != "" {
		start = slices.Index(list, last) + 1
	}
	rest := list[start:]
	if n < 0 || n >= len(rest) {
		return append([]string{}, rest...), false
	}
	return append([]string{}, rest[:n]...), n > 0
}

// writeTagList writes {"name": ..., "tags": [...]}, encoded as the
// listing quirks say: odd encodings of an empty list, and entries that are
// not tags.
func (s *server) writeTagList(w http.ResponseWriter, r *http.Request, c *call, tags []string) error {
	lq := c.q.List
	if !lq.InvalidTagEntries.On() && !lq.EmptyTagList.On() {
		if body, ok := appendTagList(nil, c.Repo, tags); ok {
			return writeEncoded(w, r, "application/json", body)
		}
	}
	entries := make([]json.RawMessage, 0, len(tags))
	for _, t := range tags {
		b, _ := json.Marshal(t)
		entries = append(entries, b)
	}
	if lq.InvalidTagEntries.On() {
		c.note(lq.InvalidTagEntries.By)
		for _, raw := range lq.InvalidTagEntries.Value {
			entries = append(entries, json.RawMessage(raw))
		}
	}
	body := map[string]any{"name": c.Repo, "tags": entries}
	if len(entries) == 0 && lq.EmptyTagList.On() && s.hasNoTags(c.Repo) {
		switch lq.EmptyTagList.Value {
		case quirks.EmptyTagsNull:
			c.note(lq.EmptyTagList.By)
			body["tags"] = nil
		case quirks.EmptyTagsOmitted:
			c.note(lq.EmptyTagList.By)
			delete(body, "tags")
		case quirks.EmptyTagsNotFound:
			c.note(lq.EmptyTagList.By)
			return newAPIError(http.StatusNotFound, memstore.ErrNameUnknown, fmt.Sprintf("repository %q not known to registry", c.Repo))
		}
	}
	return writeJSON(w, r, "application/json", body)
}

// appendTagList appends {"name":repo,"tags":[...]} and a newline to buf,
// byte for byte what encoding/json makes of it, without reflection or an
// allocation per tag. Names and tags that would need escaping (which the
// name and tag grammars rule out) are left to encoding/json: ok is false.
func appendTagList(buf []byte, repo string, tags []string) (_ []byte, ok bool) {
	n := len(`{"name":"","tags":[]}`+"\n") + len(repo)
	for _, t := range tags {
		n += len(t) + 3
	}
	buf = slices.Grow(buf, n)
	buf = append(buf, `{"name":"`...)
	if !plainJSON(repo) {
		return nil, false
	}
	buf = append(buf, repo...)
	buf = append(buf, `","tags":[`...)
	for i, t := range tags {
		if !plainJSON(t) {
			return nil, false
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = append(buf, t...)
		buf = append(buf, '"')
	}
	return append(buf, "]}\n"...), true
}

// plainJSON reports whether s is written in a JSON string as it is: no
// quote, backslash, control or non-ASCII byte, and none of the <, > and &
// that encoding/json escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c >= 0x80, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// hasNoTags reports whether repo exists but has no tag at all.
func (s *server) hasNoTags(repo string) bool {
	tags, _, err := s.store.Tags(repo, "", 1)
	return err == nil && len(tags) == 0
}

type catalogList struct {
	Repositories []string `json:"repositories"`
}

// catalog lists repositories (Docker's /v2/_catalog), paginated like tags.
func (s *server) catalog(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.q.List.Catalog.On() {
		return refuse(c, c.q.List.Catalog)
	}
	p, err := s.pageRequest(r, c)
	if err != nil {
		return err
	}
	repos, more := s.store.Repositories(p.last, p.n)
	if more && p.n > 0 {
		s.setNext(w, c, "/v2/_catalog", repos[len(repos)-1], p)
	}
	return writeJSON(w, r, "application/json", catalogList{Repositories: repos})
}

var newline = []byte{'\n'}

// listReferrers serves the referrers of a digest (end-12) as an image
// index, filtered by artifactType when asked (with OCI-Filters-Applied).
// A subject with no referrers, even in a repository that does not exist,
// gets an empty index, never a 404.
func (s *server) listReferrers(w http.ResponseWriter, r *http.Request, c *call) error {
	if done, err := referrersUnsupported(w, c); done {
		return err
	}
	d, err := parseDigest(c.Reference)
	if err != nil {
		return err
	}
	artifactType := r.URL.Query().Get("artifactType")
	filter, announce := referrersFilter(c, artifactType)
	if announce {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	rq := c.q.Referrers
	if lag := c.q.Lag.Lag; !rq.Paging.On() && !rq.Shape.On() && (!lag.On() || lag.Value.Referrers <= 0) {
		// No quirk changes the list: the store's encoded index, kept
		// until the subject's referrers change, is the answer.
		index := s.store.ReferrersIndex(c.Repo, d, filter)
		h := w.Header()
		h.Set("Content-Type", ocispec.MediaTypeImageIndex)
		h.Set("Content-Length", strconv.Itoa(len(index)+1))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(index)
			w.Write(newline)
		}
		return nil
	}
	descs := s.store.Referrers(c.Repo, d, filter)
	descs = s.lagReferrers(c, d, descs)
	descs = pageReferrers(w, r, c, descs)
	if done, err := writeOddReferrers(w, r, c, descs); done {
		return err
	}
	return writeJSON(w, r, ocispec.MediaTypeImageIndex, ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: descs,
	})
}
