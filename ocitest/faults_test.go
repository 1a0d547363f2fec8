package ocitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Helpers of this file are prefixed "flt" so they cannot clash with the
// helpers other test files of the package define.

// fltDo is do for requests that may fail in transport: it returns the
// error instead of failing the test, and reads the body up to the first
// error. Each call uses a transport of its own, so a new connection: on a
// reused one net/http would resend a dropped GET by itself.
func fltDo(ctx context.Context, reg *Registry, method, path string, body []byte, header ...string) (response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, reg.URL()+path, rd)
	if err != nil {
		return response{}, err
	}
	for _, h := range header {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	tr := reg.Transport().Clone()
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// fltErrorMessage returns the message of the first error of a spec error
// body.
func fltErrorMessage(t *testing.T, resp response) string {
	t.Helper()
	var body struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("not a spec error body: %v: %q", err, resp.Body)
	}
	return body.Errors[0].Message
}

// fltRecorded waits (boundedly) for the n-th request m selects to be
// recorded and returns it. Aborted requests are recorded as the handler
// unwinds, which may be after the client has seen the failure.
func fltRecorded(t *testing.T, reg *Registry, m Match, n int) Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := reg.WaitFor(ctx, m, n)
	if err != nil {
		t.Fatalf("waiting for request %d of %+v: %v; recorded:%s", n, m, err, lines(reg.Requests()))
	}
	return got[n-1]
}

// fltPushBlobs pushes the image's config and layer (not its manifest).
func fltPushBlobs(t *testing.T, reg *Registry, repo string, img testImage) {
	t.Helper()
	pushBlob(t, reg, repo, img.Config)
	pushBlob(t, reg, repo, img.Layer)
}

func fltPutManifest(t *testing.T, reg *Registry, repo, ref string, img testImage) response {
	t.Helper()
	return do(t, reg, "PUT", "/v2/"+repo+"/manifests/"+ref, img.Manifest, "Content-Type: "+ocispec.MediaTypeImageManifest)
}

func TestFaultFailNextManifestPut(t *testing.T) {
	reg := New(t)
	img := newTestImage("failnext", nil, "")
	fltPushBlobs(t, reg, "team/app", img)
	before := reg.Store().Snapshot()

	h := reg.FailNext(Match{Kind: ManifestPut}, http.StatusServiceUnavailable)
	resp := fltPutManifest(t, reg, "team/app", "v1", img)
	wantError(t, resp, http.StatusServiceUnavailable, "UNAVAILABLE")
	if msg := fltErrorMessage(t, resp); msg != "injected fault: status 503" {
		t.Errorf("error message = %q", msg)
	}
	if resp.Header.Get("Docker-Content-Digest") != "" || resp.Header.Get("Location") != "" {
		t.Errorf("failed PUT carries success headers: %v", resp.Header)
	}
	unchanged(t, reg, before)
	if h.Hits() != 1 {
		t.Errorf("Hits after the failure = %d, want 1", h.Hits())
	}

	// The retry goes through.
	resp = fltPutManifest(t, reg, "team/app", "v1", img)
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest))
	reg.CheckTag(t, "team/app", "v1", img.Digest)
	if h.Hits() != 1 {
		t.Errorf("Hits after the retry = %d, want 1", h.Hits())
	}

	reg.AssertRequestLines(t, Match{Kind: ManifestPut},
		"PUT /v2/team/app/manifests/v1 -> 503",
		"PUT /v2/team/app/manifests/v1 -> 201",
	)
	puts := reg.Filter(Match{Kind: ManifestPut})
	if diff := cmp.Diff([]string{"status 503"}, puts[0].Faults); diff != "" {
		t.Errorf("failed PUT's Faults differ (-want +got):\n%s", diff)
	}
	if puts[1].Faults != nil {
		t.Errorf("retried PUT records faults %q", puts[1].Faults)
	}
	// The fault answered before the body was read.
	if puts[0].BodySize != 0 || puts[1].BodySize != int64(len(img.Manifest)) {
		t.Errorf("BodySize: failed PUT %d, retry %d; want 0, %d", puts[0].BodySize, puts[1].BodySize, len(img.Manifest))
	}
	if puts[0].ResponseHeader.Get("Content-Type") != "application/json" {
		t.Errorf("recorded fault response header: %v", puts[0].ResponseHeader)
	}
}

func TestFaultTimes(t *testing.T) {
	reg := New(t)
	img := newTestImage("times", nil, "")
	pushImage(t, reg, "app", "v1", img)

	h := reg.Inject(Fault{Match: Match{Kind: ManifestGet}, Status: 500, Times: 2})
	for i, want := range []int{500, 500, 200, 200} {
		resp := do(t, reg, "GET", "/v2/app/manifests/v1", nil)
		if resp.Status != want {
			t.Errorf("GET %d: status %d, want %d", i, resp.Status, want)
		}
		if want == 500 {
			wantError(t, resp, 500, "UNKNOWN")
		}
	}
	if h.Hits() != 2 {
		t.Errorf("Hits = %d, want 2", h.Hits())
	}
	reg.AssertCount(t, Match{Kind: ManifestGet, Status: 500}, 2)
}

func TestFaultTimesZeroUntilRemove(t *testing.T) {
	reg := New(t)
	h := reg.Inject(Fault{Match: Match{Kind: Ping}, Status: 503})
	for i := range 5 {
		resp := do(t, reg, "GET", "/v2/", nil)
		if resp.Status != 503 {
			t.Errorf("ping %d: status %d, want 503 until Remove", i, resp.Status)
		}
	}
	if h.Hits() != 5 {
		t.Errorf("Hits = %d, want 5", h.Hits())
	}
	h.Remove()
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), 200)
	h.Remove() // a second Remove does nothing
	if h.Hits() != 5 {
		t.Errorf("Hits after Remove = %d, want 5", h.Hits())
	}
	reg.AssertRequestLines(t, Match{Status: 200}, "GET /v2/ -> 200")
}

func TestFaultMatch(t *testing.T) {
	reg := New(t)
	img := newTestImage("match", nil, "")
	pushImage(t, reg, "team/a", "v1", img)
	pushImage(t, reg, "team/a", "v2", img)
	pushImage(t, reg, "other/a", "v1", img)
	layer := string(digest.FromBytes(img.Layer))
	reg.ResetRequests()

	h := reg.Inject(Fault{Match: Match{Kind: ManifestGet, Repo: "team/*", Reference: "v1"}, Status: 500})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/v2/team/a/manifests/v1", 500},
		{"GET", "/v2/team/a/manifests/v2", 200},
		{"GET", "/v2/other/a/manifests/v1", 200},
		{"HEAD", "/v2/team/a/manifests/v1", 200},
		{"GET", "/v2/team/a/blobs/" + layer, 200},
		{"GET", "/v2/team/a/manifests/v1", 500},
	} {
		if resp := do(t, reg, tc.method, tc.path, nil); resp.Status != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.Status, tc.want)
		}
	}
	if h.Hits() != 2 {
		t.Errorf("Hits = %d, want 2", h.Hits())
	}
	h.Remove()

	// Method, Func; a Match's Status is ignored by faults.
	reg.Inject(Fault{Match: Match{Method: "HEAD", Status: 200}, Status: 404, Times: 1})
	resp := do(t, reg, "HEAD", "/v2/team/a/manifests/v1", nil)
	wantError(t, resp, 404, memstore.CodeManifestUnknown)
	wantStatus(t, do(t, reg, "HEAD", "/v2/team/a/manifests/v1", nil), 200)

	reg.Inject(Fault{Match: Match{Func: func(r Request) bool { return r.Query.Get("n") == "1" }}, Status: 429, Times: 1})
	wantStatus(t, do(t, reg, "GET", "/v2/team/a/tags/list", nil), 200)
	wantError(t, do(t, reg, "GET", "/v2/team/a/tags/list?n=1", nil), 429, memstore.CodeTooManyRequests)
	wantStatus(t, do(t, reg, "GET", "/v2/team/a/tags/list?n=1", nil), 200)
}

func TestFaultFirstInjectedWins(t *testing.T) {
	reg := New(t)
	first := reg.Inject(Fault{Match: Match{Kind: Ping}, Status: 500, Times: 1, Name: "first"})
	second := reg.Inject(Fault{Match: Match{}, Status: 502, Times: 1, Name: "second"})
	for i, want := range []int{500, 502, 200} {
		if resp := do(t, reg, "GET", "/v2/", nil); resp.Status != want {
			t.Errorf("ping %d: status %d, want %d", i, resp.Status, want)
		}
	}
	if first.Hits() != 1 || second.Hits() != 1 {
		t.Errorf("Hits = %d, %d; want 1, 1 (one fault per request)", first.Hits(), second.Hits())
	}
	var got [][]string
	for _, r := range reg.Requests() {
		got = append(got, r.Faults)
	}
	if diff := cmp.Diff([][]string{{"first"}, {"second"}, nil}, got); diff != "" {
		t.Errorf("recorded Faults differ (-want +got):\n%s", diff)
	}
}

func TestFaultDefaultCodes(t *testing.T) {
	reg := New(t)
	img := newTestImage("codes", nil, "")
	pushImage(t, reg, "app", "v1", img)
	layer := string(digest.FromBytes(img.Layer))
	session := do(t, reg, "POST", "/v2/app/blobs/uploads/", nil).Header.Get("Location")
	before := reg.Store().Snapshot()

	for _, tc := range []struct {
		kind         Kind
		method, path string
		status       int
		header       http.Header
		code         memstore.Code
	}{
		{ManifestGet, "GET", "/v2/app/manifests/v1", 429, http.Header{"Retry-After": {"7"}}, memstore.CodeTooManyRequests},
		{ManifestGet, "GET", "/v2/app/manifests/v1", 404, nil, memstore.CodeManifestUnknown},
		{ManifestHead, "HEAD", "/v2/app/manifests/v1", 404, nil, memstore.CodeManifestUnknown},
		{BlobGet, "GET", "/v2/app/blobs/" + layer, 404, nil, memstore.CodeBlobUnknown},
		{UploadChunk, "PATCH", session, 404, nil, memstore.CodeBlobUploadUnknown},
		{UploadChunk, "PATCH", session, 416, nil, memstore.CodeBlobUploadInvalid},
		{TagsList, "GET", "/v2/app/tags/list", 404, nil, memstore.CodeNameUnknown},
		{Ping, "GET", "/v2/", 503, nil, "UNAVAILABLE"},
		{Ping, "GET", "/v2/", 500, nil, "UNKNOWN"},
		{Ping, "GET", "/v2/", 502, nil, "UNKNOWN"},
		{Ping, "GET", "/v2/", 401, nil, memstore.CodeUnauthorized},
		{Catalog, "GET", "/v2/_catalog", 403, nil, memstore.CodeDenied},
		{ManifestPut, "PUT", "/v2/app/manifests/v2", 400, nil, memstore.CodeUnsupported},
	} {
		t.Run(fmt.Sprintf("%v %d", tc.kind, tc.status), func(t *testing.T) {
			h := reg.Inject(Fault{Match: Match{Kind: tc.kind}, Status: tc.status, Header: tc.header, Times: 1})
			resp := do(t, reg, tc.method, tc.path, []byte{}, "Content-Type: application/octet-stream")
			wantError(t, resp, tc.status, tc.code)
			for name := range tc.header {
				wantHeader(t, resp, name, tc.header.Get(name))
			}
			if tc.method != "HEAD" {
				if msg := fltErrorMessage(t, resp); msg != "injected fault: status "+strconv.Itoa(tc.status) {
					t.Errorf("message = %q", msg)
				}
			}
			if h.Hits() != 1 {
				t.Errorf("Hits = %d", h.Hits())
			}
			last, _ := reg.LastRequest()
			if last.Kind != tc.kind || last.Status != tc.status {
				t.Errorf("recorded %v %s, want kind %v", last.Kind, last, tc.kind)
			}
			for name := range tc.header {
				if last.ResponseHeader.Get(name) != tc.header.Get(name) {
					t.Errorf("recorded response header %s = %q", name, last.ResponseHeader.Get(name))
				}
			}
			unchanged(t, reg, before)
		})
	}
}

func TestFaultCustomCodeAndBody(t *testing.T) {
	reg := New(t)
	reg.Inject(Fault{Match: Match{Kind: Ping}, Status: 503, Code: memstore.CodeDenied, Times: 1})
	resp := do(t, reg, "GET", "/v2/", nil)
	wantError(t, resp, 503, memstore.CodeDenied)

	body := []byte("<html>bad gateway</html>\n")
	reg.Inject(Fault{Match: Match{Kind: Ping}, Status: 502, Body: body,
		Header: http.Header{"Content-Type": {"text/html"}}, Times: 2})
	resp = do(t, reg, "GET", "/v2/", nil)
	wantStatus(t, resp, 502)
	wantHeader(t, resp, "Content-Type", "text/html")
	wantHeader(t, resp, "Content-Length", strconv.Itoa(len(body)))
	if !bytes.Equal(resp.Body, body) {
		t.Errorf("body = %q, want %q", resp.Body, body)
	}
	last, _ := reg.LastRequest()
	if last.ResponseSize != int64(len(body)) {
		t.Errorf("recorded ResponseSize %d, want %d", last.ResponseSize, len(body))
	}
	// HEAD gets the status and headers, no body.
	resp = do(t, reg, "HEAD", "/v2/", nil)
	wantStatus(t, resp, 502)
	wantHeader(t, resp, "Content-Length", strconv.Itoa(len(body)))
	if len(resp.Body) != 0 {
		t.Errorf("HEAD body = %q", resp.Body)
	}
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), 200)
}

// TestFaultLabels checks how a fault is named in Request.Faults: by its
// Name, or by a label derived from what it does.
func TestFaultLabels(t *testing.T) {
	reg := New(t)
	d := pushBlob(t, reg, "app", bytes.Repeat([]byte("x"), 100))
	blob := "/v2/app/blobs/" + string(d)
	for _, tc := range []struct {
		f     Fault
		path  string
		label string
	}{
		{Fault{Status: 429, Name: "rate limited"}, "/v2/", "rate limited"},
		{Fault{Status: 503}, "/v2/", "status 503"},
		{Fault{Drop: true}, "/v2/", "drop"},
		{Fault{TruncateAfter: 10}, blob, "truncate after 10 bytes"},
		{Fault{Delay: time.Millisecond}, "/v2/", "delay 1ms"},
		{Fault{Delay: time.Millisecond, Status: 500}, "/v2/", "delay 1ms, status 500"},
		{Fault{Delay: time.Millisecond, Drop: true}, "/v2/", "delay 1ms, drop"},
		{Fault{Header: http.Header{"X-Fault": {"1"}}}, "/v2/", "fault"},
	} {
		t.Run(tc.label, func(t *testing.T) {
			tc.f.Times = 1
			reg.Inject(tc.f)
			fltDo(context.Background(), reg, "GET", tc.path, nil) // outcome checked elsewhere
			got := fltRecorded(t, reg, Match{Func: func(r Request) bool { return r.Faults != nil }}, 1)
			if diff := cmp.Diff([]string{tc.label}, got.Faults); diff != "" {
				t.Errorf("Faults differ (-want +got):\n%s", diff)
			}
			// The next request is served normally and names no fault.
			wantStatus(t, do(t, reg, "GET", "/v2/", nil), 200)
			if last, _ := reg.LastRequest(); last.Faults != nil {
				t.Errorf("unfaulted request records %q", last.Faults)
			}
			reg.ResetRequests()
		})
	}
}

// TestFaultHeaderOnServedResponse: a fault that serves the request (no
// Status) still adds its Header, as Fault.Header documents.
func TestFaultHeaderOnServedResponse(t *testing.T) {
	reg := New(t)
	reg.Inject(Fault{Match: Match{Kind: Ping}, Delay: time.Millisecond, Header: http.Header{"X-Fault": {"slow"}}, Times: 1})
	resp := do(t, reg, "GET", "/v2/", nil)
	wantStatus(t, resp, 200)
	wantHeader(t, resp, "X-Fault", "slow")
	wantHeader(t, resp, "Content-Type", "application/json")
	if string(resp.Body) != "{}\n" {
		t.Errorf("body = %q", resp.Body)
	}
}

// TestFaultDropUploadChunk drops a PATCH in the middle of a chunked
// upload: the client sees a transport error, the record has no status,
// the session keeps what it had, no blob appears, and the PATCH can be
// sent again.
func TestFaultDropUploadChunk(t *testing.T) {
	reg := New(t)
	data := bytes.Repeat([]byte("chunky "), 300)
	d := digest.FromBytes(data)
	first, second := data[:1000], data[1000:]

	resp := do(t, reg, "POST", "/v2/app/blobs/uploads/", nil)
	wantStatus(t, resp, 202)
	loc := resp.Header.Get("Location")
	id := resp.Header.Get("Docker-Upload-UUID")
	resp = do(t, reg, "PATCH", loc, first, "Content-Range: 0-999", "Content-Type: application/octet-stream")
	wantStatus(t, resp, 202)
	before := reg.Store().Snapshot()

	h := reg.Inject(Fault{Match: Match{Kind: UploadChunk, Repo: "app"}, Drop: true, Times: 1})
	secondRange := fmt.Sprintf("Content-Range: 1000-%d", len(data)-1)
	_, err := fltDo(context.Background(), reg, "PATCH", loc, second, secondRange, "Content-Type: application/octet-stream")
	if err == nil {
		t.Fatalf("dropped PATCH returned a response")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dropped PATCH: %v, want a transport error", err)
	}
	rec := fltRecorded(t, reg, Match{Kind: UploadChunk, Func: func(r Request) bool { return r.Status == 0 }}, 1)
	if rec.UploadID != id || rec.String() != "PATCH "+loc+" -> dropped" || rec.ResponseHeader != nil || rec.ResponseSize != 0 {
		t.Errorf("recorded %s (UploadID %q, ResponseHeader %v, ResponseSize %d)", rec, rec.UploadID, rec.ResponseHeader, rec.ResponseSize)
	}
	if diff := cmp.Diff([]string{"drop"}, rec.Faults); diff != "" {
		t.Errorf("Faults differ (-want +got):\n%s", diff)
	}
	if h.Hits() != 1 {
		t.Errorf("Hits = %d", h.Hits())
	}
	unchanged(t, reg, before)
	info, err := reg.Store().Upload("app", id)
	if err != nil || info.Size != int64(len(first)) {
		t.Errorf("session after the drop: %+v, %v; want size %d", info, err, len(first))
	}
	if _, err := reg.Store().Blob("app", d); err == nil {
		t.Errorf("a blob exists after the dropped PATCH")
	}

	// The same PATCH again, then the upload completes.
	resp = do(t, reg, "PATCH", loc, second, secondRange, "Content-Type: application/octet-stream")
	wantStatus(t, resp, 202)
	wantHeader(t, resp, "Range", fmt.Sprintf("0-%d", len(data)-1))
	resp = do(t, reg, "PUT", loc+"?digest="+string(d), nil)
	wantStatus(t, resp, 201)
	reg.CheckBlob(t, "app", d, data)
}

// TestFaultFailedUploadsStoreNothing: status faults and drops on the
// requests that would create a blob leave the store as it was.
func TestFaultFailedUploadsStoreNothing(t *testing.T) {
	data := []byte("monolithic blob")
	d := digest.FromBytes(data)
	mono := "/v2/app/blobs/uploads/?digest=" + string(d)

	t.Run("monolithic POST", func(t *testing.T) {
		for _, f := range []Fault{{Status: 500}, {Status: 503, Delay: time.Millisecond}, {Drop: true}} {
			reg := New(t)
			before := reg.Store().Snapshot()
			f.Match, f.Times = Match{Kind: UploadMonolithic}, 1
			reg.Inject(f)
			resp, err := fltDo(context.Background(), reg, "POST", mono, data)
			if f.Drop != (err != nil) || (!f.Drop && resp.Status != f.Status) {
				t.Errorf("%s: status %d, err %v", f.label(), resp.Status, err)
			}
			fltRecorded(t, reg, Match{Kind: UploadMonolithic}, 1)
			unchanged(t, reg, before)
			if got := pushBlob(t, reg, "app", data); got != d {
				t.Fatalf("retry stored %s", got)
			}
			reg.CheckBlob(t, "app", d, data)
		}
	})

	t.Run("upload PUT", func(t *testing.T) {
		for _, f := range []Fault{{Status: 500}, {Drop: true}} {
			reg := New(t)
			loc := do(t, reg, "POST", "/v2/app/blobs/uploads/", nil).Header.Get("Location")
			wantStatus(t, do(t, reg, "PATCH", loc, data[:5]), 202)
			before := reg.Store().Snapshot()
			f.Match, f.Times = Match{Kind: UploadComplete}, 1
			reg.Inject(f)
			_, err := fltDo(context.Background(), reg, "PUT", loc+"?digest="+string(d), data[5:])
			if f.Drop != (err != nil) {
				t.Errorf("%s: err %v", f.label(), err)
			}
			fltRecorded(t, reg, Match{Kind: UploadComplete}, 1)
			unchanged(t, reg, before)
			wantStatus(t, do(t, reg, "PUT", loc+"?digest="+string(d), data[5:]), 201)
			reg.CheckBlob(t, "app", d, data)
		}
	})
}

// TestFaultTruncateBlobGet cuts a 1 KiB blob after 10 bytes: the client
// gets the status and headers, 10 bytes, then an unexpected EOF; the
// record keeps the status.
func TestFaultTruncateBlobGet(t *testing.T) {
	reg := New(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 64)
	d := pushBlob(t, reg, "app", data)
	path := "/v2/app/blobs/" + string(d)
	reg.Inject(Fault{Match: Match{Kind: BlobGet}, TruncateAfter: 10, Times: 1})

	resp, err := reg.Client().Get(reg.URL() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(data)) {
		t.Errorf("truncated GET: status %d, Content-Length %d; want 200, %d", resp.StatusCode, resp.ContentLength, len(data))
	}
	got, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading the truncated body: %v, want unexpected EOF", err)
	}
	if !bytes.Equal(got, data[:10]) {
		t.Errorf("read %q, want the first 10 bytes %q", got, data[:10])
	}

	rec := fltRecorded(t, reg, Match{Kind: BlobGet}, 1)
	if rec.Status != 200 || rec.ResponseSize != 10 || rec.String() != "GET "+path+" -> 200" {
		t.Errorf("recorded %s with ResponseSize %d; want status 200, size 10", rec, rec.ResponseSize)
	}
	if rec.ResponseHeader.Get("Docker-Content-Digest") != string(d) {
		t.Errorf("recorded response header %v", rec.ResponseHeader)
	}
	if diff := cmp.Diff([]string{"truncate after 10 bytes"}, rec.Faults); diff != "" {
		t.Errorf("Faults differ (-want +got):\n%s", diff)
	}

	// Then the whole blob again.
	full := do(t, reg, "GET", path, nil)
	wantStatus(t, full, 200)
	if !bytes.Equal(full.Body, data) {
		t.Errorf("retry read %d bytes, want %d", len(full.Body), len(data))
	}

	// A limit past the end changes nothing.
	reg.Inject(Fault{Match: Match{Kind: BlobGet}, TruncateAfter: int64(len(data)), Times: 1})
	full = do(t, reg, "GET", path, nil)
	if !bytes.Equal(full.Body, data) {
		t.Errorf("TruncateAfter = size: read %d bytes, want %d", len(full.Body), len(data))
	}
}

// TestFaultDelayClientGivesUp delays a request for a minute; the client's
// context ends after 100ms. The client returns promptly with the context
// error, the registry gives up on the request too (recorded without a
// status), and the store does not change.
func TestFaultDelayClientGivesUp(t *testing.T) {
	img := newTestImage("delay", nil, "")
	for _, tc := range []struct {
		name         string
		kind         Kind
		method, path string
		body         []byte
	}{
		{"GET", ManifestGet, "GET", "/v2/app/manifests/v1", nil},
		// A request with a body: net/http only notices a client that
		// hung up once the body is read.
		{"PUT", ManifestPut, "PUT", "/v2/app/manifests/v2", img.Manifest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := New(t)
			pushImage(t, reg, "app", "v1", img)
			before := reg.Store().Snapshot()
			h := reg.Inject(Fault{Match: Match{Kind: tc.kind}, Delay: time.Minute, Times: 1})

			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := fltDo(ctx, reg, tc.method, tc.path, tc.body, "Content-Type: "+ocispec.MediaTypeImageManifest)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("delayed request: %v, want the context's deadline error", err)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("client returned after %v", el)
			}

			rec := fltRecorded(t, reg, Match{Kind: tc.kind, Func: func(r Request) bool { return r.Faults != nil }}, 1)
			if rec.Status != 0 || !strings.HasSuffix(rec.String(), " -> dropped") {
				t.Errorf("recorded %s, want no status", rec)
			}
			if diff := cmp.Diff([]string{"delay 1m0s"}, rec.Faults); diff != "" {
				t.Errorf("Faults differ (-want +got):\n%s", diff)
			}
			if rec.Duration > 30*time.Second {
				t.Errorf("recorded Duration %v: the registry waited out the delay", rec.Duration)
			}
			if h.Hits() != 1 {
				t.Errorf("Hits = %d", h.Hits())
			}
			unchanged(t, reg, before)

			// The fault is used up: the same request now works.
			resp, err := fltDo(context.Background(), reg, tc.method, tc.path, tc.body, "Content-Type: "+ocispec.MediaTypeImageManifest)
			if err != nil || resp.Status >= 300 {
				t.Errorf("request after the delay: %d, %v", resp.Status, err)
			}
		})
	}
}

// TestFaultCloseDuringDelay closes the registry while a request is held
// by a one-minute Delay and the client still waits: Close returns within
// seconds and the client gets an error.
func TestFaultCloseDuringDelay(t *testing.T) {
	img := newTestImage("close", nil, "")
	for _, tc := range []struct {
		name         string
		method, path string
		body         []byte
	}{
		{"GET", "GET", "/v2/app/manifests/v1", nil},
		{"PUT", "PUT", "/v2/app/manifests/v2", img.Manifest},
		{"PATCH", "PATCH", "/v2/app/blobs/uploads/" + recUploadID(1), bytes.Repeat([]byte("p"), 100<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := Start()
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			reg.PushBlob(t, "app", img.Config)
			reg.PushBlob(t, "app", img.Layer)
			if _, err := reg.Store().PutManifest("app", "v1", ocispec.MediaTypeImageManifest, img.Manifest); err != nil {
				t.Fatal(err)
			}
			if _, err := reg.Store().StartUpload("app", ""); err != nil {
				t.Fatal(err)
			}
			before := reg.Store().Snapshot()
			arrived := make(chan struct{}, 1)
			reg.Inject(Fault{Delay: time.Minute, Match: Match{Func: func(Request) bool {
				select {
				case arrived <- struct{}{}:
				default:
				}
				return true
			}}})

			errc := make(chan error, 1)
			go func() {
				_, err := fltDo(context.Background(), reg, tc.method, tc.path, tc.body, "Content-Type: "+ocispec.MediaTypeImageManifest)
				errc <- err
			}()
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the request never reached the registry")
			}

			closed := make(chan struct{})
			start := time.Now()
			go func() {
				reg.Close()
				close(closed)
			}()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("Close is still waiting for the delayed request after 10s")
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("Close took %v", el)
			}
			select {
			case err := <-errc:
				if err == nil {
					t.Errorf("the delayed request got an answer")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the client still waits after Close")
			}
			rec := fltRecorded(t, reg, Match{}, 1)
			if rec.Status != 0 {
				t.Errorf("recorded %s, want no status", rec)
			}
			unchanged(t, reg, before)
			reg.Close() // again: does nothing
		})
	}
}

// TestFaultConcurrentTimes: a fault with Times applies exactly that many
// times when requests race for it.
func TestFaultConcurrentTimes(t *testing.T) {
	const workers, each, times = 8, 5, 10
	reg := New(t)
	h := reg.Inject(Fault{Match: Match{Kind: Ping}, Status: 503, Times: times})
	client := reg.Client()
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				status, err := recGet(client, reg.URL()+"/v2/")
				mu.Lock()
				if err != nil {
					status = -1
				}
				statuses[status]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if diff := cmp.Diff(map[int]int{503: times, 200: workers*each - times}, statuses); diff != "" {
		t.Errorf("statuses differ (-want +got):\n%s", diff)
	}
	if h.Hits() != times {
		t.Errorf("Hits = %d, want %d", h.Hits(), times)
	}
	failed := reg.Filter(Match{Status: 503})
	if len(failed) != times {
		t.Errorf("%d requests recorded with 503", len(failed))
	}
	for _, r := range failed {
		if len(r.Faults) != 1 {
			t.Errorf("%s records faults %q", r, r.Faults)
		}
	}
}

func TestFaultClearFaults(t *testing.T) {
	reg := New(t)
	a := reg.Inject(Fault{Match: Match{Kind: Ping}, Status: 500})
	b := reg.FailNext(Match{}, 502)
	reg.ClearFaults()
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), 200)
	wantStatus(t, do(t, reg, "GET", "/v2/_catalog", nil), 200)
	if a.Hits() != 0 || b.Hits() != 0 {
		t.Errorf("Hits after ClearFaults = %d, %d", a.Hits(), b.Hits())
	}
	a.Remove() // removing a cleared fault does nothing
	// Faults injected afterwards apply.
	reg.FailNext(Match{Kind: Ping}, 500)
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), 500)
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), 200)
}
