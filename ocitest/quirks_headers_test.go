package ocitest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// hqSetup starts a registry with quirks qs holding one image at app:v1.
func hqSetup(t *testing.T, qs ...quirks.Quirk) (*Registry, *Image) {
	t.Helper()
	reg := New(t, WithQuirks(qs...))
	img := NewImage()
	reg.PushImage(t, "app", "v1", img)
	return reg, img
}

// hqWantQuirks checks the quirks recorded for the last request.
func hqWantQuirks(t *testing.T, reg *Registry, want ...string) {
	t.Helper()
	last, ok := reg.LastRequest()
	if !ok {
		t.Fatal("no request recorded")
	}
	if len(want) == 0 && len(last.Quirks) == 0 {
		return
	}
	if diff := cmp.Diff(want, last.Quirks); diff != "" {
		t.Errorf("%s %s: recorded quirks differ (-want +got):\n%s", last.Method, last.Path, diff)
	}
}

// rawResponse is an exchange with what do hides: the transfer encoding
// and the length net/http's client saw.
type rawResponse struct {
	response
	ContentLength    int64
	TransferEncoding []string
}

// hqRaw sends a request without following redirects and keeps the
// response's framing.
func hqRaw(t *testing.T, reg *Registry, method, path string, header ...string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, reg.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	cl := *reg.Client()
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return rawResponse{
		response:         response{Status: resp.StatusCode, Header: resp.Header, Body: b},
		ContentLength:    resp.ContentLength,
		TransferEncoding: resp.TransferEncoding,
	}
}

// hqHasHeader reports whether resp carries header name at all.
func hqHasHeader(resp response, name string) bool {
	_, ok := resp.Header[http.CanonicalHeaderKey(name)]
	return ok
}

func TestHeaderQuirksOffIsSpec(t *testing.T) {
	reg, img := hqSetup(t)
	for _, method := range []string{"GET", "HEAD"} {
		for _, ref := range []string{"v1", string(img.Digest())} {
			resp := hqRaw(t, reg, method, "/v2/app/manifests/"+ref)
			wantStatus(t, resp.response, http.StatusOK)
			wantHeader(t, resp.response, "Docker-Content-Digest", string(img.Digest()))
			wantHeader(t, resp.response, "Content-Type", ocispec.MediaTypeImageManifest)
			wantHeader(t, resp.response, "Content-Length", strconv.Itoa(len(img.Bytes())))
			if resp.ContentLength != int64(len(img.Bytes())) || len(resp.TransferEncoding) != 0 {
				t.Errorf("%s %s: length %d, encoding %v", method, ref, resp.ContentLength, resp.TransferEncoding)
			}
			hqWantQuirks(t, reg)
		}
	}
	layer := img.Layers[0]
	resp := hqRaw(t, reg, "GET", "/v2/app/blobs/"+string(layer.Descriptor.Digest))
	if resp.ContentLength != int64(len(layer.Data)) {
		t.Errorf("blob GET length %d, want %d", resp.ContentLength, len(layer.Data))
	}
	wantError(t, do(t, reg, "GET", "/v2/app/blobs/"+string(img.Digest()), nil), http.StatusNotFound, memstore.CodeBlobUnknown)
	wantError(t, do(t, reg, "HEAD", "/v2/app/manifests/nope", nil), http.StatusNotFound, memstore.CodeManifestUnknown)
	wantError(t, do(t, reg, "GET", "/v2/app/manifests/nope", nil), http.StatusNotFound, memstore.CodeManifestUnknown)
	hqWantQuirks(t, reg)
	resp2 := do(t, reg, "PUT", "/v2/app/manifests/v2", img.Bytes(), "Content-Type: "+ocispec.MediaTypeImageManifest)
	wantStatus(t, resp2, http.StatusCreated)
	wantHeader(t, resp2, "Docker-Content-Digest", string(img.Digest()))
	hqWantQuirks(t, reg)
}

func TestQuirkOmitDigestOnTagGet(t *testing.T) {
	q := quirks.OmitDigestOnTagGet()
	if q.ID() != "no-digest-on-tag-get" || q.String() != "no-digest-on-tag-get(GetByTag)" {
		t.Fatalf("quirk = %s", q)
	}
	reg, img := hqSetup(t, q)

	resp := do(t, reg, "GET", "/v2/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusOK)
	if hqHasHeader(resp, "Docker-Content-Digest") {
		t.Errorf("GET by tag has Docker-Content-Digest %q", resp.Header.Get("Docker-Content-Digest"))
	}
	wantHeader(t, resp, "Content-Type", ocispec.MediaTypeImageManifest)
	if string(resp.Body) != string(img.Bytes()) {
		t.Error("GET by tag: body differs from the manifest")
	}
	hqWantQuirks(t, reg, "no-digest-on-tag-get(GetByTag)")
	last, _ := reg.LastRequest()
	if last.ResponseHeader.Get("Docker-Content-Digest") != "" {
		t.Error("the recorded response header still has the digest")
	}

	// Neighbours: GET by digest and HEAD by tag keep the header.
	resp = do(t, reg, "GET", "/v2/app/manifests/"+string(img.Digest()), nil)
	wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest()))
	hqWantQuirks(t, reg)
	resp = do(t, reg, "HEAD", "/v2/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest()))
	hqWantQuirks(t, reg)
	// A missing tag is the spec's 404 and names no quirk.
	wantError(t, do(t, reg, "GET", "/v2/app/manifests/nope", nil), http.StatusNotFound, memstore.CodeManifestUnknown)
	hqWantQuirks(t, reg)
}

func TestQuirkOmitDigestHeader(t *testing.T) {
	img := NewImage()
	put := func(t *testing.T, reg *Registry, ref string) response {
		return do(t, reg, "PUT", "/v2/app/manifests/"+ref, img.Bytes(), "Content-Type: "+ocispec.MediaTypeImageManifest)
	}
	type exchange struct {
		name string
		do   func(t *testing.T, reg *Registry) response
	}
	req := func(method, path string) func(t *testing.T, reg *Registry) response {
		return func(t *testing.T, reg *Registry) response { return do(t, reg, method, path, nil) }
	}
	byDigest := "/v2/app/manifests/" + string(img.Digest())
	fresh := []byte("a fresh blob")
	exchanges := map[string]exchange{
		"GetByTag":    {"GET by tag", req("GET", "/v2/app/manifests/v1")},
		"GetByDigest": {"GET by digest", req("GET", byDigest)},
		"Head":        {"HEAD by tag", req("HEAD", "/v2/app/manifests/v1")},
		"HeadDigest":  {"HEAD by digest", req("HEAD", byDigest)},
		"PutManifest": {"PUT manifest", func(t *testing.T, reg *Registry) response { return put(t, reg, "v2") }},
		"PutBlob": {"monolithic upload", func(t *testing.T, reg *Registry) response {
			return do(t, reg, "POST", "/v2/app/blobs/uploads/?digest="+string(digest.FromBytes(fresh)), fresh)
		}},
		"Mount":   {"mount", req("POST", "/v2/other/blobs/uploads/?mount="+string(img.Config.Descriptor.Digest)+"&from=app")},
		"BlobGet": {"blob GET", req("GET", "/v2/app/blobs/"+string(img.Config.Descriptor.Digest))},
	}
	for _, tc := range []struct {
		o       quirks.DigestOmission
		omitted []string // exchanges that lose the header
	}{
		{quirks.DigestOmission{GetByTag: true, Head: true}, []string{"GetByTag", "Head", "HeadDigest"}},
		{quirks.DigestOmission{GetByDigest: true}, []string{"GetByDigest"}},
		{quirks.DigestOmission{PutManifest: true}, []string{"PutManifest"}},
		{quirks.DigestOmission{PutBlob: true}, []string{"PutBlob", "Mount"}},
	} {
		q := quirks.OmitDigestHeader(tc.o)
		t.Run(q.String(), func(t *testing.T) {
			reg := New(t, WithQuirks(q))
			reg.PushImage(t, "app", "v1", img)
			for key, ex := range exchanges {
				resp := ex.do(t, reg)
				if resp.Status >= 400 {
					t.Fatalf("%s: status %d: %s", ex.name, resp.Status, resp.Body)
				}
				omitted := slices.Contains(tc.omitted, key)
				if got := hqHasHeader(resp, "Docker-Content-Digest"); got == omitted {
					t.Errorf("%s: Docker-Content-Digest present = %v, want %v", ex.name, got, !omitted)
				}
				if omitted {
					hqWantQuirks(t, reg, q.String())
				} else {
					hqWantQuirks(t, reg)
				}
				if key == "PutManifest" || key == "PutBlob" || key == "Mount" {
					wantStatus(t, resp, http.StatusCreated)
					if resp.Header.Get("Location") == "" {
						t.Errorf("%s: no Location", ex.name)
					}
				}
			}
		})
	}
}

func TestQuirkWrongDigestHeader(t *testing.T) {
	for _, tc := range []struct {
		mode quirks.DigestHeaderMode
		want func(d digest.Digest, got string) bool
	}{
		{quirks.DigestHeaderNoAlgorithm, func(d digest.Digest, got string) bool { return got == d.Encoded() }},
		{quirks.DigestHeaderOtherDigest, func(d digest.Digest, got string) bool {
			g, err := digest.Parse(got)
			return err == nil && g != d && g.Algorithm() == d.Algorithm()
		}},
	} {
		q := quirks.WrongDigestHeader(tc.mode)
		t.Run(q.String(), func(t *testing.T) {
			reg, img := hqSetup(t, q)
			for _, method := range []string{"GET", "HEAD"} {
				for _, ref := range []string{"v1", string(img.Digest())} {
					resp := do(t, reg, method, "/v2/app/manifests/"+ref, nil)
					wantStatus(t, resp, http.StatusOK)
					if got := resp.Header.Get("Docker-Content-Digest"); !tc.want(img.Digest(), got) {
						t.Errorf("%s %s: Docker-Content-Digest = %q", method, ref, got)
					}
					if method == "GET" && string(resp.Body) != string(img.Bytes()) {
						t.Errorf("%s %s: body changed", method, ref)
					}
					hqWantQuirks(t, reg, q.String())
				}
			}
			// Neighbours: blob GET and manifest PUT answer the true digest.
			cfg := img.Config.Descriptor.Digest
			resp := do(t, reg, "GET", "/v2/app/blobs/"+string(cfg), nil)
			wantHeader(t, resp, "Docker-Content-Digest", string(cfg))
			hqWantQuirks(t, reg)
			resp = do(t, reg, "PUT", "/v2/app/manifests/v2", img.Bytes(), "Content-Type: "+ocispec.MediaTypeImageManifest)
			wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest()))
			hqWantQuirks(t, reg)
		})
	}
}

func TestQuirkOmitContentLength(t *testing.T) {
	q := quirks.OmitContentLength(quirks.ContentLengthOmission{ManifestGet: true, ManifestHead: true, BlobHead: true})
	reg, img := hqSetup(t, q)
	layer := img.Layers[0]

	resp := hqRaw(t, reg, "GET", "/v2/app/manifests/v1")
	wantStatus(t, resp.response, http.StatusOK)
	if resp.ContentLength != -1 || !slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
		t.Errorf("manifest GET: length %d, encoding %v; want chunked without length", resp.ContentLength, resp.TransferEncoding)
	}
	if string(resp.Body) != string(img.Bytes()) {
		t.Error("manifest GET: chunked body differs from the manifest")
	}
	wantHeader(t, resp.response, "Docker-Content-Digest", string(img.Digest()))
	hqWantQuirks(t, reg, q.String())
	last, _ := reg.LastRequest()
	if last.ResponseHeader.Get("Content-Length") != "" {
		t.Error("recorded response header still has Content-Length")
	}

	for _, path := range []string{"/v2/app/manifests/v1", "/v2/app/blobs/" + string(layer.Descriptor.Digest)} {
		resp = hqRaw(t, reg, "HEAD", path)
		wantStatus(t, resp.response, http.StatusOK)
		if hqHasHeader(resp.response, "Content-Length") || resp.ContentLength != -1 {
			t.Errorf("HEAD %s: Content-Length %q (length %d)", path, resp.Header.Get("Content-Length"), resp.ContentLength)
		}
		hqWantQuirks(t, reg, q.String())
	}

	// Neighbours: blob GET (not named) keeps its length; so does a 206.
	resp = hqRaw(t, reg, "GET", "/v2/app/blobs/"+string(layer.Descriptor.Digest))
	if resp.ContentLength != int64(len(layer.Data)) || len(resp.TransferEncoding) != 0 {
		t.Errorf("blob GET: length %d, encoding %v", resp.ContentLength, resp.TransferEncoding)
	}
	hqWantQuirks(t, reg)
	// Errors keep theirs.
	resp = hqRaw(t, reg, "GET", "/v2/app/manifests/nope")
	wantError(t, resp.response, http.StatusNotFound, memstore.CodeManifestUnknown)
	if resp.ContentLength <= 0 {
		t.Errorf("error answer lost its length: %d", resp.ContentLength)
	}
	hqWantQuirks(t, reg)
}

func TestQuirkOmitContentLengthBlobGetAndMinSize(t *testing.T) {
	img := NewImage()
	small, big := img.Config, img.Layers[0] // a config of a few hundred bytes, a layer of more
	if len(small.Data) >= len(big.Data) {
		t.Fatalf("config %d bytes, layer %d: want the layer bigger", len(small.Data), len(big.Data))
	}
	q := quirks.OmitContentLength(quirks.ContentLengthOmission{BlobGet: true, MinSize: int64(len(big.Data))})
	reg := New(t, WithQuirks(q))
	reg.PushImage(t, "app", "v1", img)

	resp := hqRaw(t, reg, "GET", "/v2/app/blobs/"+string(big.Descriptor.Digest))
	if resp.ContentLength != -1 || !slices.Equal(resp.TransferEncoding, []string{"chunked"}) || string(resp.Body) != string(big.Data) {
		t.Errorf("big blob GET: length %d, encoding %v, %d bytes", resp.ContentLength, resp.TransferEncoding, len(resp.Body))
	}
	hqWantQuirks(t, reg, q.String())
	// Below MinSize, and the manifest (not named): lengths as usual.
	resp = hqRaw(t, reg, "GET", "/v2/app/blobs/"+string(small.Descriptor.Digest))
	if resp.ContentLength != int64(len(small.Data)) {
		t.Errorf("small blob GET: length %d", resp.ContentLength)
	}
	hqWantQuirks(t, reg)
	resp = hqRaw(t, reg, "GET", "/v2/app/manifests/v1")
	if resp.ContentLength != int64(len(img.Bytes())) {
		t.Errorf("manifest GET: length %d", resp.ContentLength)
	}
	hqWantQuirks(t, reg)
}

func TestQuirkWrongContentType(t *testing.T) {
	for _, tc := range []struct {
		q    quirks.Quirk
		want []string // the Content-Type values sent; nil: none
	}{
		{quirks.WrongContentType(quirks.ContentTypeFixed, "application/json"), []string{"application/json"}},
		{quirks.WrongContentType(quirks.ContentTypeWithParams, ""), []string{ocispec.MediaTypeImageManifest + "; charset=utf-8"}},
		{quirks.WrongContentType(quirks.ContentTypeEmpty, ""), nil},
	} {
		t.Run(tc.q.String(), func(t *testing.T) {
			reg, img := hqSetup(t, tc.q)
			for _, method := range []string{"GET", "HEAD"} {
				resp := do(t, reg, method, "/v2/app/manifests/v1", nil)
				wantStatus(t, resp, http.StatusOK)
				if got := resp.Header.Values("Content-Type"); !slices.Equal(got, tc.want) {
					t.Errorf("%s: Content-Type %q, want %q", method, got, tc.want)
				}
				if method == "GET" && string(resp.Body) != string(img.Bytes()) {
					t.Errorf("GET: body changed")
				}
				hqWantQuirks(t, reg, tc.q.String())
			}
			// Neighbours: blobs and errors keep their types.
			resp := do(t, reg, "GET", "/v2/app/blobs/"+string(img.Config.Descriptor.Digest), nil)
			wantHeader(t, resp, "Content-Type", "application/octet-stream")
			hqWantQuirks(t, reg)
			wantError(t, do(t, reg, "GET", "/v2/app/manifests/nope", nil), http.StatusNotFound, memstore.CodeManifestUnknown)
			hqWantQuirks(t, reg)
		})
	}
	// A fixed type equal to the stored one changes nothing.
	reg, _ := hqSetup(t, quirks.WrongContentType(quirks.ContentTypeFixed, ocispec.MediaTypeImageManifest))
	wantHeader(t, do(t, reg, "GET", "/v2/app/manifests/v1", nil), "Content-Type", ocispec.MediaTypeImageManifest)
	hqWantQuirks(t, reg)
}

func TestQuirkBlobEndpointServesManifests(t *testing.T) {
	q := quirks.BlobEndpointServesManifests(quirks.BlobEndpointHead200Get404)
	if q.ID() != "wrong-content-type" {
		t.Fatalf("id %s", q.ID())
	}
	reg, img := hqSetup(t, q)
	path := "/v2/app/blobs/" + string(img.Digest())

	resp := do(t, reg, "HEAD", path, nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", "application/octet-stream")
	wantHeader(t, resp, "Content-Length", strconv.Itoa(len(img.Bytes())))
	wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest()))
	hqWantQuirks(t, reg, "wrong-content-type(blobs:head200get404)")

	wantError(t, do(t, reg, "GET", path, nil), http.StatusNotFound, memstore.CodeBlobUnknown)
	hqWantQuirks(t, reg) // the spec's answer too
	// Neighbours: a digest that is nothing, a real blob, the manifest endpoint.
	wantError(t, do(t, reg, "HEAD", "/v2/app/blobs/"+string(digest.FromString("nothing")), nil), http.StatusNotFound, memstore.CodeBlobUnknown)
	hqWantQuirks(t, reg)
	wantStatus(t, do(t, reg, "HEAD", "/v2/app/blobs/"+string(img.Config.Descriptor.Digest), nil), http.StatusOK)
	hqWantQuirks(t, reg)
	wantHeader(t, do(t, reg, "HEAD", "/v2/app/manifests/v1", nil), "Content-Type", ocispec.MediaTypeImageManifest)
	hqWantQuirks(t, reg)

	reg.SetQuirks(quirks.BlobEndpointServesManifests(quirks.BlobEndpointBoth))
	resp = do(t, reg, "GET", path, nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", "application/octet-stream")
	if string(resp.Body) != string(img.Bytes()) {
		t.Error("GET through /blobs/ is not the manifest")
	}
	hqWantQuirks(t, reg, "wrong-content-type(blobs:both)")
	// Another repository does not see the manifest.
	wantError(t, do(t, reg, "GET", "/v2/other/blobs/"+string(img.Digest()), nil), http.StatusNotFound, memstore.CodeBlobUnknown)
	hqWantQuirks(t, reg)
}

func TestQuirkHeadManifestUnsupported(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   memstore.Code
	}{
		{http.StatusMethodNotAllowed, memstore.CodeUnsupported},
		{http.StatusForbidden, memstore.CodeDenied},
		{http.StatusNotFound, memstore.CodeManifestUnknown},
	} {
		q := quirks.HeadManifestUnsupported(tc.status)
		t.Run(q.String(), func(t *testing.T) {
			reg, img := hqSetup(t, q)
			for _, ref := range []string{"v1", string(img.Digest())} {
				resp := do(t, reg, "HEAD", "/v2/app/manifests/"+ref, nil)
				wantError(t, resp, tc.status, tc.code)
				if hqHasHeader(resp, "Docker-Content-Digest") {
					t.Error("refused HEAD has Docker-Content-Digest")
				}
				hqWantQuirks(t, reg, q.String())
			}
			// The same GET works; HEAD of a blob works.
			resp := do(t, reg, "GET", "/v2/app/manifests/v1", nil)
			wantStatus(t, resp, http.StatusOK)
			wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest()))
			hqWantQuirks(t, reg)
			wantStatus(t, do(t, reg, "HEAD", "/v2/app/blobs/"+string(img.Config.Descriptor.Digest), nil), http.StatusOK)
			hqWantQuirks(t, reg)
			// HEAD of a missing manifest: refused too, unless the refusal
			// is the spec's own 404.
			resp = do(t, reg, "HEAD", "/v2/app/manifests/nope", nil)
			if tc.status == http.StatusNotFound {
				wantError(t, resp, http.StatusNotFound, memstore.CodeManifestUnknown)
				hqWantQuirks(t, reg)
			} else {
				wantError(t, resp, tc.status, tc.code)
				hqWantQuirks(t, reg, q.String())
			}
		})
	}
}

func TestQuirkNotFoundStatus(t *testing.T) {
	q := quirks.NotFoundStatus(http.StatusForbidden, quirks.MissingRequests{ManifestHead: true, BlobGet: true})
	reg, img := hqSetup(t, q)

	resp := do(t, reg, "HEAD", "/v2/app/manifests/nope", nil)
	wantError(t, resp, http.StatusForbidden, memstore.CodeDenied)
	if len(resp.Body) != 0 {
		t.Errorf("HEAD answer has a body: %q", resp.Body)
	}
	hqWantQuirks(t, reg, q.String())
	resp = do(t, reg, "GET", "/v2/app/blobs/"+string(digest.FromString("nothing")), nil)
	wantError(t, resp, http.StatusForbidden, memstore.CodeDenied)
	hqWantQuirks(t, reg, q.String())
	// A repository that does not exist is missing content too.
	wantError(t, do(t, reg, "HEAD", "/v2/nobody/manifests/v1", nil), http.StatusForbidden, memstore.CodeDenied)
	hqWantQuirks(t, reg, q.String())

	// Neighbours: GET of the missing manifest (not named) is the spec's
	// 404; existing content is served; other errors are unchanged.
	wantError(t, do(t, reg, "GET", "/v2/app/manifests/nope", nil), http.StatusNotFound, memstore.CodeManifestUnknown)
	hqWantQuirks(t, reg)
	wantStatus(t, do(t, reg, "HEAD", "/v2/app/manifests/v1", nil), http.StatusOK)
	hqWantQuirks(t, reg)
	wantStatus(t, do(t, reg, "GET", "/v2/app/blobs/"+string(img.Config.Descriptor.Digest), nil), http.StatusOK)
	hqWantQuirks(t, reg)
	wantError(t, do(t, reg, "HEAD", "/v2/app/manifests/-bad", nil), http.StatusBadRequest, memstore.CodeManifestInvalid)
	hqWantQuirks(t, reg)

	// Another status keeps the original code.
	reg.SetQuirks(quirks.NotFoundStatus(http.StatusBadRequest, quirks.MissingRequests{ManifestGet: true}))
	wantError(t, do(t, reg, "GET", "/v2/app/manifests/nope", nil), http.StatusBadRequest, memstore.CodeManifestUnknown)
	hqWantQuirks(t, reg, "not-found-as-403(400,ManifestGet)")
}

func TestQuirkNonstandardErrorCodes(t *testing.T) {
	q := quirks.NonstandardErrorCodes(quirks.ErrorRewrite{From: "MANIFEST_UNKNOWN", To: "UNKNOWN", Message: "artifact app:nope not found"})
	reg, _ := hqSetup(t, q)

	resp := do(t, reg, "GET", "/v2/app/manifests/nope", nil)
	wantError(t, resp, http.StatusNotFound, "UNKNOWN")
	var body errorBody
	if err := json.Unmarshal(resp.Body, &body); err != nil || body.Errors[0].Message != "artifact app:nope not found" {
		t.Errorf("body %s (%v)", resp.Body, err)
	}
	hqWantQuirks(t, reg, q.String())
	// Neighbours: other codes and successes are unchanged.
	wantError(t, do(t, reg, "GET", "/v2/app/blobs/"+string(digest.FromString("nothing")), nil), http.StatusNotFound, memstore.CodeBlobUnknown)
	hqWantQuirks(t, reg)
	wantStatus(t, do(t, reg, "GET", "/v2/app/manifests/v1", nil), http.StatusOK)
	hqWantQuirks(t, reg)
}

func TestHeaderQuirksScopedByRepo(t *testing.T) {
	reg, img := hqSetup(t, quirks.ForRepos("team/*", quirks.OmitDigestOnTagGet())...)
	reg.PushImage(t, "team/app", "v1", img)
	if resp := do(t, reg, "GET", "/v2/app/manifests/v1", nil); resp.Header.Get("Docker-Content-Digest") == "" {
		t.Error("quirk for team/* applied to app")
	}
	if resp := do(t, reg, "GET", "/v2/team/app/manifests/v1", nil); resp.Header.Get("Docker-Content-Digest") != "" {
		t.Error("quirk for team/* not applied to team/app")
	}
	hqWantQuirks(t, reg, "no-digest-on-tag-get(GetByTag)@team/*")
}
