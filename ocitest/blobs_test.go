package ocitest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
)

// wantBlobHeaders checks the headers of a 200 blob GET or HEAD.
func wantBlobHeaders(t testing.TB, resp response, d digest.Digest, size int) {
	t.Helper()
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Length", strconv.Itoa(size))
	wantHeader(t, resp, "Content-Type", "application/octet-stream")
	wantHeader(t, resp, "Docker-Content-Digest", string(d))
	wantHeader(t, resp, "Accept-Ranges", "bytes")
	wantHeader(t, resp, "ETag", `"`+string(d)+`"`)
}

func TestBlobGetHead(t *testing.T) {
	large := bytes.Repeat([]byte("large blob "), 20000)
	tests := []struct {
		name    string
		repo    string
		content []byte
		digest  func([]byte) digest.Digest
	}{
		{"sha256", "team/app", []byte("hello, blob"), digest.FromBytes},
		{"sha512", "team/app", []byte("hello, sha512 blob"), sha512Of},
		{"empty", "team/app", []byte{}, digest.FromBytes},
		{"large", "team/app", large, digest.FromBytes},
		{"one-part name", "app", []byte("x"), digest.FromBytes},
		{"deep name", "a/b/c/d.e/f-g/h__i", []byte("deep"), digest.FromBytes},
		{"name with endpoint segments", "blobs/uploads/manifests", []byte("odd name"), digest.FromBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := New(t)
			d := tt.digest(tt.content)
			wantStatus(t, doV2(t, reg, "POST", "/v2/"+tt.repo+"/blobs/uploads/?digest="+string(d), tt.content), http.StatusCreated)
			before := reg.Store().Snapshot()

			get := doV2(t, reg, "GET", "/v2/"+tt.repo+"/blobs/"+string(d), nil)
			wantBlobHeaders(t, get, d, len(tt.content))
			if !bytes.Equal(get.Body, tt.content) {
				t.Errorf("GET body has %d bytes, want %d", len(get.Body), len(tt.content))
			}
			head := doV2(t, reg, "HEAD", "/v2/"+tt.repo+"/blobs/"+string(d), nil)
			wantBlobHeaders(t, head, d, len(tt.content))
			if len(head.Body) != 0 {
				t.Errorf("HEAD has a body of %d bytes", len(head.Body))
			}
			unchanged(t, reg, before)
		})
	}
}

func TestBlobConditionalGet(t *testing.T) {
	reg := New(t)
	content := []byte("cache me")
	d := pushBlob(t, reg, "team/app", content)
	path := "/v2/team/app/blobs/" + string(d)
	tests := []struct {
		name        string
		method      string
		ifNoneMatch string
		status      int
	}{
		{"matching ETag", "GET", `"` + string(d) + `"`, http.StatusNotModified},
		{"matching ETag, HEAD", "HEAD", `"` + string(d) + `"`, http.StatusNotModified},
		{"weak match", "GET", `W/"` + string(d) + `"`, http.StatusNotModified},
		{"one of a list", "GET", `"x", "` + string(d) + `"`, http.StatusNotModified},
		{"any", "GET", "*", http.StatusNotModified},
		{"other ETag", "GET", `"sha256:0000"`, http.StatusOK},
		{"unquoted digest", "GET", string(d), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := doV2(t, reg, tt.method, path, nil, "If-None-Match: "+tt.ifNoneMatch)
			wantStatus(t, resp, tt.status)
			wantHeader(t, resp, "ETag", `"`+string(d)+`"`)
			wantHeader(t, resp, "Docker-Content-Digest", string(d))
			if tt.status == http.StatusNotModified {
				if len(resp.Body) != 0 {
					t.Errorf("304 with a body: %q", resp.Body)
				}
				return
			}
			wantBlobHeaders(t, resp, d, len(content))
			if tt.method == "GET" && !bytes.Equal(resp.Body, content) {
				t.Errorf("body = %q, want %q", resp.Body, content)
			}
		})
	}
}

func TestBlobVisibleOnlyWhereLinked(t *testing.T) {
	reg := New(t)
	content := []byte("only in team/a")
	d := pushBlob(t, reg, "team/a", content)
	pushBlob(t, reg, "team/b", []byte("team/b has something else"))
	for _, repo := range []string{"team/b", "team/c", "team", "team/a/sub", "other"} {
		for _, method := range []string{"GET", "HEAD", "DELETE"} {
			t.Run(method+" "+repo, func(t *testing.T) {
				before := reg.Store().Snapshot()
				resp := doV2(t, reg, method, "/v2/"+repo+"/blobs/"+string(d), nil)
				wantError(t, resp, http.StatusNotFound, memstore.CodeBlobUnknown)
				wantHeader(t, resp, "Docker-Content-Digest", "")
				wantHeader(t, resp, "ETag", "")
				unchanged(t, reg, before)
			})
		}
	}
	// A digest nobody pushed is unknown in the repository that exists, too.
	before := reg.Store().Snapshot()
	resp := doV2(t, reg, "GET", "/v2/team/a/blobs/"+string(digest.FromBytes([]byte("never pushed"))), nil)
	wantError(t, resp, http.StatusNotFound, memstore.CodeBlobUnknown)
	unchanged(t, reg, before)
	wantBlobHeaders(t, doV2(t, reg, "GET", "/v2/team/a/blobs/"+string(d), nil), d, len(content))
}

func TestBlobInvalidDigest(t *testing.T) {
	content := []byte("valid")
	good := digest.FromBytes(content)
	digests := []string{
		"sha256:abc",
		"sha256:" + strings.ToUpper(good.Encoded()),
		"sha256:" + good.Encoded() + "0",
		"sha512:" + good.Encoded(), // sha256 length under sha512
		"md5:d41d8cd98f00b204e9800998ecf8427e",
		"sha256",
		"sha256:",
		good.Encoded(),
		"latest",
		"sha256:" + strings.Repeat("g", 64),
	}
	reg := New(t)
	pushBlob(t, reg, "team/app", content)
	for _, ref := range digests {
		for _, method := range []string{"GET", "HEAD", "DELETE"} {
			t.Run(method+" "+ref, func(t *testing.T) {
				before := reg.Store().Snapshot()
				resp := doV2(t, reg, method, "/v2/team/app/blobs/"+ref, nil)
				wantError(t, resp, http.StatusBadRequest, memstore.CodeDigestInvalid)
				unchanged(t, reg, before)
			})
		}
	}
}

func TestBlobInvalidName(t *testing.T) {
	content := []byte("named")
	d := string(digest.FromBytes(content))
	names := []string{
		"Team/App",
		"-app",
		"app-",
		"a..b",
		"a/",
		"a//b",
		"team/.app",
		"a_-b",
		strings.Repeat("a", memstore.MaxNameLength+1),
	}
	reg := New(t)
	pushBlob(t, reg, "team/app", content)
	id := sessionID(openUpload(t, reg, "team/app", ""))
	for _, name := range names {
		for _, req := range []struct {
			method, path string
			body         []byte
		}{
			{"GET", "/v2/" + name + "/blobs/" + d, nil},
			{"HEAD", "/v2/" + name + "/blobs/" + d, nil},
			{"DELETE", "/v2/" + name + "/blobs/" + d, nil},
			{"POST", "/v2/" + name + "/blobs/uploads/", nil},
			{"POST", "/v2/" + name + "/blobs/uploads/?digest=" + d, content},
			{"POST", "/v2/" + name + "/blobs/uploads/?mount=" + d + "&from=team/app", nil},
			{"GET", "/v2/" + name + "/blobs/uploads/" + id, nil},
			{"PATCH", "/v2/" + name + "/blobs/uploads/" + id, content},
			{"PUT", "/v2/" + name + "/blobs/uploads/" + id + "?digest=" + d, content},
			{"DELETE", "/v2/" + name + "/blobs/uploads/" + id, nil},
		} {
			label := name
			if len(label) > 20 {
				label = label[:20] + "..."
			}
			t.Run(req.method+" "+strings.Replace(req.path, name, label, 1), func(t *testing.T) {
				before := reg.Store().Snapshot()
				resp := doV2(t, reg, req.method, req.path, req.body)
				wantError(t, resp, http.StatusBadRequest, memstore.CodeNameInvalid)
				unchanged(t, reg, before)
			})
		}
	}
}

// --- ranges ---

func TestBlobRange(t *testing.T) {
	reg := New(t)
	content := []byte("abcdefghij")
	d := pushBlob(t, reg, "team/app", content)
	path := "/v2/team/app/blobs/" + string(d)
	tests := []struct {
		rng          string
		body         string
		contentRange string
	}{
		{"bytes=1-3", "bcd", "bytes 1-3/10"},
		{"bytes=0-0", "a", "bytes 0-0/10"},
		{"bytes=9-9", "j", "bytes 9-9/10"},
		{"bytes=2-", "cdefghij", "bytes 2-9/10"},
		{"bytes=-3", "hij", "bytes 7-9/10"},
		{"bytes=5-100", "fghij", "bytes 5-9/10"}, // end past the size: clamped
		{"bytes=-100", "abcdefghij", "bytes 0-9/10"},
		{"bytes=0-1,20-30", "ab", "bytes 0-1/10"}, // the part past the end is dropped
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			for _, method := range []string{"GET", "HEAD"} {
				resp := doV2(t, reg, method, path, nil, "Range: "+tt.rng)
				wantStatus(t, resp, http.StatusPartialContent)
				wantHeader(t, resp, "Content-Range", tt.contentRange)
				wantHeader(t, resp, "Content-Length", strconv.Itoa(len(tt.body)))
				wantHeader(t, resp, "Content-Type", "application/octet-stream")
				wantHeader(t, resp, "Docker-Content-Digest", string(d))
				wantHeader(t, resp, "Accept-Ranges", "bytes")
				want := tt.body
				if method == "HEAD" {
					want = ""
				}
				if string(resp.Body) != want {
					t.Errorf("%s body = %q, want %q", method, resp.Body, want)
				}
			}
		})
	}
}

func TestBlobMultipleRanges(t *testing.T) {
	reg := New(t)
	content := []byte("abcdefghij")
	d := pushBlob(t, reg, "team/app", content)
	type part struct{ contentRange, body string }
	tests := []struct {
		rng   string
		parts []part
	}{
		{"bytes=0-1,4-5", []part{{"bytes 0-1/10", "ab"}, {"bytes 4-5/10", "ef"}}},
		{"bytes=0-0, 3-4, -2", []part{{"bytes 0-0/10", "a"}, {"bytes 3-4/10", "de"}, {"bytes 8-9/10", "ij"}}},
		{"bytes=8-,0-1", []part{{"bytes 8-9/10", "ij"}, {"bytes 0-1/10", "ab"}}},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			resp := doV2(t, reg, "GET", "/v2/team/app/blobs/"+string(d), nil, "Range: "+tt.rng)
			wantStatus(t, resp, http.StatusPartialContent)
			wantHeader(t, resp, "Docker-Content-Digest", string(d))
			wantHeader(t, resp, "Content-Range", "") // per part, not overall
			wantHeader(t, resp, "Content-Length", strconv.Itoa(len(resp.Body)))
			mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
			if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
				t.Fatalf("Content-Type = %q (%v), want multipart/byteranges with a boundary", resp.Header.Get("Content-Type"), err)
			}
			mr := multipart.NewReader(bytes.NewReader(resp.Body), params["boundary"])
			for i, want := range tt.parts {
				p, err := mr.NextPart()
				if err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
				if got := p.Header.Get("Content-Range"); got != want.contentRange {
					t.Errorf("part %d Content-Range = %q, want %q", i, got, want.contentRange)
				}
				if got := p.Header.Get("Content-Type"); got != "application/octet-stream" {
					t.Errorf("part %d Content-Type = %q, want application/octet-stream", i, got)
				}
				b, err := io.ReadAll(p)
				if err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
				if string(b) != want.body {
					t.Errorf("part %d = %q, want %q", i, b, want.body)
				}
			}
			if p, err := mr.NextPart(); err != io.EOF {
				t.Errorf("more parts than expected: %v, %v", p, err)
			}
		})
	}
}

func TestBlobRangeNotSatisfiable(t *testing.T) {
	reg := New(t)
	content := []byte("abcdefghij")
	d := pushBlob(t, reg, "team/app", content)
	empty := pushBlob(t, reg, "team/app", []byte{})
	tests := []struct {
		name   string
		digest digest.Digest
		rng    string
		size   int
	}{
		// nothing requested overlaps the content
		{"start at size", d, "bytes=10-", 10},
		{"start past size", d, "bytes=10-20", 10},
		{"far past", d, "bytes=1000-2000", 10},
		{"all parts past", d, "bytes=10-11,15-", 10},
		{"empty suffix", d, "bytes=-0", 10},
		// not a byte range
		{"letters", d, "bytes=abc", 10},
		{"other unit", d, "items=0-1", 10},
		{"end before start", d, "bytes=3-1", 10},
		{"empty set", d, "bytes=", 10},
		{"no dash", d, "bytes=1", 10},
		{"one bad part", d, "bytes=0-1,x", 10},
		{"negative", d, "bytes=-1-2", 10},
		// a zero-byte blob has nothing to give
		{"empty blob from 0", empty, "bytes=0-", 0},
		{"empty blob 0-0", empty, "bytes=0-0", 0},
		{"empty blob suffix", empty, "bytes=-1", 0},
	}
	for _, tt := range tests {
		for _, method := range []string{"GET", "HEAD"} {
			t.Run(method+" "+tt.name, func(t *testing.T) {
				before := reg.Store().Snapshot()
				resp := doV2(t, reg, method, "/v2/team/app/blobs/"+string(tt.digest), nil, "Range: "+tt.rng)
				wantError(t, resp, http.StatusRequestedRangeNotSatisfiable, memstore.CodeSizeInvalid)
				wantHeader(t, resp, "Content-Range", fmt.Sprintf("bytes */%d", tt.size))
				wantHeader(t, resp, "Docker-Content-Digest", "")
				unchanged(t, reg, before)
			})
		}
	}
}

// --- delete ---

func TestBlobDelete(t *testing.T) {
	reg := New(t)
	content := []byte("delete me")
	d := pushBlob(t, reg, "team/a", content)
	pushBlob(t, reg, "team/b", content) // same bytes, linked twice
	path := "/v2/team/a/blobs/" + string(d)

	resp := doV2(t, reg, "DELETE", path, nil)
	wantStatus(t, resp, http.StatusAccepted)
	wantHeader(t, resp, "Content-Length", "0")
	wantHeader(t, resp, "Docker-Content-Digest", string(d))
	if len(resp.Body) != 0 {
		t.Errorf("202 with a body: %q", resp.Body)
	}
	for _, method := range []string{"GET", "HEAD"} {
		wantError(t, doV2(t, reg, method, path, nil), http.StatusNotFound, memstore.CodeBlobUnknown)
	}
	// team/b keeps its link, and the bytes stay stored once.
	wantBlobHeaders(t, doV2(t, reg, "GET", "/v2/team/b/blobs/"+string(d), nil), d, len(content))
	if got := reg.Store().Snapshot().Blobs[d]; got != int64(len(content)) {
		t.Errorf("stored size after one unlink = %d, want %d", got, len(content))
	}

	// Deleting again is a 404 that changes nothing.
	before := reg.Store().Snapshot()
	wantError(t, doV2(t, reg, "DELETE", path, nil), http.StatusNotFound, memstore.CodeBlobUnknown)
	unchanged(t, reg, before)

	// The last link goes: the bytes go.
	wantStatus(t, doV2(t, reg, "DELETE", "/v2/team/b/blobs/"+string(d), nil), http.StatusAccepted)
	if _, ok := reg.Store().Snapshot().Blobs[d]; ok {
		t.Errorf("blob still stored after its last link was deleted")
	}
	wantError(t, doV2(t, reg, "GET", "/v2/team/b/blobs/"+string(d), nil), http.StatusNotFound, memstore.CodeBlobUnknown)

	// It can be pushed again.
	wantStatus(t, doV2(t, reg, "POST", "/v2/team/a/blobs/uploads/?digest="+string(d), content), http.StatusCreated)
	wantBlobHeaders(t, doV2(t, reg, "GET", path, nil), d, len(content))
}

func TestBlobDeleteSHA512(t *testing.T) {
	reg := New(t)
	content := []byte("sha512 blob to delete")
	d := sha512Of(content)
	wantStatus(t, doV2(t, reg, "POST", "/v2/team/app/blobs/uploads/?digest="+string(d), content), http.StatusCreated)
	resp := doV2(t, reg, "DELETE", "/v2/team/app/blobs/"+string(d), nil)
	wantStatus(t, resp, http.StatusAccepted)
	wantHeader(t, resp, "Docker-Content-Digest", string(d))
	wantError(t, doV2(t, reg, "GET", "/v2/team/app/blobs/"+string(d), nil), http.StatusNotFound, memstore.CodeBlobUnknown)
}

// --- paths and methods that are not endpoints ---

func TestBlobMethodNotAllowed(t *testing.T) {
	d := string(digest.FromBytes([]byte("x")))
	const session = "/v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000001"
	tests := []struct {
		method, path, allow string
	}{
		{"POST", "/v2/team/app/blobs/" + d, "GET, HEAD, DELETE"},
		{"PUT", "/v2/team/app/blobs/" + d, "GET, HEAD, DELETE"},
		{"PATCH", "/v2/team/app/blobs/" + d, "GET, HEAD, DELETE"},
		{"OPTIONS", "/v2/team/app/blobs/" + d, "GET, HEAD, DELETE"},
		{"GET", "/v2/team/app/blobs/uploads/", "POST"},
		{"HEAD", "/v2/team/app/blobs/uploads/", "POST"},
		{"PUT", "/v2/team/app/blobs/uploads/?digest=" + d, "POST"},
		{"PATCH", "/v2/team/app/blobs/uploads/", "POST"},
		{"DELETE", "/v2/team/app/blobs/uploads", "POST"},
		{"POST", session, "GET, HEAD, PATCH, PUT, DELETE"},
		{"OPTIONS", session, "GET, HEAD, PATCH, PUT, DELETE"},
		// 405 comes before the name is looked at.
		{"POST", "/v2/Bad/Name/blobs/" + d, "GET, HEAD, DELETE"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			reg := New(t)
			openUpload(t, reg, "team/app", "") // so that session exists
			before := reg.Store().Snapshot()
			resp := doV2(t, reg, tt.method, tt.path, []byte("body"))
			wantError(t, resp, http.StatusMethodNotAllowed, memstore.CodeUnsupported)
			wantHeader(t, resp, "Allow", tt.allow)
			unchanged(t, reg, before)
		})
	}
}

func TestUnknownPath(t *testing.T) {
	d := string(digest.FromBytes([]byte("x")))
	paths := []string{
		"/",
		"/v1/",
		"/v2foo/blobs/" + d,
		"/v2/team",
		"/v2/team/app/",
		"/v2/team/app/blobs",
		"/v2/team/app/blobs/",
		"/v2/team/app/blobs/" + d + "/",
		"/v2/team/app/blobs/" + d + "/extra",
		"/v2/team/app/blobs/uploads/a/b",
		"/v2/team/app/something/else",
		"/v2/blobs/" + d,
		"/v2/blobs/uploads/",
	}
	for _, p := range paths {
		for _, method := range []string{"GET", "POST", "DELETE"} {
			t.Run(method+" "+p, func(t *testing.T) {
				reg := New(t)
				pushBlob(t, reg, "team/app", []byte("x"))
				before := reg.Store().Snapshot()
				resp := doV2(t, reg, method, p, nil)
				wantError(t, resp, http.StatusNotFound, memstore.CodeUnsupported)
				wantHeader(t, resp, "Allow", "")
				unchanged(t, reg, before)
			})
		}
	}
}

// TestAPIVersionHeader sends one request of every blob and upload kind,
// succeeding and failing, and checks that each answer carries
// Docker-Distribution-API-Version (doV2 checks it on every response of
// these tests; this is the explicit list).
func TestAPIVersionHeader(t *testing.T) {
	reg := New(t)
	content := []byte("versioned")
	d := string(pushBlob(t, reg, "team/app", content))
	loc := openUpload(t, reg, "team/app", "")
	missing := string(digest.FromBytes([]byte("missing")))
	type req struct {
		method, path string
		body         []byte
		header       []string
		status       int
	}
	reqs := []req{
		{"GET", "/v2/team/app/blobs/" + d, nil, nil, 200},
		{"HEAD", "/v2/team/app/blobs/" + d, nil, nil, 200},
		{"GET", "/v2/team/app/blobs/" + d, nil, []string{"Range: bytes=0-1"}, 206},
		{"GET", "/v2/team/app/blobs/" + d, nil, []string{"If-None-Match: \"" + d + "\""}, 304},
		{"GET", "/v2/team/app/blobs/" + d, nil, []string{"Range: bytes=100-"}, 416},
		{"GET", "/v2/team/app/blobs/" + missing, nil, nil, 404},
		{"HEAD", "/v2/team/app/blobs/" + missing, nil, nil, 404},
		{"GET", "/v2/team/app/blobs/sha256:bad", nil, nil, 400},
		{"POST", "/v2/team/app/blobs/uploads/", nil, nil, 202},
		{"POST", "/v2/team/app/blobs/uploads/?digest-algorithm=md5", nil, nil, 400},
		{"POST", "/v2/team/b/blobs/uploads/?digest=" + d, content, nil, 201},
		{"POST", "/v2/team/b/blobs/uploads/?digest=" + missing, content, nil, 400},
		{"POST", "/v2/team/c/blobs/uploads/?mount=" + d + "&from=team/app", nil, nil, 201},
		{"POST", "/v2/team/c/blobs/uploads/?mount=" + missing + "&from=team/app", nil, nil, 202},
		{"PATCH", loc, []byte("ab"), []string{"Content-Range: 0-1"}, 202},
		{"PATCH", loc, []byte("ab"), []string{"Content-Range: 0-1"}, 416},
		{"GET", loc, nil, nil, 204},
		{"HEAD", loc, nil, nil, 204},
		{"PUT", loc, nil, nil, 400},
		{"PUT", withQuery(loc, "digest="+string(digest.FromBytes([]byte("ab")))), nil, nil, 201},
		{"GET", loc, nil, nil, 404},
		{"DELETE", openUpload(t, reg, "team/app", ""), nil, nil, 204},
		{"DELETE", "/v2/team/b/blobs/" + d, nil, nil, 202},
		{"DELETE", "/v2/team/b/blobs/" + d, nil, nil, 404},
		{"PUT", "/v2/team/app/blobs/" + d, nil, nil, 405},
		{"GET", "/v2/team/app/nothing", nil, nil, 404},
		{"GET", "/v2/Team/blobs/" + d, nil, nil, 400},
	}
	for _, r := range reqs {
		resp := doV2(t, reg, r.method, r.path, r.body, r.header...)
		if resp.Status != r.status {
			t.Errorf("%s %s: status %d, want %d; body: %s", r.method, r.path, resp.Status, r.status, resp.Body)
		}
	}
}
