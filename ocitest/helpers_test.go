package ocitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// response is a finished HTTP exchange with its body read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends one request to reg and reads the whole response. header holds
// request headers as "Name: value" pairs; body may be nil.
func do(t testing.TB, reg *Registry, method, path string, body []byte, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, reg.URL()+path, rd)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, path, err)
	}
	for _, h := range header {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			t.Fatalf("header %q is not Name: value", h)
		}
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	resp, err := reg.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// wantStatus fails the test unless resp has the given status.
func wantStatus(t testing.TB, resp response, status int) {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("status = %d, want %d; body: %s", resp.Status, status, resp.Body)
	}
}

// wantHeader fails the test unless resp has header name set to value.
func wantHeader(t testing.TB, resp response, name, value string) {
	t.Helper()
	if got := resp.Header.Get(name); got != value {
		t.Errorf("header %s = %q, want %q", name, got, value)
	}
}

// wantError checks an error response: its status, the JSON content type,
// and the spec's error body with the given code first.
func wantError(t testing.TB, resp response, status int, code memstore.Code) {
	t.Helper()
	if resp.Status != status {
		t.Errorf("status = %d, want %d; body: %s", resp.Status, status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	if resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
		t.Errorf("error response lacks Docker-Distribution-API-Version")
	}
	var body struct {
		Errors []struct {
			Code    memstore.Code `json:"code"`
			Message string        `json:"message"`
		} `json:"errors"`
	}
	if len(resp.Body) == 0 {
		return // HEAD responses carry no body
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, resp.Body)
	}
	if len(body.Errors) == 0 || body.Errors[0].Code != code {
		t.Errorf("error body = %s, want code %s", resp.Body, code)
	}
}

// unchanged fails the test if the store differs from before, showing the
// difference.
func unchanged(t testing.TB, reg *Registry, before memstore.Snapshot) {
	t.Helper()
	if diff := cmp.Diff(before, reg.Store().Snapshot()); diff != "" {
		t.Errorf("store changed (-before +after):\n%s", diff)
	}
}

// pushBlob stores b in repo over HTTP (monolithic POST) and returns its digest.
func pushBlob(t testing.TB, reg *Registry, repo string, b []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(b)
	resp := do(t, reg, "POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(d), b)
	wantStatus(t, resp, http.StatusCreated)
	return d
}

// testImage is a small image manifest with its config and one layer.
type testImage struct {
	Config, Layer []byte
	Manifest      []byte
	Digest        digest.Digest
}

// newTestImage builds an image manifest (OCI) whose content depends on
// seed, with optional subject and artifactType.
func newTestImage(seed string, subject *ocispec.Descriptor, artifactType string) testImage {
	cfg := []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`)
	layer := []byte("layer bytes for " + seed)
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))},
		Layers:       []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromBytes(layer), Size: int64(len(layer))}},
		Subject:      subject,
		Annotations:  map[string]string{"seed": seed},
	}
	m.SchemaVersion = 2
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return testImage{Config: cfg, Layer: layer, Manifest: b, Digest: digest.FromBytes(b)}
}

// descriptor describes the image's manifest.
func (img testImage) descriptor() *ocispec.Descriptor {
	return &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: img.Digest, Size: int64(len(img.Manifest))}
}

// pushImage pushes the image's blobs and manifest to repo under ref (a tag
// or its digest) over HTTP.
func pushImage(t testing.TB, reg *Registry, repo, ref string, img testImage) {
	t.Helper()
	pushBlob(t, reg, repo, img.Config)
	pushBlob(t, reg, repo, img.Layer)
	resp := do(t, reg, "PUT", "/v2/"+repo+"/manifests/"+ref, img.Manifest, "Content-Type: "+ocispec.MediaTypeImageManifest)
	wantStatus(t, resp, http.StatusCreated)
}
