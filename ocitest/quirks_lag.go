package ocitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Read-after-write lag (catalog section 11). Writes over HTTP start a lag
// per item (the quirk value keeps the counts); reads of a lagging item see
// the state before the write. serveQuirks calls lagBefore around every
// request; listTags and listReferrers call lagTags and lagReferrers.

// lagKey names a lagging item of a store: kind is "tag", "manifest",
// "blob", "tagList" or "referrer".
func lagKey(store *memstore.Store, kind, repo, item string) string {
	return fmt.Sprintf("%p\x00%s\x00%s\x00%s", store, kind, repo, item)
}

// lagBefore answers reads of lagging items (true); for writes it has the
// lags started when the answer reports success.
func (reg *Registry) lagBefore(w *quirkWriter, r *http.Request, c *call) bool {
	answered, after := reg.lagRequest(w, r, c)
	if after != nil {
		// Handlers write the status once the store has changed.
		w.before = append(w.before, func(status int, _ http.Header) {
			if status/100 == 2 {
				after()
			}
		})
	}
	return answered
}

// lagRequest answers reads of lagging items (true) and, for writes,
// returns what to do if they succeed.
func (reg *Registry) lagRequest(w http.ResponseWriter, r *http.Request, c *call) (bool, func()) {
	s := c.q.Lag.Lag
	l := s.Value
	key := func(kind, item string) string { return lagKey(reg.store, kind, c.Repo, item) }
	switch c.Kind {
	case ManifestGet, ManifestHead:
		if memstore.IsDigest(c.Reference) {
			if _, stale := l.Stale(key("manifest", c.Reference)); stale {
				c.note(s.By)
				writeError(w, newAPIError(http.StatusNotFound, memstore.ErrManifestUnknown, "manifest unknown to registry"))
				return true, nil
			}
			return false, nil
		}
		if old, stale := l.Stale(key("tag", c.Reference)); stale {
			c.note(s.By)
			if old == "" {
				writeError(w, newAPIError(http.StatusNotFound, memstore.ErrManifestUnknown, fmt.Sprintf("manifest %q unknown to registry", c.Reference)))
				return true, nil
			}
			c.Reference = old // the manifest the tag pointed at before
		}
	case BlobGet, BlobHead:
		if _, stale := l.Stale(key("blob", c.Reference)); stale {
			c.note(s.By)
			writeError(w, newAPIError(http.StatusNotFound, memstore.ErrBlobUnknown, "blob unknown to registry"))
			return true, nil
		}
	case UploadMonolithic, UploadComplete, BlobMount:
		if l.Blobs <= 0 {
			return false, nil
		}
		q := r.URL.Query()
		d := q.Get("digest")
		if c.Kind == BlobMount {
			d = q.Get("mount")
		}
		if d == "" {
			return false, nil
		}
		if _, err := reg.store.StatBlob(c.Repo, digest.Digest(d)); err == nil {
			return false, nil // not new to the repository
		}
		return false, func() { l.Wrote(key("blob", d), l.Blobs, "") }
	case ManifestPut:
		return reg.lagManifestPut(w, r, c)
	}
	return false, nil
}

// lagManifestPut refuses a manifest that names a lagging blob, and starts
// the lags of what the push changes once it succeeds.
func (reg *Registry) lagManifestPut(w http.ResponseWriter, r *http.Request, c *call) (bool, func()) {
	s := c.q.Lag.Lag
	l := s.Value
	key := func(kind, item string) string { return lagKey(reg.store, kind, c.Repo, item) }
	var body []byte
	limit := reg.store.MaxManifestSize()
	if limit <= 0 {
		limit = memstore.DefaultMaxManifestSize
	}
	if (l.Blobs > 0 || l.Manifests > 0 || l.Referrers > 0) && r.ContentLength <= limit {
		body = peekBody(r, limit)
	}
	if l.Blobs > 0 && body != nil {
		var m struct {
			Config *ocispec.Descriptor  `json:"config"`
			Layers []ocispec.Descriptor `json:"layers"`
		}
		json.Unmarshal(body, &m)
		refs := m.Layers
		if m.Config != nil {
			refs = append([]ocispec.Descriptor{*m.Config}, refs...)
		}
		for _, d := range refs {
			if _, stale := l.Stale(key("blob", string(d.Digest))); stale {
				c.note(s.By)
				e := newAPIError(http.StatusBadRequest, memstore.ErrManifestBlobUnknown,
					fmt.Sprintf("manifest references %s, unknown to repository %q", d.Digest, c.Repo))
				e.Err.Detail = map[string]string{"digest": string(d.Digest)}
				writeError(w, e)
				return true, nil
			}
		}
	}

	// The state before the push: what each tag pointed at, and whether
	// the manifest was there already.
	tags := r.URL.Query()["tag"]
	var d digest.Digest
	if memstore.IsDigest(c.Reference) {
		d = digest.Digest(c.Reference)
	} else {
		tags = append([]string{c.Reference}, tags...)
		if body != nil {
			d = digest.FromBytes(body)
		}
	}
	before := map[string]digest.Digest{}
	for _, t := range tags {
		if m, err := reg.store.Manifest(c.Repo, t); err == nil {
			before[t] = m.Digest
		}
	}
	existed := false
	if d != "" {
		_, err := reg.store.Manifest(c.Repo, string(d))
		existed = err == nil
	}
	return false, func() {
		for _, t := range tags {
			m, err := reg.store.Manifest(c.Repo, t)
			if err != nil {
				continue
			}
			old, had := before[t]
			if old == m.Digest {
				continue // the tag did not move
			}
			l.Wrote(key("tag", t), l.Tags, string(old))
			if !had {
				l.Wrote(key("tagList", t), l.TagList, "")
			}
		}
		if d == "" || existed {
			return
		}
		l.Wrote(key("manifest", string(d)), l.Manifests, "")
		if m, err := reg.store.Manifest(c.Repo, string(d)); err == nil && m.Subject != nil {
			l.Wrote(key("referrer", string(m.Subject.Digest)+"\x00"+string(d)), l.Referrers, "")
		}
	}
}

// peekBody reads up to limit bytes of a request body and puts them back
// for the handler; nil if the body is longer or reading failed.
func peekBody(r *http.Request, limit int64) []byte {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		r.Body = &replayBody{r: bytes.NewReader(b), err: err, c: r.Body}
		return nil
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
	if int64(len(b)) > limit {
		return nil
	}
	return b
}

// lagTags leaves out of a tag list the tags created too recently to be
// listed.
func (s *server) lagTags(c *call, tags []string) []string {
	lag := c.q.Lag.Lag
	if !lag.On() || lag.Value.TagList <= 0 {
		return tags
	}
	out := tags[:0:0]
	for _, t := range tags {
		if _, stale := lag.Value.Stale(lagKey(s.store, "tagList", c.Repo, t)); stale {
			c.note(lag.By)
			continue
		}
		out = append(out, t)
	}
	return out
}

// lagReferrers leaves out of a referrers list the referrers pushed too
// recently to be listed.
func (s *server) lagReferrers(c *call, subject digest.Digest, descs []ocispec.Descriptor) []ocispec.Descriptor {
	lag := c.q.Lag.Lag
	if !lag.On() || lag.Value.Referrers <= 0 {
		return descs
	}
	out := descs[:0:0]
	for _, d := range descs {
		if _, stale := lag.Value.Stale(lagKey(s.store, "referrer", c.Repo, string(subject)+"\x00"+string(d.Digest))); stale {
			c.note(lag.By)
			continue
		}
		out = append(out, d)
	}
	return out
}
