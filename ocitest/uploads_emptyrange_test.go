package ocitest

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
)

// TestEmptyContentRange: cue's ociclient writes its chunks with PATCH, then
// closes the upload with a PUT that has no body and "Content-Range:
// <size>-<size-1>", an empty range. The spec's closing PUT needs no
// Content-Range without a chunk, and distribution ignores it there; the
// fixture answered 416 "malformed Content-Range". An empty range is now an
// empty chunk at its offset, which must still be the upload's size.
func TestEmptyContentRange(t *testing.T) {
	blob := []byte("0123456789")
	d := digest.FromBytes(blob)
	open := func(t *testing.T, reg *Registry) string {
		resp := do(t, reg, "POST", "/v2/team/app/blobs/uploads/", nil)
		wantStatus(t, resp, http.StatusAccepted)
		loc := resp.Header.Get("Location")
		wantStatus(t, do(t, reg, "PATCH", loc, blob, "Content-Type: application/octet-stream", "Content-Range: 0-9"), http.StatusAccepted)
		return loc
	}
	t.Run("closing PUT", func(t *testing.T) {
		reg := New(t)
		loc := open(t, reg)
		resp := do(t, reg, "PUT", loc+"?digest="+d.String(), nil, "Content-Range: 10-9", "Content-Length: 0")
		wantStatus(t, resp, http.StatusCreated)
		reg.CheckBlob(t, "team/app", d, blob)
	})
	t.Run("empty PATCH", func(t *testing.T) {
		reg := New(t)
		loc := open(t, reg)
		resp := do(t, reg, "PATCH", loc, nil, "Content-Range: 10-9", "Content-Length: 0")
		wantStatus(t, resp, http.StatusAccepted)
		wantHeader(t, resp, "Range", "0-9")
	})
	for _, cr := range []string{"5-4", "11-10"} {
		t.Run(fmt.Sprintf("closing PUT at the wrong offset %s", cr), func(t *testing.T) {
			reg := New(t)
			loc := open(t, reg)
			resp := do(t, reg, "PUT", loc+"?digest="+d.String(), nil, "Content-Range: "+cr, "Content-Length: 0")
			wantError(t, resp, http.StatusRequestedRangeNotSatisfiable, memstore.CodeBlobUploadInvalid)
			wantHeader(t, resp, "Range", "0-9")
		})
	}
	t.Run("empty range with a body is still malformed", func(t *testing.T) {
		reg := New(t)
		loc := open(t, reg)
		resp := do(t, reg, "PATCH", loc, []byte("abc"), "Content-Range: 10-9")
		wantError(t, resp, http.StatusRequestedRangeNotSatisfiable, memstore.CodeBlobUploadInvalid)
	})
}
