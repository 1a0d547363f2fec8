package ocitest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Hostile requests, sent as raw bytes over a TCP connection so that no
// client library cleans, escapes or refuses them first. This table adds
// what TestBadInput (badinput_test.go) does not send: CR/LF and control
// bytes, dot segments and encoded slashes and dots, more unsupported
// digest algorithms, huge and negative numbers, out-of-order and
// inconsistent Content-Range, unknown and finished sessions, bodies
// longer and shorter than declared, missing references, ranges past the
// end. Every row is answered without a 5xx from the handlers, and the
// store is unchanged.
//
// Rows marked netHTTP are refused by net/http itself before the registry's
// handler runs: the answer is net/http's plain-text 400 (or its 431, 501,
// 505), not the spec's JSON, and the registry records no request. That is
// outside the registry's control and is what any Go registry answers.
//
// Helpers of this file are prefixed "ho" so they cannot clash with the
// helpers other test files of the package define.

// hoRow is one hostile request.
type hoRow struct {
	name string
	// raw is the whole request; placeholders as in hoExpand. When empty,
	// the request is built from method, path, header and body, with Host,
	// Content-Length and Connection: close added.
	raw    string
	method string
	path   string
	header []string
	body   string
	// halfClose closes the connection's write side after sending, as a
	// client does that sends less than it declared and then waits.
	halfClose bool
	status    int
	// code is the spec's error code the JSON body must carry; "" for a
	// success answer or a netHTTP row.
	code    memstore.Code
	netHTTP bool
	// noHeader names response headers that must be absent (header
	// injection through decoded CR/LF).
	noHeader []string
}

func TestBadInputHostile(t *testing.T) {
	f := biSetup(t)
	reg, img := f.reg, f.img
	empty := ltOpen(t, reg, "team/app") // a session holding nothing

	layer := string(digest.FromBytes(img.Layer))
	layerHex := layer[len("sha256:"):]
	size := f.blobLen
	manifestDigest := string(img.Digest)
	hello := string(digest.FromString("hello"))
	mt := "Content-Type: " + ocispec.MediaTypeImageManifest
	octet := "Content-Type: application/octet-stream"
	huge := "99999999999999999999" // past int64 and uint64
	// Manifests that reference what is not there, or not as described.
	wrongSize := strings.Replace(string(img.Manifest), fmt.Sprintf(`"size":%d`, len(img.Config)), fmt.Sprintf(`"size":%d`, len(img.Config)+1), 1)
	if wrongSize == string(img.Manifest) {
		t.Fatal("could not change the config size in the test manifest")
	}
	nextID := "00000000-0000-4000-8000-000000000004" // ids are predictable: the next one to be issued

	tests := []hoRow{
		// CR, LF and control bytes in the request line and headers.
		{name: "bare CR in a header value", raw: "GET /v2/ HTTP/1.1\r\nHost: {host}\r\nX-Bad: a\rb\r\n\r\n", status: 400, netHTTP: true},
		{name: "bare CR after Content-Range", raw: "PATCH {upload} HTTP/1.1\r\nHost: {host}\r\nContent-Range: 5-7\r\r\nContent-Length: 3\r\n\r\nabc", status: 400, netHTTP: true},
		{name: "CR in the request target", raw: "GET /v2/team/app\r/tags/list HTTP/1.1\r\nHost: {host}\r\n\r\n", status: 400, netHTTP: true},
		{name: "NUL in the request target", raw: "GET /v2/team/app\x00/tags/list HTTP/1.1\r\nHost: {host}\r\n\r\n", status: 400, netHTTP: true},
		{name: "NUL in a header value", raw: "GET /v2/ HTTP/1.1\r\nHost: {host}\r\nX-Bad: a\x00b\r\n\r\n", status: 400, netHTTP: true},
		{name: "DEL in a header value", raw: "GET /v2/ HTTP/1.1\r\nHost: {host}\r\nX-Bad: a\x7fb\r\n\r\n", status: 400, netHTTP: true},
		{name: "space in a header name", raw: "GET /v2/ HTTP/1.1\r\nHost: {host}\r\nBad Name: a\r\n\r\n", status: 400, netHTTP: true},
		{name: "header line without a colon", raw: "GET /v2/ HTTP/1.1\r\nHost: {host}\r\nNoColon\r\n\r\n", status: 400, netHTTP: true},
		{name: "folded line before any header", raw: "GET /v2/ HTTP/1.1\r\n X-Lead: a\r\nHost: {host}\r\n\r\n", status: 400, netHTTP: true},
		{name: "two spaces in the request line", raw: "GET  /v2/ HTTP/1.1\r\nHost: {host}\r\n\r\n", status: 400, netHTTP: true},
		{name: "invalid method token", raw: "G@T /v2/ HTTP/1.1\r\nHost: {host}\r\n\r\n", status: 400, netHTTP: true},
		{name: "missing Host", raw: "GET /v2/ HTTP/1.1\r\n\r\n", status: 400, netHTTP: true},
		{name: "two Host headers", raw: "GET /v2/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400, netHTTP: true},
		{name: "Host with a space", raw: "GET /v2/ HTTP/1.1\r\nHost: a b\r\n\r\n", status: 400, netHTTP: true},
		{name: "malformed percent-encoding", raw: "GET /v2/team/app%zz/tags/list HTTP/1.1\r\nHost: {host}\r\n\r\n", status: 400, netHTTP: true},
		{name: "HTTP/9.9", raw: "GET /v2/ HTTP/9.9\r\nHost: {host}\r\n\r\n", status: 505, netHTTP: true},
		{name: "HTTP/2.0 without the preface", raw: "GET /v2/ HTTP/2.0\r\nHost: {host}\r\n\r\n", status: 505, netHTTP: true},
		{name: "header block over 1 MiB", raw: "GET /v2/ HTTP/1.1\r\nHost: {host}\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", status: 431, netHTTP: true},
		{name: "OPTIONS *", raw: "OPTIONS * HTTP/1.1\r\nHost: {host}\r\n\r\n", status: 200, netHTTP: true},
		// A bare LF ends a header line: what follows is another header,
		// which is what the client sent, not an injection.
		{name: "bare LF in a header value starts a header", raw: "GET /v2/team/app/blobs/{layer} HTTP/1.1\r\nHost: {host}\r\nX-Note: a\nRange: bytes=100000-\r\nConnection: close\r\n\r\n",
			status: 416, code: memstore.CodeSizeInvalid},
		{name: "folded header continues its value", raw: "GET /v2/team/app/blobs/{layer} HTTP/1.1\r\nHost: {host}\r\nRange: bytes=\r\n 100000-\r\nConnection: close\r\n\r\n",
			status: 416, code: memstore.CodeSizeInvalid},
		{name: "LF-only line endings", raw: "GET /v2/team/app/tags/list HTTP/1.1\nHost: {host}\nConnection: close\n\n", status: 200},
		// Decoded CR/LF reaches the handlers as data and must not come back as headers.
		// (A reference with ':' is a digest, so this is DIGEST_INVALID.)
		{name: "CRLF in a tag", method: "GET", path: "/v2/team/app/manifests/v1%0D%0ASet-Cookie:%20x=1", status: 400, code: memstore.CodeDigestInvalid, noHeader: []string{"Set-Cookie"}},
		{name: "CRLF in a tag without a colon", method: "HEAD", path: "/v2/team/app/manifests/v1%0D%0AX-Injected", status: 400, code: memstore.CodeManifestInvalid, noHeader: []string{"X-Injected"}},
		{name: "CRLF in a repository name", method: "GET", path: "/v2/team/app%0D%0ASet-Cookie:%20x=1/tags/list", status: 400, code: memstore.CodeNameInvalid, noHeader: []string{"Set-Cookie"}},
		{name: "CRLF in a digest parameter", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=" + hello + "%0D%0ASet-Cookie:%20x=1", body: "hello", header: []string{octet}, status: 400, code: memstore.CodeDigestInvalid, noHeader: []string{"Set-Cookie"}},
		{name: "CRLF in a tag parameter", method: "PUT", path: "/v2/team/app/manifests/" + manifestDigest + "?tag=v2%0D%0AOCI-Tag:%20evil", body: string(img.Manifest), header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid, noHeader: []string{"OCI-Tag"}},
		{name: "CRLF in a mount source", method: "POST", path: "/v2/team/copy/blobs/uploads/?mount=" + layer + "&from=team/app%0D%0ASet-Cookie:%20x=1", status: 400, code: memstore.CodeNameInvalid, noHeader: []string{"Set-Cookie", "Location"}},
		{name: "CRLF in last", method: "GET", path: "/v2/team/app/tags/list?n=1&last=%0D%0ASet-Cookie:%20x=1", status: 200, noHeader: []string{"Set-Cookie"}},
		{name: "NUL in a repository name", method: "GET", path: "/v2/team/app%00/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "NUL in an upload id", method: "GET", path: "/v2/team/app/blobs/uploads/{id}%00", status: 404, code: memstore.CodeBlobUploadUnknown},

		// Dot segments, encoded slashes and encoded dots. Paths are not
		// cleaned, and net/http decodes %2F before routing, as the
		// reference implementation's router does: team%2Fapp is team/app.
		{name: "dot-dot in the name", method: "GET", path: "/v2/team/../app/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "dot-dot climbing out of /v2", method: "GET", path: "/v2/../../etc/passwd/manifests/v1", status: 400, code: memstore.CodeNameInvalid},
		{name: "dot in the name", method: "GET", path: "/v2/./team/app/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "dot-dot after the name", method: "GET", path: "/v2/team/app/../other/manifests/v1", status: 400, code: memstore.CodeNameInvalid},
		{name: "encoded dots in the name", method: "GET", path: "/v2/team/%2E%2E/app/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "encoded dots and slash in the name", method: "GET", path: "/v2/team/app%2F%2e%2e%2F%2e%2e%2Fother/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "encoded slash joins the name", method: "GET", path: "/v2/team%2Fapp/tags/list", status: 200},
		{name: "encoded slash before manifests", method: "HEAD", path: "/v2/team/app%2Fmanifests%2Fv1", status: 200},
		{name: "encoded slash in a tag", method: "GET", path: "/v2/team/app/manifests/v1%2F..%2F..%2Fx", status: 404, code: memstore.CodeUnsupported},
		{name: "dot-dot tag", method: "GET", path: "/v2/team/app/manifests/..", status: 400, code: memstore.CodeManifestInvalid},
		{name: "encoded dot-dot tag PUT", method: "PUT", path: "/v2/team/app/manifests/%2E%2E", body: string(img.Manifest), header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "dot-dot blob digest", method: "GET", path: "/v2/team/app/blobs/..", status: 400, code: memstore.CodeDigestInvalid},
		{name: "encoded traversal after blobs", method: "DELETE", path: "/v2/team/app/blobs/%2E%2E%2F%2E%2E%2F" + layerHex, status: 404, code: memstore.CodeUnsupported},
		{name: "dot-dot upload id", method: "DELETE", path: "/v2/team/app/blobs/uploads/%2E%2E", status: 404, code: memstore.CodeBlobUploadUnknown},
		// Decoded, this is the session path of repository "team/other/blobs/uploads/../../../app".
		{name: "encoded traversal to an upload id", method: "PATCH", path: "/v2/team/other/blobs/uploads/..%2F..%2F..%2Fapp%2Fblobs%2Fuploads%2F{id}", body: "x", header: []string{octet}, status: 400, code: memstore.CodeNameInvalid},
		{name: "empty first segment", method: "GET", path: "/v2//team/app/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "double slash before v2", method: "GET", path: "//v2/team/app/tags/list", status: 404, code: memstore.CodeUnsupported},
		{name: "backslash in the name", method: "GET", path: `/v2/team\app/tags/list`, status: 400, code: memstore.CodeNameInvalid},
		{name: "semicolon parameter in the name", method: "GET", path: "/v2/team/app;x=y/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "fullwidth dot in the name", method: "GET", path: "/v2/team%EF%BC%8Eapp/tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "8000 segments", method: "GET", path: "/v2/" + strings.Repeat("a/", 8000) + "tags/list", status: 400, code: memstore.CodeNameInvalid},
		{name: "trailing slash after list", method: "GET", path: "/v2/team/app/tags/list/", status: 404, code: memstore.CodeUnsupported},
		{name: "absolute-form target", method: "GET", path: "http://evil.example/v2/team/app/tags/list", status: 200},

		// Digest algorithms the registry does not support, and digests
		// that are not digests.
		{name: "blob blake3", method: "GET", path: "/v2/team/app/blobs/blake3:" + layerHex, status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob upper-case algorithm", method: "HEAD", path: "/v2/team/app/blobs/SHA256:" + layerHex, status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob sha256+b64", method: "GET", path: "/v2/team/app/blobs/sha256+b64:" + layerHex, status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob sha512 of sha256 length", method: "GET", path: "/v2/team/app/blobs/sha512:" + layerHex, status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob digest with encoded newline", method: "GET", path: "/v2/team/app/blobs/" + layer + "%0A", status: 400, code: memstore.CodeDigestInvalid},
		{name: "blob DELETE blake3", method: "DELETE", path: "/v2/team/app/blobs/blake3:" + layerHex, status: 400, code: memstore.CodeDigestInvalid},
		{name: "manifest sha384", method: "GET", path: "/v2/team/app/manifests/" + string(digest.SHA384.FromBytes(img.Manifest)), status: 400, code: memstore.CodeDigestInvalid},
		{name: "manifest PUT by sha384", method: "PUT", path: "/v2/team/app/manifests/" + string(digest.SHA384.FromBytes(img.Manifest)), body: string(img.Manifest), header: []string{mt}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "referrers blake3", method: "GET", path: "/v2/team/app/referrers/blake3:" + layerHex, status: 400, code: memstore.CodeDigestInvalid},
		{name: "digest-algorithm sha384", method: "POST", path: "/v2/team/app/blobs/uploads/?digest-algorithm=sha384", status: 400, code: memstore.CodeDigestInvalid},
		{name: "digest-algorithm upper case", method: "POST", path: "/v2/team/app/blobs/uploads/?digest-algorithm=SHA256", status: 400, code: memstore.CodeDigestInvalid},
		{name: "digest-algorithm with NUL", method: "POST", path: "/v2/team/app/blobs/uploads/?digest-algorithm=sha256%00", status: 400, code: memstore.CodeDigestInvalid},
		{name: "monolithic blake3", method: "POST", path: "/v2/team/app/blobs/uploads/?digest=blake3:" + layerHex, body: string(img.Layer), header: []string{octet}, status: 400, code: memstore.CodeDigestInvalid},
		{name: "mount sha384", method: "POST", path: "/v2/team/copy/blobs/uploads/?mount=" + string(digest.SHA384.FromBytes(img.Layer)) + "&from=team/app", status: 400, code: memstore.CodeDigestInvalid},
		{name: "complete blake3", method: "PUT", path: "{upload}?digest=blake3:" + layerHex, status: 400, code: memstore.CodeDigestInvalid},

		// Huge and negative numbers in n.
		{name: "tags n huge", method: "GET", path: "/v2/team/app/tags/list?n=" + huge, status: 400, code: memstore.CodeUnsupported},
		{name: "tags n huge negative", method: "GET", path: "/v2/team/app/tags/list?n=-" + huge, status: 400, code: memstore.CodeUnsupported},
		{name: "tags n hexadecimal", method: "GET", path: "/v2/team/app/tags/list?n=0x10", status: 400, code: memstore.CodeUnsupported},
		{name: "tags n exponent", method: "GET", path: "/v2/team/app/tags/list?n=1e3", status: 400, code: memstore.CodeUnsupported},
		{name: "tags n max int64", method: "GET", path: "/v2/team/app/tags/list?n=9223372036854775807", status: 200},
		{name: "tags n minus zero", method: "GET", path: "/v2/team/app/tags/list?n=-0", status: 200},
		{name: "catalog n huge", method: "GET", path: "/v2/_catalog?n=" + huge, status: 400, code: memstore.CodeUnsupported},
		{name: "catalog n empty", method: "GET", path: "/v2/_catalog?n=", status: 400, code: memstore.CodeUnsupported},
		{name: "catalog n max int64", method: "GET", path: "/v2/_catalog?n=9223372036854775807&last=a", status: 200},

		// Chunks out of order and Content-Range that does not fit. The open
		// session holds 5 bytes; the empty one none.
		{name: "chunk leaves a gap", method: "PATCH", path: "{upload}", body: "abc", header: []string{octet, "Content-Range: 6-8"}, status: 416, code: memstore.CodeBlobUploadInvalid},
		{name: "chunk overlaps by one", method: "PATCH", path: "{upload}", body: "abc", header: []string{octet, "Content-Range: 4-6"}, status: 416, code: memstore.CodeBlobUploadInvalid},
		{name: "chunk range reversed", method: "PATCH", path: "{upload}", body: "abc", header: []string{octet, "Content-Range: 7-5"}, status: 416, code: memstore.CodeBlobUploadInvalid},
		{name: "chunk range negative", method: "PATCH", path: "{upload}", body: "abc", header: []string{octet, "Content-Range: -1-1"}, status: 416, code: memstore.CodeBlobUploadInvalid},
		{name: "chunk range end huge", method: "PATCH", path: "{upload}", body: "abc", header: []string{octet, "Content-Range: 5-" + huge}, status: 416, code: memstore.CodeBlobUploadInvalid},
		{name: "chunk range two ranges", method: "PATCH", path: "{upload}", body: "abc", header: []string{octet, "Content-Range: 5-6,7-7"}, status: 416, code: memstore.CodeBlobUploadInvalid},
		{name: "chunk range start only", method: "PATCH", path: "{upload}", body: "abc", header: []string{octet, "Content-Range: 5"}, status: 416, code: memstore.CodeBlobUploadInvalid},
		{name: "chunk range longer than the body", method: "PATCH", path: "{upload}", body: "abc", header: []string{octet, "Content-Range: 5-9"}, status: 400, code: memstore.CodeSizeInvalid},
		{name: "chunk range shorter than the body", method: "PATCH", path: "{upload}", body: "abc", header: []string{octet, "Content-Range: 5-5"}, status: 400, code: memstore.CodeSizeInvalid},
		// The length of 0-9223372036854775807 overflows int64.
		{name: "chunk range length overflows", raw: "PATCH {empty} HTTP/1.1\r\nHost: {host}\r\nContent-Range: 0-9223372036854775807\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			status: 416, code: memstore.CodeBlobUploadInvalid},
		{name: "chunk range past the blob limit", raw: "PATCH {upload} HTTP/1.1\r\nHost: {host}\r\nContent-Range: 5-9223372036854775806\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			status: 413, code: memstore.CodeSizeInvalid},
		{name: "empty chunk with a one-byte range", method: "PATCH", path: "{empty}", body: "", header: []string{"Content-Range: 0-0"}, status: 400, code: memstore.CodeSizeInvalid},
		{name: "last chunk range longer than the body", method: "PUT", path: "{upload}?digest=" + string(digest.FromString("helloabc")), body: "abc", header: []string{octet, "Content-Range: 5-9"}, status: 400, code: memstore.CodeSizeInvalid},
		{name: "last chunk overlaps", method: "PUT", path: "{upload}?digest=" + string(digest.FromString("hellabc")), body: "abc", header: []string{octet, "Content-Range: 4-6"}, status: 416, code: memstore.CodeBlobUploadInvalid},

		// Sessions that are not there: unknown, finished, someone else's.
		{name: "upload id not yet issued", method: "GET", path: "/v2/team/app/blobs/uploads/" + nextID, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload id zero", method: "PATCH", path: "/v2/team/app/blobs/uploads/00000000-0000-4000-8000-000000000000", body: "x", header: []string{octet}, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload id with a suffix", method: "PUT", path: "/v2/team/app/blobs/uploads/{id}0?digest=" + hello, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload id with a prefix", method: "PUT", path: "/v2/team/app/blobs/uploads/x{id}?digest=" + hello, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload id with a space", method: "GET", path: "/v2/team/app/blobs/uploads/{id}%20", status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload id 4096 bytes", method: "DELETE", path: "/v2/team/app/blobs/uploads/" + strings.Repeat("f", 4096), status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload of another repository completed", method: "PUT", path: "/v2/team/other/blobs/uploads/{id}?digest=" + hello, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "upload of another repository cancelled", method: "DELETE", path: "/v2/team/other/blobs/uploads/{id}", status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "double complete with a last chunk", method: "PUT", path: "{ended}?digest=" + string(digest.FromString("doneabc")), body: "abc", header: []string{octet}, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "double complete with Content-Range", method: "PUT", path: "{ended}?digest=" + string(digest.FromString("doneabc")), body: "abc", header: []string{octet, "Content-Range: 4-6"}, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "double complete with another digest", method: "PUT", path: "{ended}?digest=" + hello, status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "double complete streamed", raw: "PUT {ended}?digest=" + string(digest.FromString("doneabc")) + " HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			status: 404, code: memstore.CodeBlobUploadUnknown},
		{name: "status of a completed upload HEAD", method: "HEAD", path: "{ended}", status: 404, code: memstore.CodeBlobUploadUnknown},

		// Bodies longer and shorter than declared.
		{name: "monolithic body shorter than declared", raw: "POST /v2/team/app/blobs/uploads/?digest=" + hello + " HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\nhel",
			halfClose: true, status: 400, code: memstore.CodeBlobUploadInvalid},
		{name: "chunk shorter than declared", raw: "PATCH {upload} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\nabc",
			halfClose: true, status: 400, code: memstore.CodeBlobUploadInvalid},
		{name: "last chunk shorter than declared", raw: "PUT {upload}?digest=" + string(digest.FromString("helloabc")) + " HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\nabc",
			halfClose: true, status: 400, code: memstore.CodeBlobUploadInvalid},
		{name: "manifest shorter than declared", raw: "PUT /v2/team/app/manifests/v2 HTTP/1.1\r\nHost: {host}\r\n" + mt + "\r\nContent-Length: 10000\r\n\r\n" + string(img.Manifest),
			halfClose: true, status: 400, code: memstore.CodeManifestInvalid},
		{name: "chunked body cut off", raw: "POST /v2/team/app/blobs/uploads/?digest=" + hello + " HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
			halfClose: true, status: 400, code: memstore.CodeBlobUploadInvalid},
		{name: "chunked chunk cut off without the last chunk", raw: "PATCH {upload} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
			halfClose: true, status: 400, code: memstore.CodeBlobUploadInvalid},
		{name: "chunked invalid chunk size", raw: "POST /v2/team/app/blobs/uploads/?digest=" + hello + " HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
			status: 400, code: memstore.CodeBlobUploadInvalid},
		{name: "monolithic body longer than declared", raw: "POST /v2/team/app/blobs/uploads/?digest=" + string(digest.FromString("helloworld")) + " HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhelloworld",
			status: 400, code: memstore.CodeDigestInvalid},
		{name: "last chunk longer than declared", raw: "PUT {upload}?digest=" + string(digest.FromString("helloabcdef")) + " HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabcdef",
			status: 400, code: memstore.CodeDigestInvalid},
		{name: "manifest longer than declared", raw: "PUT /v2/team/app/manifests/v2 HTTP/1.1\r\nHost: {host}\r\n" + mt + "\r\nContent-Length: 10\r\nConnection: close\r\n\r\n" + string(img.Manifest),
			status: 400, code: memstore.CodeManifestInvalid},
		{name: "declared over the blob limit, no body sent", raw: "POST /v2/team/app/blobs/uploads/?digest=" + hello + " HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2000\r\n\r\n",
			status: 413, code: memstore.CodeSizeInvalid},
		{name: "declared chunk over the blob limit, no body sent", raw: "PATCH {upload} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2000\r\n\r\n",
			status: 413, code: memstore.CodeSizeInvalid},
		{name: "Expect 100-continue over the limit", raw: "POST /v2/team/app/blobs/uploads/?digest=" + hello + " HTTP/1.1\r\nHost: {host}\r\nExpect: 100-continue\r\nContent-Length: 2000\r\n\r\n",
			status: 413, code: memstore.CodeSizeInvalid},
		{name: "Content-Length twice, different", raw: "POST /v2/team/app/blobs/uploads/?digest=" + hello + " HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", status: 400, netHTTP: true},
		{name: "Content-Length negative", raw: "PATCH {upload} HTTP/1.1\r\nHost: {host}\r\nContent-Length: -1\r\n\r\n", status: 400, netHTTP: true},
		{name: "Content-Length huge", raw: "PATCH {upload} HTTP/1.1\r\nHost: {host}\r\nContent-Length: " + huge + "\r\n\r\n", status: 400, netHTTP: true},
		{name: "Content-Length with a sign", raw: "PATCH {upload} HTTP/1.1\r\nHost: {host}\r\nContent-Length: +3\r\n\r\nabc", status: 400, netHTTP: true},
		{name: "Transfer-Encoding gzip", raw: "PATCH {upload} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: gzip\r\n\r\n", status: 501, netHTTP: true},
		{name: "Transfer-Encoding chunked twice", raw: "PATCH {upload} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", status: 501, netHTTP: true},

		// References to what is missing, or not as described.
		{name: "blob by the sha512 of stored bytes", method: "GET", path: "/v2/team/app/blobs/" + string(digest.SHA512.FromBytes(img.Layer)), status: 404, code: memstore.CodeBlobUnknown},
		{name: "blob DELETE in an unknown repository", method: "DELETE", path: "/v2/team/nope/blobs/" + layer, status: 404, code: memstore.CodeBlobUnknown},
		{name: "manifest HEAD by an unknown digest", method: "HEAD", path: "/v2/team/app/manifests/" + hello, status: 404, code: memstore.CodeManifestUnknown},
		{name: "manifest DELETE in an unknown repository", method: "DELETE", path: "/v2/team/nope/manifests/" + manifestDigest, status: 404, code: memstore.CodeNameUnknown},
		{name: "manifest whose config has another size", method: "PUT", path: "/v2/team/app/manifests/v2", body: wrongSize, header: []string{mt}, status: 400, code: memstore.CodeManifestInvalid},
		{name: "manifest whose config is in another repository", method: "PUT", path: "/v2/team/other/manifests/" + manifestDigest, body: string(img.Manifest), header: []string{mt}, status: 400, code: memstore.CodeManifestBlobUnknown},
		{name: "referrers of a missing subject", method: "GET", path: "/v2/team/app/referrers/" + hello, status: 200},

		// Ranges past the end (the layer has {size} bytes).
		{name: "range starting at the size", method: "GET", path: "/v2/team/app/blobs/{layer}", header: []string{"Range: bytes={size}-"}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "range starting at the size, with an end", method: "GET", path: "/v2/team/app/blobs/{layer}", header: []string{"Range: bytes={size}-{size+10}"}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "range start huge", method: "GET", path: "/v2/team/app/blobs/{layer}", header: []string{"Range: bytes=" + huge + "-"}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "range end huge", method: "GET", path: "/v2/team/app/blobs/{layer}", header: []string{"Range: bytes=0-" + huge}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "range suffix huge", method: "GET", path: "/v2/team/app/blobs/{layer}", header: []string{"Range: bytes=-" + huge}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "range start max int64", method: "HEAD", path: "/v2/team/app/blobs/{layer}", header: []string{"Range: bytes=9223372036854775807-"}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "two ranges past the end", method: "GET", path: "/v2/team/app/blobs/{layer}", header: []string{"Range: bytes=1000-2000,3000-"}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "range of another unit", method: "GET", path: "/v2/team/app/blobs/{layer}", header: []string{"Range: items=0-1"}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "range empty set", method: "GET", path: "/v2/team/app/blobs/{layer}", header: []string{"Range: bytes=,"}, status: 416, code: memstore.CodeSizeInvalid},
		{name: "one range satisfiable of two", method: "GET", path: "/v2/team/app/blobs/{layer}", header: []string{"Range: bytes=0-0,1000-"}, status: 206},

		// Methods.
		{name: "lower-case get", method: "get", path: "/v2/", status: 405, code: memstore.CodeUnsupported},
		{name: "TRACE", method: "TRACE", path: "/v2/team/app/manifests/v1", status: 405, code: memstore.CodeUnsupported},
		{name: "CONNECT with a path", method: "CONNECT", path: "/v2/", status: 405, code: memstore.CodeUnsupported},
	}

	expand := func(s string) string {
		return strings.NewReplacer(
			"{host}", reg.Host(),
			"{upload}", f.upload,
			"{empty}", empty,
			"{ended}", f.ended,
			"{id}", f.id,
			"{layer}", layer,
			"{size+10}", fmt.Sprint(size+10),
			"{size}", fmt.Sprint(size),
		).Replace(s)
	}
	if len(tests) < 80 {
		t.Errorf("the table has %d rows, want at least 80", len(tests))
	}
	t.Logf("%d hostile requests", len(tests))
	seen := map[string]bool{}
	// total is how many requests the registry has recorded so far. A
	// request is recorded as its handler returns, which can be a moment
	// after a client that read part of a large answer moves on, so counts
	// are awaited rather than read.
	total := len(hoSettle(t, reg, -1))
	for _, tc := range tests {
		if seen[tc.name] {
			t.Fatalf("two rows named %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			before := reg.Store().Snapshot()
			raw := tc.raw
			if raw == "" {
				raw = hoBuild(tc)
			}
			resp := hoSend(t, reg, expand(raw), tc.halfClose)
			if resp.Status >= 500 && !tc.netHTTP {
				t.Fatalf("server error %d: %s", resp.Status, resp.Body)
			}
			if resp.Status != tc.status {
				t.Errorf("status = %d, want %d; body: %.300s", resp.Status, tc.status, resp.Body)
			}
			recorded := total
			if !tc.netHTTP {
				total++
			}
			after := len(hoSettle(t, reg, total))
			total = after
			switch {
			case tc.netHTTP && after != recorded:
				t.Errorf("net/http should have refused this before the handler, but the registry recorded %d requests", after-recorded)
			case !tc.netHTTP && after != recorded+1:
				t.Errorf("the registry recorded %d requests, want 1", after-recorded)
			case !tc.netHTTP && tc.code != "":
				wantError(t, resp, tc.status, tc.code)
				biWantErrorBody(t, hoMethod(raw), resp)
			case !tc.netHTTP && resp.Header.Get("Content-Type") == "application/json" && bytes.Contains(resp.Body, []byte(`"errors"`)):
				t.Errorf("success row answered with an error body: %s", resp.Body)
			}
			for _, h := range tc.noHeader {
				if v := resp.Header.Values(h); len(v) > 0 {
					t.Errorf("response carries %s: %q", h, v)
				}
			}
			unchanged(t, reg, before)
		})
	}
	// The registry still serves, and the table changed nothing at all.
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), http.StatusOK)
	wantStatus(t, do(t, reg, "GET", "/v2/team/app/manifests/v1", nil), http.StatusOK)
	info, err := reg.Store().Upload("team/app", f.id)
	if err != nil || info.Size != 5 {
		t.Errorf("open session after the table: %+v, %v; want 5 bytes", info, err)
	}
}

// hoBuild writes a row's request: its request line, Host, its headers,
// Content-Length for a body (or a method that takes one) and
// Connection: close.
func hoBuild(tc hoRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: {host}\r\n", tc.method, tc.path)
	for _, h := range tc.header {
		b.WriteString(h + "\r\n")
	}
	switch strings.ToUpper(tc.method) {
	case "POST", "PUT", "PATCH":
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(tc.body))
	default:
		if tc.body != "" {
			fmt.Fprintf(&b, "Content-Length: %d\r\n", len(tc.body))
		}
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(tc.body)
	return b.String()
}

// hoMethod is the method of a raw request.
func hoMethod(raw string) string {
	m, _, _ := strings.Cut(raw, " ")
	return m
}

// hoSend writes raw to a new connection to reg and reads one response.
// With halfClose the write side is closed after sending.
func hoSend(t testing.TB, reg *Registry, raw string, halfClose bool) response {
	t.Helper()
	conn, err := net.Dial("tcp", reg.Host())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		// Written concurrently: net/http may answer (431) before reading
		// all of a large request.
		io.WriteString(conn, raw)
		if halfClose {
			conn.(*net.TCPConn).CloseWrite()
		}
	}()
	method := hoMethod(raw)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: strings.ToUpper(method)})
	if err != nil {
		t.Fatalf("reading the response: %v (the connection was cut: a panic or a hang?)", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// hoSettle waits (up to 5 s) until the registry has recorded at least n
// requests (n < 0: whatever is recorded once a short pause passes with no
// new record) and returns them.
func hoSettle(t *testing.T, reg *Registry, n int) []Request {
	t.Helper()
	if n < 0 {
		for {
			before := len(reg.Requests())
			time.Sleep(20 * time.Millisecond)
			if reqs := reg.Requests(); len(reqs) == before {
				return reqs
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reqs, err := reg.WaitFor(ctx, Match{}, n)
	if err != nil {
		t.Errorf("the registry recorded %d requests, want %d", len(reqs), n)
	}
	return reg.Requests()
}
