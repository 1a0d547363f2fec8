package ocitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Helpers of this file are prefixed "bi" so they cannot clash with the
// helpers other test files of the package define.

// biMaxBlob is the blob size limit of the bad-input registry.
const biMaxBlob = 1024

// biFixture is the content the bad-input table runs against.
type biFixture struct {
	reg     *Registry
	img     testImage // team/app:v1
	upload  string    // path of an open session of team/app holding "hello"
	id      string    // its id
	ended   string    // path of a session of team/app that was completed
	blobLen int       // size of img.Layer
}

func biSetup(t *testing.T) biFixture {
	t.Helper()
	reg := New(t, WithStore(memstore.New(memstore.WithMaxBlobSize(biMaxBlob))))
	img := newTestImage("bad-input", nil, "")
	pushImage(t, reg, "team/app", "v1", img)

	open := func() string {
		resp := do(t, reg, "POST", "/v2/team/app/blobs/uploads/", nil)
		wantStatus(t, resp, http.StatusAccepted)
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "/v2/team/app/blobs/uploads/") {
			t.Fatalf("upload Location = %q", loc)
		}
		return loc
	}
	upload := open()
	wantStatus(t, do(t, reg, "PATCH", upload, []byte("hello"), "Content-Type: application/octet-stream"), http.StatusAccepted)
	ended := open()
	wantStatus(t, do(t, reg, "PUT", ended+"?digest="+string(digest.FromString("done")), []byte("done"),
		"Content-Type: application/octet-stream"), http.StatusCreated)
	return biFixture{
		reg:     reg,
		img:     img,
		upload:  upload,
		id:      upload[strings.LastIndex(upload, "/")+1:],
		ended:   ended,
		blobLen: len(img.Layer),
	}
}

func TestBadInput(t *testing.T) {
	f := biSetup(t)
	reg, img := f.reg, f.img
	d := string(img.Digest)
	layer := string(digest.FromBytes(img.Layer))
	md5 := "md5:d41d8cd98f00b204e9800998ecf8427e"
	long := strings.Repeat("a", memstore.MaxNameLength+1)
	mt := "Content-Type: " + ocispec.MediaTypeImageManifest
	octet := "Content-Type: application/octet-stream"
	other := newTestImage("bad-input-other", nil, "") // its config is not in the registry
	overManifest := bytes.Repeat([]byte(" "), memstore.DefaultMaxManifestSize+1)
	overBlob := bytes.Repeat([]byte("b"), biMaxBlob+1)
	helloX := string(digest.FromString("hellox"))

	tests := []struct {
		name    string
		method  string
		path    string // {upload} is the open session's path, {id} its id, {ended} a completed session's path
		body    []byte
		chunked bool // send the body without Content-Length
		header  []string
		status  int
		code    memstore.Code
		// wantHeader lists headers the error must carry.
		wantHeader map[string]string
	}{
		// Repository names.
		{name: "name upper case", method: "GET", path: "/v2/UPPER/case/manifests/v1", status: 400, code: memstore.CodeNameInvalid},
		{name: "name empty segment", method: "GET", path: "/v2/a//b/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "name leading dash", method: "GET", path: "/v2/-a/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "name trailing dash", method: "GET", path: "/v2/a-/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "name double dot", method: "GET", path: "/v2/a..b/blobs/" + layer, status: 400, code: memstore.CodeNameInvalid},
		{name: "name triple underscore", method: "GET", path: "/v2/a___b/manifests/v1", status: 400, code: memstore.CodeNameInvalid},
		{name: "name too long", method: "GET", path: "/v2/" + long + "/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "name at max length is valid but unknown", method: "GET", path: "/v2/" + long[1:] + "/tags/list", status: 404, code: memstore.CodeNameUnknown},
		{name: "name HEAD", method: "HEAD", path: "/v2/UPPER/manifests/v1", status: 400, code: memstore.CodeNameInvalid},
		{name: "name manifest PUT", method: "PUT", path: "/v2/UPPER/manifests/v1", body: img.Manifest, header: []string{mt}, status: 400, code: memstore.CodeNameInvalid},
		{name: "name manifest DELETE", method: "DELETE", path: "/v2/Team/App/manifests/" + d, status: 400, code: memstore.CodeNameInvalid},
		{name: "name upload POST", method: "POST", path: "/v2/UPPER/blobs/uploads/", status: 400, code: memstore.CodeNameInvalid},
		{name: "name monolithic POST", method: "POST", path: "/v2/UPPER/blobs/uploads/?digest=" + layer, body: img.Layer, header: []string{octet}, status: 400, code: memstore.CodeNameInvalid},
		{name: "name blob DELETE", method: "DELETE", path: "/v2/UPPER/blobs/" + layer, status: 400, code: memstore.CodeNameInvalid},
		{name: "name referrers", method: "GET", path: "/v2/UPPER/referrers/" + d, status: 400, code: memstore.CodeNameInvalid},
		{name: "name mount target", method: "POST", path: "/v2/UPPER/blobs/uploads/?mount=" + layer + "&from=team/app", status: 400, code: memstore.CodeNameInvalid},
		{name: "name mount source", method: "POST", path: "/v2/team/copy/blobs/uploads/?mount=" + layer + "&from=Team/App", status: 400, code: memstore.CodeNameInvalid},
		{name: "name upload session", method: "PATCH", path: "/v2/UPPER/blobs/uploads/{id}", body: []byte("x"), status: 400, code: memstore.CodeNameInvalid},
		{name: "no name", method: "GET", path: "/v2/manifests/v1", status: 404, code: memstore.CodeUnsupported},

		// Digests.
		{name: "blob digest malformed", method: "GET", path: "/v2/team/app/blobs/sha256:xyz", status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob digest malformed HEAD", method: "HEAD", path: "/v2/team/app/blobs/sha256:xyz", status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob digest md5", method: "GET", path: "/v2/team/app/blobs/" + md5, status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob digest sha384", method: "GET", path: "/v2/team/app/blobs/" + string(digest.SHA384.FromBytes(img.Layer)), status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob digest upper hex", method: "GET", path: "/v2/team/app/blobs/" + strings.ToUpper(layer), status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob digest short", method: "GET", path: "/v2/team/app/blobs/" + layer[:20], status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob digest not a digest", method: "GET", path: "/v2/team/app/blobs/latest", status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob DELETE digest malformed", method: "DELETE", path: "/v2/team/app/blobs/sha256:xyz", status: 400, code: memstore.CodeDigestInvalid},
		{name: "manifest digest malformed", method: "GET", path: "/v2/team/app/manifests/sha256:xyz", status: 400, code: memstore.CodeDigestInvalid},
		{name: "manifest digest md5", method: "GET", path: "/v2/team/app/manifests/" + md5, status: 400, code: memstore.CodeDigestInvalid},
		{name: "manifest DELETE digest malformed", method: "DELETE", path: "/v2/team/app/manifests/sha256:abc", status: 400, code: memstore.CodeDigestInvalid},
		{name: "manifest PUT digest malformed", method: "PUT", path: "/v2/team/app/manifests/sha256:xyz", body: img.Manifest, header: []string{mt}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "referrers digest malformed", method: "GET", path: "/v2/team/app/referrers/sha256:xyz", status: 400, code: memstore.CodeDigestInvalid},
		{name: "referrers digest md5", method: "GET", path: "/v2/team/app/referrers/" + md5, status: 400, code: memstore.CodeDigestInvalid},
		{name: "monolithic digest malformed", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=sha256:xyz", body: []byte("abc"), header: []string{octet}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "monolithic digest md5", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + md5, body: []byte(""), header: []string{octet}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "monolithic digest empty", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=", body: []byte("abc"), header: []string{octet}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "mount digest malformed", method: "POST", path: "/v2/team/app/blobs/uploads/?mount=sha256:xyz&from=team/app", status: 400, code: memstore.CodeDigestInvalid},
		{name: "digest-algorithm md5", method: "POST", path: "/v2/team/app/blobs/uploads/?digest-algorithm=md5", status: 400, code: memstore.CodeDigestInvalid},
		{name: "complete digest malformed", method: "PUT", path: "{upload}?digest=sha256:xyz", status: 400, code: memstore.CodeDigestInvalid},
		{name: "complete digest md5", method: "PUT", path: "{upload}?digest=" + md5, status: 400, code: memstore.CodeDigestInvalid},
		{name: "complete without digest", method: "PUT", path: "{upload}", status: 400, code: memstore.CodeDigestInvalid},

		// Tags.
		{name: "tag leading dash", method: "GET", path: "/v2/team/app/manifests/-v1", status: 400, code: memstore.CodeManifestInvalid},
		{name: "tag leading dot HEAD", method: "HEAD", path: "/v2/team/app/manifests/.v1", status: 400, code: memstore.CodeManifestInvalid},
		{name: "tag too long", method: "GET", path: "/v2/team/app/manifests/" + strings.Repeat("t", 129), status: 400, code: memstore.CodeManifestInvalid},
		{name: "tag with plus", method: "GET", path: "/v2/team/app/manifests/v1+x", status: 400, code: memstore.CodeManifestInvalid},
		{name: "tag PUT invalid", method: "PUT", path: "/v2/team/app/manifests/.v1", body: img.Manifest, header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "tag DELETE invalid", method: "DELETE", path: "/v2/team/app/manifests/-v1", status: 400, code: memstore.CodeManifestInvalid},
		{name: "tag param invalid", method: "PUT", path: "/v2/team/app/manifests/" + d + "?tag=ok&tag=-bad", body: img.Manifest, header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "tag param empty", method: "PUT", path: "/v2/team/app/manifests/" + d + "?tag=", body: img.Manifest, header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "tag param with space", method: "PUT", path: "/v2/team/app/manifests/" + d + "?tag=a%20b", body: img.Manifest, header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "tag param on tag push", method: "PUT", path: "/v2/team/app/manifests/v9?tag=:x", body: img.Manifest, header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},

		// Malformed manifests.
		{name: "manifest truncated JSON", method: "PUT", path: "/v2/team/app/manifests/v2", body: img.Manifest[:len(img.Manifest)-1], header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "manifest not JSON", method: "PUT", path: "/v2/team/app/manifests/v2", body: []byte("not json"), header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "manifest empty", method: "PUT", path: "/v2/team/app/manifests/v2", body: []byte{}, header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "manifest array", method: "PUT", path: "/v2/team/app/manifests/v2", body: []byte(`[{"schemaVersion":2}]`), header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "manifest two objects", method: "PUT", path: "/v2/team/app/manifests/v2", body: append(append([]byte{}, img.Manifest...), img.Manifest...), header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "manifest schemaVersion 1", method: "PUT", path: "/v2/team/app/manifests/v2", body: bytes.Replace(img.Manifest, []byte(`"schemaVersion":2`), []byte(`"schemaVersion":1`), 1), header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "manifest mediaType mismatch", method: "PUT", path: "/v2/team/app/manifests/v2", body: img.Manifest, header: []string{"Content-Type: " + ocispec.MediaTypeImageIndex}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "manifest unknown media type", method: "PUT", path: "/v2/team/app/manifests/v2", body: img.Manifest, header: []string{"Content-Type: application/vnd.example+json"}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "manifest malformed Content-Type", method: "PUT", path: "/v2/team/app/manifests/v2", body: img.Manifest, header: []string{"Content-Type: /;;"}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "manifest chunked invalid", method: "PUT", path: "/v2/team/app/manifests/v2", body: []byte("{{{"), chunked: true, header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "manifest config unknown", method: "PUT", path: "/v2/team/app/manifests/v2", body: other.Manifest, header: []string{mt}, status: 400, code: memstore.CodeManifestBlobUnknown},
		{name: "manifest config unknown in new repo", method: "PUT", path: "/v2/team/new/manifests/v1", body: img.Manifest, header: []string{mt}, status: 400, code: memstore.CodeManifestBlobUnknown},

		// Digests that do not match the content.
		{name: "manifest digest mismatch", method: "PUT", path: "/v2/team/app/manifests/" + string(digest.FromString("x")), body: img.Manifest, header: []string{mt}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "manifest sha512 mismatch", method: "PUT", path: "/v2/team/app/manifests/" + string(digest.SHA512.FromString("x")), body: img.Manifest, header: []string{mt}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "monolithic digest mismatch", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + string(digest.FromString("x")), body: []byte("y"), header: []string{octet}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "monolithic sha512 mismatch", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + string(digest.SHA512.FromString("x")), body: []byte("y"), header: []string{octet}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "monolithic chunked mismatch", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + string(digest.FromString("x")), body: []byte("y"), chunked: true, header: []string{octet}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "complete digest mismatch", method: "PUT", path: "{upload}?digest=" + string(digest.FromString("x")), status: 400, code: memstore.CodeDigestInvalid},
		{name: "complete mismatch with last chunk", method: "PUT", path: "{upload}?digest=" + string(digest.FromString("x")), body: []byte("x"), header: []string{octet}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "complete mismatch sha512", method: "PUT", path: "{upload}?digest=" + string(digest.SHA512.FromString("hellox")), body: []byte("y"), header: []string{octet}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "complete chunked mismatch", method: "PUT", path: "{upload}?digest=" + helloX, body: []byte("y"), chunked: true, header: []string{octet}, status: 400, code: memstore.CodeDigestInvalid},

		// Ranges.
		{name: "range past the end", method: "GET", path: "/v2/team/app/blobs/" + layer, header: []string{"Range: bytes=1000-2000"}, status: 416, code: memstore.CodeSizeInvalid,
			wantHeader: map[string]string{"Content-Range": fmt.Sprintf("bytes */%d", f.blobLen)}},
		{name: "range reversed", method: "GET", path: "/v2/team/app/blobs/" + layer, header: []string{"Range: bytes=5-2"}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "range empty suffix", method: "GET", path: "/v2/team/app/blobs/" + layer, header: []string{"Range: bytes=-0"}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "range garbage", method: "GET", path: "/v2/team/app/blobs/" + layer, header: []string{"Range: bytes=abc"}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "range HEAD past the end", method: "HEAD", path: "/v2/team/app/blobs/" + layer, header: []string{"Range: bytes=1000-"}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "chunk Content-Range garbage", method: "PATCH", path: "{upload}", body: []byte("abc"), header: []string{octet, "Content-Range: three"}, status: 416, code: memstore.CodeBlobUploadInvalid,
			wantHeader: map[string]string{"Range": "0-4", "Location": "{upload}"}},
		{name: "chunk out of order", method: "PATCH", path: "{upload}", body: []byte("abc"), header: []string{octet, "Content-Range: 100-102"}, status: 416, code: memstore.CodeBlobUploadInvalid,
			wantHeader: map[string]string{"Range": "0-4", "Location": "{upload}"}},
		{name: "chunk overlapping", method: "PATCH", path: "{upload}", body: []byte("abc"), header: []string{octet, "Content-Range: 0-2"}, status: 416, code: memstore.CodeBlobUploadInvalid},
		{name: "chunk range vs length", method: "PATCH", path: "{upload}", body: []byte("abc"), header: []string{octet, "Content-Range: 5-14"}, status: 400, code: memstore.CodeSizeInvalid},
		{name: "last chunk out of order", method: "PUT", path: "{upload}?digest=" + helloX, body: []byte("x"), header: []string{octet, "Content-Range: 9-9"}, status: 416, code: memstore.CodeBlobUploadInvalid},

		// Upload sessions that do not exist.
		{name: "upload unknown PATCH", method: "PATCH", path: "/v2/team/app/blobs/uploads/nope", body: []byte("x"), header: []string{octet}, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload unknown PUT", method: "PUT", path: "/v2/team/app/blobs/uploads/nope?digest=" + layer, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload unknown GET", method: "GET", path: "/v2/team/app/blobs/uploads/nope", status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload unknown HEAD", method: "HEAD", path: "/v2/team/app/blobs/uploads/nope", status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload unknown DELETE", method: "DELETE", path: "/v2/team/app/blobs/uploads/nope", status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload of another repository", method: "GET", path: "/v2/team/other/blobs/uploads/{id}", status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload of another repository PATCH", method: "PATCH", path: "/v2/team/other/blobs/uploads/{id}", body: []byte("x"), header: []string{octet}, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload ended GET", method: "GET", path: "{ended}", status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload ended PATCH", method: "PATCH", path: "{ended}", body: []byte("x"), header: []string{octet}, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload ended PUT", method: "PUT", path: "{ended}?digest=" + string(digest.FromString("done")), status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload ended DELETE", method: "DELETE", path: "{ended}", status: 404, code: memstore.CodeBlobUploadUnknown},

		// Content that is not there.
		{name: "blob unknown", method: "GET", path: "/v2/team/app/blobs/" + string(digest.FromString("x")), status: 404, code: memstore.CodeBlobUnknown},
		{name: "blob unknown HEAD", method: "HEAD", path: "/v2/team/app/blobs/" + string(digest.FromString("x")), status: 404, code: memstore.CodeBlobUnknown},
		{name: "blob unknown DELETE", method: "DELETE", path: "/v2/team/app/blobs/" + string(digest.FromString("x")), status: 404, code: memstore.CodeBlobUnknown},
		{name: "blob of another repository", method: "GET", path: "/v2/team/other/blobs/" + layer, status: 404, code: memstore.CodeBlobUnknown},
		{name: "manifest unknown", method: "GET", path: "/v2/team/app/manifests/nope", status: 404, code: memstore.CodeManifestUnknown},
		{name: "manifest unknown DELETE", method: "DELETE", path: "/v2/team/app/manifests/" + string(digest.FromString("x")), status: 404, code: memstore.CodeManifestUnknown},
		{name: "repository unknown", method: "GET", path: "/v2/team/nope/manifests/v1", status: 404, code: memstore.CodeNameUnknown},
		{name: "repository unknown tags", method: "GET", path: "/v2/team/nope/tags/list", status: 404, code: memstore.CodeNameUnknown},

		// Bodies over the limits.
		{name: "manifest too large", method: "PUT", path: "/v2/team/app/manifests/big", body: overManifest, header: []string{mt}, status: 413, code: memstore.CodeSizeInvalid},
		{name: "manifest too large chunked", method: "PUT", path: "/v2/team/app/manifests/big", body: overManifest, chunked: true, header: []string{mt}, status: 413, code: memstore.CodeSizeInvalid},
		{name: "blob too large", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + string(digest.FromBytes(overBlob)), body: overBlob, header: []string{octet}, status: 413, code: memstore.CodeSizeInvalid},
		{name: "blob too large chunked", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + string(digest.FromBytes(overBlob)), body: overBlob, chunked: true, header: []string{octet}, status: 413, code: memstore.CodeSizeInvalid},
		{name: "chunk too large", method: "PATCH", path: "{upload}", body: overBlob, header: []string{octet}, status: 413, code: memstore.CodeSizeInvalid},
		{name: "chunk too large chunked", method: "PATCH", path: "{upload}", body: overBlob, chunked: true, header: []string{octet}, status: 413, code: memstore.CodeSizeInvalid},
		{name: "last chunk too large", method: "PUT", path: "{upload}?digest=" + string(digest.FromBytes(append([]byte("hello"), overBlob...))), body: overBlob, header: []string{octet}, status: 413, code: memstore.CodeSizeInvalid},

		// Methods an endpoint does not have.
		{name: "POST ping", method: "POST", path: "/v2/", status: 405, code: memstore.CodeUnsupported, wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{name: "DELETE ping", method: "DELETE", path: "/v2", status: 405, code: memstore.CodeUnsupported},
		{name: "OPTIONS ping", method: "OPTIONS", path: "/v2/", status: 405, code: memstore.CodeUnsupported},
		{name: "PATCH manifest", method: "PATCH", path: "/v2/team/app/manifests/v1", body: img.Manifest, header: []string{mt}, status: 405, code: memstore.CodeUnsupported,
			wantHeader: map[string]string{"Allow": "GET, HEAD, PUT, DELETE"}},
		{name: "POST manifest", method: "POST", path: "/v2/team/app/manifests/v1", body: img.Manifest, header: []string{mt}, status: 405, code: memstore.CodeUnsupported},
		{name: "PUT blob", method: "PUT", path: "/v2/team/app/blobs/" + layer, body: img.Layer, header: []string{octet}, status: 405, code: memstore.CodeUnsupported,
			wantHeader: map[string]string{"Allow": "GET, HEAD, DELETE"}},
		{name: "PATCH blob", method: "PATCH", path: "/v2/team/app/blobs/" + layer, body: []byte("x"), status: 405, code: memstore.CodeUnsupported},
		{name: "GET uploads", method: "GET", path: "/v2/team/app/blobs/uploads/", status: 405, code: memstore.CodeUnsupported, wantHeader: map[string]string{"Allow": "POST"}},
		{name: "PUT uploads", method: "PUT", path: "/v2/team/app/blobs/uploads/", body: []byte("x"), status: 405, code: memstore.CodeUnsupported},
		{name: "POST upload session", method: "POST", path: "{upload}", body: []byte("x"), status: 405, code: memstore.CodeUnsupported},
		{name: "DELETE tags", method: "DELETE", path: "/v2/team/app/tags/list", status: 405, code: memstore.CodeUnsupported, wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{name: "PUT tags", method: "PUT", path: "/v2/team/app/tags/list", body: []byte("{}"), status: 405, code: memstore.CodeUnsupported},
		{name: "PUT referrers", method: "PUT", path: "/v2/team/app/referrers/" + d, body: []byte("{}"), status: 405, code: memstore.CodeUnsupported},
		{name: "DELETE referrers", method: "DELETE", path: "/v2/team/app/referrers/" + d, status: 405, code: memstore.CodeUnsupported},
		{name: "DELETE catalog", method: "DELETE", path: "/v2/_catalog", status: 405, code: memstore.CodeUnsupported},

		// Paths that are no endpoint.
		{name: "root", method: "GET", path: "/", status: 404, code: memstore.CodeUnsupported},
		{name: "v1", method: "GET", path: "/v1/", status: 404, code: memstore.CodeUnsupported},
		{name: "repository only", method: "GET", path: "/v2/team/app", status: 404, code: memstore.CodeUnsupported},
		{name: "tags without list", method: "GET", path: "/v2/team/app/tags", status: 404, code: memstore.CodeUnsupported},
		{name: "manifests without reference", method: "GET", path: "/v2/team/app/manifests/", status: 404, code: memstore.CodeUnsupported},
		{name: "PUT manifests without reference", method: "PUT", path: "/v2/team/app/manifests/", body: img.Manifest, header: []string{mt}, status: 404, code: memstore.CodeUnsupported},

		// List parameters. The spec has no code for these; the registry uses UNSUPPORTED.
		{name: "tags n negative", method: "GET", path: "/v2/team/app/tags/list?n=-1", status: 400, code: memstore.CodeUnsupported},
		{name: "tags n not a number", method: "GET", path: "/v2/team/app/tags/list?n=abc", status: 400, code: memstore.CodeUnsupported},
		{name: "tags n overflow", method: "GET", path: "/v2/team/app/tags/list?n=18446744073709551616", status: 400, code: memstore.CodeUnsupported},
		{name: "catalog n not a number", method: "GET", path: "/v2/_catalog?n=abc", status: 400, code: memstore.CodeUnsupported},
		{name: "catalog n negative", method: "GET", path: "/v2/_catalog?n=-5&last=a", status: 400, code: memstore.CodeUnsupported},
	}

	expand := func(s string) string {
		return strings.NewReplacer("{upload}", f.upload, "{id}", f.id, "{ended}", f.ended).Replace(s)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := reg.Store().Snapshot()
			path := expand(tc.path)
			var resp response
			if tc.chunked {
				resp = mfDoReader(t, reg, tc.method, path, bytes.NewReader(tc.body), tc.header...)
			} else {
				resp = do(t, reg, tc.method, path, tc.body, tc.header...)
			}
			if resp.Status >= 500 {
				t.Fatalf("server error %d: %s", resp.Status, resp.Body)
			}
			wantError(t, resp, tc.status, tc.code)
			biWantErrorBody(t, tc.method, resp)
			for name, value := range tc.wantHeader {
				wantHeader(t, resp, name, expand(value))
			}
			if tc.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			unchanged(t, reg, before)
		})
	}
}

// biWantErrorBody checks the spec's error document beyond its first code:
// one or more entries, each with a code of upper case letters and
// underscores. HEAD responses have no body to check.
func biWantErrorBody(t testing.TB, method string, resp response) {
	t.Helper()
	if method == "HEAD" {
		if len(resp.Body) != 0 {
			t.Errorf("HEAD error has a body: %s", resp.Body)
		}
		return
	}
	var body struct {
		Errors []struct {
			Code    string          `json:"code"`
			Message *string         `json:"message"`
			Detail  json.RawMessage `json:"detail"`
		} `json:"errors"`
	}
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("error body %q: %v", resp.Body, err)
	}
	if len(body.Errors) == 0 {
		t.Fatalf("error body has no errors: %s", resp.Body)
	}
	for _, e := range body.Errors {
		if e.Code == "" || strings.Trim(e.Code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != "" {
			t.Errorf("error code %q is not upper case letters and underscores", e.Code)
		}
	}
	if cl := resp.Header.Get("Content-Length"); cl != "" && cl != fmt.Sprint(len(resp.Body)) {
		t.Errorf("Content-Length %s but the body has %d bytes", cl, len(resp.Body))
	}
}

// TestBadInputSweep sends every method to paths that are malformed in
// their name or reference: whatever the method, the answer is a 4xx with
// the JSON error body, never a 500, and nothing is stored.
func TestBadInputSweep(t *testing.T) {
	f := biSetup(t)
	reg := f.reg
	layer := string(digest.FromBytes(f.img.Layer))
	names := []string{"UPPER", "a//b", "-a", "a-", "a..b", strings.Repeat("x", 256), "a/B/c", "a%20b", "_a"}
	refs := []string{"sha256:xyz", "md5:d41d8cd98f00b204e9800998ecf8427e", "-tag", ".tag", strings.Repeat("t", 129), "sha256:", ":", "a:b"}
	var paths []string
	for _, n := range names {
		for _, suffix := range []string{"/manifests/v1", "/blobs/" + layer, "/blobs/uploads/", "/blobs/uploads/" + f.id,
			"/tags/list", "/referrers/" + layer, "/blobs/uploads/?digest=" + layer, "/blobs/uploads/?mount=" + layer + "&from=team/app"} {
			paths = append(paths, "/v2/"+n+suffix)
		}
	}
	for _, r := range refs {
		paths = append(paths, "/v2/team/app/manifests/"+r, "/v2/team/app/blobs/"+r, "/v2/team/app/referrers/"+r,
			"/v2/team/app/blobs/uploads/?digest="+r, "/v2/team/app/blobs/uploads/?mount="+r)
	}
	methods := []string{"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"}
	for _, path := range paths {
		for _, method := range methods {
			before := reg.Store().Snapshot()
			var body []byte
			if method == "PUT" || method == "POST" || method == "PATCH" {
				body = f.img.Manifest
			}
			resp := do(t, reg, method, path, body, "Content-Type: "+ocispec.MediaTypeImageManifest)
			if resp.Status < 400 || resp.Status >= 500 {
				t.Errorf("%s %s: status %d, want a 4xx; body %s", method, path, resp.Status, resp.Body)
				continue
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %s: Content-Type %q", method, path, ct)
			}
			if method != "HEAD" && !json.Valid(resp.Body) {
				t.Errorf("%s %s: body is not JSON: %q", method, path, resp.Body)
			}
			if diffs := reg.Store().Snapshot(); !biSameSnapshot(before, diffs) {
				t.Errorf("%s %s (%d) changed the store", method, path, resp.Status)
				unchanged(t, reg, before)
			}
		}
	}
}

// biSameSnapshot reports whether two snapshots are equal, for loops that
// only want unchanged's diff when there is one.
func biSameSnapshot(a, b memstore.Snapshot) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
