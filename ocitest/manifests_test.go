package ocitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Helpers of this file are prefixed "mf" so they cannot clash with the
// helpers other test files of the package define.

// mfDoReader is do with a body of unknown length: the request goes out
// with Transfer-Encoding: chunked and no Content-Length.
func mfDoReader(t testing.TB, reg *Registry, method, path string, body io.Reader, header ...string) response {
	t.Helper()
	// Hiding the concrete type keeps net/http from learning the length.
	req, err := http.NewRequest(method, reg.URL()+path, struct{ io.Reader }{body})
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, path, err)
	}
	for _, h := range header {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if req.ContentLength != 0 {
		t.Fatalf("request has ContentLength %d, want unknown", req.ContentLength)
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

// mfPut pushes a manifest with the given Content-Type.
func mfPut(t testing.TB, reg *Registry, repo, ref, contentType string, body []byte) response {
	t.Helper()
	return do(t, reg, "PUT", "/v2/"+repo+"/manifests/"+ref, body, "Content-Type: "+contentType)
}

// mfWantBody fails the test unless resp's body is exactly want.
func mfWantBody(t testing.TB, resp response, want []byte) {
	t.Helper()
	if !bytes.Equal(resp.Body, want) {
		t.Errorf("body differs from what was pushed:\n got %q\nwant %q", resp.Body, want)
	}
}

// mfPushBlobs pushes each blob into repo.
func mfPushBlobs(t testing.TB, reg *Registry, repo string, blobs ...[]byte) {
	t.Helper()
	for _, b := range blobs {
		pushBlob(t, reg, repo, b)
	}
}

// mfHandMade is a manifest written by hand as non-canonical JSON (odd
// whitespace and key order, CRLF, trailing newlines) with the blobs it
// needs.
type mfHandMade struct {
	name      string
	mediaType string
	blobs     [][]byte
	body      []byte
}

// mfHandMadeManifests pushes nothing; it returns one manifest of every
// media type the registry understands. The index and the manifest list
// name child manifests that are returned first in the list, so pushing
// them in order satisfies even a strict store.
func mfHandMadeManifests(seed string) []mfHandMade {
	ociCfg := []byte(`{"os":"linux","architecture":"arm64","seed":"` + seed + `"}`)
	ociLayer := []byte("oci layer " + seed)
	ociManifest := []byte(fmt.Sprintf("{\n\t\"layers\" : [ {\"size\":%d,\r\n \"mediaType\":\"%s\", \"digest\":\"%s\"} ] ,\n"+
		"   \"config\":{\"size\":%d,\"digest\":\"%s\",   \"mediaType\":\"%s\"},\n"+
		"\"annotations\":{\"z\":\"last\",\"a\":\"first\"},\"schemaVersion\" :2 ,\"mediaType\":\"%s\"  }\n\n",
		len(ociLayer), ocispec.MediaTypeImageLayerGzip, digest.FromBytes(ociLayer),
		len(ociCfg), digest.FromBytes(ociCfg), ocispec.MediaTypeImageConfig, ocispec.MediaTypeImageManifest))

	ociIndex := []byte(fmt.Sprintf("  {\"manifests\":[\n  {\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"},"+
		"\"digest\":\"%s\",\"size\":%d,\"mediaType\":\"%s\"}],\n\"mediaType\":\"%s\",\t\"schemaVersion\":2}",
		digest.FromBytes(ociManifest), len(ociManifest), ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex))

	dockerCfg := []byte(`{"os":"linux","architecture":"amd64","docker":"` + seed + `"}`)
	dockerLayer := []byte("docker layer " + seed)
	dockerManifest := []byte(fmt.Sprintf("{\r\n   \"schemaVersion\": 2,\r\n   \"mediaType\": \"%s\",\r\n"+
		"   \"config\": {\r\n      \"mediaType\": \"application/vnd.docker.container.image.v1+json\",\r\n"+
		"      \"size\": %d,\r\n      \"digest\": \"%s\"\r\n   },\r\n   \"layers\": [\r\n      {\r\n"+
		"         \"mediaType\": \"application/vnd.docker.image.rootfs.diff.tar.gzip\",\r\n"+
		"         \"size\": %d,\r\n         \"digest\": \"%s\"\r\n      }\r\n   ]\r\n}",
		memstore.MediaTypeDockerManifest, len(dockerCfg), digest.FromBytes(dockerCfg), len(dockerLayer), digest.FromBytes(dockerLayer)))

	dockerList := []byte(fmt.Sprintf("{\"mediaType\":   \"%s\",\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\","+
		"\"size\":%d,\"digest\":\"%s\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}   \t\n",
		memstore.MediaTypeDockerManifestList, memstore.MediaTypeDockerManifest, len(dockerManifest), digest.FromBytes(dockerManifest)))

	return []mfHandMade{
		{"oci-manifest", ocispec.MediaTypeImageManifest, [][]byte{ociCfg, ociLayer}, ociManifest},
		{"oci-index", ocispec.MediaTypeImageIndex, nil, ociIndex},
		{"docker-manifest", memstore.MediaTypeDockerManifest, [][]byte{dockerCfg, dockerLayer}, dockerManifest},
		{"docker-manifest-list", memstore.MediaTypeDockerManifestList, nil, dockerList},
	}
}

// mfSeed pushes an image tagged v1 into repo and returns it.
func mfSeed(t testing.TB, reg *Registry, repo string) testImage {
	t.Helper()
	img := newTestImage(repo, nil, "")
	pushImage(t, reg, repo, "v1", img)
	return img
}

func TestManifestPutByTag(t *testing.T) {
	reg := New(t)
	img := newTestImage("put-by-tag", nil, "")
	mfPushBlobs(t, reg, "team/app", img.Config, img.Layer)

	resp := mfPut(t, reg, "team/app", "v1", ocispec.MediaTypeImageManifest, img.Manifest)
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest))
	wantHeader(t, resp, "Content-Length", "0")
	wantHeader(t, resp, "Docker-Distribution-API-Version", "registry/2.0")
	if len(resp.Body) != 0 {
		t.Errorf("201 has a body: %q", resp.Body)
	}
	if got := resp.Header.Get("OCI-Subject"); got != "" {
		t.Errorf("OCI-Subject = %q for a manifest without subject", got)
	}
	if got := resp.Header.Values("OCI-Tag"); len(got) != 0 {
		t.Errorf("OCI-Tag = %q without ?tag=", got)
	}

	// Location is a pullable manifest URL.
	loc := resp.Header.Get("Location")
	if loc == "" {
		t.Fatal("no Location")
	}
	pull := do(t, reg, "GET", loc, nil)
	wantStatus(t, pull, http.StatusOK)
	mfWantBody(t, pull, img.Manifest)

	// Pushing the same bytes again under the same tag is still a 201 and
	// changes nothing.
	before := reg.Store().Snapshot()
	again := mfPut(t, reg, "team/app", "v1", ocispec.MediaTypeImageManifest, img.Manifest)
	wantStatus(t, again, http.StatusCreated)
	unchanged(t, reg, before)
}

func TestManifestPutByDigest(t *testing.T) {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		t.Run(string(alg), func(t *testing.T) {
			reg := New(t)
			img := newTestImage("put-by-digest-"+string(alg), nil, "")
			mfPushBlobs(t, reg, "team/app", img.Config, img.Layer)
			d := alg.FromBytes(img.Manifest)

			resp := mfPut(t, reg, "team/app", string(d), ocispec.MediaTypeImageManifest, img.Manifest)
			wantStatus(t, resp, http.StatusCreated)
			// The spec: Docker-Content-Digest MUST equal the client provided digest.
			wantHeader(t, resp, "Docker-Content-Digest", string(d))
			wantHeader(t, resp, "Content-Length", "0")

			loc := resp.Header.Get("Location")
			if loc == "" {
				t.Fatal("no Location")
			}
			pull := do(t, reg, "GET", loc, nil)
			wantStatus(t, pull, http.StatusOK)
			mfWantBody(t, pull, img.Manifest)
			if got := digest.Digest(pull.Header.Get("Docker-Content-Digest")); got.Algorithm() != alg || got != d {
				t.Errorf("GET Location: Docker-Content-Digest = %q, want %q", got, d)
			}

			// The manifest answers to both algorithms' digests.
			for _, other := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
				od := other.FromBytes(img.Manifest)
				r := do(t, reg, "GET", "/v2/team/app/manifests/"+string(od), nil)
				wantStatus(t, r, http.StatusOK)
				wantHeader(t, r, "Docker-Content-Digest", string(od))
				mfWantBody(t, r, img.Manifest)
			}

			// Pushed by digest, the manifest has no tags.
			tags := do(t, reg, "GET", "/v2/team/app/tags/list", nil)
			wantStatus(t, tags, http.StatusOK)
			if !strings.Contains(string(tags.Body), `"tags":[]`) {
				t.Errorf("tags after a push by digest: %s", tags.Body)
			}
		})
	}
}

// mfOCITags collects the tags of every OCI-Tag header, which RFC 9110 lets
// a server fold into comma-separated lists.
func mfOCITags(h http.Header) []string {
	var tags []string
	for _, v := range h.Values("OCI-Tag") {
		for _, tag := range strings.Split(v, ",") {
			tags = append(tags, strings.TrimSpace(tag))
		}
	}
	return tags
}

func TestManifestPutWithTagParams(t *testing.T) {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		t.Run(string(alg), func(t *testing.T) {
			reg := New(t)
			img := newTestImage("tag-params", nil, "")
			mfPushBlobs(t, reg, "team/app", img.Config, img.Layer)
			d := alg.FromBytes(img.Manifest)
			want := []string{"a", "b", "1.2.3", "Latest"}
			path := "/v2/team/app/manifests/" + string(d) + "?tag=a&tag=b&tag=1.2.3&tag=Latest"
			resp := do(t, reg, "PUT", path, img.Manifest, "Content-Type: "+ocispec.MediaTypeImageManifest)
			wantStatus(t, resp, http.StatusCreated)
			wantHeader(t, resp, "Docker-Content-Digest", string(d))
			got := mfOCITags(resp.Header)
			if !slices.Equal(got, want) {
				t.Errorf("OCI-Tag = %q, want %q", got, want)
			}
			for _, tag := range want {
				r := do(t, reg, "GET", "/v2/team/app/manifests/"+tag, nil)
				wantStatus(t, r, http.StatusOK)
				mfWantBody(t, r, img.Manifest)
			}
			tags := do(t, reg, "GET", "/v2/team/app/tags/list", nil)
			wantStatus(t, tags, http.StatusOK)
			var list struct{ Tags []string }
			if err := json.Unmarshal(tags.Body, &list); err != nil {
				t.Fatal(err)
			}
			sorted := slices.Sorted(slices.Values(want))
			if !slices.Equal(list.Tags, sorted) {
				t.Errorf("tags = %q, want %q", list.Tags, sorted)
			}
		})
	}
}

func TestManifestPutWithSubject(t *testing.T) {
	reg := New(t)
	subject := newTestImage("subject", nil, "")
	pushImage(t, reg, "team/app", "v1", subject)

	ref := newTestImage("referrer", subject.descriptor(), "application/vnd.example.sbom.v1")
	mfPushBlobs(t, reg, "team/app", ref.Config, ref.Layer)
	resp := mfPut(t, reg, "team/app", string(ref.Digest), ocispec.MediaTypeImageManifest, ref.Manifest)
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "OCI-Subject", string(subject.Digest))

	// An index with a subject is a referrer too.
	idx := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[],"subject":{"mediaType":%q,"digest":%q,"size":%d}}`,
		ocispec.MediaTypeImageIndex, ocispec.MediaTypeImageManifest, subject.Digest, len(subject.Manifest)))
	resp = mfPut(t, reg, "team/app", "idx", ocispec.MediaTypeImageIndex, idx)
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "OCI-Subject", string(subject.Digest))
}

func TestManifestMediaTypesExactBytes(t *testing.T) {
	reg := New(t)
	for _, m := range mfHandMadeManifests("exact") {
		t.Run(m.name, func(t *testing.T) {
			if canon, err := json.Marshal(json.RawMessage(m.body)); err == nil && bytes.Equal(canon, m.body) {
				t.Fatalf("test manifest is canonical JSON; it should not be")
			}
			mfPushBlobs(t, reg, "team/app", m.blobs...)
			d := digest.FromBytes(m.body)
			resp := mfPut(t, reg, "team/app", m.name, m.mediaType, m.body)
			wantStatus(t, resp, http.StatusCreated)
			// The digest is of the bytes as pushed, not of a re-encoding.
			wantHeader(t, resp, "Docker-Content-Digest", string(d))

			for _, ref := range []string{m.name, string(d)} {
				for _, method := range []string{"GET", "HEAD"} {
					r := do(t, reg, method, "/v2/team/app/manifests/"+ref, nil)
					wantStatus(t, r, http.StatusOK)
					wantHeader(t, r, "Content-Type", m.mediaType)
					wantHeader(t, r, "Content-Length", strconv.Itoa(len(m.body)))
					wantHeader(t, r, "Docker-Content-Digest", string(d))
					if method == "GET" {
						mfWantBody(t, r, m.body)
					} else if len(r.Body) != 0 {
						t.Errorf("HEAD has a body of %d bytes", len(r.Body))
					}
				}
			}
		})
	}
}

// TestManifestContentTypeSources: the stored media type comes from the
// Content-Type (its parameters ignored), else the mediaType field, else
// the manifest's shape; GET answers it without parameters.
func TestManifestContentTypeSources(t *testing.T) {
	reg := New(t)
	img := newTestImage("content-type", nil, "")
	mfPushBlobs(t, reg, "team/app", img.Config, img.Layer)
	noField := []byte(fmt.Sprintf(`{"schemaVersion":2,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[]}`,
		ocispec.MediaTypeImageConfig, digest.FromBytes(img.Config), len(img.Config)))
	noFieldIndex := []byte(`{"schemaVersion":2,"manifests":[]}`)
	tests := []struct {
		name   string
		header []string
		body   []byte
		want   string
	}{
		{"parameters ignored", []string{"Content-Type: " + ocispec.MediaTypeImageManifest + "; charset=utf-8"}, img.Manifest, ocispec.MediaTypeImageManifest},
		{"no Content-Type", nil, img.Manifest, ocispec.MediaTypeImageManifest},
		{"application/json", []string{"Content-Type: application/json"}, img.Manifest, ocispec.MediaTypeImageManifest},
		{"Content-Type only", []string{"Content-Type: " + ocispec.MediaTypeImageManifest}, noField, ocispec.MediaTypeImageManifest},
		{"image shape", nil, noField, ocispec.MediaTypeImageManifest},
		{"index shape", nil, noFieldIndex, ocispec.MediaTypeImageIndex},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tag := fmt.Sprintf("t%d", i)
			wantStatus(t, do(t, reg, "PUT", "/v2/team/app/manifests/"+tag, tc.body, tc.header...), http.StatusCreated)
			for _, method := range []string{"GET", "HEAD"} {
				resp := do(t, reg, method, "/v2/team/app/manifests/"+tag, nil)
				wantStatus(t, resp, http.StatusOK)
				wantHeader(t, resp, "Content-Type", tc.want)
			}
		})
	}
}

func TestManifestGetHead(t *testing.T) {
	reg := New(t)
	img := newTestImage("get-head", nil, "")
	pushImage(t, reg, "team/app", "v1", img)
	sha512 := digest.SHA512.FromBytes(img.Manifest)

	tests := []struct {
		name, ref  string
		wantDigest digest.Digest
	}{
		// By tag the digest is the canonical (sha256) one.
		{"tag", "v1", img.Digest},
		{"sha256", string(img.Digest), img.Digest},
		// By digest, the header is in the algorithm the client asked for.
		{"sha512", string(sha512), sha512},
	}
	for _, tc := range tests {
		for _, method := range []string{"GET", "HEAD"} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				path := "/v2/team/app/manifests/" + tc.ref
				resp := do(t, reg, method, path, nil)
				wantStatus(t, resp, http.StatusOK)
				wantHeader(t, resp, "Content-Type", ocispec.MediaTypeImageManifest)
				wantHeader(t, resp, "Content-Length", strconv.Itoa(len(img.Manifest)))
				wantHeader(t, resp, "Docker-Content-Digest", string(tc.wantDigest))
				wantHeader(t, resp, "Docker-Distribution-API-Version", "registry/2.0")
				if method == "HEAD" {
					if len(resp.Body) != 0 {
						t.Errorf("HEAD has a body: %q", resp.Body)
					}
				} else {
					mfWantBody(t, resp, img.Manifest)
					if got := tc.wantDigest.Algorithm().FromBytes(resp.Body); got != tc.wantDigest {
						t.Errorf("body digest %s does not match Docker-Content-Digest %s", got, tc.wantDigest)
					}
				}

				etag := resp.Header.Get("ETag")
				if len(etag) < 3 || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
					t.Fatalf("ETag = %q, want a strong entity tag", etag)
				}
				for _, match := range []string{etag, "*"} {
					nm := do(t, reg, method, path, nil, "If-None-Match: "+match)
					wantStatus(t, nm, http.StatusNotModified)
					if len(nm.Body) != 0 {
						t.Errorf("304 has a body: %q", nm.Body)
					}
					wantHeader(t, nm, "ETag", etag)
				}
				other := do(t, reg, method, path, nil, `If-None-Match: "sha256:something-else"`)
				wantStatus(t, other, http.StatusOK)
				// RFC 9110 13.1.2: If-None-Match is a list of entity tags
				// compared weakly.
				for _, match := range []string{`"sha256:something-else", ` + etag, `W/` + etag, `"a",` + etag + `,"b"`} {
					nm := do(t, reg, method, path, nil, "If-None-Match: "+match)
					if nm.Status != http.StatusNotModified {
						t.Errorf("If-None-Match: %s: status %d, want 304", match, nm.Status)
					}
				}
			})
		}
	}
}

// TestManifestDigestAfterSHA512Push pushes a manifest by its sha512
// digest with a ?tag=. GET by that tag answers the digest it was pushed
// by, sha512 (the conformance suite's "Tag Param sha512" data requires
// it); a later push of the same bytes by tag answers sha256, the digest of
// a push by tag.
func TestManifestDigestAfterSHA512Push(t *testing.T) {
	reg := New(t)
	img := newTestImage("sha512-first", nil, "")
	mfPushBlobs(t, reg, "team/app", img.Config, img.Layer)
	d512 := digest.SHA512.FromBytes(img.Manifest)
	resp := do(t, reg, "PUT", "/v2/team/app/manifests/"+string(d512)+"?tag=t", img.Manifest, "Content-Type: "+ocispec.MediaTypeImageManifest)
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "Docker-Content-Digest", string(d512))

	for _, method := range []string{"GET", "HEAD"} {
		for _, ref := range []string{"t", string(d512)} {
			r := do(t, reg, method, "/v2/team/app/manifests/"+ref, nil)
			wantStatus(t, r, http.StatusOK)
			wantHeader(t, r, "Docker-Content-Digest", string(d512))
		}
		r := do(t, reg, method, "/v2/team/app/manifests/"+string(img.Digest), nil)
		wantStatus(t, r, http.StatusOK)
		wantHeader(t, r, "Docker-Content-Digest", string(img.Digest))
	}
	resp = mfPut(t, reg, "team/app", "t2", ocispec.MediaTypeImageManifest, img.Manifest)
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest))
	if loc := resp.Header.Get("Location"); !strings.HasSuffix(loc, string(img.Digest)) {
		t.Errorf("Location = %q, want the sha256 digest", loc)
	}
	if got := do(t, reg, "GET", resp.Header.Get("Location"), nil); got.Status != http.StatusOK {
		t.Errorf("GET Location: %d", got.Status)
	}
}

func TestManifestGetIgnoresAccept(t *testing.T) {
	// A stored manifest has exactly one representation: the bytes pushed,
	// with the media type pushed. There is nothing to convert it to, so
	// the registry returns it whatever the Accept header lists (an Accept
	// naming other types only, */*, or none at all); it is up to the
	// client to check the Content-Type it got.
	reg := New(t)
	img := newTestImage("accept", nil, "")
	pushImage(t, reg, "team/app", "v1", img)
	accepts := []string{
		"", // no Accept header
		"*/*",
		"application/json",
		memstore.MediaTypeDockerManifest,
		memstore.MediaTypeDockerManifest + ", " + memstore.MediaTypeDockerManifestList,
		ocispec.MediaTypeImageIndex,
		ocispec.MediaTypeImageManifest,
		"text/html;q=0.9, application/vnd.oci.image.manifest.v1+json;q=0.1",
	}
	for _, accept := range accepts {
		for _, ref := range []string{"v1", string(img.Digest)} {
			var hdr []string
			if accept != "" {
				hdr = append(hdr, "Accept: "+accept)
			}
			resp := do(t, reg, "GET", "/v2/team/app/manifests/"+ref, nil, hdr...)
			if resp.Status != http.StatusOK {
				t.Errorf("Accept %q, ref %s: status %d, want 200", accept, ref, resp.Status)
				continue
			}
			if ct := resp.Header.Get("Content-Type"); ct != ocispec.MediaTypeImageManifest {
				t.Errorf("Accept %q: Content-Type = %q, want %q", accept, ct, ocispec.MediaTypeImageManifest)
			}
			mfWantBody(t, resp, img.Manifest)
		}
	}

	// The same holds for a Docker manifest asked for with an OCI-only Accept.
	for _, m := range mfHandMadeManifests("accept") {
		if m.mediaType != memstore.MediaTypeDockerManifest {
			continue
		}
		mfPushBlobs(t, reg, "team/docker", m.blobs...)
		wantStatus(t, mfPut(t, reg, "team/docker", "v1", m.mediaType, m.body), http.StatusCreated)
		resp := do(t, reg, "GET", "/v2/team/docker/manifests/v1", nil, "Accept: "+ocispec.MediaTypeImageManifest)
		wantStatus(t, resp, http.StatusOK)
		wantHeader(t, resp, "Content-Type", memstore.MediaTypeDockerManifest)
		mfWantBody(t, resp, m.body)
	}
}

func TestManifestPullErrors(t *testing.T) {
	reg := New(t)
	img := mfSeed(t, reg, "team/app")
	unknown := digest.FromString("never pushed")
	tests := []struct {
		name   string
		method string
		path   string
		status int
		code   memstore.Code
	}{
		{"unknown tag", "GET", "/v2/team/app/manifests/nope", 404, memstore.CodeManifestUnknown},
		{"unknown tag HEAD", "HEAD", "/v2/team/app/manifests/nope", 404, memstore.CodeManifestUnknown},
		{"unknown digest", "GET", "/v2/team/app/manifests/" + string(unknown), 404, memstore.CodeManifestUnknown},
		{"unknown sha512 digest", "GET", "/v2/team/app/manifests/" + string(digest.SHA512.FromString("x")), 404, memstore.CodeManifestUnknown},
		{"digest of a blob", "GET", "/v2/team/app/manifests/" + string(digest.FromBytes(img.Config)), 404, memstore.CodeManifestUnknown},
		{"unknown repo by tag", "GET", "/v2/team/nope/manifests/v1", 404, memstore.CodeNameUnknown},
		{"unknown repo by digest", "GET", "/v2/team/nope/manifests/" + string(img.Digest), 404, memstore.CodeNameUnknown},
		{"unknown repo HEAD", "HEAD", "/v2/team/nope/manifests/v1", 404, memstore.CodeNameUnknown},
		// The spec has no error code for a malformed tag; the registry
		// answers 400 MANIFEST_INVALID.
		{"invalid tag", "GET", "/v2/team/app/manifests/-v1", 400, memstore.CodeManifestInvalid},
		{"tag too long", "GET", "/v2/team/app/manifests/" + strings.Repeat("t", 129), 400, memstore.CodeManifestInvalid},
		{"invalid digest", "GET", "/v2/team/app/manifests/sha256:xyz", 400, memstore.CodeDigestInvalid},
		{"invalid digest HEAD", "HEAD", "/v2/team/app/manifests/sha256:xyz", 400, memstore.CodeDigestInvalid},
		{"unsupported algorithm", "GET", "/v2/team/app/manifests/md5:d41d8cd98f00b204e9800998ecf8427e", 400, memstore.CodeDigestInvalid},
		{"uppercase hex", "GET", "/v2/team/app/manifests/" + strings.ToUpper(string(img.Digest)), 400, memstore.CodeDigestInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := reg.Store().Snapshot()
			resp := do(t, reg, tc.method, tc.path, nil)
			wantError(t, resp, tc.status, tc.code)
			if resp.Header.Get("Docker-Content-Digest") != "" {
				t.Errorf("error response has Docker-Content-Digest %q", resp.Header.Get("Docker-Content-Digest"))
			}
			unchanged(t, reg, before)
		})
	}
}

func TestManifestPushErrors(t *testing.T) {
	reg := New(t)
	img := mfSeed(t, reg, "team/app")
	valid := newTestImage("push-errors", nil, "")
	mfPushBlobs(t, reg, "team/app", valid.Config, valid.Layer)
	missing := newTestImage("config never pushed", nil, "")
	mt := ocispec.MediaTypeImageManifest
	cfgDesc := fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d}`, ocispec.MediaTypeImageConfig, digest.FromBytes(valid.Config), len(valid.Config))

	tests := []struct {
		name        string
		path        string // under /v2/team/app/manifests/
		contentType string
		body        []byte
		status      int
		code        memstore.Code
	}{
		{"digest mismatch", string(img.Digest), mt, valid.Manifest, 400, memstore.CodeDigestInvalid},
		{"sha512 digest mismatch", string(digest.SHA512.FromBytes(img.Manifest)), mt, valid.Manifest, 400, memstore.CodeDigestInvalid},
		{"invalid digest", "sha256:xyz", mt, valid.Manifest, 400, memstore.CodeDigestInvalid},
		{"unsupported algorithm", "md5:d41d8cd98f00b204e9800998ecf8427e", mt, valid.Manifest, 400, memstore.CodeDigestInvalid},
		{"invalid tag", ".v1", mt, valid.Manifest, 400, memstore.CodeManifestInvalid},
		{"invalid ?tag=", string(valid.Digest) + "?tag=ok&tag=-bad", mt, valid.Manifest, 400, memstore.CodeManifestInvalid},
		{"empty ?tag=", string(valid.Digest) + "?tag=", mt, valid.Manifest, 400, memstore.CodeManifestInvalid},
		{"?tag= too long", string(valid.Digest) + "?tag=" + strings.Repeat("x", 129), mt, valid.Manifest, 400, memstore.CodeManifestInvalid},
		{"invalid JSON", "v2", mt, []byte(`{"schemaVersion":2,`), 400, memstore.CodeManifestInvalid},
		{"empty body", "v2", mt, []byte{}, 400, memstore.CodeManifestInvalid},
		{"JSON array", "v2", mt, []byte(`[]`), 400, memstore.CodeManifestInvalid},
		{"JSON null", "v2", mt, []byte(`null`), 400, memstore.CodeManifestInvalid},
		{"trailing data", "v2", mt, append(slices.Clone(valid.Manifest), []byte(`{}`)...), 400, memstore.CodeManifestInvalid},
		{"schemaVersion 1", "v2", mt, []byte(`{"schemaVersion":1,"mediaType":"` + mt + `","config":` + cfgDesc + `,"layers":[]}`), 400, memstore.CodeManifestInvalid},
		{"schemaVersion missing", "v2", mt, []byte(`{"mediaType":"` + mt + `","config":` + cfgDesc + `,"layers":[]}`), 400, memstore.CodeManifestInvalid},
		{"schemaVersion string", "v2", mt, []byte(`{"schemaVersion":"2","mediaType":"` + mt + `","config":` + cfgDesc + `,"layers":[]}`), 400, memstore.CodeManifestInvalid},
		{"mediaType vs Content-Type", "v2", ocispec.MediaTypeImageIndex, valid.Manifest, 400, memstore.CodeManifestInvalid},
		{"docker Content-Type for OCI mediaType", "v2", memstore.MediaTypeDockerManifest, valid.Manifest, 400, memstore.CodeManifestInvalid},
		{"unknown media type", "v2", "application/vnd.example.thing.v1+json", valid.Manifest, 400, memstore.CodeManifestInvalid},
		{"unknown mediaType field", "v2", "application/json", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.example+json","config":` + cfgDesc + `}`), 400, memstore.CodeManifestInvalid},
		{"malformed Content-Type", "v2", "not a media type", valid.Manifest, 400, memstore.CodeManifestInvalid},
		{"image without config", "v2", mt, []byte(`{"schemaVersion":2,"mediaType":"` + mt + `","layers":[]}`), 400, memstore.CodeManifestInvalid},
		{"index with layers", "v2", ocispec.MediaTypeImageIndex, []byte(`{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageIndex + `","manifests":[],"layers":[]}`), 400, memstore.CodeManifestInvalid},
		{"bad layer digest", "v2", mt, []byte(`{"schemaVersion":2,"mediaType":"` + mt + `","config":` + cfgDesc + `,"layers":[{"mediaType":"a/b","digest":"sha256:xyz","size":1}]}`), 400, memstore.CodeManifestInvalid},
		{"negative size", "v2", mt, []byte(`{"schemaVersion":2,"mediaType":"` + mt + `","config":` + cfgDesc + `,"layers":[{"mediaType":"a/b","digest":"` + string(mfUnknownDigest) + `","size":-1}]}`), 400, memstore.CodeManifestInvalid},
		{"config size mismatch", "v2", mt, []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d}}`, mt, ocispec.MediaTypeImageConfig, digest.FromBytes(valid.Config), len(valid.Config)+1)), 400, memstore.CodeManifestInvalid},
		{"docker manifest with subject", "v2", memstore.MediaTypeDockerManifest, []byte(`{"schemaVersion":2,"mediaType":"` + memstore.MediaTypeDockerManifest + `","config":` + cfgDesc + `,"layers":[],"subject":` + cfgDesc + `}`), 400, memstore.CodeManifestInvalid},
		{"missing config blob", "v2", mt, missing.Manifest, 400, memstore.CodeManifestBlobUnknown},
		{"missing config blob by digest", string(missing.Digest), mt, missing.Manifest, 400, memstore.CodeManifestBlobUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := reg.Store().Snapshot()
			resp := mfPut(t, reg, "team/app", tc.path, tc.contentType, tc.body)
			wantError(t, resp, tc.status, tc.code)
			for _, h := range []string{"Location", "Docker-Content-Digest", "OCI-Subject", "OCI-Tag"} {
				if v := resp.Header.Get(h); v != "" {
					t.Errorf("error response has %s: %q", h, v)
				}
			}
			unchanged(t, reg, before)
		})
	}

	// A manifest pushed into a repository that does not exist, whose config
	// is not there either, creates nothing.
	t.Run("missing config in new repo", func(t *testing.T) {
		before := reg.Store().Snapshot()
		resp := mfPut(t, reg, "team/new", "v1", mt, valid.Manifest)
		wantError(t, resp, 400, memstore.CodeManifestBlobUnknown)
		unchanged(t, reg, before)
		wantError(t, do(t, reg, "GET", "/v2/team/new/tags/list", nil), 404, memstore.CodeNameUnknown)
	})
}

// mfUnknownDigest is a well-formed digest of nothing stored anywhere.
var mfUnknownDigest = digest.FromString("ocitest: content that is never pushed")

// mfBigManifest is a valid image manifest of exactly size bytes (padded
// with an annotation) referencing img's config and layer.
func mfBigManifest(t testing.TB, img testImage, size int) []byte {
	t.Helper()
	build := func(pad int) []byte {
		m := ocispec.Manifest{
			MediaType:   ocispec.MediaTypeImageManifest,
			Config:      ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(img.Config), Size: int64(len(img.Config))},
			Layers:      []ocispec.Descriptor{},
			Annotations: map[string]string{"pad": strings.Repeat("p", pad)},
		}
		m.SchemaVersion = 2
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	small := build(0)
	if len(small) > size {
		t.Fatalf("manifest cannot be as small as %d bytes", size)
	}
	b := build(size - len(small))
	if len(b) != size {
		t.Fatalf("built %d bytes, want %d", len(b), size)
	}
	return b
}

func TestManifestTooLarge(t *testing.T) {
	tests := []struct {
		name  string
		opts  []memstore.Option
		limit int
	}{
		{"default 4MiB", nil, memstore.DefaultMaxManifestSize},
		{"WithMaxManifestSize", []memstore.Option{memstore.WithMaxManifestSize(1000)}, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := New(t, WithStore(memstore.New(tc.opts...)))
			img := mfSeed(t, reg, "team/app")
			over := mfBigManifest(t, img, tc.limit+1)
			overDigest := digest.FromBytes(over)
			hdr := "Content-Type: " + ocispec.MediaTypeImageManifest

			before := reg.Store().Snapshot()
			for _, ref := range []string{"big", string(overDigest)} {
				resp := do(t, reg, "PUT", "/v2/team/app/manifests/"+ref, over, hdr)
				wantError(t, resp, http.StatusRequestEntityTooLarge, memstore.CodeSizeInvalid)
				unchanged(t, reg, before)

				resp = mfDoReader(t, reg, "PUT", "/v2/team/app/manifests/"+ref, bytes.NewReader(over), hdr)
				wantError(t, resp, http.StatusRequestEntityTooLarge, memstore.CodeSizeInvalid)
				unchanged(t, reg, before)
			}
			// Far over the limit, announced up front.
			huge := bytes.Repeat([]byte(" "), 3*tc.limit)
			wantError(t, do(t, reg, "PUT", "/v2/team/app/manifests/huge", huge, hdr), http.StatusRequestEntityTooLarge, memstore.CodeSizeInvalid)
			unchanged(t, reg, before)

			// Exactly at the limit is accepted, with either kind of body.
			at := mfBigManifest(t, img, tc.limit)
			wantStatus(t, do(t, reg, "PUT", "/v2/team/app/manifests/at-limit", at, hdr), http.StatusCreated)
			wantStatus(t, mfDoReader(t, reg, "PUT", "/v2/team/app/manifests/at-limit-chunked", bytes.NewReader(at), hdr), http.StatusCreated)
			resp := do(t, reg, "GET", "/v2/team/app/manifests/at-limit-chunked", nil)
			wantStatus(t, resp, http.StatusOK)
			mfWantBody(t, resp, at)
		})
	}
}

// mfRaw sends a hand-written HTTP/1.1 request on a new connection, then
// (with closeWrite) ends the client's side, and reads the response.
func mfRaw(t testing.TB, reg *Registry, request string, closeWrite bool) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", reg.Host(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// TestManifestHugeContentLength: a client announcing far more than it
// sends gets an error, whatever the limit, and the registry neither
// allocates the announced size nor stores anything.
func TestManifestHugeContentLength(t *testing.T) {
	tests := []struct {
		name   string
		opts   []memstore.Option
		status int
		code   memstore.Code
	}{
		// Over the limit: refused from the header alone.
		{"default limit", nil, http.StatusRequestEntityTooLarge, memstore.CodeSizeInvalid},
		// No limit: the body ends early, so the manifest is incomplete.
		{"no limit", []memstore.Option{memstore.WithMaxManifestSize(0)}, http.StatusBadRequest, memstore.CodeManifestInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := New(t, WithStore(memstore.New(tc.opts...)))
			mfSeed(t, reg, "team/app")
			before := reg.Store().Snapshot()
			for _, cl := range []int64{1 << 40, 1<<63 - 1} {
				req := fmt.Sprintf("PUT /v2/team/app/manifests/v2 HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n{}",
					reg.Host(), ocispec.MediaTypeImageManifest, cl)
				resp := mfRaw(t, reg, req, true)
				wantError(t, resp, tc.status, tc.code)
				unchanged(t, reg, before)
			}
		})
	}
}

// TestManifestNoSizeLimit: WithMaxManifestSize(0) accepts manifests over
// the default 4 MiB, with and without Content-Length.
func TestManifestNoSizeLimit(t *testing.T) {
	reg := New(t, WithStore(memstore.New(memstore.WithMaxManifestSize(0))))
	img := mfSeed(t, reg, "team/app")
	big := mfBigManifest(t, img, memstore.DefaultMaxManifestSize+1000)
	hdr := "Content-Type: " + ocispec.MediaTypeImageManifest
	wantStatus(t, do(t, reg, "PUT", "/v2/team/app/manifests/big", big, hdr), http.StatusCreated)
	wantStatus(t, mfDoReader(t, reg, "PUT", "/v2/team/app/manifests/big-chunked", bytes.NewReader(big), hdr), http.StatusCreated)
	resp := do(t, reg, "GET", "/v2/team/app/manifests/big", nil)
	wantStatus(t, resp, http.StatusOK)
	mfWantBody(t, resp, big)
}

func TestManifestPutChunkedBody(t *testing.T) {
	reg := New(t)
	img := newTestImage("chunked", nil, "")
	mfPushBlobs(t, reg, "team/app", img.Config, img.Layer)
	resp := mfDoReader(t, reg, "PUT", "/v2/team/app/manifests/v1", bytes.NewReader(img.Manifest), "Content-Type: "+ocispec.MediaTypeImageManifest)
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest))
	get := do(t, reg, "GET", "/v2/team/app/manifests/v1", nil)
	wantStatus(t, get, http.StatusOK)
	mfWantBody(t, get, img.Manifest)
}

func TestManifestDeleteByTag(t *testing.T) {
	reg := New(t)
	img := newTestImage("delete-tag", nil, "")
	pushImage(t, reg, "team/app", "v1", img)
	wantStatus(t, mfPut(t, reg, "team/app", "v2", ocispec.MediaTypeImageManifest, img.Manifest), http.StatusCreated)

	resp := do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusAccepted)

	wantError(t, do(t, reg, "GET", "/v2/team/app/manifests/v1", nil), 404, memstore.CodeManifestUnknown)
	wantError(t, do(t, reg, "HEAD", "/v2/team/app/manifests/v1", nil), 404, memstore.CodeManifestUnknown)
	// The manifest itself and its other tag are still there.
	get := do(t, reg, "GET", "/v2/team/app/manifests/"+string(img.Digest), nil)
	wantStatus(t, get, http.StatusOK)
	mfWantBody(t, get, img.Manifest)
	wantStatus(t, do(t, reg, "GET", "/v2/team/app/manifests/v2", nil), http.StatusOK)
	tags := do(t, reg, "GET", "/v2/team/app/tags/list", nil)
	if !strings.Contains(string(tags.Body), `"tags":["v2"]`) {
		t.Errorf("tags after deleting v1: %s", tags.Body)
	}

	// Deleting it again is a 404.
	before := reg.Store().Snapshot()
	wantError(t, do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil), 404, memstore.CodeManifestUnknown)
	unchanged(t, reg, before)
}

func TestManifestDeleteByDigest(t *testing.T) {
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		t.Run(string(alg), func(t *testing.T) {
			reg := New(t)
			subject := newTestImage("delete-subject", nil, "")
			pushImage(t, reg, "team/app", "subject", subject)
			img := newTestImage("delete-digest", subject.descriptor(), "application/vnd.example.sig.v1")
			pushImage(t, reg, "team/app", "v1", img)
			wantStatus(t, mfPut(t, reg, "team/app", "v2", ocispec.MediaTypeImageManifest, img.Manifest), http.StatusCreated)
			other := newTestImage("delete-other", subject.descriptor(), "application/vnd.example.sig.v1")
			pushImage(t, reg, "team/app", string(other.Digest), other)

			refs := lsReferrers(t, reg, "team/app", subject.Digest, "")
			if len(refs.Manifests) != 2 {
				t.Fatalf("referrers before delete: %d, want 2", len(refs.Manifests))
			}

			d := alg.FromBytes(img.Manifest)
			resp := do(t, reg, "DELETE", "/v2/team/app/manifests/"+string(d), nil)
			wantStatus(t, resp, http.StatusAccepted)

			for _, ref := range []string{"v1", "v2", string(img.Digest), string(digest.SHA512.FromBytes(img.Manifest))} {
				wantError(t, do(t, reg, "GET", "/v2/team/app/manifests/"+ref, nil), 404, memstore.CodeManifestUnknown)
			}
			tags := do(t, reg, "GET", "/v2/team/app/tags/list", nil)
			if !strings.Contains(string(tags.Body), `"tags":["subject"]`) {
				t.Errorf("tags after deleting the manifest: %s", tags.Body)
			}
			refs = lsReferrers(t, reg, "team/app", subject.Digest, "")
			if len(refs.Manifests) != 1 || refs.Manifests[0].Digest != other.Digest {
				t.Errorf("referrers after delete = %+v, want only %s", refs.Manifests, other.Digest)
			}
			// The subject itself is untouched.
			wantStatus(t, do(t, reg, "GET", "/v2/team/app/manifests/subject", nil), http.StatusOK)

			before := reg.Store().Snapshot()
			wantError(t, do(t, reg, "DELETE", "/v2/team/app/manifests/"+string(d), nil), 404, memstore.CodeManifestUnknown)
			unchanged(t, reg, before)
		})
	}
}

func TestManifestDeleteErrors(t *testing.T) {
	reg := New(t)
	img := mfSeed(t, reg, "team/app")
	tests := []struct {
		name   string
		ref    string
		repo   string
		status int
		code   memstore.Code
	}{
		{"unknown tag", "nope", "team/app", 404, memstore.CodeManifestUnknown},
		{"unknown digest", string(mfUnknownDigest), "team/app", 404, memstore.CodeManifestUnknown},
		{"blob digest", string(digest.FromBytes(img.Config)), "team/app", 404, memstore.CodeManifestUnknown},
		{"unknown repo", "v1", "team/nope", 404, memstore.CodeNameUnknown},
		{"unknown repo by digest", string(img.Digest), "team/nope", 404, memstore.CodeNameUnknown},
		{"invalid digest", "sha256:xyz", "team/app", 400, memstore.CodeDigestInvalid},
		{"invalid tag", "-v1", "team/app", 400, memstore.CodeManifestInvalid},
		{"invalid name", "v1", "Team/App", 400, memstore.CodeNameInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := reg.Store().Snapshot()
			wantError(t, do(t, reg, "DELETE", "/v2/"+tc.repo+"/manifests/"+tc.ref, nil), tc.status, tc.code)
			unchanged(t, reg, before)
		})
	}
}
