package ocitest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
)

// Helpers shared by the tests of catalog sections 6, 7, 10 and 11
// (quirks_download, quirks_hosts, quirks_faults, quirks_lag).

// dhLast is the most recent recorded request.
func dhLast(t *testing.T, reg *Registry) Request {
	t.Helper()
	last, ok := reg.LastRequest()
	if !ok {
		t.Fatal("no request recorded")
	}
	return last
}

// dhWantQuirks checks the quirks recorded for the most recent request.
func dhWantQuirks(t *testing.T, reg *Registry, want ...string) {
	t.Helper()
	if got := dhLast(t, reg).Quirks; !slices.Equal(got, want) {
		t.Errorf("recorded quirks = %q, want %q", got, want)
	}
}

// dhNoRedirects is reg's client that returns redirects instead of
// following them.
func dhNoRedirects(reg *Registry) *http.Client {
	return &http.Client{
		Transport:     reg.Transport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dhGet sends a request to an absolute URL with client and reads the
// whole response.
func dhGet(t *testing.T, client *http.Client, method, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// dhBlob stores a 10-byte blob "0123456789" in repo.
func dhBlob(t *testing.T, reg *Registry, repo string) (digest.Digest, []byte) {
	t.Helper()
	b := []byte("0123456789")
	return reg.PushBlob(t, repo, b), b
}

func TestDownloadSpecWithoutQuirks(t *testing.T) {
	reg := New(t)
	d, b := dhBlob(t, reg, "app")
	resp := do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil, "Range: bytes=3-")
	wantStatus(t, resp, http.StatusPartialContent)
	wantHeader(t, resp, "Content-Range", "bytes 3-9/10")
	wantHeader(t, resp, "Accept-Ranges", "bytes")
	if !bytes.Equal(resp.Body, b[3:]) {
		t.Errorf("body = %q", resp.Body)
	}
	resp = do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil, "Accept-Encoding: gzip")
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Encoding", "")
	if !bytes.Equal(resp.Body, b) {
		t.Errorf("body = %q", resp.Body)
	}
	dhWantQuirks(t, reg)
}

func TestQuirkRangeHandlingIgnored(t *testing.T) {
	reg := New(t, WithQuirks(quirks.RangeHandling(quirks.Ranges{Mode: quirks.RangesIgnored})))
	d, b := dhBlob(t, reg, "app")
	resp := do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil, "Range: bytes=3-")
	wantStatus(t, resp, http.StatusOK)
	if !bytes.Equal(resp.Body, b) {
		t.Errorf("body = %q, want the whole blob", resp.Body)
	}
	wantHeader(t, resp, "Content-Range", "")
	wantHeader(t, resp, "Content-Length", "10")
	wantHeader(t, resp, "Accept-Ranges", "")
	wantHeader(t, resp, "Docker-Content-Digest", string(d))
	dhWantQuirks(t, reg, "range-handling(ignore,acceptRanges=omit)")
	// An unsatisfiable range is ignored too.
	wantStatus(t, do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil, "Range: bytes=50-"), http.StatusOK)
}

func TestQuirkRangeHandlingIgnoredNeighbours(t *testing.T) {
	q := quirks.RangeHandling(quirks.Ranges{Mode: quirks.RangesIgnored, AcceptRanges: quirks.AcceptRangesBytes})
	reg := New(t, WithQuirks(q))
	d, b := dhBlob(t, reg, "app")
	resp := do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil, "Range: bytes=0-1")
	wantStatus(t, resp, http.StatusOK)
	dhWantQuirks(t, reg, q.String())
	// Without Range, GET and HEAD are the spec's and not attributed.
	resp = do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Accept-Ranges", "bytes")
	if !bytes.Equal(resp.Body, b) {
		t.Errorf("body = %q", resp.Body)
	}
	dhWantQuirks(t, reg)
	resp = do(t, reg, "HEAD", "/v2/app/blobs/"+string(d), nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Length", "10")
	dhWantQuirks(t, reg)
	// A missing blob is still a 404.
	wantError(t, do(t, reg, "GET", "/v2/app/blobs/"+string(digest.FromString("x")), nil, "Range: bytes=0-1"), http.StatusNotFound, "BLOB_UNKNOWN")
	dhWantQuirks(t, reg)
}

func TestQuirkRangeHandlingClosedOnly(t *testing.T) {
	q := quirks.RangeHandling(quirks.Ranges{Mode: quirks.RangesClosedOnly})
	reg := New(t, WithQuirks(q))
	d, b := dhBlob(t, reg, "app")
	path := "/v2/app/blobs/" + string(d)
	for _, tc := range []struct{ rng, msg string }{
		{"bytes=3-", "We don't understand your Range"},
		{"bytes=-2", "We don't understand your Range"},
		{"bytes=0-100", "range end 101 "},
		{"bytes=0-9223372036854775807", "range end 9223372036854775808 "}, // no overflow
	} {
		resp := do(t, reg, "GET", path, nil, "Range: "+tc.rng)
		wantError(t, resp, http.StatusRequestedRangeNotSatisfiable, "BLOB_UNKNOWN")
		if !bytes.Contains(resp.Body, []byte(tc.msg)) {
			t.Errorf("%s: body %s lacks %q", tc.rng, resp.Body, tc.msg)
		}
		wantHeader(t, resp, "Content-Range", "")
		dhWantQuirks(t, reg, q.String())
	}
	// One closed range within the blob is served as the spec says; only
	// the missing Accept-Ranges is the quirk's.
	resp := do(t, reg, "GET", path, nil, "Range: bytes=2-4")
	wantStatus(t, resp, http.StatusPartialContent)
	wantHeader(t, resp, "Content-Range", "bytes 2-4/10")
	if !bytes.Equal(resp.Body, b[2:5]) {
		t.Errorf("body = %q", resp.Body)
	}
	q2 := quirks.RangeHandling(quirks.Ranges{Mode: quirks.RangesClosedOnly, AcceptRanges: quirks.AcceptRangesBytes})
	reg.SetQuirks(q2)
	resp = do(t, reg, "GET", path, nil, "Range: bytes=2-4")
	wantStatus(t, resp, http.StatusPartialContent)
	wantHeader(t, resp, "Accept-Ranges", "bytes")
	dhWantQuirks(t, reg)
}

func TestQuirkRangeHandlingStartEarlier(t *testing.T) {
	q := quirks.RangeHandling(quirks.Ranges{Mode: quirks.RangesStartEarlier, Earlier: 2, AcceptRanges: quirks.AcceptRangesBytes})
	reg := New(t, WithQuirks(q))
	d, b := dhBlob(t, reg, "app")
	path := "/v2/app/blobs/" + string(d)
	resp := do(t, reg, "GET", path, nil, "Range: bytes=5-7")
	wantStatus(t, resp, http.StatusPartialContent)
	wantHeader(t, resp, "Content-Range", "bytes 3-7/10")
	if !bytes.Equal(resp.Body, b[3:8]) {
		t.Errorf("body = %q", resp.Body)
	}
	dhWantQuirks(t, reg, "range-handling(startEarlier(2),acceptRanges=bytes)")
	resp = do(t, reg, "GET", path, nil, "Range: bytes=1-")
	wantHeader(t, resp, "Content-Range", "bytes 0-9/10")
	dhWantQuirks(t, reg, q.String())
	// A range from byte 0 cannot start earlier: the spec's answer.
	resp = do(t, reg, "GET", path, nil, "Range: bytes=0-3")
	wantStatus(t, resp, http.StatusPartialContent)
	wantHeader(t, resp, "Content-Range", "bytes 0-3/10")
	dhWantQuirks(t, reg)
	// An unsatisfiable range is the spec's 416.
	resp = do(t, reg, "GET", path, nil, "Range: bytes=20-")
	wantError(t, resp, http.StatusRequestedRangeNotSatisfiable, "SIZE_INVALID")
	wantHeader(t, resp, "Content-Range", "bytes */10")
	dhWantQuirks(t, reg)
}

func TestQuirkRangeHandlingAcceptRanges(t *testing.T) {
	q := quirks.RangeHandling(quirks.Ranges{AcceptRanges: quirks.AcceptRangesNone})
	reg := New(t, WithQuirks(q))
	d, b := dhBlob(t, reg, "app")
	path := "/v2/app/blobs/" + string(d)
	resp := do(t, reg, "HEAD", path, nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Accept-Ranges", "none")
	dhWantQuirks(t, reg, "range-handling(honor,acceptRanges=none)")
	// Ranges still work, as on GCR.
	resp = do(t, reg, "GET", path, nil, "Range: bytes=-3")
	wantStatus(t, resp, http.StatusPartialContent)
	wantHeader(t, resp, "Accept-Ranges", "none")
	if !bytes.Equal(resp.Body, b[7:]) {
		t.Errorf("body = %q", resp.Body)
	}
	// Manifests are not blobs.
	img := NewImage()
	reg.PushImage(t, "app", "v1", img)
	resp = do(t, reg, "GET", "/v2/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusOK)
	dhWantQuirks(t, reg)
}

func TestQuirkGzipBlobs(t *testing.T) {
	reg := New(t, WithQuirks(quirks.GzipBlobs()))
	img := NewImage(Layers(1), LayerSize(4096))
	reg.PushImage(t, "app", "v1", img)
	cfg := img.Config
	path := "/v2/app/blobs/" + string(cfg.Descriptor.Digest)

	resp := do(t, reg, "GET", path, nil, "Accept-Encoding: gzip")
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Encoding", "gzip")
	wantHeader(t, resp, "Content-Length", itoa(len(resp.Body)))
	wantHeader(t, resp, "Docker-Content-Digest", string(cfg.Descriptor.Digest))
	zr, err := gzip.NewReader(bytes.NewReader(resp.Body))
	if err != nil {
		t.Fatalf("body is not gzip: %v", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(plain, cfg.Data) {
		t.Errorf("decompressed body = %q (%v), want the config", plain, err)
	}
	dhWantQuirks(t, reg, "gzip-content-encoding-on-blobs")
	if got := dhLast(t, reg).ResponseSize; got != int64(len(resp.Body)) {
		t.Errorf("recorded response size %d, want %d", got, len(resp.Body))
	}

	// Go's transport asks for gzip by itself and decodes transparently.
	resp = do(t, reg, "GET", path, nil)
	if !bytes.Equal(resp.Body, cfg.Data) {
		t.Errorf("transparently decoded body = %q", resp.Body)
	}
	dhWantQuirks(t, reg, "gzip-content-encoding-on-blobs")

	// Neighbours: identity, q=0, HEAD, a Range, and manifests are unchanged.
	for _, tc := range []struct {
		method string
		header []string
		status int
	}{
		{"GET", []string{"Accept-Encoding: identity"}, http.StatusOK},
		{"GET", []string{"Accept-Encoding: gzip;q=0"}, http.StatusOK},
		{"HEAD", []string{"Accept-Encoding: gzip"}, http.StatusOK},
		{"GET", []string{"Accept-Encoding: gzip", "Range: bytes=0-3"}, http.StatusPartialContent},
	} {
		resp := do(t, reg, tc.method, path, nil, tc.header...)
		wantStatus(t, resp, tc.status)
		wantHeader(t, resp, "Content-Encoding", "")
		if tc.method == "HEAD" {
			wantHeader(t, resp, "Content-Length", itoa(len(cfg.Data)))
		}
		dhWantQuirks(t, reg)
	}
	resp = do(t, reg, "GET", "/v2/app/manifests/v1", nil, "Accept-Encoding: gzip")
	wantHeader(t, resp, "Content-Encoding", "")
	dhWantQuirks(t, reg)
}

func TestQuirkTruncateBlobs(t *testing.T) {
	q := quirks.TruncateBlobs(4, 1)
	reg := New(t, WithQuirks(q))
	d, b := dhBlob(t, reg, "app")
	small := reg.PushBlob(t, "app", []byte("abc"))
	url := reg.URL() + "/v2/app/blobs/"

	// A body no longer than 4 bytes is not cut, and uses up nothing.
	resp := dhGet(t, reg.Client(), "GET", url+string(small))
	if string(resp.Body) != "abc" {
		t.Errorf("small blob = %q", resp.Body)
	}
	dhWantQuirks(t, reg)

	req, _ := http.NewRequest("GET", url+string(d), nil)
	r, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK || r.ContentLength != 10 {
		t.Errorf("status %d, Content-Length %d; want 200 announcing 10 bytes", r.StatusCode, r.ContentLength)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) || string(got) != "0123" {
		t.Errorf("read %q, %v; want \"0123\" and unexpected EOF", got, err)
	}
	last := dhLast(t, reg)
	if last.Status != http.StatusOK || last.ResponseSize != 4 || !slices.Equal(last.Quirks, []string{"truncated-blob-stream(after=4,times=1)"}) {
		t.Errorf("recorded %d, %d bytes, quirks %q", last.Status, last.ResponseSize, last.Quirks)
	}

	// Times: 1 is used up; HEAD never has a body to cut.
	resp = dhGet(t, reg.Client(), "GET", url+string(d))
	if !bytes.Equal(resp.Body, b) {
		t.Errorf("second GET = %q", resp.Body)
	}
	dhWantQuirks(t, reg)
	wantStatus(t, do(t, reg, "HEAD", "/v2/app/blobs/"+string(d), nil), http.StatusOK)
	dhWantQuirks(t, reg)
}

func TestQuirkTruncateBlobsEveryTime(t *testing.T) {
	reg := New(t, WithQuirks(quirks.TruncateBlobs(2, 0)))
	d, _ := dhBlob(t, reg, "app")
	for range 3 {
		r, err := reg.Client().Get(reg.URL() + "/v2/app/blobs/" + string(d) + "?x")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r.Body)
		r.Body.Close()
		if string(got) != "01" || err == nil {
			t.Errorf("read %q, %v; want a cut after 2 bytes", got, err)
		}
	}
	// A resumed read (Range) is cut as well, 2 bytes further on.
	req, _ := http.NewRequest("GET", reg.URL()+"/v2/app/blobs/"+string(d), nil)
	req.Header.Set("Range", "bytes=2-")
	r, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusPartialContent || string(got) != "23" {
		t.Errorf("resumed read: %d %q", r.StatusCode, got)
	}
}
