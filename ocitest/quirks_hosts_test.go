package ocitest

import (
	"bytes"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// hoRedirect GETs a blob without following the redirect and checks it
// points at the CDN host; it returns the Location.
func hoRedirect(t *testing.T, reg *Registry, repo string, d digest.Digest, status int) string {
	t.Helper()
	resp := dhGet(t, dhNoRedirects(reg), "GET", reg.URL()+"/v2/"+repo+"/blobs/"+string(d))
	wantStatus(t, resp, status)
	loc := resp.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	enc := d.Encoded()
	if u.Host != reg.CDNHost() || u.Path != "/registry-v2/docker/registry/v2/blobs/sha256/"+enc[:2]+"/"+enc+"/data" ||
		u.Query().Get("X-Amz-Signature") == "" || u.Query().Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		t.Errorf("Location = %s, want a signed storage URL on the CDN host %s", loc, reg.CDNHost())
	}
	return loc
}

func TestQuirkRedirectBlobs(t *testing.T) {
	reg := New(t, WithQuirks(quirks.RedirectBlobs(quirks.BlobRedirect{})))
	d, b := dhBlob(t, reg, "app")

	loc := hoRedirect(t, reg, "app", d, http.StatusTemporaryRedirect)
	dhWantQuirks(t, reg, "blob-redirect(307)")
	// The CDN host is another port of the registry's own IP.
	mainIP, _, _ := net.SplitHostPort(reg.Host())
	cdnIP, cdnPort, _ := net.SplitHostPort(reg.CDNHost())
	_, mainPort, _ := net.SplitHostPort(reg.Host())
	if cdnIP != mainIP || cdnPort == mainPort {
		t.Errorf("CDN host %s, registry %s: want the same IP, another port", reg.CDNHost(), reg.Host())
	}

	// The CDN serves the bytes, as an object store: no registry headers.
	resp := dhGet(t, reg.Client(), "GET", loc)
	wantStatus(t, resp, http.StatusOK)
	if !bytes.Equal(resp.Body, b) {
		t.Errorf("CDN body = %q", resp.Body)
	}
	wantHeader(t, resp, "Docker-Content-Digest", "")
	wantHeader(t, resp, "Docker-Distribution-API-Version", "")
	wantHeader(t, resp, "Accept-Ranges", "bytes")
	last := dhLast(t, reg)
	if last.Kind != Unknown || !strings.HasPrefix(last.Path, "/registry-v2/") || len(last.Quirks) != 0 {
		t.Errorf("CDN request recorded as %v %s, quirks %q", last.Kind, last.Path, last.Quirks)
	}
	// Ranges work there too.
	resp = dhGet(t, reg.Client(), "GET", loc, "Range", "bytes=8-")
	wantStatus(t, resp, http.StatusPartialContent)
	if string(resp.Body) != "89" {
		t.Errorf("CDN range body = %q", resp.Body)
	}

	// A client that follows redirects just gets the blob.
	resp = do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil)
	wantStatus(t, resp, http.StatusOK)
	if !bytes.Equal(resp.Body, b) {
		t.Errorf("followed body = %q", resp.Body)
	}

	// Neighbours: HEAD, a missing blob and manifests are the spec's.
	resp = do(t, reg, "HEAD", "/v2/app/blobs/"+string(d), nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Docker-Content-Digest", string(d))
	dhWantQuirks(t, reg)
	wantError(t, do(t, reg, "GET", "/v2/app/blobs/"+string(digest.FromString("nope")), nil), http.StatusNotFound, "BLOB_UNKNOWN")
	dhWantQuirks(t, reg)
	reg.PushImage(t, "app", "v1", NewImage())
	wantStatus(t, dhGet(t, dhNoRedirects(reg), "GET", reg.URL()+"/v2/app/manifests/v1"), http.StatusOK)
	dhWantQuirks(t, reg)

	// A forged signature is refused.
	bad := strings.Replace(loc, "X-Amz-Signature=", "X-Amz-Signature=00", 1)
	resp = dhGet(t, reg.Client(), "GET", bad)
	wantStatus(t, resp, http.StatusForbidden)
	if !bytes.Contains(resp.Body, []byte("<Code>SignatureDoesNotMatch</Code>")) {
		t.Errorf("forged signature body = %s", resp.Body)
	}
}

func TestQuirkRedirectBlobsStatusAndExpiry(t *testing.T) {
	clock := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := quirks.RedirectBlobs(quirks.BlobRedirect{Status: http.StatusFound, ExpiresAfterUses: 2, ExpiresAfter: time.Minute})
	reg := New(t, WithClock(clock), WithQuirks(q))
	d, _ := dhBlob(t, reg, "app")

	loc := hoRedirect(t, reg, "app", d, http.StatusFound)
	if u, _ := url.Parse(loc); u.Query().Get("X-Amz-Date") != "20260101T000000Z" || u.Query().Get("X-Amz-Expires") != "60" {
		t.Errorf("signed URL query = %s", u.RawQuery)
	}
	for range 2 {
		wantStatus(t, dhGet(t, reg.Client(), "GET", loc), http.StatusOK)
		dhWantQuirks(t, reg)
	}
	resp := dhGet(t, reg.Client(), "GET", loc)
	wantStatus(t, resp, http.StatusForbidden)
	wantHeader(t, resp, "Content-Type", "application/xml")
	if !bytes.Contains(resp.Body, []byte("<Code>AccessDenied</Code><Message>Request has expired</Message>")) {
		t.Errorf("expired body = %s", resp.Body)
	}
	dhWantQuirks(t, reg, q.String())

	// A new URL works, until the registry's clock passes its expiry.
	loc = hoRedirect(t, reg, "app", d, http.StatusFound)
	clock.Advance(61 * time.Second)
	wantStatus(t, dhGet(t, reg.Client(), "GET", loc), http.StatusForbidden)
	dhWantQuirks(t, reg, q.String())
}

func TestQuirkRedirectTargetRejectsAuthorization(t *testing.T) {
	reject := quirks.RedirectTargetRejectsAuthorization()
	reg := New(t, WithQuirks(quirks.RedirectBlobs(quirks.BlobRedirect{}), reject))
	d, b := dhBlob(t, reg, "app")

	// Go's client keeps Authorization on a redirect to another port of
	// the same host: the object store refuses it.
	resp := do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil, "Authorization: Bearer abc")
	wantStatus(t, resp, http.StatusBadRequest)
	wantHeader(t, resp, "Content-Type", "application/xml")
	for _, want := range []string{"<Code>InvalidArgument</Code>", "<Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message>"} {
		if !bytes.Contains(resp.Body, []byte(want)) {
			t.Errorf("body %s lacks %s", resp.Body, want)
		}
	}
	reqs := reg.Requests()
	cdnReq, regReq := reqs[len(reqs)-1], reqs[len(reqs)-2]
	if cdnReq.Header.Get("Authorization") != "Bearer abc" || !slices.Equal(cdnReq.Quirks, []string{reject.String()}) {
		t.Errorf("CDN request: Authorization %q, quirks %q", cdnReq.Header.Get("Authorization"), cdnReq.Quirks)
	}
	if regReq.Status != http.StatusTemporaryRedirect || !slices.Equal(regReq.Quirks, []string{"blob-redirect(307)"}) {
		t.Errorf("registry request: %d, quirks %q", regReq.Status, regReq.Quirks)
	}

	// Without Authorization the download works; the registry itself
	// accepts the header.
	resp = do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil)
	if !bytes.Equal(resp.Body, b) {
		t.Errorf("anonymous body = %q", resp.Body)
	}
	dhWantQuirks(t, reg)
	wantStatus(t, do(t, reg, "HEAD", "/v2/app/blobs/"+string(d), nil, "Authorization: Bearer abc"), http.StatusOK)
	dhWantQuirks(t, reg)

	// Without blob redirects the quirk has nothing to act on.
	reg.SetQuirks(reject)
	resp = do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil, "Authorization: Bearer abc")
	wantStatus(t, resp, http.StatusOK)
	dhWantQuirks(t, reg)
}

func TestQuirkRedirectAPI(t *testing.T) {
	q := quirks.RedirectAPI(http.StatusTemporaryRedirect)
	reg := New(t, WithQuirks(q))
	img := NewImage()
	reg.PushImage(t, "app", "v1", img)
	other := reg.OtherRegistryHost()
	if other == "" || other == reg.Host() {
		t.Fatalf("other registry host %q", other)
	}

	for _, path := range []string{"/v2/", "/v2/app/manifests/v1", "/v2/app/tags/list?n=1"} {
		resp := dhGet(t, dhNoRedirects(reg), "GET", reg.URL()+path)
		wantStatus(t, resp, http.StatusTemporaryRedirect)
		wantHeader(t, resp, "Location", "http://"+other+path)
		dhWantQuirks(t, reg, "api-redirect-to-other-registry(307)")
	}

	// Following it, the second host serves the same store, unredirected.
	resp := do(t, reg, "GET", "/v2/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest()))
	last := dhLast(t, reg)
	if last.Status != http.StatusOK || len(last.Quirks) != 0 {
		t.Errorf("second host's request: %d, quirks %q", last.Status, last.Quirks)
	}

	// A push follows the 307 with its body, and lands in the same store.
	ti := newTestImage("redirected", nil, "")
	pushBlob(t, reg, "app", ti.Config)
	pushBlob(t, reg, "app", ti.Layer)
	resp = do(t, reg, "PUT", "/v2/app/manifests/v2", ti.Manifest, "Content-Type: "+ocispec.MediaTypeImageManifest)
	wantStatus(t, resp, http.StatusCreated)
	reg.CheckTag(t, "app", "v2", ti.Digest)

	// Paths outside the API are not redirected.
	resp = dhGet(t, dhNoRedirects(reg), "GET", reg.URL()+"/metrics")
	wantStatus(t, resp, http.StatusNotFound)
	dhWantQuirks(t, reg)
}

func TestQuirkAPIUnderPathPrefix(t *testing.T) {
	const prefix = "/artifactory/api/docker/docker-local"
	q := quirks.APIUnderPathPrefix(prefix + "/")
	reg := New(t, WithQuirks(q))
	reg.PushImage(t, "app", "v1", NewImage())
	reg.PushImage(t, "app", "v2", NewImage(Seed(2)))

	// The root answers 404, like the web server in front.
	resp := do(t, reg, "GET", "/v2/", nil)
	wantStatus(t, resp, http.StatusNotFound)
	wantHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")
	wantHeader(t, resp, "Docker-Distribution-API-Version", "")
	if string(resp.Body) != "404 page not found\n" {
		t.Errorf("root body = %q", resp.Body)
	}
	dhWantQuirks(t, reg, "api-under-path-prefix("+prefix+")")
	wantStatus(t, do(t, reg, "GET", "/v2/app/manifests/v1", nil), http.StatusNotFound)

	// Under the prefix, the API works and records as usual.
	resp = do(t, reg, "GET", prefix+"/v2/", nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Docker-Distribution-API-Version", "registry/2.0")
	last := dhLast(t, reg)
	if last.Kind != Ping || last.Path != prefix+"/v2/" {
		t.Errorf("recorded %v %s", last.Kind, last.Path)
	}
	resp = do(t, reg, "GET", prefix+"/v2/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusOK)
	if last := dhLast(t, reg); last.Kind != ManifestGet || last.Repo != "app" || last.Reference != "v1" {
		t.Errorf("recorded %v %s %s", last.Kind, last.Repo, last.Reference)
	}

	// Location and Link point under the prefix, so a client can follow them.
	resp = do(t, reg, "POST", prefix+"/v2/app/blobs/uploads/", nil)
	wantStatus(t, resp, http.StatusAccepted)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, prefix+"/v2/app/blobs/uploads/") {
		t.Fatalf("upload Location = %q", loc)
	}
	data := []byte("prefixed blob")
	d := digest.FromBytes(data)
	resp = do(t, reg, "PUT", loc+"?digest="+string(d), data)
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "Location", prefix+"/v2/app/blobs/"+string(d))
	resp = do(t, reg, "GET", prefix+"/v2/app/tags/list?n=1", nil)
	wantHeader(t, resp, "Link", `<`+prefix+`/v2/app/tags/list?last=v1&n=1>; rel="next"`)
	dhWantQuirks(t, reg, q.String())

	// Another prefix, or none outside the API, is not the registry.
	wantStatus(t, do(t, reg, "GET", "/other/v2/", nil), http.StatusNotFound)
	if last := dhLast(t, reg); last.Kind != Unknown || len(last.Quirks) != 0 {
		t.Errorf("recorded %v, quirks %q", last.Kind, last.Quirks)
	}
}

func TestAPIUnderPathPrefixNeedsTheQuirk(t *testing.T) {
	reg := New(t)
	resp := do(t, reg, "GET", "/artifactory/api/docker/docker-local/v2/", nil)
	wantError(t, resp, http.StatusNotFound, memstore.CodeUnsupported)
	if last := dhLast(t, reg); last.Kind != Unknown {
		t.Errorf("recorded as %v", last.Kind)
	}
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), http.StatusOK)
}

func TestExtraHostsCloseAndRestart(t *testing.T) {
	reg := New(t, WithQuirks(quirks.RedirectBlobs(quirks.BlobRedirect{})))
	d, b := dhBlob(t, reg, "app")
	cdn := reg.CDNHost()
	if err := reg.Restart(); err != nil {
		t.Fatal(err)
	}
	if reg.CDNHost() != cdn {
		t.Errorf("CDN host %s after Restart, was %s", reg.CDNHost(), cdn)
	}
	resp := do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil)
	if !bytes.Equal(resp.Body, b) {
		t.Errorf("body after Restart = %q", resp.Body)
	}
	reg.Close()
	if h := reg.CDNHost(); h != "" {
		t.Errorf("CDN host %q after Close", h)
	}
	if _, err := net.DialTimeout("tcp", cdn, time.Second); err == nil {
		t.Errorf("CDN host %s still accepts connections after Close", cdn)
	}
}

func TestQuirkRedirectBlobsTLS(t *testing.T) {
	reg := New(t, WithTLS(), WithQuirks(quirks.RedirectBlobs(quirks.BlobRedirect{})))
	d, b := dhBlob(t, reg, "app")
	loc := hoRedirect(t, reg, "app", d, http.StatusTemporaryRedirect)
	if !strings.HasPrefix(loc, "https://") {
		t.Errorf("Location %s is not https", loc)
	}
	resp := do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil)
	if !bytes.Equal(resp.Body, b) {
		t.Errorf("body over TLS = %q", resp.Body)
	}
}
