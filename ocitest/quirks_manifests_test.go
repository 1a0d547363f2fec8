package ocitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Tests of the quirks of catalog sections 3 (manifests, media types and
// content negotiation) and 5 (tags, deletion and immutability).

const (
	mqDockerV2   = memstore.MediaTypeDockerManifest
	mqDockerList = memstore.MediaTypeDockerManifestList
	mqOCIImage   = ocispec.MediaTypeImageManifest
	mqOCIIndex   = ocispec.MediaTypeImageIndex
)

// mqDo sends a request with header lines given as pairs; a name given
// twice sends two header lines (as c/image sends Accept).
func mqDo(t *testing.T, reg *Registry, method, path string, body []byte, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, reg.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := reg.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// mqWantQuirks checks the quirks recorded for the last request.
func mqWantQuirks(t *testing.T, reg *Registry, want ...string) {
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

// mqWantError checks an error answer: status, code, and the message and
// detail when given (empty: not checked).
func mqWantError(t *testing.T, resp response, status int, code, message, detail string) {
	t.Helper()
	wantError(t, resp, status, memstore.Code(code))
	if len(resp.Body) == 0 {
		return
	}
	var body struct {
		Errors []struct {
			Message string          `json:"message"`
			Detail  json.RawMessage `json:"detail"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("error body %s: %v", resp.Body, err)
	}
	if message != "" && body.Errors[0].Message != message {
		t.Errorf("message = %q, want %q", body.Errors[0].Message, message)
	}
	if detail != "" && string(body.Errors[0].Detail) != detail {
		t.Errorf("detail = %s, want %s", body.Errors[0].Detail, detail)
	}
}

// mqWantManifest checks a 200 manifest answer: body (not for HEAD), type
// and digest.
func mqWantManifest(t *testing.T, resp response, body []byte, mediaType string, d digest.Digest) {
	t.Helper()
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", mediaType)
	wantHeader(t, resp, "Docker-Content-Digest", string(d))
	if len(resp.Body) > 0 && !bytes.Equal(resp.Body, body) {
		t.Errorf("body differs from the expected manifest:\n%s", resp.Body)
	}
}

// mqPut pushes a manifest over HTTP with a Content-Type.
func mqPut(t *testing.T, reg *Registry, repo, ref string, body []byte, contentType string) response {
	t.Helper()
	return mqDo(t, reg, "PUT", "/v2/"+repo+"/manifests/"+ref, body, "Content-Type", contentType)
}

// mqSeedBlobs stores an image's blobs in repo without HTTP.
func mqSeedBlobs(t *testing.T, reg *Registry, repo string, img *Image) {
	t.Helper()
	for _, b := range img.Blobs() {
		reg.PushBlob(t, repo, b.Data)
	}
}

// mqManifestJSON encodes an image manifest of the given blobs.
func mqManifestJSON(t *testing.T, m ocispec.Manifest) []byte {
	t.Helper()
	m.SchemaVersion = 2
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestManifestQuirksSpecBaseline(t *testing.T) {
	reg := New(t)
	img := NewImage()
	reg.PushImage(t, "app", "v1", img)
	list := NewIndex(DockerMediaTypes())
	reg.PushIndex(t, "app", "list", list)

	// No negotiation: the stored type whatever Accept says, or without it.
	for _, accept := range []string{"", mqDockerV2, "*/*"} {
		var h []string
		if accept != "" {
			h = []string{"Accept", accept}
		}
		mqWantManifest(t, mqDo(t, reg, "GET", "/v2/app/manifests/v1", nil, h...), img.Bytes(), mqOCIImage, img.Digest())
		mqWantManifest(t, mqDo(t, reg, "GET", "/v2/app/manifests/list", nil, h...), list.Bytes(), mqDockerList, list.Digest())
		mqWantQuirks(t, reg)
	}
	// Pushes other registries refuse: no mediaType field, sha512, nested
	// names, a re-pushed tag, a config of size 0.
	var m ocispec.Manifest
	if err := json.Unmarshal(img.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	m.MediaType = ""
	wantStatus(t, mqPut(t, reg, "app", "nomt", mqManifestJSON(t, m), mqOCIImage), http.StatusCreated)
	wantStatus(t, mqPut(t, reg, "app", "v1", img.Bytes(), mqOCIImage), http.StatusCreated)
	wantStatus(t, mqPut(t, reg, "app", string(digest.SHA512.FromBytes(img.Bytes())), img.Bytes(), mqOCIImage), http.StatusCreated)
	wantStatus(t, do(t, reg, "POST", "/v2/a/b/c/d/blobs/uploads/", nil), http.StatusAccepted)
	empty := pushBlob(t, reg, "app", []byte{})
	m = ocispec.Manifest{MediaType: mqOCIImage, Config: ocispec.Descriptor{MediaType: "application/vnd.example.config", Digest: empty, Size: 0}, Layers: []ocispec.Descriptor{}}
	wantStatus(t, mqPut(t, reg, "app", "empty-config", mqManifestJSON(t, m), mqOCIImage), http.StatusCreated)
	wantStatus(t, do(t, reg, "DELETE", "/v2/app/manifests/nomt", nil), http.StatusAccepted)
	wantStatus(t, do(t, reg, "DELETE", "/v2/app/blobs/"+string(empty), nil), http.StatusAccepted)
	mqWantQuirks(t, reg)
}

func TestQuirkStrictAccept(t *testing.T) {
	reg := New(t, WithQuirks(quirks.StrictAccept()))
	img := NewImage()
	reg.PushImage(t, "app", "v1", img)
	idx := NewIndex()
	reg.PushIndex(t, "app", "idx", idx)
	docker := NewImage(DockerMediaTypes())
	reg.PushImage(t, "app", "docker", docker)
	const manifestMsg = "OCI manifest found, but accept header does not support OCI manifests"
	const indexMsg = "OCI index found, but accept header does not support OCI indexes"

	for _, tc := range []struct {
		method, ref string
		header      []string
		msg         string
	}{
		{"GET", "v1", []string{"Accept", mqDockerV2}, manifestMsg},
		{"HEAD", "v1", []string{"Accept", mqDockerV2}, manifestMsg},
		{"GET", string(img.Digest()), []string{"Accept", mqDockerV2 + ", " + mqDockerList}, manifestMsg},
		{"GET", "v1", []string{"Accept", "*/*"}, manifestMsg}, // no wildcard, as distribution
		{"GET", "v1", nil, manifestMsg},                       // no Accept at all
		{"GET", "idx", []string{"Accept", mqOCIImage}, indexMsg},
		{"HEAD", "idx", []string{"Accept", mqDockerList}, indexMsg},
	} {
		resp := mqDo(t, reg, tc.method, "/v2/app/manifests/"+tc.ref, nil, tc.header...)
		mqWantError(t, resp, http.StatusNotFound, "MANIFEST_UNKNOWN", tc.msg, "")
		if resp.Header.Get("Docker-Content-Digest") != "" {
			t.Errorf("%s %s: 404 carries Docker-Content-Digest", tc.method, tc.ref)
		}
		mqWantQuirks(t, reg, "accept-strict-404")
	}

	// Neighbours: the type accepted (in one line or several, with
	// parameters), Docker types (never negotiated), a conditional GET.
	mqWantManifest(t, mqDo(t, reg, "GET", "/v2/app/manifests/v1", nil, "Accept", mqDockerV2, "Accept", mqOCIImage+"; q=0.5"), img.Bytes(), mqOCIImage, img.Digest())
	mqWantQuirks(t, reg)
	mqWantManifest(t, mqDo(t, reg, "HEAD", "/v2/app/manifests/idx", nil, "Accept", mqOCIImage+","+mqOCIIndex), nil, mqOCIIndex, idx.Digest())
	mqWantQuirks(t, reg)
	mqWantManifest(t, mqDo(t, reg, "GET", "/v2/app/manifests/docker", nil, "Accept", mqOCIImage), docker.Bytes(), mqDockerV2, docker.Digest())
	mqWantQuirks(t, reg)
	resp := mqDo(t, reg, "GET", "/v2/app/manifests/v1", nil, "If-None-Match", `"`+string(img.Digest())+`"`)
	wantStatus(t, resp, http.StatusNotModified)
	mqWantQuirks(t, reg)
}

func TestQuirkDowngradeListForOldAccept(t *testing.T) {
	reg := New(t, WithQuirks(quirks.DowngradeListForOldAccept()))
	list := NewIndex(DockerMediaTypes())
	reg.PushIndex(t, "app", "multi", list)
	amd64 := list.Manifests[0].(*Image)
	if p := amd64.Descriptor().Platform; p == nil || p.Architecture != "amd64" {
		t.Fatalf("first child is not amd64: %+v", p)
	}

	// Schema2 accepted, the list not: the amd64 image with its own digest.
	resp := mqDo(t, reg, "GET", "/v2/app/manifests/multi", nil, "Accept", mqDockerV2)
	mqWantManifest(t, resp, amd64.Bytes(), mqDockerV2, amd64.Digest())
	wantHeader(t, resp, "ETag", `"`+string(amd64.Digest())+`"`)
	mqWantQuirks(t, reg, "accept-list-downgrade")
	mqWantManifest(t, mqDo(t, reg, "HEAD", "/v2/app/manifests/multi", nil, "Accept", mqDockerV2+", "+mqOCIImage), nil, mqDockerV2, amd64.Digest())
	mqWantQuirks(t, reg, "accept-list-downgrade")

	// Schema2 not accepted either, or no Accept: 400.
	for _, h := range [][]string{{"Accept", mqOCIImage}, nil} {
		resp = mqDo(t, reg, "GET", "/v2/app/manifests/multi", nil, h...)
		mqWantError(t, resp, http.StatusBadRequest, "MANIFEST_INVALID", "Schema 2 manifest not supported by client", "")
		mqWantQuirks(t, reg, "accept-list-downgrade")
	}

	// A list without linux/amd64: 404.
	arm := NewImage(DockerMediaTypes(), Platform(ocispec.Platform{OS: "linux", Architecture: "arm64"}))
	reg.PushIndex(t, "app", "armonly", NewIndex(DockerMediaTypes(), Children(arm)))
	mqWantError(t, mqDo(t, reg, "GET", "/v2/app/manifests/armonly", nil, "Accept", mqDockerV2), http.StatusNotFound, "MANIFEST_UNKNOWN", "", "")
	mqWantQuirks(t, reg, "accept-list-downgrade")

	// Neighbours: the list accepted, the list by digest, an OCI index.
	mqWantManifest(t, mqDo(t, reg, "GET", "/v2/app/manifests/multi", nil, "Accept", mqDockerV2, "Accept", mqDockerList), list.Bytes(), mqDockerList, list.Digest())
	mqWantQuirks(t, reg)
	mqWantManifest(t, mqDo(t, reg, "GET", "/v2/app/manifests/"+string(list.Digest()), nil, "Accept", mqDockerV2), list.Bytes(), mqDockerList, list.Digest())
	mqWantQuirks(t, reg)
	idx := NewIndex()
	reg.PushIndex(t, "app", "oci", idx)
	mqWantManifest(t, mqDo(t, reg, "GET", "/v2/app/manifests/oci", nil, "Accept", mqDockerV2), idx.Bytes(), mqOCIIndex, idx.Digest())
	mqWantQuirks(t, reg)
}

func TestQuirkAcceptParsing(t *testing.T) {
	reg := New(t)
	img := NewImage()
	reg.PushImage(t, "app", "v1", img)
	get := func(h ...string) response { return mqDo(t, reg, "GET", "/v2/app/manifests/v1", nil, h...) }
	ok := func(resp response) {
		t.Helper()
		mqWantManifest(t, resp, img.Bytes(), mqOCIImage, img.Digest())
		mqWantQuirks(t, reg)
	}
	refused := func(resp response, status int, code, q string) {
		t.Helper()
		mqWantError(t, resp, status, code, "", "")
		mqWantQuirks(t, reg, q)
	}

	t.Run("firstLine", func(t *testing.T) {
		q := quirks.AcceptParsing(quirks.AcceptRules{Lines: quirks.FirstAcceptLine})
		reg.SetQuirks(q)
		defer reg.SetQuirks()
		// skopeo's one line per type: only the first is read.
		refused(get("Accept", mqDockerV2, "Accept", mqOCIImage), http.StatusNotAcceptable, "MANIFEST_INVALID", q.String())
		ok(get("Accept", mqDockerV2+", "+mqOCIImage))
		ok(get("Accept", mqOCIImage, "Accept", mqDockerV2))
		ok(get()) // no Accept: the stored type
		refused(get("Accept", "*/*"), http.StatusNotAcceptable, "MANIFEST_INVALID", q.String())
	})
	t.Run("firstValue", func(t *testing.T) {
		q := quirks.AcceptParsing(quirks.AcceptRules{Lines: quirks.FirstAcceptValue, Status: http.StatusNotFound})
		reg.SetQuirks(q)
		defer reg.SetQuirks()
		refused(get("Accept", mqDockerV2+", "+mqOCIImage), http.StatusNotFound, "MANIFEST_UNKNOWN", q.String())
		ok(get("Accept", mqOCIImage+", "+mqDockerV2))
	})
	t.Run("wildcardAndRequired", func(t *testing.T) {
		q := quirks.AcceptParsing(quirks.AcceptRules{HonourWildcard: true, RequireAccept: true})
		reg.SetQuirks(q)
		defer reg.SetQuirks()
		ok(get("Accept", "*/*"))
		ok(get("Accept", mqDockerV2, "Accept", mqOCIImage)) // every line read
		refused(get(), http.StatusNotAcceptable, "MANIFEST_INVALID", q.String())
		refused(get("Accept", mqDockerV2), http.StatusNotAcceptable, "MANIFEST_INVALID", q.String())
		// Blobs are not negotiated.
		resp := mqDo(t, reg, "GET", "/v2/app/blobs/"+string(img.Config.Descriptor.Digest), nil)
		wantStatus(t, resp, http.StatusOK)
		mqWantQuirks(t, reg)
	})
	t.Run("withStrictAccept", func(t *testing.T) {
		q := quirks.AcceptParsing(quirks.AcceptRules{Lines: quirks.FirstAcceptLine})
		reg.SetQuirks(quirks.StrictAccept(), q)
		defer reg.SetQuirks()
		// distribution reads every line; with only the first read, its
		// 404 answers a request that lists the type on its second line.
		resp := get("Accept", mqDockerV2, "Accept", mqOCIImage)
		mqWantError(t, resp, http.StatusNotFound, "MANIFEST_UNKNOWN", "OCI manifest found, but accept header does not support OCI manifests", "")
		mqWantQuirks(t, reg, q.String(), "accept-strict-404")
		// A type missing from every line: only the strict quirk decided.
		get("Accept", mqDockerV2)
		mqWantQuirks(t, reg, "accept-strict-404")
	})
}

func TestQuirkSchema1Fallback(t *testing.T) {
	reg := New(t, WithQuirks(quirks.Schema1Fallback(quirks.Schema1NoAccept)))
	img := NewImage(Layers(2), DockerMediaTypes())
	reg.PushImage(t, "team/app", "v1", img)

	resp := mqDo(t, reg, "GET", "/v2/team/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws")
	d := digest.FromBytes(resp.Body)
	wantHeader(t, resp, "Docker-Content-Digest", string(d))
	if d == img.Digest() {
		t.Error("schema1 digest equals the stored manifest's")
	}
	mqWantQuirks(t, reg, "schema1-fallback(noAccept)")
	var doc struct {
		SchemaVersion int    `json:"schemaVersion"`
		Name          string `json:"name"`
		Tag           string `json:"tag"`
		Architecture  string `json:"architecture"`
		FSLayers      []struct {
			BlobSum digest.Digest `json:"blobSum"`
		} `json:"fsLayers"`
		History []struct {
			V1Compatibility string `json:"v1Compatibility"`
		} `json:"history"`
		Signatures json.RawMessage `json:"signatures"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatalf("schema1 body: %v\n%s", err, resp.Body)
	}
	if doc.SchemaVersion != 1 || doc.Name != "team/app" || doc.Tag != "v1" || doc.Architecture != "amd64" || doc.Signatures != nil {
		t.Errorf("schema1 document: %s", resp.Body)
	}
	if len(doc.FSLayers) != 2 || doc.FSLayers[0].BlobSum != img.Layers[1].Descriptor.Digest || doc.FSLayers[1].BlobSum != img.Layers[0].Descriptor.Digest {
		t.Errorf("fsLayers are not the layers top first: %+v", doc.FSLayers)
	}
	if len(doc.History) != 2 || !strings.Contains(doc.History[0].V1Compatibility, `"os":"linux"`) {
		t.Errorf("history: %+v", doc.History)
	}
	if !strings.HasPrefix(string(resp.Body), "{\n   \"schemaVersion\": 1,") {
		t.Errorf("not pretty-printed like prettyjws: %s", resp.Body)
	}
	// HEAD agrees; the schema1 digest itself is unknown (404).
	head := mqDo(t, reg, "HEAD", "/v2/team/app/manifests/v1", nil, "Accept", "application/json")
	wantHeader(t, head, "Docker-Content-Digest", string(d))
	wantHeader(t, head, "Content-Length", itoa(len(resp.Body)))
	mqWantQuirks(t, reg, "schema1-fallback(noAccept)")
	wantStatus(t, mqDo(t, reg, "GET", "/v2/team/app/manifests/"+string(d), nil), http.StatusNotFound)
	mqWantQuirks(t, reg)

	// Neighbours: a v2 type accepted, the manifest by digest.
	mqWantManifest(t, mqDo(t, reg, "GET", "/v2/team/app/manifests/v1", nil, "Accept", mqDockerV2), img.Bytes(), mqDockerV2, img.Digest())
	mqWantQuirks(t, reg)
	mqWantManifest(t, mqDo(t, reg, "GET", "/v2/team/app/manifests/"+string(img.Digest()), nil), img.Bytes(), mqDockerV2, img.Digest())
	mqWantQuirks(t, reg)

	// Docker-only Accept (Quay): schema2 asked for, schema1 served; OCI
	// accepted: the stored manifest.
	q := quirks.Schema1Fallback(quirks.Schema1DockerOnlyAccept)
	reg.SetQuirks(q)
	resp = mqDo(t, reg, "GET", "/v2/team/app/manifests/v1", nil, "Accept", mqDockerV2)
	wantHeader(t, resp, "Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws")
	mqWantQuirks(t, reg, q.String())
	mqWantManifest(t, mqDo(t, reg, "GET", "/v2/team/app/manifests/v1", nil, "Accept", mqDockerV2+", "+mqOCIImage), img.Bytes(), mqDockerV2, img.Digest())
	mqWantQuirks(t, reg)

	// With the list downgrade, an old client gets the amd64 child as
	// schema1 instead of the 400.
	reg.SetQuirks(quirks.DowngradeListForOldAccept(), quirks.Schema1Fallback(quirks.Schema1NoAccept))
	list := NewIndex(DockerMediaTypes())
	reg.PushIndex(t, "team/app", "multi", list)
	resp = mqDo(t, reg, "GET", "/v2/team/app/manifests/multi", nil)
	wantHeader(t, resp, "Content-Type", "application/vnd.docker.distribution.manifest.v1+prettyjws")
	amd64 := list.Manifests[0].(*Image)
	if !strings.Contains(string(resp.Body), string(amd64.Layers[0].Descriptor.Digest)) {
		t.Errorf("schema1 is not of the amd64 child: %s", resp.Body)
	}
	mqWantQuirks(t, reg, "accept-list-downgrade", "schema1-fallback(noAccept)")
}

func TestQuirkMediaTypeAllowlist(t *testing.T) {
	q := quirks.MediaTypeAllowlist(quirks.MediaTypeRules{Config: []string{ocispec.MediaTypeImageConfig}})
	reg := New(t, WithQuirks(q))
	img := NewImage()
	mqSeedBlobs(t, reg, "app", img)
	cfg := img.Config.Descriptor
	cfg.MediaType = "application/vnd.sh.ocx.package.v1+json"
	odd := mqManifestJSON(t, ocispec.Manifest{MediaType: mqOCIImage, Config: cfg, Layers: []ocispec.Descriptor{img.Layers[0].Descriptor}})

	before := reg.Store().Snapshot()
	resp := mqPut(t, reg, "app", "odd", odd, mqOCIImage)
	mqWantError(t, resp, http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid", `"unknown media type: application/vnd.sh.ocx.package.v1+json"`)
	mqWantQuirks(t, reg, q.String())
	unchanged(t, reg, before)
	wantStatus(t, mqPut(t, reg, "app", "image", img.Bytes(), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)

	// Quay-style: artifact types and layers, answered with 415.
	q = quirks.MediaTypeAllowlist(quirks.MediaTypeRules{
		ArtifactType: []string{"application/vnd.example.ok"},
		Layers:       []string{ocispec.MediaTypeImageLayerGzip},
		Error:        quirks.ErrorResponse{Status: http.StatusUnsupportedMediaType},
	})
	reg.SetQuirks(q)
	art := NewArtifact("application/vnd.example.other", nil)
	mqSeedBlobs(t, reg, "app", art)
	mqWantError(t, mqPut(t, reg, "app", "art", art.Bytes(), mqOCIImage), http.StatusUnsupportedMediaType, "MANIFEST_INVALID", "", `"unknown media type: application/vnd.example.other"`)
	mqWantQuirks(t, reg, q.String())
	layer := img.Layers[0].Descriptor
	layer.MediaType = "application/vnd.example.layer"
	reg.PushBlob(t, "app", img.Config.Data)
	odd = mqManifestJSON(t, ocispec.Manifest{MediaType: mqOCIImage, Config: img.Config.Descriptor, Layers: []ocispec.Descriptor{layer}})
	mqWantError(t, mqPut(t, reg, "app", "layer", odd, mqOCIImage), http.StatusUnsupportedMediaType, "MANIFEST_INVALID", "", "")
	wantStatus(t, mqPut(t, reg, "app", "image", img.Bytes(), mqOCIImage), http.StatusCreated) // config list nil: any config
	mqWantQuirks(t, reg)
}

func TestQuirkRequireManifestMediaTypeField(t *testing.T) {
	reg := New(t, WithQuirks(quirks.RequireManifestMediaTypeField()))
	img := NewImage()
	mqSeedBlobs(t, reg, "app", img)
	var m ocispec.Manifest
	if err := json.Unmarshal(img.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	m.MediaType = ""
	resp := mqPut(t, reg, "app", "v1", mqManifestJSON(t, m), mqOCIImage)
	mqWantError(t, resp, http.StatusMethodNotAllowed, "UNSUPPORTED", "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'", "")
	mqWantQuirks(t, reg, "ecr-requires-manifest-mediatype")
	wantStatus(t, mqPut(t, reg, "app", "v1", img.Bytes(), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)
}

func TestQuirkRejectManifestTypes(t *testing.T) {
	nexus := quirks.OCITypesUnsupported(quirks.ErrorResponse{}, mqOCIIndex)
	reg := New(t, WithQuirks(nexus))
	idx := NewIndex()
	for _, child := range idx.Manifests {
		reg.PushImage(t, "app", "", child.(*Image))
	}
	before := reg.Store().Snapshot()
	resp := mqPut(t, reg, "app", "multi", idx.Bytes(), mqOCIIndex)
	mqWantError(t, resp, http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid", `{"mediaType":"`+mqOCIIndex+`"}`)
	mqWantQuirks(t, reg, nexus.String())
	unchanged(t, reg, before)
	img := NewImage(Seed(7))
	mqSeedBlobs(t, reg, "app", img)
	wantStatus(t, mqPut(t, reg, "app", "v1", img.Bytes(), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)

	// Gitea: 404; default types: both OCI ones; Docker ones pass.
	gitea := quirks.OCITypesUnsupported(quirks.ErrorResponse{Status: http.StatusNotFound, Code: "MANIFEST_UNKNOWN"})
	reg.SetQuirks(gitea)
	mqWantError(t, mqPut(t, reg, "app", "v2", img.Bytes(), mqOCIImage), http.StatusNotFound, "MANIFEST_UNKNOWN", "", "")
	mqWantQuirks(t, reg, gitea.String())
	docker := NewImage(DockerMediaTypes())
	mqSeedBlobs(t, reg, "app", docker)
	wantStatus(t, mqPut(t, reg, "app", "docker", docker.Bytes(), mqDockerV2), http.StatusCreated)
	mqWantQuirks(t, reg)

	// Zot: Docker types refused, OCI ones pass.
	zot := quirks.DockerMediaTypesRejected(quirks.ErrorResponse{})
	reg.SetQuirks(zot)
	mqWantError(t, mqPut(t, reg, "app", "docker", docker.Bytes(), mqDockerV2), http.StatusBadRequest, "MANIFEST_INVALID", "", `{"mediaType":"`+mqDockerV2+`"}`)
	mqWantQuirks(t, reg, zot.String())
	wantStatus(t, mqPut(t, reg, "app", "v3", img.Bytes(), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)
}

func TestMixedMediaTypesContent(t *testing.T) {
	img := NewImage(MixedMediaTypes(), Layers(2))
	var m ocispec.Manifest
	if err := json.Unmarshal(img.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.MediaType != mqDockerV2 || m.Config.MediaType != "application/vnd.docker.container.image.v1+json" {
		t.Errorf("manifest %s / config %s, want Docker types", m.MediaType, m.Config.MediaType)
	}
	for _, l := range m.Layers {
		if l.MediaType != ocispec.MediaTypeImageLayerGzip {
			t.Errorf("layer type %s, want the OCI one", l.MediaType)
		}
	}
	if img.Descriptor().MediaType != mqDockerV2 {
		t.Errorf("descriptor type %s", img.Descriptor().MediaType)
	}
	// The option does not change other content.
	docker := NewImage(DockerMediaTypes(), Layers(2))
	if docker.Digest() == img.Digest() || docker.Layers[0].Descriptor.MediaType != dockerLayerType {
		t.Error("DockerMediaTypes changed")
	}
	if docker.Layers[0].Descriptor.Digest != img.Layers[0].Descriptor.Digest {
		t.Error("mixed layers differ in content from Docker ones")
	}

	// The registry keeps and serves it as pushed: seeded and over HTTP.
	reg := New(t)
	reg.PushImage(t, "app", "seeded", img)
	mqWantManifest(t, do(t, reg, "GET", "/v2/app/manifests/seeded", nil), img.Bytes(), mqDockerV2, img.Digest())
	wantStatus(t, mqPut(t, reg, "other", "pushed", nil, mqDockerV2), http.StatusBadRequest) // empty body: invalid
	mqSeedBlobs(t, reg, "other", img)
	wantStatus(t, mqPut(t, reg, "other", "pushed", img.Bytes(), mqDockerV2), http.StatusCreated)
	mqWantManifest(t, do(t, reg, "GET", "/v2/other/manifests/pushed", nil, "Accept: "+mqDockerV2), img.Bytes(), mqDockerV2, img.Digest())
}

func TestQuirkEmptyBlobRejected(t *testing.T) {
	emptyDigest := digest.FromBytes(nil)
	reg := New(t, WithQuirks(quirks.EmptyBlobRejected(quirks.EmptyBlobECR)))

	start := do(t, reg, "POST", "/v2/app/blobs/uploads/", nil)
	wantStatus(t, start, http.StatusAccepted)
	loc, id := start.Header.Get("Location"), start.Header.Get("Docker-Upload-UUID")
	resp := do(t, reg, "PUT", loc+"?digest="+string(emptyDigest), nil)
	mqWantError(t, resp, http.StatusBadRequest, "BLOB_UPLOAD_INVALID",
		"The upload with id '"+id+"' in the repository with name 'app' in registry with id '123456789012' cannot be completed because it does not have any parts.", "")
	mqWantQuirks(t, reg, "empty-blob-rejected(ecr)")
	resp = do(t, reg, "POST", "/v2/app/blobs/uploads/?digest="+string(emptyDigest), []byte{})
	mqWantError(t, resp, http.StatusBadRequest, "BLOB_UPLOAD_INVALID", "", "")
	mqWantQuirks(t, reg, "empty-blob-rejected(ecr)")
	if _, err := reg.Store().StatBlob("app", emptyDigest); err == nil {
		t.Error("the empty blob was stored")
	}
	// Neighbours: a non-empty blob through the same session and by POST.
	resp = do(t, reg, "PUT", loc+"?digest="+string(digest.FromBytes([]byte("x"))), []byte("x"))
	wantStatus(t, resp, http.StatusCreated)
	mqWantQuirks(t, reg)
	pushBlob(t, reg, "app", []byte("y"))
	mqWantQuirks(t, reg)

	// GAR: 400 too.
	reg.SetQuirks(quirks.EmptyBlobRejected(quirks.EmptyBlobGAR))
	resp = do(t, reg, "POST", "/v2/app/blobs/uploads/?digest="+string(emptyDigest), []byte{})
	mqWantError(t, resp, http.StatusBadRequest, "BLOB_UPLOAD_INVALID", "blob upload invalid", "")
	mqWantQuirks(t, reg, "empty-blob-rejected(gar)")

	// Harbor: the upload passes, a manifest with a size-0 config is a 500.
	reg.SetQuirks(quirks.EmptyBlobRejected(quirks.EmptyConfigHarbor))
	pushBlob(t, reg, "app", []byte{})
	mqWantQuirks(t, reg)
	layer := pushBlob(t, reg, "app", []byte("layer"))
	m := ocispec.Manifest{MediaType: mqOCIImage,
		Config: ocispec.Descriptor{MediaType: "application/vnd.example.config", Digest: emptyDigest, Size: 0},
		Layers: []ocispec.Descriptor{{MediaType: "application/octet-stream", Digest: layer, Size: 5}}}
	resp = mqPut(t, reg, "app", "v1", mqManifestJSON(t, m), mqOCIImage)
	mqWantError(t, resp, http.StatusInternalServerError, "UNKNOWN", "internal server error", "")
	mqWantQuirks(t, reg, "empty-blob-rejected(harborConfig)")
	m.Config = ocispec.Descriptor{MediaType: "application/vnd.example.config", Digest: digest.FromBytes([]byte("x")), Size: 1}
	wantStatus(t, mqPut(t, reg, "app", "v1", mqManifestJSON(t, m), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)
}

func TestQuirkManifestSizeLimit(t *testing.T) {
	small := NewImage()
	big := NewImage(Annotations(map[string]string{"pad": strings.Repeat("x", 2000)}))
	q := quirks.ManifestSizeLimit(quirks.ManifestSizeLimits{Put: 1500})
	reg := New(t, WithQuirks(q))
	mqSeedBlobs(t, reg, "app", big)
	before := reg.Store().Snapshot()
	resp := mqPut(t, reg, "app", "big", big.Bytes(), mqOCIImage)
	mqWantError(t, resp, http.StatusRequestEntityTooLarge, "SIZE_INVALID", "", "")
	mqWantQuirks(t, reg, q.String())
	unchanged(t, reg, before)
	wantStatus(t, mqPut(t, reg, "app", "small", small.Bytes(), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)

	// distribution 3.0: pushes pass, pulls of large manifests fail (500).
	q = quirks.ManifestSizeLimit(quirks.ManifestSizeLimits{Get: 1500, Status: http.StatusInternalServerError})
	reg.SetQuirks(q)
	wantStatus(t, mqPut(t, reg, "app", "big", big.Bytes(), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)
	for _, method := range []string{"GET", "HEAD"} {
		resp = mqDo(t, reg, method, "/v2/app/manifests/big", nil)
		mqWantError(t, resp, http.StatusInternalServerError, "UNKNOWN", "unknown error", "")
		mqWantQuirks(t, reg, q.String())
	}
	mqWantManifest(t, mqDo(t, reg, "GET", "/v2/app/manifests/small", nil), small.Bytes(), mqOCIImage, small.Digest())
	mqWantQuirks(t, reg)
	// 413 by default.
	reg.SetQuirks(quirks.ManifestSizeLimit(quirks.ManifestSizeLimits{Get: 1500}))
	mqWantError(t, mqDo(t, reg, "GET", "/v2/app/manifests/"+string(big.Digest()), nil), http.StatusRequestEntityTooLarge, "SIZE_INVALID", "", "")
}

func TestQuirkMaxLayersPerManifest(t *testing.T) {
	reg := New(t, WithQuirks(quirks.MaxLayersPerManifest(2)))
	three, two := NewImage(Layers(3)), NewImage(Layers(2))
	mqSeedBlobs(t, reg, "app", three)
	mqSeedBlobs(t, reg, "app", two)
	resp := mqPut(t, reg, "app", "three", three.Bytes(), mqOCIImage)
	mqWantError(t, resp, http.StatusMethodNotAllowed, "UNSUPPORTED", "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Limit on number of layers per image exceeded'", "")
	mqWantQuirks(t, reg, "layer-count-limit(2)")
	wantStatus(t, mqPut(t, reg, "app", "two", two.Bytes(), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)
}

func TestQuirkSHA256Only(t *testing.T) {
	q := quirks.SHA256Only(quirks.IgnoreDigestAlgorithm)
	reg := New(t, WithQuirks(q))
	img := NewImage()
	reg.PushImage(t, "app", "v1", img)
	sha512 := string(digest.SHA512.FromBytes(img.Bytes()))
	blob512 := string(digest.SHA512.FromBytes(img.Config.Data))

	for _, tc := range []struct {
		method, path string
		body         []byte
	}{
		{"PUT", "/v2/app/manifests/" + sha512, img.Bytes()},
		{"GET", "/v2/app/manifests/" + sha512, nil},
		{"HEAD", "/v2/app/blobs/" + blob512, nil},
		{"POST", "/v2/app/blobs/uploads/?digest=" + blob512, img.Config.Data},
		{"POST", "/v2/app/blobs/uploads/?mount=" + blob512 + "&from=other", nil},
	} {
		resp := mqDo(t, reg, tc.method, tc.path, tc.body, "Content-Type", mqOCIImage)
		mqWantError(t, resp, http.StatusBadRequest, "DIGEST_INVALID", "", "")
		mqWantQuirks(t, reg, q.String())
	}

	// ?digest-algorithm=sha512 ignored: the session hashes sha256, so the
	// sha512 finish fails and a sha256 one works.
	start := do(t, reg, "POST", "/v2/app/blobs/uploads/?digest-algorithm=sha512", nil)
	wantStatus(t, start, http.StatusAccepted)
	mqWantQuirks(t, reg, q.String())
	loc := start.Header.Get("Location")
	mqWantError(t, do(t, reg, "PUT", loc+"?digest="+string(digest.SHA512.FromBytes([]byte("z"))), []byte("z")), http.StatusBadRequest, "DIGEST_INVALID", "", "")
	wantStatus(t, do(t, reg, "PUT", loc+"?digest="+string(digest.FromBytes([]byte("z"))), []byte("z")), http.StatusCreated)
	mqWantQuirks(t, reg)

	// Neighbours: sha256 everywhere, digest-algorithm=sha256.
	mqWantManifest(t, mqDo(t, reg, "GET", "/v2/app/manifests/"+string(img.Digest()), nil), img.Bytes(), mqOCIImage, img.Digest())
	mqWantQuirks(t, reg)
	wantStatus(t, do(t, reg, "POST", "/v2/app/blobs/uploads/?digest-algorithm=sha256", nil), http.StatusAccepted)
	mqWantQuirks(t, reg)

	// Refused instead of ignored.
	q = quirks.SHA256Only(quirks.RefuseDigestAlgorithm)
	reg.SetQuirks(q)
	mqWantError(t, do(t, reg, "POST", "/v2/app/blobs/uploads/?digest-algorithm=sha512", nil), http.StatusBadRequest, "DIGEST_INVALID", "", "")
	mqWantQuirks(t, reg, q.String())
}

func TestQuirkRepoNameRestrictions(t *testing.T) {
	q := quirks.RepoNameRestrictions(quirks.RepoNameRules{MaxComponents: 2})
	reg := New(t, WithQuirks(q))
	resp := do(t, reg, "POST", "/v2/a/b/c/d/blobs/uploads/", nil)
	mqWantError(t, resp, http.StatusBadRequest, "NAME_INVALID", "", `{"name":"a/b/c/d"}`)
	mqWantQuirks(t, reg, q.String())
	wantStatus(t, do(t, reg, "GET", "/v2/a/b/c/tags/list", nil), http.StatusBadRequest)
	wantStatus(t, do(t, reg, "POST", "/v2/a/b/blobs/uploads/", nil), http.StatusAccepted)
	mqWantQuirks(t, reg)
	wantStatus(t, do(t, reg, "GET", "/v2/", nil), http.StatusOK)
	wantStatus(t, do(t, reg, "GET", "/v2/_catalog", nil), http.StatusOK)
	mqWantQuirks(t, reg)

	// A pattern, and namespaces (GitLab: under a project path).
	q = quirks.RepoNameRestrictions(quirks.RepoNameRules{Pattern: regexp.MustCompile(`^[a-z]+(/[a-z]+)*$`), Prefixes: []string{"group/project"}})
	reg.SetQuirks(q)
	mqWantError(t, do(t, reg, "POST", "/v2/group/project/app-1/blobs/uploads/", nil), http.StatusBadRequest, "NAME_INVALID", "", "")
	mqWantQuirks(t, reg, q.String())
	mqWantError(t, do(t, reg, "POST", "/v2/group/other/blobs/uploads/", nil), http.StatusNotFound, "NAME_UNKNOWN", "", "")
	mqWantError(t, do(t, reg, "POST", "/v2/group/projectx/blobs/uploads/", nil), http.StatusNotFound, "NAME_UNKNOWN", "", "")
	mqWantQuirks(t, reg, q.String())
	wantStatus(t, do(t, reg, "POST", "/v2/group/project/blobs/uploads/", nil), http.StatusAccepted)
	wantStatus(t, do(t, reg, "POST", "/v2/group/project/app/blobs/uploads/", nil), http.StatusAccepted)
	mqWantQuirks(t, reg)
}

func TestQuirkImmutableTags(t *testing.T) {
	q := quirks.ImmutableTags(quirks.TagImmutability{})
	reg := New(t, WithQuirks(q))
	v1, v2 := NewImage(Seed(1)), NewImage(Seed(2))
	mqSeedBlobs(t, reg, "app_service_image", v1)
	mqSeedBlobs(t, reg, "app_service_image", v2)
	wantStatus(t, mqPut(t, reg, "app_service_image", "latest", v1.Bytes(), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)

	before := reg.Store().Snapshot()
	for _, body := range [][]byte{v1.Bytes(), v2.Bytes()} { // even the same digest
		resp := mqPut(t, reg, "app_service_image", "latest", body, mqOCIImage)
		mqWantError(t, resp, http.StatusBadRequest, "TAG_INVALID",
			"The image tag 'latest' already exists in the 'app_service_image' repository and cannot be overwritten because the repository is immutable.", "")
		mqWantQuirks(t, reg, q.String())
	}
	resp := mqPut(t, reg, "app_service_image", string(v2.Digest())+"?tag=new&tag=latest", v2.Bytes(), mqOCIImage)
	mqWantError(t, resp, http.StatusBadRequest, "TAG_INVALID", "", "")
	unchanged(t, reg, before)
	// Neighbours: a new tag, a push by digest.
	wantStatus(t, mqPut(t, reg, "app_service_image", "v2", v2.Bytes(), mqOCIImage), http.StatusCreated)
	wantStatus(t, mqPut(t, reg, "app_service_image", string(v1.Digest()), v1.Bytes(), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)

	// Only moves refused, latest exempt, a 409 of an ECR emulator.
	q = quirks.ImmutableTags(quirks.TagImmutability{
		Mode:   quirks.ImmutableRejectDifferentDigest,
		Except: []string{"latest"},
		Error:  quirks.ErrorResponse{Status: http.StatusConflict, Code: "TAG_IMMUTABLE", Message: "tag is immutable"},
	})
	reg.SetQuirks(q)
	wantStatus(t, mqPut(t, reg, "app_service_image", "v2", v2.Bytes(), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)
	mqWantError(t, mqPut(t, reg, "app_service_image", "v2", v1.Bytes(), mqOCIImage), http.StatusConflict, "TAG_IMMUTABLE", "tag is immutable", "")
	mqWantQuirks(t, reg, q.String())
	wantStatus(t, mqPut(t, reg, "app_service_image", "latest", v2.Bytes(), mqOCIImage), http.StatusCreated)
	mqWantQuirks(t, reg)
}

func TestQuirkDeleteUnsupported(t *testing.T) {
	q := quirks.DeleteUnsupported(quirks.DeleteRules{Manifests: quirks.DeleteRefused, Blobs: quirks.DeleteRefused})
	reg := New(t, WithQuirks(q))
	img := NewImage()
	reg.PushImage(t, "app", "v1", img)
	before := reg.Store().Snapshot()
	for _, path := range []string{
		"/v2/app/manifests/" + string(img.Digest()),
		"/v2/app/manifests/v1",
		"/v2/app/manifests/missing",
		"/v2/app/blobs/" + string(img.Config.Descriptor.Digest),
	} {
		resp := do(t, reg, "DELETE", path, nil)
		mqWantError(t, resp, http.StatusMethodNotAllowed, "UNSUPPORTED", "The operation is unsupported.", "")
		mqWantQuirks(t, reg, q.String())
	}
	unchanged(t, reg, before)
	// Neighbours: reads, and cancelling an upload (a DELETE too).
	wantStatus(t, do(t, reg, "GET", "/v2/app/manifests/v1", nil), http.StatusOK)
	start := do(t, reg, "POST", "/v2/app/blobs/uploads/", nil)
	wantStatus(t, do(t, reg, "DELETE", start.Header.Get("Location"), nil), http.StatusNoContent)
	mqWantQuirks(t, reg)

	// Pulp: tags refused with 400, digests and blobs deleted.
	q = quirks.DeleteUnsupported(quirks.DeleteRules{Manifests: quirks.DeleteByDigestOnly, TagStatus: http.StatusBadRequest})
	reg.SetQuirks(q)
	mqWantError(t, do(t, reg, "DELETE", "/v2/app/manifests/v1", nil), http.StatusBadRequest, "UNSUPPORTED", "", "")
	mqWantQuirks(t, reg, q.String())
	wantStatus(t, do(t, reg, "DELETE", "/v2/app/manifests/"+string(img.Digest()), nil), http.StatusAccepted)
	wantStatus(t, do(t, reg, "DELETE", "/v2/app/blobs/"+string(img.Config.Descriptor.Digest), nil), http.StatusAccepted)
	mqWantQuirks(t, reg)
}

// TestManifestQuirksScoped checks that ForRepos confines these quirks.
func TestManifestQuirksScoped(t *testing.T) {
	reg := New(t, WithQuirks(quirks.ForRepos("strict/*", quirks.StrictAccept(), quirks.DeleteUnsupported(quirks.DeleteRules{Manifests: quirks.DeleteRefused}))...))
	img := NewImage()
	reg.PushImage(t, "strict/app", "v1", img)
	reg.PushImage(t, "lax/app", "v1", img)
	wantStatus(t, mqDo(t, reg, "GET", "/v2/strict/app/manifests/v1", nil, "Accept", mqDockerV2), http.StatusNotFound)
	wantStatus(t, mqDo(t, reg, "GET", "/v2/lax/app/manifests/v1", nil, "Accept", mqDockerV2), http.StatusOK)
	wantStatus(t, do(t, reg, "DELETE", "/v2/strict/app/manifests/v1", nil), http.StatusMethodNotAllowed)
	wantStatus(t, do(t, reg, "DELETE", "/v2/lax/app/manifests/v1", nil), http.StatusAccepted)
}
