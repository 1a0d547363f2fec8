package ocitest

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
)

// Helpers of the blob and upload tests (used by blobs_test.go too).

// doV2 is do for the blob and upload tests: target is a path or an
// absolute URL on the registry (so a Location header can be used exactly as
// given), and every response must carry the API version header.
func doV2(t testing.TB, reg *Registry, method, target string, body []byte, header ...string) response {
	t.Helper()
	resp := do(t, reg, method, onRegistry(t, reg, target), body, header...)
	wantAPIVersion(t, resp)
	return resp
}

// doStreamed sends body with no declared length, so that it goes out with
// Transfer-Encoding: chunked and the server sees ContentLength -1.
func doStreamed(t testing.TB, reg *Registry, method, target string, body []byte, header ...string) response {
	t.Helper()
	req := newStreamedRequest(t, method, reg.URL()+onRegistry(t, reg, target), body)
	for _, h := range header {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			t.Fatalf("header %q is not Name: value", h)
		}
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	resp, err := reg.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, target, err)
	}
	r := response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	wantAPIVersion(t, r)
	return r
}

// newStreamedRequest builds a request whose body length the client cannot
// see: the reader is wrapped so http.NewRequest does not recognise it.
func newStreamedRequest(t testing.TB, method, target string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, io.MultiReader(struct{ io.Reader }{bytes.NewReader(body)}))
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, target, err)
	}
	req.ContentLength = -1 // unknown: chunked
	return req
}

// onRegistry turns target (a path, or an absolute URL as a Location may be)
// into a path on reg, failing if it points elsewhere.
func onRegistry(t testing.TB, reg *Registry, target string) string {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		return target
	}
	u, err := url.Parse(target)
	if err != nil || !u.IsAbs() {
		t.Fatalf("location %q is neither a path nor an absolute URL", target)
	}
	if u.Scheme+"://"+u.Host != reg.URL() {
		t.Fatalf("location %q is not on the registry %s", target, reg.URL())
	}
	return u.RequestURI()
}

// withQuery adds a query parameter to a location that may already have a
// query of its own.
func withQuery(loc, param string) string {
	if strings.Contains(loc, "?") {
		return loc + "&" + param
	}
	return loc + "?" + param
}

// wantAPIVersion checks the header every registry response carries.
func wantAPIVersion(t testing.TB, resp response) {
	t.Helper()
	if got := resp.Header.Get("Docker-Distribution-API-Version"); got != "registry/2.0" {
		t.Errorf("Docker-Distribution-API-Version = %q, want registry/2.0 (status %d)", got, resp.Status)
	}
}

// openUpload starts an upload session in repo (query is "" or a query
// string without '?') and returns its Location, after checking the 202.
func openUpload(t testing.TB, reg *Registry, repo, query string) string {
	t.Helper()
	target := "/v2/" + repo + "/blobs/uploads/"
	if query != "" {
		target += "?" + query
	}
	resp := doV2(t, reg, "POST", target, nil)
	wantUploadSession(t, resp, http.StatusAccepted, repo, 0)
	return resp.Header.Get("Location")
}

// wantUploadSession checks a response describing an open session of repo
// holding size bytes: Location, Range and Docker-Upload-UUID.
func wantUploadSession(t testing.TB, resp response, status int, repo string, size int64) {
	t.Helper()
	wantStatus(t, resp, status)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/v2/"+repo+"/blobs/uploads/") {
		t.Errorf("Location = %q, want a session of %s", loc, repo)
	}
	wantHeader(t, resp, "Range", "0-"+strconv.FormatInt(max(size-1, 0), 10))
	id := resp.Header.Get("Docker-Upload-UUID")
	if id == "" || !strings.HasSuffix(loc, "/"+id) {
		t.Errorf("Docker-Upload-UUID = %q, want the id at the end of Location %q", id, loc)
	}
	if status == http.StatusAccepted {
		wantHeader(t, resp, "Content-Length", "0")
	}
	if len(resp.Body) != 0 {
		t.Errorf("session response has a body: %q", resp.Body)
	}
}

// sessionID is the upload id at the end of a session Location.
func sessionID(loc string) string {
	return loc[strings.LastIndex(loc, "/")+1:]
}

// patchChunk sends one chunk with its Content-Range and checks the 202.
// It returns the next Location.
func patchChunk(t testing.TB, reg *Registry, loc, repo string, start int64, chunk []byte) string {
	t.Helper()
	end := start + int64(len(chunk)) - 1
	resp := doV2(t, reg, "PATCH", loc, chunk,
		"Content-Type: application/octet-stream",
		fmt.Sprintf("Content-Range: %d-%d", start, end))
	wantUploadSession(t, resp, http.StatusAccepted, repo, end+1)
	return resp.Header.Get("Location")
}

// wantBlobCreated checks the 201 of a finished upload or mount, and that
// the Location it gives serves content.
func wantBlobCreated(t testing.TB, reg *Registry, resp response, repo string, d digest.Digest, content []byte) {
	t.Helper()
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "Docker-Content-Digest", string(d))
	wantHeader(t, resp, "Location", "/v2/"+repo+"/blobs/"+string(d))
	wantHeader(t, resp, "Content-Length", "0")
	got := doV2(t, reg, "GET", resp.Header.Get("Location"), nil)
	wantStatus(t, got, http.StatusOK)
	wantHeader(t, got, "Docker-Content-Digest", string(d))
	if !bytes.Equal(got.Body, content) {
		t.Errorf("blob at Location has %d bytes, want the %d pushed", len(got.Body), len(content))
	}
}

// sha512Of is the sha512 digest of b.
func sha512Of(b []byte) digest.Digest { return digest.SHA512.FromBytes(b) }

// requestDone is a WithLogf sink that reports each finished request, so a
// test can wait for the server to finish with a request whose client left.
type requestDone chan string

func newRequestDone() (requestDone, Option) {
	ch := make(requestDone, 64)
	return ch, WithLogf(func(format string, args ...any) {
		select {
		case ch <- fmt.Sprintf(format, args...):
		default:
		}
	})
}

// drain forgets the requests reported so far. The registry logs a request
// before its handler returns, so before the client has the response: every
// request a test has had an answer to is drained.
func (ch requestDone) drain() {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// wait waits up to a few seconds for a finished request whose log line
// mentions method and path.
func (ch requestDone) wait(t testing.TB, method, path string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case line := <-ch:
			if strings.Contains(line, method+" ") && strings.Contains(line, path) {
				return
			}
		case <-deadline:
			t.Fatalf("the server did not finish %s %s within 5s", method, path)
		}
	}
}

// --- monolithic uploads ---

func TestMonolithicUpload(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<14) // 256 KiB
	tests := []struct {
		name     string
		repo     string
		content  []byte
		digest   func([]byte) digest.Digest
		streamed bool
	}{
		{"sha256", "team/app", []byte("a monolithic blob"), digest.FromBytes, false},
		{"sha512", "team/app", []byte("a monolithic sha512 blob"), sha512Of, false},
		{"empty", "team/app", []byte{}, digest.FromBytes, false},
		{"empty sha512", "team/app", []byte{}, sha512Of, false},
		{"nested name", "a/b/c.d/e_f", []byte("nested"), digest.FromBytes, false},
		{"large", "team/app", big, digest.FromBytes, false},
		{"streamed", "team/app", []byte("sent chunked"), digest.FromBytes, true},
		{"streamed large", "team/app", big, sha512Of, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			d := tt.digest(tt.content)
			target := "/v2/" + tt.repo + "/blobs/uploads/?digest=" + string(d)
			var resp response
			if tt.streamed {
				resp = doStreamed(t, reg, "POST", target, tt.content, "Content-Type: application/octet-stream")
			} else {
				resp = doV2(t, reg, "POST", target, tt.content, "Content-Type: application/octet-stream")
			}
			wantBlobCreated(t, reg, resp, tt.repo, d, tt.content)
			if got := reg.Store().Snapshot().Blobs[d]; got != int64(len(tt.content)) {
				t.Errorf("stored size = %d, want %d", got, len(tt.content))
			}
		})
	}
}

func TestMonolithicUploadRejected(t *testing.T) {
	content := []byte("the real content")
	other := []byte("other content")
	tests := []struct {
		name   string
		repo   string
		digest string
		status int
		code   memstore.Code
	}{
		{"sha256 mismatch", "team/app", string(digest.FromBytes(other)), 400, memstore.CodeDigestInvalid},
		{"sha512 mismatch", "team/app", string(sha512Of(other)), 400, memstore.CodeDigestInvalid},
		{"empty blob digest", "team/app", string(digest.FromBytes(nil)), 400, memstore.CodeDigestInvalid},
		{"sha256 hex under sha512", "team/app", "sha512:" + digest.FromBytes(content).Encoded(), 400, memstore.CodeDigestInvalid},
		{"short hex", "team/app", "sha256:abc", 400, memstore.CodeDigestInvalid},
		{"upper-case hex", "team/app", "sha256:" + strings.ToUpper(digest.FromBytes(content).Encoded()), 400, memstore.CodeDigestInvalid},
		{"unsupported algorithm", "team/app", "md5:d41d8cd98f00b204e9800998ecf8427e", 400, memstore.CodeDigestInvalid},
		{"no algorithm", "team/app", digest.FromBytes(content).Encoded(), 400, memstore.CodeDigestInvalid},
		{"empty digest", "team/app", "", 400, memstore.CodeDigestInvalid},
		{"invalid name", "Team/App", string(digest.FromBytes(content)), 400, memstore.CodeNameInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			pushBlob(t, reg, "team/app", []byte("already there"))
			before := reg.Store().Snapshot()
			resp := doV2(t, reg, "POST", "/v2/"+tt.repo+"/blobs/uploads/?digest="+tt.digest, content,
				"Content-Type: application/octet-stream")
			wantError(t, resp, tt.status, tt.code)
			wantHeader(t, resp, "Location", "")
			wantHeader(t, resp, "Docker-Content-Digest", "")
			unchanged(t, reg, before)
		})
	}
}

// --- POST then PUT ---

func TestUploadPostPut(t *testing.T) {
	tests := []struct {
		name    string
		query   string // of the POST
		alg     digest.Algorithm
		content []byte
		digest  func([]byte) digest.Digest
	}{
		{"sha256", "", digest.SHA256, []byte("posted then put"), digest.FromBytes},
		{"sha512 session", "digest-algorithm=sha512", digest.SHA512, []byte("posted then put, sha512"), sha512Of},
		{"explicit sha256 session", "digest-algorithm=sha256", digest.SHA256, []byte("posted then put"), digest.FromBytes},
		{"empty blob", "", digest.SHA256, []byte{}, digest.FromBytes},
		// A client may close with another algorithm than it announced.
		{"sha256 session closed with sha512", "", digest.SHA256, []byte("switch"), sha512Of},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			target := "/v2/team/app/blobs/uploads/"
			if tt.query != "" {
				target += "?" + tt.query
			}
			resp := doV2(t, reg, "POST", target, nil, "Content-Length: 0")
			wantUploadSession(t, resp, http.StatusAccepted, "team/app", 0)
			wantHeader(t, resp, "OCI-Chunk-Min-Length", "")
			loc := resp.Header.Get("Location")
			id := resp.Header.Get("Docker-Upload-UUID")
			want := memstore.UploadInfo{ID: id, Repository: "team/app", Size: 0, Algorithm: tt.alg}
			if got := reg.Store().Snapshot().Uploads[id]; got != want {
				t.Errorf("session = %+v, want %+v", got, want)
			}

			d := tt.digest(tt.content)
			resp = doV2(t, reg, "PUT", withQuery(loc, "digest="+string(d)), tt.content,
				"Content-Type: application/octet-stream")
			wantBlobCreated(t, reg, resp, "team/app", d, tt.content)
			snap := reg.Store().Snapshot()
			if _, ok := snap.Uploads[id]; ok {
				t.Errorf("session %s still open after the PUT", id)
			}
			if snap.Blobs[d] != int64(len(tt.content)) {
				t.Errorf("stored size = %d, want %d", snap.Blobs[d], len(tt.content))
			}
		})
	}
}

func TestUploadSessionsAreDistinct(t *testing.T) {
	reg := New(t)
	a := openUpload(t, reg, "team/app", "")
	b := openUpload(t, reg, "team/app", "")
	if a == b {
		t.Fatalf("two POSTs gave the same Location %q", a)
	}
	patchChunk(t, reg, a, "team/app", 0, []byte("aaaa"))
	resp := doV2(t, reg, "GET", b, nil)
	wantUploadSession(t, resp, http.StatusNoContent, "team/app", 0)
}

func TestUploadStartRejected(t *testing.T) {
	tests := []struct {
		name   string
		target string
		code   memstore.Code
	}{
		{"md5", "/v2/team/app/blobs/uploads/?digest-algorithm=md5", memstore.CodeDigestInvalid},
		{"sha384", "/v2/team/app/blobs/uploads/?digest-algorithm=sha384", memstore.CodeDigestInvalid},
		{"upper case", "/v2/team/app/blobs/uploads/?digest-algorithm=SHA256", memstore.CodeDigestInvalid},
		{"nonsense", "/v2/team/app/blobs/uploads/?digest-algorithm=x%2Fy", memstore.CodeDigestInvalid},
		{"invalid name", "/v2/team/App/blobs/uploads/", memstore.CodeNameInvalid},
		{"invalid name with sha512", "/v2/-team/blobs/uploads/?digest-algorithm=sha512", memstore.CodeNameInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			before := reg.Store().Snapshot()
			resp := doV2(t, reg, "POST", tt.target, nil)
			wantError(t, resp, http.StatusBadRequest, tt.code)
			wantHeader(t, resp, "Location", "")
			wantHeader(t, resp, "Docker-Upload-UUID", "")
			unchanged(t, reg, before)
		})
	}
}

func TestChunkMinLength(t *testing.T) {
	src := []byte("mounted elsewhere")
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"default", nil, ""},
		{"set", []Option{WithChunkMinLength(1 << 20)}, "1048576"},
		{"one byte", []Option{WithChunkMinLength(1)}, "1"},
		{"zero", []Option{WithChunkMinLength(0)}, ""},
		{"negative", []Option{WithChunkMinLength(-5)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t, tt.opts...)
			d := pushBlob(t, reg, "other/repo", src)
			for _, target := range []string{
				"/v2/team/app/blobs/uploads/",
				"/v2/team/app/blobs/uploads/?digest-algorithm=sha512",
				// a mount that cannot be done opens a session: same header
				"/v2/team/app/blobs/uploads/?mount=" + string(d) + "&from=no/such",
			} {
				resp := doV2(t, reg, "POST", target, nil)
				wantUploadSession(t, resp, http.StatusAccepted, "team/app", 0)
				if got, ok := resp.Header["Oci-Chunk-Min-Length"]; tt.want == "" && ok {
					t.Errorf("POST %s: OCI-Chunk-Min-Length = %q, want none", target, got)
				}
				wantHeader(t, resp, "OCI-Chunk-Min-Length", tt.want)
			}
		})
	}
}

// --- chunked uploads ---

func TestChunkedUpload(t *testing.T) {
	reg := New(t)
	content := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	loc := openUpload(t, reg, "team/app", "")
	id := sessionID(loc)
	var off int64
	for _, n := range []int64{10, 1, 20} {
		// Each chunk goes to the Location of the previous response.
		loc = patchChunk(t, reg, loc, "team/app", off, content[off:off+n])
		off += n
		if got := reg.Store().Snapshot().Uploads[id].Size; got != off {
			t.Errorf("session size = %d, want %d", got, off)
		}
	}
	status := doV2(t, reg, "GET", loc, nil)
	wantUploadSession(t, status, http.StatusNoContent, "team/app", off)

	// The rest goes in a last PATCH; the PUT has no body.
	loc = patchChunk(t, reg, loc, "team/app", off, content[off:])
	d := digest.FromBytes(content)
	resp := doV2(t, reg, "PUT", withQuery(loc, "digest="+string(d)), nil)
	wantBlobCreated(t, reg, resp, "team/app", d, content)
	if _, ok := reg.Store().Snapshot().Uploads[id]; ok {
		t.Errorf("session still open after the PUT")
	}
}

func TestChunkedUploadSHA512(t *testing.T) {
	reg := New(t)
	content := []byte("chunks hashed with sha512 as they arrive")
	loc := openUpload(t, reg, "team/app", "digest-algorithm=sha512")
	loc = patchChunk(t, reg, loc, "team/app", 0, content[:7])
	loc = patchChunk(t, reg, loc, "team/app", 7, content[7:])
	d := sha512Of(content)
	resp := doV2(t, reg, "PUT", withQuery(loc, "digest="+string(d)), nil)
	wantBlobCreated(t, reg, resp, "team/app", d, content)
}

func TestStreamedRequestIsChunked(t *testing.T) {
	// The premise of the streamed tests: the server sees no length.
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- fmt.Sprintf("%d %v %s", r.ContentLength, r.TransferEncoding, b)
	}))
	defer srv.Close()
	resp, err := srv.Client().Do(newStreamedRequest(t, "PATCH", srv.URL, []byte("abc")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if g := <-got; g != "-1 [chunked] abc" {
		t.Errorf("server saw %q, want -1 [chunked] abc", g)
	}
}

func TestStreamedChunks(t *testing.T) {
	reg := New(t)
	content := make([]byte, 310<<10+7) // several of the store's read buffers
	for i := range content {
		content[i] = byte(i * 7)
	}
	loc := openUpload(t, reg, "team/app", "")
	var off int64
	for _, n := range []int64{5, 100 << 10, 200<<10 + 2} {
		resp := doStreamed(t, reg, "PATCH", loc, content[off:off+n], "Content-Type: application/octet-stream")
		off += n
		wantUploadSession(t, resp, http.StatusAccepted, "team/app", off)
		loc = resp.Header.Get("Location")
	}
	// A streamed chunk may still name its range.
	resp := doStreamed(t, reg, "PATCH", loc, content[off:],
		fmt.Sprintf("Content-Range: %d-%d", off, len(content)-1))
	wantUploadSession(t, resp, http.StatusAccepted, "team/app", int64(len(content)))
	loc = resp.Header.Get("Location")

	d := digest.FromBytes(content)
	resp = doV2(t, reg, "PUT", withQuery(loc, "digest="+string(d)), nil)
	wantBlobCreated(t, reg, resp, "team/app", d, content)
}

func TestChunkOutOfOrder(t *testing.T) {
	first := []byte("01234")
	tests := []struct {
		name   string
		method string
		prior  []byte // already uploaded
		cr     string
		body   []byte
	}{
		{"gap", "PATCH", first, "7-9", []byte("789")},
		{"resent", "PATCH", first, "0-4", first},
		{"overlap", "PATCH", first, "3-7", []byte("34567")},
		{"one past", "PATCH", first, "6-6", []byte("6")},
		{"first chunk not at zero", "PATCH", nil, "1-3", []byte("123")},
		{"final chunk in PUT out of order", "PUT", first, "6-9", []byte("6789")},
		{"final chunk in PUT resent", "PUT", first, "0-4", first},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			loc := openUpload(t, reg, "team/app", "")
			if tt.prior != nil {
				loc = patchChunk(t, reg, loc, "team/app", 0, tt.prior)
			}
			size := int64(len(tt.prior))
			target := loc
			if tt.method == "PUT" {
				target = withQuery(loc, "digest="+string(digest.FromBytes([]byte("0123456789"))))
			}
			before := reg.Store().Snapshot()
			resp := doV2(t, reg, tt.method, target, tt.body, "Content-Range: "+tt.cr)
			wantError(t, resp, http.StatusRequestedRangeNotSatisfiable, memstore.CodeBlobUploadInvalid)
			// The 416 tells the client where to resume.
			wantHeader(t, resp, "Location", loc)
			wantHeader(t, resp, "Range", "0-"+strconv.FormatInt(max(size-1, 0), 10))
			wantHeader(t, resp, "Docker-Upload-UUID", sessionID(loc))
			unchanged(t, reg, before)

			// and resuming there works.
			rest := []byte("0123456789")[size:]
			loc = patchChunk(t, reg, resp.Header.Get("Location"), "team/app", size, rest[:1])
			d := digest.FromBytes([]byte("0123456789"))
			resp = doV2(t, reg, "PUT", withQuery(loc, "digest="+string(d)), rest[1:],
				fmt.Sprintf("Content-Range: %d-9", size+1))
			wantBlobCreated(t, reg, resp, "team/app", d, []byte("0123456789"))
		})
	}
}

func TestChunkRangeErrors(t *testing.T) {
	full := []byte("0123456789")
	fullDigest := string(digest.FromBytes(full))
	tests := []struct {
		name   string
		method string
		cr     string
		body   []byte
		status int
		code   memstore.Code
	}{
		// Content-Range and Content-Length disagree.
		{"range longer than body", "PATCH", "5-9", []byte("567"), 400, memstore.CodeSizeInvalid},
		{"range shorter than body", "PATCH", "5-6", []byte("56789"), 400, memstore.CodeSizeInvalid},
		{"empty body with a range", "PATCH", "5-5", []byte{}, 400, memstore.CodeSizeInvalid},
		{"PUT range longer than body", "PUT", "5-9", []byte("56"), 400, memstore.CodeSizeInvalid},
		// Content-Range that is not <start>-<end>.
		{"letters", "PATCH", "abc", []byte("56789"), 416, memstore.CodeBlobUploadInvalid},
		{"end before start", "PATCH", "9-5", []byte("56789"), 416, memstore.CodeBlobUploadInvalid},
		{"no start", "PATCH", "-9", []byte("56789"), 416, memstore.CodeBlobUploadInvalid},
		{"no end", "PATCH", "5-", []byte("56789"), 416, memstore.CodeBlobUploadInvalid},
		{"unsatisfied form", "PATCH", "bytes */10", []byte("56789"), 416, memstore.CodeBlobUploadInvalid},
		{"negative", "PATCH", "-5--1", []byte("56789"), 416, memstore.CodeBlobUploadInvalid},
		{"PUT malformed", "PUT", "5:9", []byte("56789"), 416, memstore.CodeBlobUploadInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			loc := openUpload(t, reg, "team/app", "")
			loc = patchChunk(t, reg, loc, "team/app", 0, full[:5])
			target := loc
			if tt.method == "PUT" {
				target = withQuery(loc, "digest="+fullDigest)
			}
			before := reg.Store().Snapshot()
			resp := doV2(t, reg, tt.method, target, tt.body, "Content-Range: "+tt.cr)
			wantError(t, resp, tt.status, tt.code)
			if tt.status == http.StatusRequestedRangeNotSatisfiable {
				wantHeader(t, resp, "Location", loc)
				wantHeader(t, resp, "Range", "0-4")
			}
			unchanged(t, reg, before)
			status := doV2(t, reg, "GET", loc, nil)
			wantUploadSession(t, status, http.StatusNoContent, "team/app", 5)
		})
	}
}

func TestCloseWithFinalChunk(t *testing.T) {
	content := []byte("first part|final part in the PUT")
	d := digest.FromBytes(content)
	tests := []struct {
		name string
		put  func(t *testing.T, reg *Registry, target string) response
	}{
		{"with Content-Range", func(t *testing.T, reg *Registry, target string) response {
			return doV2(t, reg, "PUT", target, content[11:],
				"Content-Type: application/octet-stream", fmt.Sprintf("Content-Range: 11-%d", len(content)-1))
		}},
		{"without Content-Range", func(t *testing.T, reg *Registry, target string) response {
			return doV2(t, reg, "PUT", target, content[11:], "Content-Type: application/octet-stream")
		}},
		{"streamed", func(t *testing.T, reg *Registry, target string) response {
			return doStreamed(t, reg, "PUT", target, content[11:], "Content-Type: application/octet-stream")
		}},
		{"streamed with Content-Range", func(t *testing.T, reg *Registry, target string) response {
			return doStreamed(t, reg, "PUT", target, content[11:], fmt.Sprintf("Content-Range: 11-%d", len(content)-1))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			loc := openUpload(t, reg, "team/app", "")
			loc = patchChunk(t, reg, loc, "team/app", 0, content[:11])
			resp := tt.put(t, reg, withQuery(loc, "digest="+string(d)))
			wantBlobCreated(t, reg, resp, "team/app", d, content)
			if n := len(reg.Store().Snapshot().Uploads); n != 0 {
				t.Errorf("%d sessions open after the PUT", n)
			}
		})
	}
}

func TestCloseWithoutValidDigest(t *testing.T) {
	tests := []struct {
		name  string
		query string
		body  []byte
	}{
		{"no digest", "", nil},
		{"no digest, final chunk", "", []byte("56789")},
		{"other parameter only", "foo=bar", nil},
		{"empty digest", "digest=", nil},
		{"malformed digest", "digest=sha256:1234", []byte("56789")},
		{"unsupported algorithm", "digest=md5:d41d8cd98f00b204e9800998ecf8427e", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			loc := openUpload(t, reg, "team/app", "")
			loc = patchChunk(t, reg, loc, "team/app", 0, []byte("01234"))
			target := loc
			if tt.query != "" {
				target = withQuery(loc, tt.query)
			}
			before := reg.Store().Snapshot()
			resp := doV2(t, reg, "PUT", target, tt.body)
			wantError(t, resp, http.StatusBadRequest, memstore.CodeDigestInvalid)
			wantHeader(t, resp, "Docker-Content-Digest", "")
			unchanged(t, reg, before)
			status := doV2(t, reg, "GET", loc, nil)
			wantUploadSession(t, status, http.StatusNoContent, "team/app", 5)
		})
	}
}

func TestCloseWrongDigest(t *testing.T) {
	content := []byte("0123456789")
	wrong := digest.FromBytes([]byte("something else"))
	tests := []struct {
		name string
		put  func(t *testing.T, reg *Registry, target string) response
	}{
		{"no final chunk", func(t *testing.T, reg *Registry, target string) response {
			return doV2(t, reg, "PUT", target, nil)
		}},
		{"final chunk with Content-Range", func(t *testing.T, reg *Registry, target string) response {
			return doV2(t, reg, "PUT", target, content[5:], "Content-Range: 5-9")
		}},
		{"final chunk without Content-Range", func(t *testing.T, reg *Registry, target string) response {
			return doV2(t, reg, "PUT", target, content[5:])
		}},
		{"streamed final chunk", func(t *testing.T, reg *Registry, target string) response {
			return doStreamed(t, reg, "PUT", target, content[5:])
		}},
	}
	for _, tt := range tests {
		for _, wrongDigest := range []digest.Digest{wrong, sha512Of([]byte("something else"))} {
			t.Run(tt.name+"/"+string(wrongDigest.Algorithm()), func(t *testing.T) {
				reg := New(t)
				loc := openUpload(t, reg, "team/app", "")
				loc = patchChunk(t, reg, loc, "team/app", 0, content[:5])
				before := reg.Store().Snapshot()
				resp := tt.put(t, reg, withQuery(loc, "digest="+string(wrongDigest)))
				wantError(t, resp, http.StatusBadRequest, memstore.CodeDigestInvalid)
				wantHeader(t, resp, "Location", "")
				wantHeader(t, resp, "Docker-Content-Digest", "")
				unchanged(t, reg, before) // no blob, and the session is as it was

				// The session is still usable: status, then a correct close.
				status := doV2(t, reg, "GET", loc, nil)
				wantUploadSession(t, status, http.StatusNoContent, "team/app", 5)
				d := digest.FromBytes(content)
				resp = doV2(t, reg, "PUT", withQuery(loc, "digest="+string(d)), content[5:], "Content-Range: 5-9")
				wantBlobCreated(t, reg, resp, "team/app", d, content)
			})
		}
	}
}

func TestLargeChunkedUpload(t *testing.T) {
	const size, chunk = 32 << 20, 4 << 20
	content := make([]byte, size)
	rand.NewChaCha8([32]byte{1}).Read(content) // same bytes every run
	d := digest.FromBytes(content)
	reg := New(t)
	loc := openUpload(t, reg, "big/blob", "")
	for off := 0; off < size; off += chunk {
		loc = patchChunk(t, reg, loc, "big/blob", int64(off), content[off:off+chunk])
	}
	resp := doV2(t, reg, "PUT", withQuery(loc, "digest="+string(d)), nil)
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "Docker-Content-Digest", string(d))

	head := doV2(t, reg, "HEAD", resp.Header.Get("Location"), nil)
	wantStatus(t, head, http.StatusOK)
	wantHeader(t, head, "Content-Length", strconv.Itoa(size))
	get := doV2(t, reg, "GET", resp.Header.Get("Location"), nil)
	wantStatus(t, get, http.StatusOK)
	if !bytes.Equal(get.Body, content) {
		t.Errorf("pulled %d bytes differ from the %d pushed", len(get.Body), size)
	}
	// A range in the middle, across two chunks.
	r := doV2(t, reg, "GET", resp.Header.Get("Location"), nil, fmt.Sprintf("Range: bytes=%d-%d", chunk-3, chunk+2))
	wantStatus(t, r, http.StatusPartialContent)
	if !bytes.Equal(r.Body, content[chunk-3:chunk+3]) {
		t.Errorf("range across chunks = %x, want %x", r.Body, content[chunk-3:chunk+3])
	}
}

// --- status and cancel ---

func TestUploadStatus(t *testing.T) {
	reg := New(t)
	loc := openUpload(t, reg, "team/app", "")
	for _, method := range []string{"GET", "HEAD"} {
		before := reg.Store().Snapshot()
		resp := doV2(t, reg, method, loc, nil)
		wantUploadSession(t, resp, http.StatusNoContent, "team/app", 0)
		wantHeader(t, resp, "Location", loc)
		unchanged(t, reg, before)
	}
	loc = patchChunk(t, reg, loc, "team/app", 0, []byte("0123456789"))
	for _, method := range []string{"GET", "HEAD"} {
		resp := doV2(t, reg, method, loc, nil)
		wantUploadSession(t, resp, http.StatusNoContent, "team/app", 10)
		wantHeader(t, resp, "Range", "0-9")
	}
}

func TestUploadCancel(t *testing.T) {
	reg := New(t)
	loc := openUpload(t, reg, "team/app", "")
	id := sessionID(loc)
	loc = patchChunk(t, reg, loc, "team/app", 0, []byte("01234"))

	resp := doV2(t, reg, "DELETE", loc, nil, "Content-Length: 0")
	wantStatus(t, resp, http.StatusNoContent)
	if len(resp.Body) != 0 {
		t.Errorf("204 with a body: %q", resp.Body)
	}
	snap := reg.Store().Snapshot()
	if _, ok := snap.Uploads[id]; ok {
		t.Fatalf("session %s still open after DELETE", id)
	}
	if len(snap.Blobs) != 0 {
		t.Errorf("cancelled upload left blobs: %v", snap.Blobs)
	}

	// The session is gone for every method.
	d := digest.FromBytes([]byte("01234"))
	for _, req := range []struct {
		method, target string
		body           []byte
		header         []string
	}{
		{"GET", loc, nil, nil},
		{"HEAD", loc, nil, nil},
		{"PATCH", loc, []byte("56789"), []string{"Content-Range: 5-9"}},
		{"PATCH", loc, []byte("56789"), nil},
		{"PUT", withQuery(loc, "digest="+string(d)), nil, nil},
		{"DELETE", loc, nil, nil},
	} {
		before := reg.Store().Snapshot()
		resp := doV2(t, reg, req.method, req.target, req.body, req.header...)
		wantError(t, resp, http.StatusNotFound, memstore.CodeBlobUploadUnknown)
		unchanged(t, reg, before)
	}
}

func TestUploadUnknownSession(t *testing.T) {
	content := []byte("0123456789")
	d := digest.FromBytes(content)
	tests := []struct {
		name string
		// loc builds the session path to use, given a registry holding one
		// open session in team/a.
		loc func(t *testing.T, reg *Registry, open string) string
	}{
		{"never issued", func(t *testing.T, reg *Registry, open string) string {
			return "/v2/team/a/blobs/uploads/ffffffff-ffff-4fff-bfff-ffffffffffff"
		}},
		{"not uuid shaped", func(t *testing.T, reg *Registry, open string) string {
			return "/v2/team/a/blobs/uploads/nonsense"
		}},
		{"in a repository never seen", func(t *testing.T, reg *Registry, open string) string {
			return "/v2/nobody/here/blobs/uploads/ffffffff-ffff-4fff-bfff-ffffffffffff"
		}},
		{"another repository's", func(t *testing.T, reg *Registry, open string) string {
			pushBlob(t, reg, "team/b", []byte("team/b exists"))
			return "/v2/team/b/blobs/uploads/" + sessionID(open)
		}},
		{"parent repository's", func(t *testing.T, reg *Registry, open string) string {
			return "/v2/team/blobs/uploads/" + sessionID(open)
		}},
		{"completed", func(t *testing.T, reg *Registry, open string) string {
			done := openUpload(t, reg, "team/a", "")
			resp := doV2(t, reg, "PUT", withQuery(done, "digest="+string(digest.FromBytes(nil))), nil)
			wantStatus(t, resp, http.StatusCreated)
			return done
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			open := openUpload(t, reg, "team/a", "")
			open = patchChunk(t, reg, open, "team/a", 0, content[:5])
			loc := tt.loc(t, reg, open)
			for _, req := range []struct {
				method, target string
				body           []byte
				header         []string
			}{
				{"GET", loc, nil, nil},
				{"HEAD", loc, nil, nil},
				{"PATCH", loc, content[5:], []string{"Content-Range: 5-9"}},
				{"PATCH", loc, content[:5], []string{"Content-Range: 0-4"}},
				{"PATCH", loc, content[5:], nil},
				{"PUT", withQuery(loc, "digest="+string(d)), content[5:], []string{"Content-Range: 5-9"}},
				{"PUT", withQuery(loc, "digest="+string(d)), nil, nil},
				{"DELETE", loc, nil, nil},
			} {
				before := reg.Store().Snapshot()
				resp := doV2(t, reg, req.method, req.target, req.body, req.header...)
				wantError(t, resp, http.StatusNotFound, memstore.CodeBlobUploadUnknown)
				wantHeader(t, resp, "Location", "")
				wantHeader(t, resp, "Range", "")
				unchanged(t, reg, before)
				if len(reg.Store().Snapshot().Uploads) != len(before.Uploads) {
					t.Errorf("%s %s: number of sessions changed", req.method, req.target)
				}
			}
			// The real session is untouched and still completes.
			status := doV2(t, reg, "GET", open, nil)
			wantUploadSession(t, status, http.StatusNoContent, "team/a", 5)
			resp := doV2(t, reg, "PUT", withQuery(open, "digest="+string(d)), content[5:], "Content-Range: 5-9")
			wantBlobCreated(t, reg, resp, "team/a", d, content)
		})
	}
}

// --- mount ---

func TestBlobMount(t *testing.T) {
	content := []byte("a blob to mount")
	d := digest.FromBytes(content)
	t.Run("from a repository that has it", func(t *testing.T) {
		reg := New(t)
		pushBlob(t, reg, "team/src", content)
		resp := doV2(t, reg, "POST", "/v2/team/dst/blobs/uploads/?mount="+string(d)+"&from=team/src", nil)
		wantBlobCreated(t, reg, resp, "team/dst", d, content)
		wantHeader(t, resp, "Docker-Upload-UUID", "")
		snap := reg.Store().Snapshot()
		if len(snap.Blobs) != 1 || len(snap.Uploads) != 0 {
			t.Errorf("after a mount: blobs %v, uploads %v; want the one blob, no session", snap.Blobs, snap.Uploads)
		}
		// Both repositories have it; deleting it from the source keeps the target's.
		wantStatus(t, doV2(t, reg, "DELETE", "/v2/team/src/blobs/"+string(d), nil), http.StatusAccepted)
		wantStatus(t, doV2(t, reg, "GET", "/v2/team/dst/blobs/"+string(d), nil), http.StatusOK)
	})
	t.Run("sha512", func(t *testing.T) {
		reg := New(t)
		d512 := sha512Of(content)
		wantStatus(t, doV2(t, reg, "POST", "/v2/team/src/blobs/uploads/?digest="+string(d512), content), http.StatusCreated)
		resp := doV2(t, reg, "POST", "/v2/team/dst/blobs/uploads/?mount="+string(d512)+"&from=team/src", nil)
		wantBlobCreated(t, reg, resp, "team/dst", d512, content)
	})
	t.Run("anonymous", func(t *testing.T) {
		reg := New(t)
		pushBlob(t, reg, "team/src", content)
		resp := doV2(t, reg, "POST", "/v2/team/dst/blobs/uploads/?mount="+string(d), nil)
		wantBlobCreated(t, reg, resp, "team/dst", d, content)
	})
	t.Run("into a repository that already has it", func(t *testing.T) {
		reg := New(t)
		pushBlob(t, reg, "team/src", content)
		pushBlob(t, reg, "team/dst", content)
		before := reg.Store().Snapshot()
		resp := doV2(t, reg, "POST", "/v2/team/dst/blobs/uploads/?mount="+string(d)+"&from=team/src", nil)
		wantBlobCreated(t, reg, resp, "team/dst", d, content)
		unchanged(t, reg, before)
	})
	t.Run("from itself", func(t *testing.T) {
		reg := New(t)
		pushBlob(t, reg, "team/dst", content)
		resp := doV2(t, reg, "POST", "/v2/team/dst/blobs/uploads/?mount="+string(d)+"&from=team/dst", nil)
		wantBlobCreated(t, reg, resp, "team/dst", d, content)
	})
}

func TestBlobMountFallsBackToUpload(t *testing.T) {
	content := []byte("a blob the source lacks")
	tests := []struct {
		name   string
		digest digest.Digest
		from   string // query suffix
		seed   func(t *testing.T, reg *Registry)
		alg    digest.Algorithm
	}{
		{"source lacks it", digest.FromBytes(content), "&from=team/src", func(t *testing.T, reg *Registry) {
			pushBlob(t, reg, "team/src", []byte("something else"))
			pushBlob(t, reg, "team/third", content) // elsewhere: no cross-mount from the wrong place
		}, digest.SHA256},
		{"source does not exist", digest.FromBytes(content), "&from=no/such/repo", nil, digest.SHA256},
		{"nowhere, anonymous", digest.FromBytes(content), "", nil, digest.SHA256},
		{"nowhere, sha512", sha512Of(content), "&from=team/src", nil, digest.SHA512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			if tt.seed != nil {
				tt.seed(t, reg)
			}
			before := reg.Store().Snapshot()
			resp := doV2(t, reg, "POST", "/v2/team/dst/blobs/uploads/?mount="+string(tt.digest)+tt.from, nil)
			// Never an error: a 202 with a new session.
			wantUploadSession(t, resp, http.StatusAccepted, "team/dst", 0)
			wantHeader(t, resp, "Docker-Content-Digest", "")
			loc := resp.Header.Get("Location")
			id := resp.Header.Get("Docker-Upload-UUID")
			snap := reg.Store().Snapshot()
			if got := snap.Uploads[id]; got.Algorithm != tt.alg || got.Repository != "team/dst" {
				t.Errorf("session = %+v, want one in team/dst hashing with %s", got, tt.alg)
			}
			if len(snap.Uploads) != len(before.Uploads)+1 {
				t.Errorf("sessions: %d before, %d after; want one more", len(before.Uploads), len(snap.Uploads))
			}
			get := doV2(t, reg, "GET", "/v2/team/dst/blobs/"+string(tt.digest), nil)
			wantError(t, get, http.StatusNotFound, memstore.CodeBlobUnknown)

			// The session completes like any other.
			loc = patchChunk(t, reg, loc, "team/dst", 0, content[:4])
			resp = doV2(t, reg, "PUT", withQuery(loc, "digest="+string(tt.digest)), content[4:])
			wantBlobCreated(t, reg, resp, "team/dst", tt.digest, content)
		})
	}
}

func TestBlobMountRejected(t *testing.T) {
	content := []byte("mount me")
	d := string(digest.FromBytes(content))
	tests := []struct {
		name   string
		target string
		code   memstore.Code
	}{
		{"short digest", "/v2/team/dst/blobs/uploads/?mount=sha256:abc&from=team/src", memstore.CodeDigestInvalid},
		{"unsupported algorithm", "/v2/team/dst/blobs/uploads/?mount=md5:d41d8cd98f00b204e9800998ecf8427e&from=team/src", memstore.CodeDigestInvalid},
		{"not a digest", "/v2/team/dst/blobs/uploads/?mount=latest&from=team/src", memstore.CodeDigestInvalid},
		{"empty digest", "/v2/team/dst/blobs/uploads/?mount=&from=team/src", memstore.CodeDigestInvalid},
		{"invalid from", "/v2/team/dst/blobs/uploads/?mount=" + d + "&from=Team/Src", memstore.CodeNameInvalid},
		{"from with a trailing slash", "/v2/team/dst/blobs/uploads/?mount=" + d + "&from=team/src/", memstore.CodeNameInvalid},
		{"invalid target", "/v2/team/DST/blobs/uploads/?mount=" + d + "&from=team/src", memstore.CodeNameInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			pushBlob(t, reg, "team/src", content)
			before := reg.Store().Snapshot()
			resp := doV2(t, reg, "POST", tt.target, nil)
			wantError(t, resp, http.StatusBadRequest, tt.code)
			wantHeader(t, resp, "Location", "")
			wantHeader(t, resp, "Docker-Upload-UUID", "")
			unchanged(t, reg, before)
		})
	}
}

// --- clients that go away ---

// sendTruncated writes a request head and part of its body on a raw
// connection, then hangs up.
func sendTruncated(t *testing.T, reg *Registry, method, path string, header []string, body string) {
	t.Helper()
	conn, err := net.Dial("tcp", reg.Host())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, reg.Host())
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n" + body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
}

func TestClientDisconnectMidUpload(t *testing.T) {
	full := make([]byte, 1005)
	for i := range full {
		full[i] = byte('a' + i%26)
	}
	d := string(digest.FromBytes(full))
	tests := []struct {
		name   string
		method string
		query  string // added to the session Location; "" for the monolithic POST
		header []string
		body   string
	}{
		{"PATCH", "PATCH", "", []string{"Content-Length: 1000"}, string(full[5:15])},
		{"PATCH with Content-Range", "PATCH", "", []string{"Content-Length: 1000", "Content-Range: 5-1004"}, string(full[5:15])},
		{"closing PUT", "PUT", "digest=" + d, []string{"Content-Length: 1000"}, string(full[5:15])},
		{"closing PUT with Content-Range", "PUT", "digest=" + d, []string{"Content-Length: 1000", "Content-Range: 5-1004"}, string(full[5:15])},
		{"monolithic POST", "POST", "", []string{"Content-Length: 1005"}, string(full[:10])},
		{"streamed monolithic POST", "POST", "", []string{"Transfer-Encoding: chunked"}, "3e8\r\n" + string(full[:10])},
		{"streamed PATCH cut mid-chunk", "PATCH", "", []string{"Transfer-Encoding: chunked"}, "3e8\r\n" + string(full[5:15])},
		{"streamed PATCH cut between chunks", "PATCH", "", []string{"Transfer-Encoding: chunked"}, "a\r\n" + string(full[5:15]) + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, logOpt := newRequestDone()
			reg := New(t, logOpt)
			pushBlob(t, reg, "team/app", []byte("unrelated"))
			loc := openUpload(t, reg, "team/app", "")
			loc = patchChunk(t, reg, loc, "team/app", 0, full[:5])
			target := loc
			if tt.query != "" {
				target = withQuery(loc, tt.query)
			}
			if tt.method == "POST" {
				target = "/v2/team/app/blobs/uploads/?digest=" + d
			}
			before := reg.Store().Snapshot()
			done.drain()
			sendTruncated(t, reg, tt.method, target, tt.header, tt.body)
			done.wait(t, tt.method, strings.Split(target, "?")[0])
			unchanged(t, reg, before)

			// The session carries on where it was.
			status := doV2(t, reg, "GET", loc, nil)
			wantUploadSession(t, status, http.StatusNoContent, "team/app", 5)
			resp := doV2(t, reg, "PUT", withQuery(loc, "digest="+d), full[5:], "Content-Range: 5-1004")
			wantBlobCreated(t, reg, resp, "team/app", digest.Digest(d), full)
		})
	}
}
