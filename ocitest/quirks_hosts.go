package ocitest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
)

// serveQuirks is the middleware's hook for the quirks that act around the
// spec handlers rather than inside them: transient failures and rate
// limits (catalog section 10), redirects, other hosts and path prefixes
// (section 7) and read-after-write lag (section 11). It answers r itself
// (done), or returns the writer the spec handlers should answer through:
// w itself when none of these quirks is on.
func (reg *Registry) serveQuirks(w http.ResponseWriter, r *http.Request, c *call) (_ http.ResponseWriter, done bool) {
	role := roleOf(r)
	hq, fq, lag := &c.q.Hosts, &c.q.Faults, c.q.Lag.Lag
	if role != cdnHost && !hq.PathPrefix.On() && !hq.RedirectAPI.On() && !hq.BlobRedirect.On() &&
		!fq.RateLimit.On() && !fq.Transient.On() && !fq.RetryAfter.On() && !lag.On() {
		return w, false
	}
	qw := &quirkWriter{ResponseWriter: w}
	if fq.RetryAfter.On() {
		qw.before = append(qw.before, reg.retryAfterHook(c))
	}
	// The proxy in front fails before anything behind it counts.
	if fq.Transient.On() && fq.Transient.Value.Fails(callOf(c.Kind)) {
		failTransient(qw, r, c)
		return nil, true
	}
	if role == cdnHost {
		reg.serveCDN(qw, r, c)
		return nil, true
	}
	if hq.PathPrefix.On() && underPrefix(qw, r, c) {
		return nil, true
	}
	if hq.RedirectAPI.On() && role == mainHost && isAPIRoute(c) && reg.redirectAPI(qw, r, c) {
		return nil, true
	}
	if fq.RateLimit.On() && reg.rateLimit(qw, r, c) {
		return nil, true
	}
	if lag.On() && reg.lagBefore(qw, r, c) {
		return nil, true
	}
	if hq.BlobRedirect.On() && c.Kind == BlobGet && reg.redirectBlob(qw, r, c) {
		return nil, true
	}
	return qw, false
}

// quirkWriter runs hooks on the headers just before the status line goes
// out, and remembers the status.
type quirkWriter struct {
	http.ResponseWriter
	status int
	before []func(status int, h http.Header)
}

func (w *quirkWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
		for _, f := range w.before {
			f(code, w.Header())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *quirkWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *quirkWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// isAPIRoute reports whether the request addressed the distribution API
// (an endpoint, or a method an endpoint's path does not allow).
func isAPIRoute(c *call) bool { return (c.Kind != Unknown && c.Kind != Token) || c.Allow != "" }

// ---- api-under-path-prefix ----

// prefixedRoute routes a request whose path is <prefix>/v2/... when an
// api-under-path-prefix quirk serves the API under that prefix for the
// repository addressed; otherwise it returns rt, the route of the path as
// it is.
func (reg *Registry) prefixedRoute(r *http.Request, rt route) route {
	if isAPIRoute(&call{route: rt}) {
		return rt
	}
	qs := reg.Quirks()
	found := false
	for _, q := range qs {
		found = found || q.ID() == "api-under-path-prefix"
	}
	if !found {
		return rt
	}
	p := r.URL.Path
	i := strings.Index(p, "/v2/")
	if i < 0 && strings.HasSuffix(p, "/v2") {
		i = len(p) - len("/v2")
	}
	if i <= 0 {
		return rt
	}
	inner := parseRoute(r.Method, p[i:], r.URL.Query())
	if pp := quirks.Resolve(qs, inner.Repo).Hosts.PathPrefix; pp.On() && pp.Value == p[:i] {
		return inner
	}
	return rt
}

// underPrefix applies api-under-path-prefix: API requests at the root get
// a 404 (true: answered); requests under the prefix are served with their
// Location and Link headers pointing under it.
func underPrefix(w *quirkWriter, r *http.Request, c *call) bool {
	pp := c.q.Hosts.PathPrefix
	if !isAPIRoute(c) {
		return false
	}
	c.note(pp.By)
	if !strings.HasPrefix(r.URL.Path, pp.Value+"/") {
		h := w.Header()
		h.Del("Docker-Distribution-API-Version")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", "19")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("404 page not found\n"))
		return true
	}
	w.before = append(w.before, func(_ int, h http.Header) {
		if v := h.Get("Location"); v != "" {
			h.Set("Location", prefixURL(v, pp.Value, r.Host))
		}
		if links := h.Values("Link"); len(links) > 0 {
			h.Del("Link")
			for _, l := range links {
				if i, j := strings.Index(l, "<"), strings.Index(l, ">"); i >= 0 && j > i {
					l = l[:i+1] + prefixURL(l[i+1:j], pp.Value, r.Host) + l[j:]
				}
				h.Add("Link", l)
			}
		}
	})
	return false
}

// prefixURL puts prefix before the path of an API URL (relative, or
// absolute on host).
func prefixURL(v, prefix, host string) string {
	if strings.HasPrefix(v, "/v2/") {
		return prefix + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host != host || !strings.HasPrefix(u.Path, "/v2/") {
		return v
	}
	u.Path = prefix + u.Path
	return u.String()
}

// ---- api-redirect-to-other-registry ----

// redirectAPI sends an API request to the second registry host.
func (reg *Registry) redirectAPI(w http.ResponseWriter, r *http.Request, c *call) bool {
	other, err := reg.extraHost(otherRegistryHost)
	if err != nil {
		return false
	}
	ra := c.q.Hosts.RedirectAPI
	c.note(ra.By)
	http.Redirect(w, r, reg.hostURL(other)+r.URL.RequestURI(), ra.Value)
	return true
}

// ---- blob-redirect and redirect-target-rejects-authorization ----

// cdnPathPrefix starts the CDN host's storage-like paths, after Docker
// Hub's: /registry-v2/docker/registry/v2/blobs/sha256/<2>/<hex>/data.
const cdnPathPrefix = "/registry-v2/docker/registry/v2/blobs/"

// grant is a signed CDN URL handed out by a blob redirect.
type grant struct {
	repo   string
	digest digest.Digest
	issued time.Time
	uses   int
	redir  quirks.BlobRedirect
	by     string // the blob-redirect quirk that issued it
}

// grantTable holds the signed URLs a registry handed out, the newest
// maxGrants of them.
type grantTable struct {
	mu    sync.Mutex
	seq   int
	m     map[string]*grant
	order []string
}

const maxGrants = 100_000

// sign issues a signed URL path and query for g.
func (t *grantTable) sign(g grant) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", g.repo, g.digest, t.seq))
	sig := hex.EncodeToString(sum[:])
	if t.m == nil {
		t.m = map[string]*grant{}
	}
	t.m[sig] = &g
	t.order = append(t.order, sig)
	if len(t.order) > maxGrants {
		delete(t.m, t.order[0])
		t.order = t.order[1:]
	}
	expires := int64(1200)
	if g.redir.ExpiresAfter > 0 {
		expires = int64(g.redir.ExpiresAfter.Seconds())
	}
	q := url.Values{
		"X-Amz-Algorithm":     {"AWS4-HMAC-SHA256"},
		"X-Amz-Credential":    {"AKIAOCIFIXTURE/" + g.issued.UTC().Format("20060102") + "/us-east-1/s3/aws4_request"},
		"X-Amz-Date":          {g.issued.UTC().Format("20060102T150405Z")},
		"X-Amz-Expires":       {strconv.FormatInt(expires, 10)},
		"X-Amz-SignedHeaders": {"host"},
		"X-Amz-Signature":     {sig},
	}
	enc := g.digest.Encoded()
	return cdnPathPrefix + string(g.digest.Algorithm()) + "/" + enc[:2] + "/" + enc + "/data?" + q.Encode()
}

// lookup finds the grant of a signed URL path; the grant is shared.
func (t *grantTable) lookup(path, sig string) *grant {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.m[sig]
	if g == nil {
		return nil
	}
	enc := g.digest.Encoded()
	if path != cdnPathPrefix+string(g.digest.Algorithm())+"/"+enc[:2]+"/"+enc+"/data" {
		return nil
	}
	return g
}

// use counts one use of g at now and reports whether the URL has expired.
func (t *grantTable) use(g *grant, now time.Time) (expired bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g.uses++
	if n := g.redir.ExpiresAfterUses; n > 0 && g.uses > n {
		return true
	}
	return g.redir.ExpiresAfter > 0 && now.Sub(g.issued) > g.redir.ExpiresAfter
}

// redirectBlob answers a GET of a blob the repository has with a redirect
// to a signed URL on the CDN host.
func (reg *Registry) redirectBlob(w http.ResponseWriter, r *http.Request, c *call) bool {
	d, err := parseDigest(c.Reference)
	if err != nil {
		return false
	}
	if _, err := reg.store.StatBlob(c.Repo, d); err != nil {
		return false
	}
	cdn, err := reg.extraHost(cdnHost)
	if err != nil {
		return false
	}
	br := c.q.Hosts.BlobRedirect
	loc := reg.hosts.grants.sign(grant{repo: c.Repo, digest: d, issued: reg.clock.Now(), redir: br.Value, by: br.By})
	c.note(br.By)
	http.Redirect(w, r, reg.hostURL(cdn)+loc, br.Value.StatusCode())
	return true
}

// serveCDN answers a request on the CDN host as an object store answers a
// pre-signed URL.
func (reg *Registry) serveCDN(w http.ResponseWriter, r *http.Request, c *call) {
	w.Header().Del("Docker-Distribution-API-Version")
	g := reg.hosts.grants.lookup(r.URL.Path, r.URL.Query().Get("X-Amz-Signature"))
	if g != nil {
		// The request now belongs to the blob's repository.
		c.q = quirks.Resolve(reg.Quirks(), g.repo)
	}
	if ra := c.q.Hosts.RejectAuthorization; ra.On() && r.Header.Get("Authorization") != "" {
		c.note(ra.By)
		writeQuirkError(w, r, ra.Value)
		return
	}
	if g == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		writeS3Error(w, r, http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
		return
	}
	if reg.hosts.grants.use(g, reg.clock.Now()) {
		c.note(g.by)
		writeS3Error(w, r, http.StatusForbidden, "AccessDenied", "Request has expired")
		return
	}
	content, err := reg.store.Blob(g.repo, g.digest)
	if err != nil {
		writeS3Error(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	if err := reg.server.serveBlob(w, r, c, g.digest, content, true); err != nil {
		writeError(w, err)
	}
}

// writeS3Error writes an object store's XML error.
func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Error><Code>` + code + `</Code><Message>` + message + `</Message><RequestId>0CIF1XTURE000000</RequestId></Error>`
	writeQuirkError(w, r, quirks.ErrorResponse{Status: status, Body: body, ContentType: "application/xml"})
}

// callOf classifies a request kind for quirks that select calls.
func callOf(k Kind) quirks.Calls {
	switch k {
	case Ping:
		return quirks.CallPing
	case ManifestGet:
		return quirks.CallManifestGet
	case ManifestHead:
		return quirks.CallManifestHead
	case ManifestPut:
		return quirks.CallManifestPut
	case BlobGet:
		return quirks.CallBlobGet
	case BlobHead:
		return quirks.CallBlobHead
	case UploadStart, UploadMonolithic, UploadChunk, UploadComplete, UploadStatus, UploadCancel, BlobMount:
		return quirks.CallUpload
	case ManifestDelete, BlobDelete:
		return quirks.CallDelete
	case TagsList, ReferrersList, Catalog:
		return quirks.CallList
	case Token:
		return quirks.CallToken
	}
	return quirks.CallOther
}
