package ocitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Helpers of this file are prefixed "rec" so they cannot clash with the
// helpers other test files of the package define.

// recUploadID is the id of the n-th upload session a fresh store opens
// (memstore numbers them deterministically).
func recUploadID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", n) }

// recStep is one request of a scripted exchange and the record it must
// leave. want's Method and Path are filled in from the step;
// want.ResponseSize from the response body the client read.
type recStep struct {
	method, path string
	body         []byte
	header       []string
	want         Request
	// respHeader lists response headers the record must hold, with values.
	respHeader map[string]string
}

// recIgnoreForSteps leaves out what recStep does not spell out: the
// volatile fields and the headers (checked key by key instead).
var recIgnoreForSteps = cmpopts.IgnoreFields(Request{}, "Seq", "Time", "Duration", "Header", "ResponseHeader")

// TestRecordEveryKind drives one request of every endpoint kind and checks
// the record each leaves: addressing fields, Query (nil when there is
// none), captured body, status, response headers and size, and that Seq
// and Time follow arrival order.
func TestRecordEveryKind(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := NewFakeClock(t0)
	reg := New(t, WithClock(clock))
	img := newTestImage("rec", nil, "")
	cfgD, layerD := digest.FromBytes(img.Config), digest.FromBytes(img.Layer)
	id1, id2 := recUploadID(1), recUploadID(2)
	mt := ocispec.MediaTypeImageManifest

	steps := []recStep{
		{method: "GET", path: "/v2/",
			want:       Request{Kind: Ping, Status: 200},
			respHeader: map[string]string{"Docker-Distribution-API-Version": "registry/2.0", "Content-Type": "application/json"}},
		{method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + string(cfgD), body: img.Config,
			want: Request{Kind: UploadMonolithic, Repo: "team/app", Query: url.Values{"digest": {string(cfgD)}},
				BodySize: int64(len(img.Config)), Status: 201}, // blob content is counted, not kept
			respHeader: map[string]string{"Docker-Content-Digest": string(cfgD), "Location": "/v2/team/app/blobs/" + string(cfgD)}},
		{method: "POST", path: "/v2/team/app/blobs/uploads/",
			want:       Request{Kind: UploadStart, Repo: "team/app", Status: 202},
			respHeader: map[string]string{"Location": "/v2/team/app/blobs/uploads/" + id1, "Docker-Upload-UUID": id1, "Range": "0-0"}},
		{method: "PATCH", path: "/v2/team/app/blobs/uploads/" + id1, body: img.Layer, header: []string{"Content-Type: application/octet-stream"},
			want: Request{Kind: UploadChunk, Repo: "team/app", UploadID: id1,
				BodySize: int64(len(img.Layer)), Status: 202},
			respHeader: map[string]string{"Range": "0-" + strconv.Itoa(len(img.Layer)-1)}},
		{method: "GET", path: "/v2/team/app/blobs/uploads/" + id1,
			want:       Request{Kind: UploadStatus, Repo: "team/app", UploadID: id1, Status: 204},
			respHeader: map[string]string{"Range": "0-" + strconv.Itoa(len(img.Layer)-1)}},
		{method: "PUT", path: "/v2/team/app/blobs/uploads/" + id1 + "?digest=" + string(layerD),
			want: Request{Kind: UploadComplete, Repo: "team/app", UploadID: id1,
				Query: url.Values{"digest": {string(layerD)}}, Status: 201},
			respHeader: map[string]string{"Docker-Content-Digest": string(layerD)}},
		{method: "PUT", path: "/v2/team/app/manifests/v1", body: img.Manifest, header: []string{"Content-Type: " + mt},
			want: Request{Kind: ManifestPut, Repo: "team/app", Reference: "v1",
				BodySize: int64(len(img.Manifest)), Body: img.Manifest, Status: 201},
			respHeader: map[string]string{"Docker-Content-Digest": string(img.Digest), "Location": "/v2/team/app/manifests/" + string(img.Digest)}},
		{method: "GET", path: "/v2/team/app/manifests/v1",
			want:       Request{Kind: ManifestGet, Repo: "team/app", Reference: "v1", Status: 200},
			respHeader: map[string]string{"Docker-Content-Digest": string(img.Digest), "Content-Type": mt, "Content-Length": strconv.Itoa(len(img.Manifest))}},
		{method: "HEAD", path: "/v2/team/app/manifests/" + string(img.Digest),
			want:       Request{Kind: ManifestHead, Repo: "team/app", Reference: string(img.Digest), Status: 200},
			respHeader: map[string]string{"Docker-Content-Digest": string(img.Digest)}},
		{method: "GET", path: "/v2/team/app/blobs/" + string(layerD),
			want:       Request{Kind: BlobGet, Repo: "team/app", Reference: string(layerD), Status: 200},
			respHeader: map[string]string{"Docker-Content-Digest": string(layerD)}},
		{method: "HEAD", path: "/v2/team/app/blobs/" + string(cfgD),
			want:       Request{Kind: BlobHead, Repo: "team/app", Reference: string(cfgD), Status: 200},
			respHeader: map[string]string{"Docker-Content-Digest": string(cfgD)}},
		{method: "POST", path: "/v2/team/other/blobs/uploads/?mount=" + string(layerD) + "&from=team/app",
			want: Request{Kind: BlobMount, Repo: "team/other", Status: 201,
				Query: url.Values{"mount": {string(layerD)}, "from": {"team/app"}}},
			respHeader: map[string]string{"Docker-Content-Digest": string(layerD)}},
		{method: "GET", path: "/v2/team/app/tags/list?n=5",
			want: Request{Kind: TagsList, Repo: "team/app", Query: url.Values{"n": {"5"}}, Status: 200}},
		{method: "GET", path: "/v2/team/app/referrers/" + string(img.Digest),
			want:       Request{Kind: ReferrersList, Repo: "team/app", Reference: string(img.Digest), Status: 200},
			respHeader: map[string]string{"Content-Type": ocispec.MediaTypeImageIndex}},
		{method: "GET", path: "/v2/_catalog",
			want: Request{Kind: Catalog, Status: 200}},
		{method: "POST", path: "/v2/team/app/blobs/uploads/",
			want:       Request{Kind: UploadStart, Repo: "team/app", Status: 202},
			respHeader: map[string]string{"Docker-Upload-UUID": id2}},
		{method: "DELETE", path: "/v2/team/app/blobs/uploads/" + id2,
			want: Request{Kind: UploadCancel, Repo: "team/app", UploadID: id2, Status: 204}},
		{method: "DELETE", path: "/v2/team/other/blobs/" + string(layerD),
			want: Request{Kind: BlobDelete, Repo: "team/other", Reference: string(layerD), Status: 202}},
		{method: "DELETE", path: "/v2/team/app/manifests/v1",
			want: Request{Kind: ManifestDelete, Repo: "team/app", Reference: "v1", Status: 202}},
		{method: "GET", path: "/v2/team/app/manifests/v1",
			want:       Request{Kind: ManifestGet, Repo: "team/app", Reference: "v1", Status: 404},
			respHeader: map[string]string{"Content-Type": "application/json", "Docker-Content-Digest": ""}},
		{method: "PUT", path: "/v2/team/app/tags/list",
			want:       Request{Kind: Unknown, Repo: "team/app", Status: 405},
			respHeader: map[string]string{"Allow": "GET, HEAD"}},
		{method: "GET", path: "/v3/",
			want: Request{Kind: Unknown, Status: 404}},
	}

	for i, st := range steps {
		resp := do(t, reg, st.method, st.path, st.body, st.header...)
		want := st.want
		want.Method = st.method
		want.Path, _, _ = strings.Cut(st.path, "?")
		want.ResponseSize = int64(len(resp.Body))
		got, ok := reg.LastRequest()
		if !ok {
			t.Fatalf("step %d %s %s: nothing recorded", i, st.method, st.path)
		}
		if diff := cmp.Diff(want, got, recIgnoreForSteps); diff != "" {
			t.Errorf("step %d %s %s: record differs (-want +got):\n%s", i, st.method, st.path, diff)
		}
		if got.Seq != i+1 {
			t.Errorf("step %d: Seq = %d, want %d", i, got.Seq, i+1)
		}
		if wantTime := t0.Add(time.Duration(i) * time.Second); !got.Time.Equal(wantTime) {
			t.Errorf("step %d: Time = %v, want %v (the registry's clock)", i, got.Time, wantTime)
		}
		if got.Duration < 0 {
			t.Errorf("step %d: Duration = %v", i, got.Duration)
		}
		if ua := got.Header.Get("User-Agent"); !strings.HasPrefix(ua, "Go-http-client/") {
			t.Errorf("step %d: recorded request header User-Agent = %q", i, ua)
		}
		for _, h := range st.header {
			name, value, _ := strings.Cut(h, ":")
			if v := got.Header.Get(name); v != strings.TrimSpace(value) {
				t.Errorf("step %d: recorded request header %s = %q, want %q", i, name, v, strings.TrimSpace(value))
			}
		}
		if v := got.ResponseHeader.Get("Docker-Distribution-API-Version"); v != "registry/2.0" {
			t.Errorf("step %d: recorded response lacks Docker-Distribution-API-Version (got %q)", i, v)
		}
		for name, value := range st.respHeader {
			if v := got.ResponseHeader.Get(name); v != value {
				t.Errorf("step %d %s %s: recorded response header %s = %q, want %q", i, st.method, st.path, name, v, value)
			}
			// The record holds what the client was sent.
			if v := resp.Header.Get(name); v != value && name != "Content-Length" {
				t.Errorf("step %d: client saw %s = %q, want %q", i, name, v, value)
			}
		}
		clock.Advance(time.Second)
	}

	reqs := reg.Requests()
	if len(reqs) != len(steps) {
		t.Fatalf("Requests() has %d entries, want %d", len(reqs), len(steps))
	}
	for i, r := range reqs {
		if r.Seq != i+1 || r.Method != steps[i].method {
			t.Errorf("Requests()[%d] = #%d %s, want #%d %s %s", i, r.Seq, r, i+1, steps[i].method, steps[i].path)
		}
	}
}

// TestRecordBodyCapped pushes a 200 KiB blob: the whole size is counted
// but blob content is not kept; a 200 KiB manifest body keeps its first
// MaxCapturedBody bytes; pulling the blob back records the size sent.
func TestRecordBodyCapped(t *testing.T) {
	reg := New(t)
	blob := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16)
	if len(blob) != 200<<10 {
		t.Fatalf("test blob has %d bytes", len(blob))
	}
	d := pushBlob(t, reg, "big", blob)
	put, _ := reg.LastRequest()
	if put.Kind != UploadMonolithic || put.BodySize != 200<<10 || put.Body != nil {
		t.Errorf("push recorded as %v with BodySize %d and %d bytes of Body, want UploadMonolithic with %d and none",
			put.Kind, put.BodySize, len(put.Body), 200<<10)
	}

	// Not blob content: kept up to MaxCapturedBody (the manifest is
	// refused, but its body was read).
	do(t, reg, "PUT", "/v2/big/manifests/v1", blob, "Content-Type: application/vnd.oci.image.manifest.v1+json")
	mput, _ := reg.LastRequest()
	if mput.Kind != ManifestPut || mput.BodySize != 200<<10 {
		t.Errorf("manifest push recorded as %v with BodySize %d, want ManifestPut with %d", mput.Kind, mput.BodySize, 200<<10)
	}
	if len(mput.Body) != MaxCapturedBody || !bytes.Equal(mput.Body, blob[:MaxCapturedBody]) {
		t.Errorf("captured body has %d bytes (equal to the first bytes sent: %v), want the first %d",
			len(mput.Body), bytes.Equal(mput.Body, blob[:min(len(mput.Body), len(blob))]), MaxCapturedBody)
	}

	resp := do(t, reg, "GET", "/v2/big/blobs/"+string(d), nil)
	wantStatus(t, resp, 200)
	// A 200 KiB answer fills the response buffer exactly, so the client can
	// hold every byte a moment before the request is recorded: wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gets, err := reg.WaitFor(ctx, Match{Kind: BlobGet}, 1)
	if err != nil {
		t.Fatalf("the GET was not recorded: %v", err)
	}
	get := gets[0]
	if get.ResponseSize != int64(len(blob)) || get.BodySize != 0 || get.Body != nil {
		t.Errorf("GET recorded ResponseSize %d BodySize %d Body %d bytes; want %d, 0, nil", get.ResponseSize, get.BodySize, len(get.Body), len(blob))
	}
}

func TestRecordRequestString(t *testing.T) {
	d := "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	for _, tc := range []struct {
		r    Request
		want string
	}{
		{Request{Method: "GET", Path: "/v2/app/manifests/v1", Status: 200}, "GET /v2/app/manifests/v1 -> 200"},
		{Request{Method: "HEAD", Path: "/v2/", Status: 401}, "HEAD /v2/ -> 401"},
		{Request{Method: "PATCH", Path: "/v2/app/blobs/uploads/x"}, "PATCH /v2/app/blobs/uploads/x -> dropped"},
		{Request{Method: "GET", Path: "/v2/app/tags/list", Query: url.Values{}, Status: 200}, "GET /v2/app/tags/list -> 200"},
		{Request{Method: "GET", Path: "/v2/app/tags/list", Query: url.Values{"n": {"2"}, "last": {"a"}}, Status: 200},
			"GET /v2/app/tags/list?last=a&n=2 -> 200"},
		// The query is shown sorted by key and unescaped.
		{Request{Method: "POST", Path: "/v2/app/blobs/uploads/", Query: url.Values{"digest": {d}}, Status: 201},
			"POST /v2/app/blobs/uploads/?digest=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 -> 201"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}

	// And from real records.
	reg := New(t)
	do(t, reg, "GET", "/v2/app/manifests/v1", nil)
	do(t, reg, "GET", "/v2/app/tags/list?n=1", nil)
	reg.AssertRequestLines(t, Match{},
		"GET /v2/app/manifests/v1 -> 404",
		"GET /v2/app/tags/list?n=1 -> 404",
	)
}

// recGet sends a GET with client and reads the whole response; it reports
// failure as an error, so goroutines other than the test's may use it.
func recGet(client *http.Client, url string) (int, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// recSeedTraffic serves a mix of requests over three repositories:
// team/a:v1 and team/b:v1 exist, other/c does not.
func recSeedTraffic(t *testing.T, reg *Registry) (a, b testImage) {
	t.Helper()
	a, b = newTestImage("a", nil, ""), newTestImage("b", nil, "")
	pushImage(t, reg, "team/a", "v1", a) // 2 POST + 1 PUT
	pushImage(t, reg, "team/b", "v1", b) // 2 POST + 1 PUT
	reg.ResetRequests()
	do(t, reg, "GET", "/v2/", nil)                                   // Ping 200
	do(t, reg, "GET", "/v2/team/a/manifests/v1", nil)                // 200
	do(t, reg, "HEAD", "/v2/team/a/manifests/v1", nil)               // 200
	do(t, reg, "GET", "/v2/team/b/manifests/v1", nil)                // 200
	do(t, reg, "GET", "/v2/team/b/manifests/v2", nil)                // 404
	do(t, reg, "GET", "/v2/other/c/manifests/v1", nil)               // 404
	do(t, reg, "GET", "/v2/team/a/blobs/"+string(a.Digest), nil)     // 404: a manifest, not a blob
	do(t, reg, "GET", "/v2/team/a/manifests/"+string(a.Digest), nil) // 200
	do(t, reg, "GET", "/v2/team/x/y/tags/list", nil)                 // 404, nested name
	return a, b
}

func TestRecordFilterAndCount(t *testing.T) {
	reg := New(t)
	a, _ := recSeedTraffic(t, reg)
	for _, tc := range []struct {
		name string
		m    Match
		want []string
	}{
		{"zero matches all", Match{}, nil}, // nil: every request, checked by count below
		{"kind", Match{Kind: ManifestGet}, []string{
			"GET /v2/team/a/manifests/v1 -> 200",
			"GET /v2/team/b/manifests/v1 -> 200",
			"GET /v2/team/b/manifests/v2 -> 404",
			"GET /v2/other/c/manifests/v1 -> 404",
			"GET /v2/team/a/manifests/" + string(a.Digest) + " -> 200",
		}},
		{"method", Match{Method: "HEAD"}, []string{"HEAD /v2/team/a/manifests/v1 -> 200"}},
		{"repo pattern", Match{Repo: "team/*", Status: 404}, []string{
			"GET /v2/team/b/manifests/v2 -> 404",
			"GET /v2/team/a/blobs/" + string(a.Digest) + " -> 404",
		}},
		{"repo exact", Match{Repo: "team/x/y"}, []string{"GET /v2/team/x/y/tags/list -> 404"}},
		{"repo pattern spans segments", Match{Repo: "team/*/*"}, []string{"GET /v2/team/x/y/tags/list -> 404"}},
		{"reference", Match{Reference: "v1"}, []string{
			"GET /v2/team/a/manifests/v1 -> 200",
			"HEAD /v2/team/a/manifests/v1 -> 200",
			"GET /v2/team/b/manifests/v1 -> 200",
			"GET /v2/other/c/manifests/v1 -> 404",
		}},
		{"reference pattern", Match{Kind: ManifestGet, Reference: "sha256:*"}, []string{
			"GET /v2/team/a/manifests/" + string(a.Digest) + " -> 200",
		}},
		{"status", Match{Status: 200, Kind: Ping}, []string{"GET /v2/ -> 200"}},
		{"func", Match{Func: func(r Request) bool { return strings.HasSuffix(r.Path, "/v2") }}, []string{
			"GET /v2/team/b/manifests/v2 -> 404",
		}},
		{"all fields", Match{Kind: ManifestGet, Method: "GET", Repo: "team/*", Reference: "v*", Status: 200,
			Func: func(r Request) bool { return r.Repo == "team/b" }}, []string{
			"GET /v2/team/b/manifests/v1 -> 200",
		}},
		{"malformed pattern matches nothing", Match{Repo: "team/["}, nil},
		{"nothing", Match{Kind: BlobMount}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := reg.Filter(tc.m)
			if tc.name == "zero matches all" {
				if len(got) != 9 || reg.Count(tc.m) != 9 {
					t.Errorf("zero Match selects %d (Count %d), want all 9", len(got), reg.Count(tc.m))
				}
				return
			}
			var lines []string
			for _, r := range got {
				lines = append(lines, r.String())
			}
			if diff := cmp.Diff(tc.want, lines); diff != "" {
				t.Errorf("Filter differs (-want +got):\n%s", diff)
			}
			if n := reg.Count(tc.m); n != len(tc.want) {
				t.Errorf("Count = %d, want %d", n, len(tc.want))
			}
			for i := 1; i < len(got); i++ {
				if got[i].Seq <= got[i-1].Seq {
					t.Errorf("Filter result not in arrival order: #%d after #%d", got[i].Seq, got[i-1].Seq)
				}
			}
		})
	}
	// Matches agrees with Filter.
	for _, r := range reg.Requests() {
		if m := (Match{Repo: "team/*"}); m.Matches(r) != (r.Repo == "team/a" || r.Repo == "team/b") {
			t.Errorf("Match{Repo: team/*}.Matches(%s) = %v", r, m.Matches(r))
		}
	}
}

func TestRecordLastRequest(t *testing.T) {
	reg := New(t)
	if r, ok := reg.LastRequest(); ok || !cmp.Equal(r, Request{}) {
		t.Errorf("LastRequest on a new registry = %v, %v; want zero, false", r, ok)
	}
	do(t, reg, "GET", "/v2/", nil)
	do(t, reg, "GET", "/v2/app/tags/list", nil)
	r, ok := reg.LastRequest()
	if !ok || r.String() != "GET /v2/app/tags/list -> 404" || r.Seq != 2 {
		t.Errorf("LastRequest = #%d %s, %v; want #2 GET /v2/app/tags/list -> 404, true", r.Seq, r, ok)
	}
	reg.ResetRequests()
	if r, ok := reg.LastRequest(); ok {
		t.Errorf("LastRequest after ResetRequests = %s, true", r)
	}
}

func TestRecordResetRequests(t *testing.T) {
	reg := New(t)
	for range 3 {
		do(t, reg, "GET", "/v2/", nil)
	}
	reg.ResetRequests()
	if n := len(reg.Requests()); n != 0 {
		t.Errorf("Requests after reset has %d entries", n)
	}
	if n := reg.Count(Match{}); n != 0 {
		t.Errorf("Count after reset = %d", n)
	}
	reg.AssertRequestLines(t, Match{})
	do(t, reg, "GET", "/v2/app/tags/list", nil)
	reqs := reg.Requests()
	if len(reqs) != 1 || reqs[0].Seq != 4 {
		t.Errorf("after reset and one request: %v; want one request numbered 4 (numbering goes on)", reqs)
	}
	// Reset does not touch the store.
	pushBlob(t, reg, "app", []byte("kept"))
	reg.ResetRequests()
	reg.CheckBlob(t, "app", digest.FromBytes([]byte("kept")), []byte("kept"))
}

func TestRecordWaitFor(t *testing.T) {
	reg := New(t)
	client := reg.Client()
	m := Match{Kind: TagsList, Repo: "team/*"}

	// Already satisfied: returns at once, even with a done context.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := reg.WaitFor(done, m, 0); err != nil || len(got) != 0 {
		t.Errorf("WaitFor(n=0) = %v, %v", got, err)
	}

	// Requests from another goroutine: noise first, then the five waited for.
	const n = 5
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for i := range n {
			if _, err := recGet(client, reg.URL()+"/v2/"); err != nil {
				errs <- err
				return
			}
			if _, err := recGet(client, fmt.Sprintf("%s/v2/team/r%d/tags/list", reg.URL(), i)); err != nil {
				errs <- err
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := reg.WaitFor(ctx, m, n)
	if err != nil {
		t.Fatalf("WaitFor: %v (got %d of %d)", err, len(got), n)
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("WaitFor returned %d requests, want %d", len(got), n)
	}
	for i, r := range got {
		if r.Kind != TagsList || r.Repo != fmt.Sprintf("team/r%d", i) {
			t.Errorf("WaitFor result %d = %v %s", i, r.Kind, r)
		}
	}

	// Timeout: the context's error and what was seen so far.
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err = reg.WaitFor(short, m, n+1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitFor past the deadline: err = %v, want DeadlineExceeded", err)
	}
	if len(got) != n {
		t.Errorf("WaitFor past the deadline returned %d requests, want the %d seen", len(got), n)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("WaitFor took %v to notice its deadline", el)
	}
}

func TestRecordWithMaxRecorded(t *testing.T) {
	reg := New(t, WithMaxRecorded(3))
	for i := range 5 {
		do(t, reg, "GET", fmt.Sprintf("/v2/r%d/tags/list", i), nil)
		reqs := reg.Requests()
		if len(reqs) != min(i+1, 3) || reqs[len(reqs)-1].Seq != i+1 {
			t.Errorf("after %d requests: %d kept, last #%d; want %d kept, last #%d", i+1, len(reqs), reqs[len(reqs)-1].Seq, min(i+1, 3), i+1)
		}
	}
	reg.AssertRequestLines(t, Match{},
		"GET /v2/r2/tags/list -> 404",
		"GET /v2/r3/tags/list -> 404",
		"GET /v2/r4/tags/list -> 404",
	)
	var seqs []int
	for _, r := range reg.Requests() {
		seqs = append(seqs, r.Seq)
	}
	if diff := cmp.Diff([]int{3, 4, 5}, seqs); diff != "" {
		t.Errorf("kept Seqs differ (-want +got):\n%s", diff)
	}
	if n := reg.Count(Match{Kind: TagsList}); n != 3 {
		t.Errorf("Count = %d, want 3 (only what is kept)", n)
	}
}

// TestRecordWithMaxRecordedDefault checks that a non-positive bound means the
// default, not "keep nothing".
func TestRecordWithMaxRecordedDefault(t *testing.T) {
	reg := New(t, WithMaxRecorded(0))
	do(t, reg, "GET", "/v2/", nil)
	if n := len(reg.Requests()); n != 1 {
		t.Errorf("WithMaxRecorded(0) kept %d requests, want 1", n)
	}
}

// TestRecordConcurrent serves 8 goroutines × 25 requests at once (run it
// with -race): every request is recorded once, numbered 1..200 in order,
// and the counts per repository and kind are exact.
func TestRecordConcurrent(t *testing.T) {
	const workers, each = 8, 25
	reg := New(t)
	client := reg.Client()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				path := fmt.Sprintf("/v2/team/w%d/tags/list", w)
				want := 404
				if i%5 == 0 {
					path, want = "/v2/", 200
				}
				status, err := recGet(client, reg.URL()+path)
				if err == nil && status != want {
					err = fmt.Errorf("GET %s: status %d, want %d", path, status, want)
				}
				if err != nil {
					errs <- err
					return
				}
				// Readers run alongside the writers.
				reg.Count(Match{Repo: "team/*"})
				reg.LastRequest()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	reqs := reg.Requests()
	if len(reqs) != workers*each {
		t.Fatalf("recorded %d requests, want %d", len(reqs), workers*each)
	}
	for i, r := range reqs {
		if r.Seq != i+1 {
			t.Fatalf("Requests()[%d].Seq = %d, want %d (numbered once each, in order)", i, r.Seq, i+1)
		}
	}
	if n := reg.Count(Match{Kind: Ping, Status: 200}); n != workers*each/5 {
		t.Errorf("pings = %d, want %d", n, workers*each/5)
	}
	if n := reg.Count(Match{Kind: TagsList, Repo: "team/*", Status: 404}); n != workers*each*4/5 {
		t.Errorf("tag lists = %d, want %d", n, workers*each*4/5)
	}
	for w := range workers {
		if n := reg.Count(Match{Repo: fmt.Sprintf("team/w%d", w)}); n != each*4/5 {
			t.Errorf("team/w%d: %d requests, want %d", w, n, each*4/5)
		}
	}
}

// TestRecordWithLogfLine checks the per-request log line.
func TestRecordWithLogfLine(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	reg := New(t, WithLogf(func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}))
	do(t, reg, "GET", "/v2/", nil)
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 1 || !strings.HasPrefix(logged[0], "ocitest: GET /v2/ -> 200 (") {
		t.Errorf("logged %q, want one line for GET /v2/ -> 200", logged)
	}
}

// TestRecordBlobPushAllocation: recording a blob push costs no allocation
// in proportion to the blob (its bytes are stored once, by the store),
// for a monolithic push and for chunks.
func TestRecordBlobPushAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	reg := New(t)
	h := reg.Handler()
	blob := bytes.Repeat([]byte("ocifixture-bench"), 1<<20/16)
	d := digest.FromBytes(blob)
	serve := func(method, target string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/octet-stream")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	var before, after runtime.MemStats
	// Warm up what is pooled (the name check's regexp state) first.
	warm := []byte("warm-up")
	serve("POST", "/v2/alloc/blobs/uploads/?digest="+string(digest.FromBytes(warm)), warm)
	runtime.ReadMemStats(&before)
	if rec := serve("POST", "/v2/alloc/blobs/uploads/?digest="+string(d), blob); rec.Code != http.StatusCreated {
		t.Fatalf("push: %d %s", rec.Code, rec.Body)
	}
	runtime.ReadMemStats(&after)
	// The store's copy is the blob's size; everything else is per request.
	if extra := int64(after.TotalAlloc-before.TotalAlloc) - int64(len(blob)); extra > 32<<10 {
		t.Errorf("a 1 MiB push allocated %d bytes beyond the stored copy", extra)
	}
	if r, _ := reg.LastRequest(); r.BodySize != int64(len(blob)) || r.Body != nil {
		t.Errorf("push recorded BodySize %d and %d bytes of Body, want %d and none", r.BodySize, len(r.Body), len(blob))
	}

	rec := serve("POST", "/v2/alloc/blobs/uploads/", nil)
	loc := rec.Header().Get("Location")
	chunk := blob[:256<<10]
	runtime.ReadMemStats(&before)
	req := httptest.NewRequest("PATCH", loc, bytes.NewReader(chunk))
	req.Header.Set("Content-Range", fmt.Sprintf("0-%d", len(chunk)-1))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("chunk: %d %s", rec.Code, rec.Body)
	}
	runtime.ReadMemStats(&after)
	if extra := int64(after.TotalAlloc-before.TotalAlloc) - int64(len(chunk)); extra > 32<<10 {
		t.Errorf("a 256 KiB chunk allocated %d bytes beyond the stored copy", extra)
	}
}

// TestRecordRoundTrip: a record gives back the request it was made of,
// field for field, headers and queries nil as nil and empty as empty, and
// nothing of what it gives back shares memory with it.
func TestRecordRoundTrip(t *testing.T) {
	maps := []map[string][]string{
		nil,
		{},
		{"A": {"1"}},
		{"Accept": {"a", "b", ""}, "X-Empty": {}, "X-Nil": nil, "": {"no name"}, "Odd\x00\r\n": {strings.Repeat("é\xff", 300)}},
	}
	base := Request{
		Seq: 7, Kind: ManifestPut, Method: "PUT", Path: "/v2/team/app/manifests/v1",
		Repo: "team/app", Reference: "v1", UploadID: "", Body: []byte(`{"schemaVersion":2}`), BodySize: 19,
		Status: 201, ResponseSize: 0, User: "alice",
		Time: time.Date(2026, 11, 27, 10, 0, 0, 5, time.UTC), Duration: 1234 * time.Microsecond,
	}
	for _, h := range maps {
		for _, q := range maps {
			for _, resp := range maps {
				want := base
				want.Header, want.ResponseHeader = http.Header(h), http.Header(resp)
				if q != nil {
					want.Query = url.Values(q)
				}
				enc, at := encodeRecord(&want, resp)
				if got := newRecord(&want, enc, at).request(); !cmp.Equal(want, got) {
					t.Errorf("round trip differs (-want +got):\n%s", cmp.Diff(want, got))
				}
			}
		}
	}
	// Lists, and a request whose response header never went out.
	want := base
	want.Method, want.Path, want.UploadID = "PATCH", "/v2/a/blobs/uploads/x", "x"
	want.Scopes, want.Granted = []string{"repository:a:pull"}, []string{"repository:a:pull,push"}
	want.Quirks, want.Faults = []string{"q"}, []string{"f"}
	rec := newRecord(&want, nil, [3]uint32{})
	got := rec.request()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip differs (-want +got):\n%s", diff)
	}
	got.Body[0], got.Scopes[0], got.Quirks[0] = 'X', "changed", "changed"
	if again := rec.request(); !cmp.Equal(want, again) {
		t.Errorf("changing a decoded request changed the record (-want +got):\n%s", cmp.Diff(want, again))
	}
}

// TestRecordEncodedExactly: a record's strings and maps are encoded in one
// buffer of exactly their size.
func TestRecordEncodedExactly(t *testing.T) {
	r := &Request{
		Method: "GET", Path: "/v2/app/tags/list", Repo: "app",
		Header: http.Header{"Accept": {strings.Repeat("a", 200)}, "B": nil, "C": {"", "x"}},
		Query:  url.Values{"n": {"10"}},
	}
	resp := map[string][]string{"Content-Type": {"application/json"}}
	if b, _ := encodeRecord(r, resp); len(b) != cap(b) {
		t.Errorf("encoded %d bytes into a buffer of %d", len(b), cap(b))
	}
	if n := testing.AllocsPerRun(50, func() { encodeRecord(r, resp) }); n != 1 {
		t.Errorf("encodeRecord allocated %v times, want 1", n)
	}
}

// TestRecordWords: recordWord is the inverse of recordWords, for every
// word and for strings that are not words.
func TestRecordWords(t *testing.T) {
	seen := map[string]bool{}
	for i, w := range recordWords {
		if seen[w] {
			t.Errorf("%q is in recordWords twice", w)
		}
		seen[w] = true
		if got := recordWord(w); got != i {
			t.Errorf("recordWord(%q) = %d, want %d", w, got, i)
		}
	}
	for _, s := range []string{"", "accept", "Content-type", "registry/2.1", "1", "Etag "} {
		if got := recordWord(s); got != -1 {
			t.Errorf("recordWord(%q) = %d, want -1", s, got)
		}
	}
	// Words and text mixed round-trip (TestRecordRoundTrip covers text).
	h := map[string][]string{"Content-Type": {"application/json", "x"}, "X-Other": {"gzip", ""}, "0": {"0"}}
	if got := decodeValues(appendValues(nil, h)); !cmp.Equal(h, got) {
		t.Errorf("round trip differs (-want +got):\n%s", cmp.Diff(h, got))
	}
}

// TestRecordManifestBodyKept: a manifest PUT's body is recorded as read,
// without holding more than it: an empty body is nil, and a body cut
// short of its declared length keeps a buffer of the bytes that came, not
// the one made for the declared length.
func TestRecordManifestBodyKept(t *testing.T) {
	reg := New(t)
	do(t, reg, "PUT", "/v2/app/manifests/v1", nil, "Content-Type: application/vnd.oci.image.manifest.v1+json")
	if put, _ := reg.LastRequest(); put.Kind != ManifestPut || put.Body != nil {
		t.Errorf("empty manifest PUT recorded as %v with Body %#v, want ManifestPut and nil", put.Kind, put.Body)
	}

	conn, err := net.Dial("tcp", reg.Host())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT /v2/app/manifests/v2 HTTP/1.1\r\nHost: %s\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 1000000\r\n\r\n{\"schema", reg.Host())
	conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := reg.WaitFor(ctx, Match{Kind: ManifestPut, Reference: "v2"}, 1); err != nil {
		t.Fatalf("the cut-short PUT was not recorded: %v", err)
	}
	reg.rec.mu.Lock()
	defer reg.rec.mu.Unlock()
	body := reg.rec.reqs[len(reg.rec.reqs)-1].body
	if string(body) != `{"schema` || cap(body) != len(body) {
		t.Errorf("cut-short PUT recorded %q in a buffer of %d bytes, want the 8 bytes sent in a buffer of their own", body, cap(body))
	}
}
