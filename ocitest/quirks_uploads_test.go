package ocitest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
)

// Helpers of this file are prefixed "uq" so they cannot clash with the
// helpers other test files of the package define.

// uqWantQuirks checks the quirks recorded for the last request.
func uqWantQuirks(t *testing.T, reg *Registry, want ...string) {
	t.Helper()
	last, ok := reg.LastRequest()
	if !ok {
		t.Fatal("no request recorded")
	}
	if len(want) == 0 && len(last.Quirks) == 0 {
		return
	}
	if !slices.Equal(last.Quirks, want) {
		t.Errorf("%s: recorded quirks %q, want %q", last, last.Quirks, want)
	}
}

// uqOpen starts a session in repo and returns the response.
func uqOpen(t *testing.T, reg *Registry, repo string) response {
	t.Helper()
	resp := doV2(t, reg, "POST", "/v2/"+repo+"/blobs/uploads/", nil)
	wantStatus(t, resp, http.StatusAccepted)
	return resp
}

// uqPatch sends body as a chunk starting at start, with Content-Range
// and Content-Length.
func uqPatch(t *testing.T, reg *Registry, loc string, body []byte, start int64, header ...string) response {
	t.Helper()
	h := append([]string{
		fmt.Sprintf("Content-Range: %d-%d", start, start+int64(len(body))-1),
		"Content-Type: application/octet-stream",
	}, header...)
	return doV2(t, reg, "PATCH", loc, body, h...)
}

// uqPut closes the session at loc for the blob d, with an optional last chunk.
func uqPut(t *testing.T, reg *Registry, loc string, d digest.Digest, body []byte, header ...string) response {
	t.Helper()
	return doV2(t, reg, "PUT", withQuery(loc, "digest="+string(d)), body, header...)
}

// uqBytes is n deterministic bytes.
func uqBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%7)
	}
	return b
}

// uqHasBlob reports whether repo serves blob d.
func uqHasBlob(t *testing.T, reg *Registry, repo string, d digest.Digest) bool {
	t.Helper()
	_, err := reg.Store().StatBlob(repo, d)
	return err == nil
}

func TestQuirkUploadsSpecMode(t *testing.T) {
	reg := New(t)
	blob := uqBytes(20, 1)
	d := digest.FromBytes(blob)
	resp := uqOpen(t, reg, "app")
	loc := resp.Header.Get("Location")
	wantUploadSession(t, resp, http.StatusAccepted, "app", 0)
	if resp.Header.Get("OCI-Chunk-Min-Length") != "" {
		t.Error("spec mode announces a minimum chunk length")
	}
	uqWantQuirks(t, reg)
	resp = uqPatch(t, reg, loc, blob[:10], 0)
	wantUploadSession(t, resp, http.StatusAccepted, "app", 10)
	uqWantQuirks(t, reg)
	resp = doV2(t, reg, "GET", loc, nil)
	wantUploadSession(t, resp, http.StatusNoContent, "app", 10)
	resp = uqPatch(t, reg, loc, blob[:10], 0) // a retried chunk: 416 with the Range to resume from
	wantError(t, resp, http.StatusRequestedRangeNotSatisfiable, memstore.CodeBlobUploadInvalid)
	wantHeader(t, resp, "Range", "0-9")
	wantHeader(t, resp, "Location", loc)
	resp = uqPut(t, reg, loc, d, blob[10:], "Content-Range: 10-19")
	wantStatus(t, resp, http.StatusCreated)
	uqWantQuirks(t, reg)
	other := uqBytes(5, 9)
	wantStatus(t, doV2(t, reg, "POST", "/v2/app/blobs/uploads/?digest="+string(digest.FromBytes(other)), other), http.StatusCreated)
	wantStatus(t, doV2(t, reg, "POST", "/v2/copy/blobs/uploads/?mount="+string(d)+"&from=app", nil), http.StatusCreated)
	for _, req := range reg.Requests() {
		if len(req.Quirks) != 0 {
			t.Errorf("%s: quirks %q in spec mode", req, req.Quirks)
		}
	}
	// Without upload quirks, answers are written straight through.
	w := httptest.NewRecorder()
	c := &call{route: route{Kind: UploadChunk}, q: quirks.Resolve(nil, "app")}
	if got := reg.server.uploadAnswers(w, nil, c); got != http.ResponseWriter(w) {
		t.Errorf("uploadAnswers wrapped the writer in spec mode")
	}
}

func TestQuirkNoSinglePostUpload(t *testing.T) {
	blob := uqBytes(30, 2)
	d := digest.FromBytes(blob)
	t.Run("starts a session", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.NoSinglePostUpload(http.StatusAccepted)))
		resp := doV2(t, reg, "POST", "/v2/app/blobs/uploads/?digest="+string(d), blob)
		wantUploadSession(t, resp, http.StatusAccepted, "app", 0)
		uqWantQuirks(t, reg, "no-single-post-upload(202)")
		if uqHasBlob(t, reg, "app", d) {
			t.Error("the POST's body was stored")
		}
		if req, _ := reg.LastRequest(); req.BodySize != int64(len(blob)) {
			t.Errorf("body read: %d bytes, want all %d (drained)", req.BodySize, len(blob))
		}
		// The session is an ordinary one.
		loc := resp.Header.Get("Location")
		wantStatus(t, uqPut(t, reg, loc, d, blob), http.StatusCreated)
		uqWantQuirks(t, reg)
		// A POST without digest is untouched.
		uqOpen(t, reg, "app")
		uqWantQuirks(t, reg)
	})
	t.Run("rejected", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.NoSinglePostUpload(http.StatusMethodNotAllowed)))
		before := reg.Store().Snapshot()
		resp := doV2(t, reg, "POST", "/v2/app/blobs/uploads/?digest="+string(d), blob)
		wantError(t, resp, http.StatusMethodNotAllowed, memstore.CodeUnsupported)
		uqWantQuirks(t, reg, "no-single-post-upload(405)")
		unchanged(t, reg, before)
	})
}

func TestQuirkUploadStatusCodes(t *testing.T) {
	blob := uqBytes(20, 3)
	d := digest.FromBytes(blob)
	t.Run("ECR PATCH 201", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.UploadStatusCodes(http.StatusCreated, 0)))
		loc := uqOpen(t, reg, "app").Header.Get("Location")
		uqWantQuirks(t, reg)
		resp := uqPatch(t, reg, loc, blob[:10], 0)
		wantUploadSession(t, resp, http.StatusCreated, "app", 10)
		uqWantQuirks(t, reg, "patch-status-nonstandard(patch=201)")
		wantStatus(t, uqPut(t, reg, loc, d, blob[10:]), http.StatusCreated)
		uqWantQuirks(t, reg)
	})
	t.Run("204 and 200", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.UploadStatusCodes(http.StatusNoContent, http.StatusOK)))
		loc := uqOpen(t, reg, "app").Header.Get("Location")
		resp := uqPatch(t, reg, loc, blob[:10], 0)
		wantUploadSession(t, resp, http.StatusNoContent, "app", 10)
		if cl := resp.Header.Values("Content-Length"); len(cl) != 0 {
			t.Errorf("204 carries Content-Length %q", cl)
		}
		uqWantQuirks(t, reg, "patch-status-nonstandard(patch=204,put=200)")
		resp = uqPut(t, reg, loc, d, blob[10:])
		wantStatus(t, resp, http.StatusOK)
		wantHeader(t, resp, "Docker-Content-Digest", string(d))
		uqWantQuirks(t, reg, "patch-status-nonstandard(patch=204,put=200)")
		// A monolithic POST is not a session's closing PUT.
		other := uqBytes(3, 4)
		wantStatus(t, doV2(t, reg, "POST", "/v2/app/blobs/uploads/?digest="+string(digest.FromBytes(other)), other), http.StatusCreated)
		uqWantQuirks(t, reg)
	})
}

func TestQuirkWrongPatchRange(t *testing.T) {
	blob := uqBytes(30, 5)
	d := digest.FromBytes(blob)
	t.Run("stuck at first chunk", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.WrongPatchRange(quirks.PatchRangeStuckAtFirstChunk, 0)))
		loc := uqOpen(t, reg, "app").Header.Get("Location")
		wantHeader(t, uqPatch(t, reg, loc, blob[:10], 0), "Range", "0-9")
		uqWantQuirks(t, reg)
		wantHeader(t, uqPatch(t, reg, loc, blob[10:20], 10), "Range", "0-9")
		uqWantQuirks(t, reg, "patch-range-wrong(stuckAtFirstChunk)")
		// The data is stored, and the status GET tells the truth.
		wantHeader(t, doV2(t, reg, "GET", loc, nil), "Range", "0-19")
		uqWantQuirks(t, reg)
		wantHeader(t, uqPatch(t, reg, loc, blob[20:], 20), "Range", "0-9")
		wantStatus(t, uqPut(t, reg, loc, d, nil), http.StatusCreated)
		uqWantQuirks(t, reg)
		if !uqHasBlob(t, reg, "app", d) {
			t.Error("blob not stored")
		}
		// A new session has its own first chunk.
		loc = uqOpen(t, reg, "app").Header.Get("Location")
		wantHeader(t, uqPatch(t, reg, loc, blob[:5], 0), "Range", "0-4")
		uqWantQuirks(t, reg)
	})
	t.Run("off by", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.WrongPatchRange(quirks.PatchRangeOffBy, -5)))
		resp := uqOpen(t, reg, "app")
		wantHeader(t, resp, "Range", "0-0")
		uqWantQuirks(t, reg)
		wantHeader(t, uqPatch(t, reg, resp.Header.Get("Location"), blob[:10], 0), "Range", "0-4")
		uqWantQuirks(t, reg, "patch-range-wrong(offBy(-5))")
	})
	t.Run("omit", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.WrongPatchRange(quirks.PatchRangeOmit, 0)))
		loc := uqOpen(t, reg, "app").Header.Get("Location")
		resp := uqPatch(t, reg, loc, blob[:10], 0)
		wantStatus(t, resp, http.StatusAccepted)
		if r := resp.Header.Values("Range"); len(r) != 0 {
			t.Errorf("Range = %q, want none", r)
		}
		uqWantQuirks(t, reg, "patch-range-wrong(omit)")
		wantHeader(t, doV2(t, reg, "GET", loc, nil), "Range", "0-9")
		uqWantQuirks(t, reg)
	})
	t.Run("zero-zero when empty is the spec mode here", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.WrongPatchRange(quirks.PatchRangeZeroZeroWhenEmpty, 0)))
		resp := uqOpen(t, reg, "app")
		wantHeader(t, resp, "Range", "0-0")
		wantHeader(t, uqPatch(t, reg, resp.Header.Get("Location"), blob[:10], 0), "Range", "0-9")
		uqWantQuirks(t, reg)
	})
}

func TestQuirkStrictContentRange(t *testing.T) {
	blob := uqBytes(32, 6)
	d := digest.FromBytes(blob)
	t.Run("required on PATCH", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.StrictContentRange(quirks.ContentRangeRequired, 0)))
		loc := uqOpen(t, reg, "app").Header.Get("Location")
		wantError(t, doV2(t, reg, "PATCH", loc, blob[:10]), http.StatusBadRequest, memstore.CodeBlobUploadInvalid)
		uqWantQuirks(t, reg, "content-range-strict(required)")
		wantStatus(t, uqPatch(t, reg, loc, blob[:10], 0), http.StatusAccepted)
		uqWantQuirks(t, reg)
		// A PUT may still omit it.
		wantStatus(t, uqPut(t, reg, loc, d, blob[10:]), http.StatusCreated)
		uqWantQuirks(t, reg)
	})
	t.Run("ACR rejects the bytes unit", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.StrictContentRange(quirks.ContentRangeRejectBytesUnit, 0)))
		loc := uqOpen(t, reg, "app").Header.Get("Location")
		resp := doV2(t, reg, "PATCH", loc, blob[:10], "Content-Range: bytes 0-9/*")
		wantStatus(t, resp, http.StatusBadRequest)
		wantHeader(t, resp, "Content-Type", "application/json")
		if got, want := string(resp.Body), `{"Range":"bytes 0-9/*","Reason":"the Content-Range header format is invalid"}`; got != want {
			t.Errorf("body = %s, want %s", got, want)
		}
		uqWantQuirks(t, reg, "content-range-strict(rejectBytesUnitForm)")
		wantStatus(t, uqPatch(t, reg, loc, blob[:10], 0), http.StatusAccepted)
		uqWantQuirks(t, reg)
		wantStatus(t, uqPut(t, reg, loc, d, blob[10:], "Content-Range: bytes 10-31/32"), http.StatusBadRequest)
		uqWantQuirks(t, reg, "content-range-strict(rejectBytesUnitForm)")
	})
	t.Run("PUT validated as a chunk", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.StrictContentRange(quirks.ContentRangePutAsChunk, 16)))
		loc := uqOpen(t, reg, "app").Header.Get("Location")
		wantError(t, uqPut(t, reg, loc, d, blob, "Content-Range: 0-31"), http.StatusBadRequest, memstore.CodeSizeInvalid)
		uqWantQuirks(t, reg, "content-range-strict(putValidatedAsChunk(16))")
		// The same monolithic PUT without Content-Range is fine.
		wantStatus(t, uqPut(t, reg, loc, d, blob), http.StatusCreated)
		uqWantQuirks(t, reg)
	})
}

func TestQuirkRequireContentLength(t *testing.T) {
	reg := New(t, WithQuirks(quirks.RequireContentLength()))
	blob := uqBytes(20, 7)
	d := digest.FromBytes(blob)
	loc := uqOpen(t, reg, "app").Header.Get("Location")
	uqWantQuirks(t, reg)
	before := reg.Store().Snapshot()
	wantError(t, doStreamed(t, reg, "PATCH", loc, blob[:10]), http.StatusBadRequest, "CONTENT_LENGTH_INVALID")
	uqWantQuirks(t, reg, "upload-requires-content-length")
	wantError(t, doStreamed(t, reg, "PUT", withQuery(loc, "digest="+string(d)), blob), http.StatusBadRequest, "CONTENT_LENGTH_INVALID")
	wantError(t, doStreamed(t, reg, "POST", "/v2/app/blobs/uploads/?digest="+string(d), blob), http.StatusBadRequest, "CONTENT_LENGTH_INVALID")
	uqWantQuirks(t, reg, "upload-requires-content-length")
	unchanged(t, reg, before)
	// With Content-Length all is well; manifests may still stream.
	wantStatus(t, doV2(t, reg, "PATCH", loc, blob[:10]), http.StatusAccepted)
	uqWantQuirks(t, reg)
	wantStatus(t, uqPut(t, reg, loc, d, blob[10:]), http.StatusCreated)
	img := newTestImage("cl", nil, "")
	reg.PushBlob(t, "app", img.Config)
	reg.PushBlob(t, "app", img.Layer)
	wantStatus(t, doStreamed(t, reg, "PUT", "/v2/app/manifests/v1", img.Manifest, "Content-Type: application/vnd.oci.image.manifest.v1+json"), http.StatusCreated)
	uqWantQuirks(t, reg)
}

func TestQuirkMaxRequestBody(t *testing.T) {
	big, small := uqBytes(100, 8), uqBytes(64, 9)
	for _, tc := range []struct {
		answer   quirks.TooLargeAnswer
		name     string
		ctype    string
		contains string
	}{
		{quirks.TooLargeJSON, "413json", "application/json", `"code":"SIZE_INVALID"`},
		{quirks.TooLargeHTML, "413html", "text/html", "<title>413 Request Entity Too Large</title>"},
		{quirks.TooLargeText, "413text", "text/plain", "413 Request Entity Too Large - AzureContainerRegistry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := New(t, WithQuirks(quirks.MaxRequestBody(64, tc.answer)))
			by := "request-body-size-limit(64," + tc.name + ")"
			loc := uqOpen(t, reg, "app").Header.Get("Location")
			for _, send := range []func() response{
				func() response { return uqPatch(t, reg, loc, big, 0) },
				func() response { return doStreamed(t, reg, "PATCH", loc, big) },
				func() response {
					return doV2(t, reg, "POST", "/v2/app/blobs/uploads/?digest="+string(digest.FromBytes(big)), big)
				},
			} {
				resp := send()
				wantStatus(t, resp, http.StatusRequestEntityTooLarge)
				wantHeader(t, resp, "Content-Type", tc.ctype)
				if !strings.Contains(string(resp.Body), tc.contains) {
					t.Errorf("body %q lacks %q", resp.Body, tc.contains)
				}
				uqWantQuirks(t, reg, by)
			}
			// At the limit, announced or streamed, bodies pass whole.
			wantUploadSession(t, doStreamed(t, reg, "PATCH", loc, small), http.StatusAccepted, "app", 64)
			uqWantQuirks(t, reg)
			d := digest.FromBytes(append(append([]byte{}, small...), small...))
			wantStatus(t, uqPut(t, reg, loc, d, small), http.StatusCreated)
			uqWantQuirks(t, reg)
			if !uqHasBlob(t, reg, "app", d) {
				t.Error("blob not stored")
			}
		})
	}
	t.Run("resetConnection", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.MaxRequestBody(64, quirks.TooLargeReset)))
		loc := uqOpen(t, reg, "app").Header.Get("Location")
		req, err := http.NewRequest("PATCH", reg.URL()+loc, bytes.NewReader(big))
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := reg.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("PATCH over the limit answered %d, want the connection cut", resp.StatusCode)
		}
		reqs := reg.Filter(Match{Kind: UploadChunk})
		if len(reqs) != 1 || reqs[0].Status != 0 || !slices.Equal(reqs[0].Quirks, []string{"request-body-size-limit(64,resetConnection)"}) {
			t.Errorf("recorded %v, want one dropped PATCH naming the quirk", reqs)
		}
		wantUploadSession(t, uqPatch(t, reg, loc, small, 0), http.StatusAccepted, "app", 64)
		uqWantQuirks(t, reg)
	})
}

func TestQuirkChunkMinLength(t *testing.T) {
	blob := uqBytes(20, 10)
	d := digest.FromBytes(blob)
	t.Run("advertised and enforced", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.ChunkMinLength(8, true)))
		resp := uqOpen(t, reg, "app")
		wantHeader(t, resp, "OCI-Chunk-Min-Length", "8")
		uqWantQuirks(t, reg, "chunk-min-length(8)")
		loc := resp.Header.Get("Location")
		// Chunks of at least 8 bytes, then a short last one: fine.
		wantStatus(t, uqPatch(t, reg, loc, blob[:8], 0), http.StatusAccepted)
		wantStatus(t, uqPatch(t, reg, loc, blob[8:16], 8), http.StatusAccepted)
		wantStatus(t, uqPatch(t, reg, loc, blob[16:], 16), http.StatusAccepted)
		uqWantQuirks(t, reg)
		wantStatus(t, uqPut(t, reg, loc, d, nil), http.StatusCreated)
		uqWantQuirks(t, reg)
		// A short chunk that was not the last: the next PATCH is refused.
		loc = uqOpen(t, reg, "app").Header.Get("Location")
		wantStatus(t, uqPatch(t, reg, loc, blob[:4], 0), http.StatusAccepted)
		uqWantQuirks(t, reg)
		before := reg.Store().Snapshot()
		wantError(t, uqPatch(t, reg, loc, blob[4:12], 4), http.StatusBadRequest, memstore.CodeBlobUploadInvalid)
		uqWantQuirks(t, reg, "chunk-min-length(8)")
		wantError(t, uqPut(t, reg, loc, d, blob[4:]), http.StatusBadRequest, memstore.CodeBlobUploadInvalid)
		unchanged(t, reg, before)
		// An empty closing PUT makes the short chunk the last one.
		short := digest.FromBytes(blob[:4])
		wantStatus(t, uqPut(t, reg, loc, short, nil), http.StatusCreated)
		uqWantQuirks(t, reg)
	})
	t.Run("unannounced", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.ChunkMinLength(8, false)))
		resp := uqOpen(t, reg, "app")
		if v := resp.Header.Get("OCI-Chunk-Min-Length"); v != "" {
			t.Errorf("OCI-Chunk-Min-Length = %q, want none", v)
		}
		uqWantQuirks(t, reg)
		loc := resp.Header.Get("Location")
		wantStatus(t, uqPatch(t, reg, loc, blob[:2], 0), http.StatusAccepted)
		wantError(t, uqPatch(t, reg, loc, blob[2:], 2), http.StatusBadRequest, memstore.CodeBlobUploadInvalid)
		uqWantQuirks(t, reg, "chunk-min-length(8,unannounced)")
	})
	t.Run("overrides WithChunkMinLength", func(t *testing.T) {
		reg := New(t, WithChunkMinLength(100), WithQuirks(quirks.ChunkMinLength(8, false)))
		if v := uqOpen(t, reg, "app").Header.Get("OCI-Chunk-Min-Length"); v != "" {
			t.Errorf("OCI-Chunk-Min-Length = %q, want none", v)
		}
		uqWantQuirks(t, reg, "chunk-min-length(8,unannounced)")
		reg.SetQuirks(quirks.ChunkMinLength(100, true))
		wantHeader(t, uqOpen(t, reg, "app"), "OCI-Chunk-Min-Length", "100")
		uqWantQuirks(t, reg) // the same header the option sends
	})
}

func TestQuirkUploadLocation(t *testing.T) {
	blob := uqBytes(20, 11)
	d := digest.FromBytes(blob)
	for _, tc := range []struct {
		style quirks.UploadLocationStyle
		tls   bool
		want  func(reg *Registry, path string) string
	}{
		{quirks.UploadLocationAbsolute, false, func(reg *Registry, p string) string { return reg.URL() + p }},
		{quirks.UploadLocationSchemeless, false, func(reg *Registry, p string) string { return reg.Host() + p }},
		{quirks.UploadLocationDropPort, false, func(reg *Registry, p string) string { return "http://127.0.0.1" + p }},
		{quirks.UploadLocationDropPort, true, func(reg *Registry, p string) string { return "https://127.0.0.1" + p }},
		{quirks.UploadLocationHTTPScheme, true, func(reg *Registry, p string) string { return "http://" + reg.Host() + p }},
		{quirks.UploadLocationRelative, false, func(reg *Registry, p string) string { return p }},
	} {
		t.Run(fmt.Sprintf("%s tls=%v", tc.style, tc.tls), func(t *testing.T) {
			opts := []Option{WithQuirks(quirks.UploadLocation(tc.style))}
			if tc.tls {
				opts = append(opts, WithTLS())
			}
			reg := New(t, opts...)
			by := []string{"upload-location-styles(" + tc.style.String() + ")"}
			if tc.style == quirks.UploadLocationRelative {
				by = nil
			}
			resp := uqOpen(t, reg, "app")
			path := "/v2/app/blobs/uploads/" + resp.Header.Get("Docker-Upload-UUID")
			wantHeader(t, resp, "Location", tc.want(reg, path))
			uqWantQuirks(t, reg, by...)
			resp = uqPatch(t, reg, path, blob[:10], 0)
			wantHeader(t, resp, "Location", tc.want(reg, path))
			uqWantQuirks(t, reg, by...)
			resp = uqPatch(t, reg, path, blob[:10], 0) // out of order: 416 with the Location
			wantStatus(t, resp, http.StatusRequestedRangeNotSatisfiable)
			wantHeader(t, resp, "Location", tc.want(reg, path))
			wantHeader(t, doV2(t, reg, "GET", path, nil), "Location", tc.want(reg, path))
			// The blob's own Location stays as it was.
			resp = uqPut(t, reg, path, d, blob[10:])
			wantHeader(t, resp, "Location", "/v2/app/blobs/"+string(d))
			uqWantQuirks(t, reg)
		})
	}
}

func TestQuirkUploadLocationRotating(t *testing.T) {
	blob := uqBytes(30, 12)
	d := digest.FromBytes(blob)
	reg := New(t, WithQuirks(quirks.UploadLocation(quirks.UploadLocationRotating)))
	by := "upload-location-styles(rotating)"
	resp := uqOpen(t, reg, "app")
	first := resp.Header.Get("Location")
	if !strings.HasSuffix(first, "?_state=1") {
		t.Fatalf("Location = %q, want a first state", first)
	}
	uqWantQuirks(t, reg, by)
	resp = uqPatch(t, reg, first, blob[:10], 0)
	wantStatus(t, resp, http.StatusAccepted)
	second := resp.Header.Get("Location")
	if second == first || !strings.HasSuffix(second, "?_state=2") {
		t.Fatalf("Location after PATCH = %q, want a new one", second)
	}
	uqWantQuirks(t, reg, by)
	// The old Location is dead, for every method.
	before := reg.Store().Snapshot()
	wantError(t, uqPatch(t, reg, first, blob[10:20], 10), http.StatusNotFound, memstore.CodeBlobUploadUnknown)
	uqWantQuirks(t, reg, by)
	wantError(t, doV2(t, reg, "GET", first, nil), http.StatusNotFound, memstore.CodeBlobUploadUnknown)
	wantError(t, uqPut(t, reg, first, d, blob[10:]), http.StatusNotFound, memstore.CodeBlobUploadUnknown)
	unchanged(t, reg, before)
	// Status and 416 answers name the current Location without moving it.
	wantHeader(t, doV2(t, reg, "GET", second, nil), "Location", second)
	resp = uqPatch(t, reg, second, blob[:10], 0)
	wantStatus(t, resp, http.StatusRequestedRangeNotSatisfiable)
	wantHeader(t, resp, "Location", second)
	resp = uqPatch(t, reg, second, blob[10:20], 10)
	third := resp.Header.Get("Location")
	if !strings.HasSuffix(third, "?_state=3") {
		t.Fatalf("Location = %q, want the third state", third)
	}
	wantStatus(t, uqPut(t, reg, third, d, blob[20:]), http.StatusCreated)
	uqWantQuirks(t, reg)
	// Combined with a style.
	reg.SetQuirks(quirks.UploadLocation(quirks.UploadLocationAbsolute), quirks.UploadLocation(quirks.UploadLocationRotating))
	resp = uqOpen(t, reg, "app")
	wantHeader(t, resp, "Location", reg.URL()+"/v2/app/blobs/uploads/"+resp.Header.Get("Docker-Upload-UUID")+"?_state=1")
	uqWantQuirks(t, reg, by, "upload-location-styles(absolute)")
}

func TestQuirkUploadNotResumable(t *testing.T) {
	blob := uqBytes(30, 13)
	for _, tc := range []struct {
		retry   quirks.RetriedChunk
		by      string
		status  int
		message string
	}{
		{quirks.RetriedChunkFailsACR, "upload-not-resumable(acr)", http.StatusNotFound, "blob upload invalid"},
		{quirks.RetriedChunkFailsECR, "upload-not-resumable(ecr)", http.StatusRequestedRangeNotSatisfiable, "First byte of the layer part is 0 instead of 10"},
	} {
		t.Run(tc.by, func(t *testing.T) {
			reg := New(t, WithQuirks(quirks.UploadNotResumable(tc.retry, 0)))
			loc := uqOpen(t, reg, "app").Header.Get("Location")
			wantStatus(t, uqPatch(t, reg, loc, blob[:10], 0), http.StatusAccepted)
			uqWantQuirks(t, reg)
			resp := uqPatch(t, reg, loc, blob[:10], 0) // retried after a lost answer
			wantError(t, resp, tc.status, memstore.CodeBlobUploadInvalid)
			if !strings.Contains(string(resp.Body), tc.message) {
				t.Errorf("body %s lacks %q", resp.Body, tc.message)
			}
			if r := resp.Header.Get("Range"); r != "" {
				t.Errorf("Range = %q, want none", r)
			}
			uqWantQuirks(t, reg, tc.by)
			// The whole upload is gone.
			wantError(t, doV2(t, reg, "GET", loc, nil), http.StatusNotFound, memstore.CodeBlobUploadUnknown)
			uqWantQuirks(t, reg)
			// A chunk past the end is still the spec's resumable 416.
			loc = uqOpen(t, reg, "app").Header.Get("Location")
			wantStatus(t, uqPatch(t, reg, loc, blob[:10], 0), http.StatusAccepted)
			resp = uqPatch(t, reg, loc, blob[20:], 20)
			wantError(t, resp, http.StatusRequestedRangeNotSatisfiable, memstore.CodeBlobUploadInvalid)
			wantHeader(t, resp, "Range", "0-9")
			uqWantQuirks(t, reg)
		})
	}
	t.Run("lose every 3rd", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.UploadNotResumable(quirks.RetriedChunkResumable, 3)))
		by := "upload-not-resumable(resumable,loseEvery=3)"
		loc := uqOpen(t, reg, "app").Header.Get("Location")
		wantStatus(t, uqPatch(t, reg, loc, blob[:10], 0), http.StatusAccepted)
		wantStatus(t, doV2(t, reg, "GET", loc, nil), http.StatusNoContent) // not counted
		resp := uqPatch(t, reg, loc, blob[:10], 0)                         // a retry is resumable
		wantError(t, resp, http.StatusRequestedRangeNotSatisfiable, memstore.CodeBlobUploadInvalid)
		uqWantQuirks(t, reg)
		wantError(t, uqPatch(t, reg, loc, blob[10:20], 10), http.StatusNotFound, memstore.CodeBlobUploadUnknown)
		uqWantQuirks(t, reg, by)
		if len(reg.Store().Snapshot().Uploads) != 0 {
			t.Error("the lost session is still open")
		}
		// Counting goes on: the 6th PATCH or PUT is lost again.
		loc = uqOpen(t, reg, "app").Header.Get("Location")
		wantStatus(t, uqPatch(t, reg, loc, blob[:10], 0), http.StatusAccepted)
		wantStatus(t, uqPatch(t, reg, loc, blob[10:20], 10), http.StatusAccepted)
		wantError(t, uqPut(t, reg, loc, digest.FromBytes(blob), blob[20:]), http.StatusNotFound, memstore.CodeBlobUploadUnknown)
		uqWantQuirks(t, reg, by)
	})
}

func TestQuirkUploadSessionExpiry(t *testing.T) {
	clock := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	reg := New(t, WithClock(clock), WithQuirks(quirks.UploadSessionExpiry(10*time.Minute)))
	by := "upload-session-expiry(10m0s)"
	blob := uqBytes(20, 14)
	old := uqOpen(t, reg, "app").Header.Get("Location")
	uqWantQuirks(t, reg)
	clock.Advance(6 * time.Minute)
	young := uqOpen(t, reg, "app").Header.Get("Location")
	wantStatus(t, uqPatch(t, reg, old, blob[:10], 0), http.StatusAccepted)
	uqWantQuirks(t, reg)
	clock.Advance(5 * time.Minute)
	wantError(t, uqPatch(t, reg, old, blob[10:], 10), http.StatusNotFound, memstore.CodeBlobUploadUnknown)
	uqWantQuirks(t, reg, by)
	wantError(t, doV2(t, reg, "GET", old, nil), http.StatusNotFound, memstore.CodeBlobUploadUnknown)
	uqWantQuirks(t, reg) // already gone: the spec's answer
	// The younger session still works.
	wantStatus(t, uqPut(t, reg, young, digest.FromBytes(blob), blob), http.StatusCreated)
	uqWantQuirks(t, reg)
}

func TestQuirkMountMisbehaviour(t *testing.T) {
	img := NewImage()
	loose := []byte("a blob no manifest references")
	seed := func(t *testing.T, reg *Registry) {
		reg.PushImage(t, "src/app", "v1", img)
		reg.PushBlob(t, "src/app", loose)
	}
	cfg := img.Config.Descriptor.Digest
	mount := func(t *testing.T, reg *Registry, repo string, d digest.Digest, from string) response {
		t.Helper()
		target := "/v2/" + repo + "/blobs/uploads/?mount=" + string(d)
		if from != "" {
			target += "&from=" + from
		}
		return doV2(t, reg, "POST", target, nil)
	}
	t.Run("requireFrom", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.MountMisbehaviour(quirks.MountRequireFrom)))
		seed(t, reg)
		wantError(t, mount(t, reg, "dst", cfg, ""), http.StatusBadRequest, "INVALID_REQUEST")
		uqWantQuirks(t, reg, "mount-misbehaviour(requireFrom)")
		wantStatus(t, mount(t, reg, "dst", cfg, "src/app"), http.StatusCreated)
		uqWantQuirks(t, reg)
	})
	t.Run("unauthorizedIfSourceMissing", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.MountMisbehaviour(quirks.MountUnauthorizedIfSourceMissing)))
		seed(t, reg)
		resp := mount(t, reg, "dst", cfg, "nosuch/app")
		wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
		if !strings.Contains(string(resp.Body), "project nosuch not found") {
			t.Errorf("body %s", resp.Body)
		}
		uqWantQuirks(t, reg, "mount-misbehaviour(unauthorizedIfSourceMissing)")
		wantStatus(t, mount(t, reg, "dst", cfg, "src/other"), http.StatusAccepted) // project exists
		uqWantQuirks(t, reg)
		wantStatus(t, mount(t, reg, "dst", cfg, "src/app"), http.StatusCreated)
		uqWantQuirks(t, reg)
	})
	t.Run("badRequestOnUnknownSource", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.MountMisbehaviour(quirks.MountBadRequestOnUnknownSource)))
		seed(t, reg)
		resp := mount(t, reg, "dst", cfg, "nosuch/app")
		wantStatus(t, resp, http.StatusBadRequest)
		if got := strings.TrimSpace(string(resp.Body)); got != `{"details":"invalid repository name"}` {
			t.Errorf("body = %s", got)
		}
		uqWantQuirks(t, reg, "mount-misbehaviour(badRequestOnUnknownSource)")
		wantStatus(t, mount(t, reg, "dst", cfg, "src/app"), http.StatusCreated)
		uqWantQuirks(t, reg)
	})
	t.Run("forbidden", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.MountMisbehaviour(quirks.MountForbidden)))
		seed(t, reg)
		before := reg.Store().Snapshot()
		wantError(t, mount(t, reg, "dst", cfg, "src/app"), http.StatusForbidden, memstore.CodeDenied)
		uqWantQuirks(t, reg, "mount-misbehaviour(forbidden)")
		unchanged(t, reg, before)
		wantStatus(t, mount(t, reg, "dst", cfg, ""), http.StatusCreated) // anonymous mounts still work
		uqWantQuirks(t, reg)
	})
	t.Run("onlyIfReferenced", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.MountMisbehaviour(quirks.MountOnlyIfReferenced)))
		seed(t, reg)
		wantStatus(t, mount(t, reg, "dst", cfg, "src/app"), http.StatusCreated)
		uqWantQuirks(t, reg)
		resp := mount(t, reg, "dst", digest.FromBytes(loose), "src/app")
		wantUploadSession(t, resp, http.StatusAccepted, "dst", 0)
		uqWantQuirks(t, reg, "mount-misbehaviour(onlyIfReferenced)")
		if uqHasBlob(t, reg, "dst", digest.FromBytes(loose)) {
			t.Error("the unreferenced blob was mounted")
		}
		wantStatus(t, mount(t, reg, "dst", digest.FromBytes([]byte("nowhere")), "src/app"), http.StatusAccepted)
		uqWantQuirks(t, reg) // the spec opens a session too
	})
	t.Run("ignore202", func(t *testing.T) {
		reg := New(t, WithQuirks(quirks.MountMisbehaviour(quirks.MountIgnored)))
		seed(t, reg)
		wantUploadSession(t, mount(t, reg, "dst", cfg, "src/app"), http.StatusAccepted, "dst", 0)
		uqWantQuirks(t, reg, "mount-misbehaviour(ignore202)")
		wantStatus(t, mount(t, reg, "dst", cfg, ""), http.StatusAccepted)
		uqWantQuirks(t, reg, "mount-misbehaviour(ignore202)")
		if uqHasBlob(t, reg, "dst", cfg) {
			t.Error("the blob was mounted")
		}
		// Ordinary uploads are untouched.
		uqOpen(t, reg, "dst")
		uqWantQuirks(t, reg)
	})
}

func TestQuirkRejectReupload(t *testing.T) {
	reg := New(t, WithQuirks(quirks.RejectReupload()))
	by := "reupload-existing-blob-rejected"
	blob := uqBytes(20, 15)
	d := digest.FromBytes(blob)
	post := "/v2/app/blobs/uploads/?digest=" + string(d)
	wantStatus(t, doV2(t, reg, "POST", post, blob), http.StatusCreated)
	uqWantQuirks(t, reg)
	resp := doV2(t, reg, "POST", post, blob)
	wantError(t, resp, http.StatusBadRequest, memstore.CodeBlobUploadInvalid)
	if !strings.Contains(string(resp.Body), "There was an error processing the upload and it must be restarted.") {
		t.Errorf("body %s", resp.Body)
	}
	uqWantQuirks(t, reg, by)
	loc := uqOpen(t, reg, "app").Header.Get("Location")
	wantError(t, uqPut(t, reg, loc, d, blob), http.StatusBadRequest, memstore.CodeBlobUploadInvalid)
	uqWantQuirks(t, reg, by)
	// Another repository does not have it yet.
	wantStatus(t, doV2(t, reg, "POST", "/v2/other/blobs/uploads/?digest="+string(d), blob), http.StatusCreated)
	uqWantQuirks(t, reg)
}

func TestQuirkNoCreateOnPush(t *testing.T) {
	reg := New(t, WithQuirks(quirks.NoCreateOnPush("team/*")))
	by := "no-create-on-push(team/*)"
	img := newTestImage("ncp", nil, "")
	msg := "The repository with name 'new/app' does not exist in the registry with id '123456789012'"
	before := reg.Store().Snapshot()
	for _, resp := range []response{
		doV2(t, reg, "POST", "/v2/new/app/blobs/uploads/", nil),
		doV2(t, reg, "POST", "/v2/new/app/blobs/uploads/?digest="+string(digest.FromBytes(img.Config)), img.Config),
		doV2(t, reg, "POST", "/v2/new/app/blobs/uploads/?mount="+string(digest.FromBytes(img.Config)), nil),
		doV2(t, reg, "PUT", "/v2/new/app/manifests/v1", img.Manifest, "Content-Type: application/vnd.oci.image.manifest.v1+json"),
	} {
		wantError(t, resp, http.StatusNotFound, memstore.CodeNameUnknown)
		if !strings.Contains(string(resp.Body), msg) {
			t.Errorf("body %s lacks %q", resp.Body, msg)
		}
		uqWantQuirks(t, reg, by)
	}
	unchanged(t, reg, before)
	// Reading a missing repository is the spec's 404, unchanged.
	wantStatus(t, doV2(t, reg, "GET", "/v2/new/app/manifests/v1", nil), http.StatusNotFound)
	uqWantQuirks(t, reg)
	// Pre-created (by pattern) and seeded repositories take pushes.
	pushImage(t, reg, "team/app", "v1", img)
	uqWantQuirks(t, reg)
	reg.PushBlob(t, "seeded", []byte("x"))
	pushImage(t, reg, "seeded", "v1", img)
	uqWantQuirks(t, reg)
	if reg.Count(Match{Status: http.StatusNotFound}) != 5 {
		t.Errorf("404s: %v", reg.Filter(Match{Status: http.StatusNotFound}))
	}
}

func TestQuirkUploadsScopedToRepos(t *testing.T) {
	reg := New(t, WithQuirks(quirks.ForRepos("ecr/*", quirks.UploadStatusCodes(http.StatusCreated, 0))...))
	blob := uqBytes(4, 16)
	for repo, want := range map[string]int{"ecr/app": http.StatusCreated, "other/app": http.StatusAccepted} {
		loc := uqOpen(t, reg, repo).Header.Get("Location")
		wantStatus(t, uqPatch(t, reg, loc, blob, 0), want)
	}
}

// uqTry sends one request from any goroutine: failures are returned, not
// reported, since only the test's own goroutine may stop it.
func uqTry(reg *Registry, method, target string, body []byte, header ...string) (response, error) {
	if !strings.HasPrefix(target, "/") {
		target = strings.TrimPrefix(target, reg.URL())
	}
	req, err := http.NewRequest(method, reg.URL()+target, bytes.NewReader(body))
	if err != nil {
		return response{}, err
	}
	for _, h := range header {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	resp, err := reg.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// TestQuirkUploadsConcurrent runs whole uploads in parallel under the
// stateful upload quirks, for the race detector.
func TestQuirkUploadsConcurrent(t *testing.T) {
	reg := New(t, WithQuirks(
		quirks.UploadLocation(quirks.UploadLocationRotating),
		quirks.WrongPatchRange(quirks.PatchRangeStuckAtFirstChunk, 0),
		quirks.ChunkMinLength(4, true),
		quirks.UploadSessionExpiry(time.Hour),
		quirks.UploadNotResumable(quirks.RetriedChunkFailsECR, 0),
		quirks.UploadStatusCodes(http.StatusCreated, http.StatusCreated),
	))
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				blob := uqBytes(12, byte(i))
				repo := "app" + strconv.Itoa(i%3)
				resp, err := uqTry(reg, "POST", "/v2/"+repo+"/blobs/uploads/", nil)
				if err != nil || resp.Status != http.StatusAccepted {
					return fmt.Errorf("POST: %d %v %s", resp.Status, err, resp.Body)
				}
				loc := resp.Header.Get("Location")
				for off := 0; off < len(blob); off += 4 {
					resp, err := uqTry(reg, "PATCH", loc, blob[off:off+4], fmt.Sprintf("Content-Range: %d-%d", off, off+3))
					if err != nil || resp.Status != http.StatusCreated {
						return fmt.Errorf("PATCH: %d %v %s", resp.Status, err, resp.Body)
					}
					loc = resp.Header.Get("Location")
				}
				resp, err = uqTry(reg, "PUT", withQuery(loc, "digest="+string(digest.FromBytes(blob))), nil)
				if err != nil || resp.Status != http.StatusCreated {
					return fmt.Errorf("PUT: %d %v %s", resp.Status, err, resp.Body)
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestQuirkUploadLocationOtherHost: the session continues on the fixture's
// second registry listener, and a client that follows the Location there
// completes the upload; the blob is then in the registry.
func TestQuirkUploadLocationOtherHost(t *testing.T) {
	blob := uqBytes(40, 13)
	d := digest.FromBytes(blob)
	reg := New(t, WithQuirks(quirks.UploadLocation(quirks.UploadLocationOtherHost)))
	resp := uqOpen(t, reg, "app")
	loc := resp.Header.Get("Location")
	want := "http://" + reg.OtherRegistryHost() + "/v2/app/blobs/uploads/" + resp.Header.Get("Docker-Upload-UUID")
	if loc != want || reg.OtherRegistryHost() == reg.Host() {
		t.Fatalf("Location = %q, want %q (another port than %s)", loc, want, reg.Host())
	}
	uqWantQuirks(t, reg, "upload-location-styles(otherHost)")

	// Follow it: PATCH and PUT on the other host.
	req, _ := http.NewRequest("PATCH", loc, bytes.NewReader(blob))
	req.Header.Set("Content-Range", fmt.Sprintf("0-%d", len(blob)-1))
	pr, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pr.Body.Close()
	if pr.StatusCode != http.StatusAccepted || !strings.HasPrefix(pr.Header.Get("Location"), "http://"+reg.OtherRegistryHost()+"/") {
		t.Fatalf("PATCH on the other host: %s, Location %q", pr.Status, pr.Header.Get("Location"))
	}
	req, _ = http.NewRequest("PUT", pr.Header.Get("Location")+"?digest="+string(d), nil)
	pu, err := reg.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pu.Body.Close()
	if pu.StatusCode != http.StatusCreated {
		t.Fatalf("PUT on the other host: %s", pu.Status)
	}
	reg.CheckBlob(t, "app", d, blob)
	// The blob's own Location and other endpoints are unchanged.
	if got := pu.Header.Get("Location"); got != "/v2/app/blobs/"+string(d) {
		t.Errorf("blob Location = %q", got)
	}
	wantStatus(t, do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil), http.StatusOK)
	uqWantQuirks(t, reg)
}
