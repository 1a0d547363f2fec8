package ocitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Helpers of this file are prefixed "ls" so they cannot clash with the
// helpers other test files of the package define.

// lsLinkRE is the RFC 5988 Link header the registry sends for the next page.
var lsLinkRE = regexp.MustCompile(`^<([^<>]+)>; rel="next"$`)

// lsNextLink returns the request URI of the page the Link header points at,
// or "" when the response has no Link header.
func lsNextLink(t testing.TB, reg *Registry, resp response) string {
	t.Helper()
	links := resp.Header.Values("Link")
	if len(links) == 0 {
		return ""
	}
	if len(links) > 1 {
		t.Fatalf("%d Link headers: %q", len(links), links)
	}
	m := lsLinkRE.FindStringSubmatch(links[0])
	if m == nil {
		t.Fatalf("Link header %q is not of the form <url>; rel=\"next\"", links[0])
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatalf("Link target %q: %v", m[1], err)
	}
	if u.IsAbs() {
		if u.Scheme+"://"+u.Host != reg.URL() {
			t.Fatalf("Link target %q is not on the registry %s", m[1], reg.URL())
		}
	} else if !strings.HasPrefix(u.Path, "/v2/") {
		t.Fatalf("Link target %q is not a /v2/ path", m[1])
	}
	return u.RequestURI()
}

type lsTagList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// lsTags GETs path and decodes the tag list, checking the status and
// content type.
func lsTags(t testing.TB, reg *Registry, path string) (lsTagList, response) {
	t.Helper()
	resp := do(t, reg, "GET", path, nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", "application/json")
	var list lsTagList
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, resp.Body)
	}
	if list.Tags == nil {
		t.Errorf("GET %s: tags is null or missing: %s", path, resp.Body)
	}
	return list, resp
}

// lsPushTags points each tag at one manifest in repo.
func lsPushTags(t testing.TB, reg *Registry, repo string, tags ...string) testImage {
	t.Helper()
	img := newTestImage("tags-"+repo, nil, "")
	pushBlob(t, reg, repo, img.Config)
	pushBlob(t, reg, repo, img.Layer)
	for _, tag := range tags {
		resp := do(t, reg, "PUT", "/v2/"+repo+"/manifests/"+tag, img.Manifest, "Content-Type: "+ocispec.MediaTypeImageManifest)
		wantStatus(t, resp, http.StatusCreated)
	}
	return img
}

func TestTagsListSorted(t *testing.T) {
	reg := New(t)
	tags := []string{"v1", "Latest", "latest", "V2", "_x", "1.0", "10", "2", "a-b", "a.b", "a_b", "ZZ", "zz"}
	lsPushTags(t, reg, "team/app", tags...)
	want := slices.Clone(tags)
	sort.Strings(want) // ASCIIbetical: digits, upper case, '_', lower case

	for _, method := range []string{"GET", "HEAD"} {
		resp := do(t, reg, method, "/v2/team/app/tags/list", nil)
		wantStatus(t, resp, http.StatusOK)
		wantHeader(t, resp, "Content-Type", "application/json")
		if resp.Header.Get("Link") != "" {
			t.Errorf("%s: Link %q on a complete list", method, resp.Header.Get("Link"))
		}
		if method == "HEAD" {
			if len(resp.Body) != 0 {
				t.Errorf("HEAD has a body: %s", resp.Body)
			}
			continue
		}
		var list lsTagList
		if err := json.Unmarshal(resp.Body, &list); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(lsTagList{Name: "team/app", Tags: want}, list); diff != "" {
			t.Errorf("tag list (-want +got):\n%s", diff)
		}
		// Exactly the two keys of the spec.
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(resp.Body, &raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) != 2 || raw["name"] == nil || raw["tags"] == nil {
			t.Errorf("tag list has keys other than name and tags: %s", resp.Body)
		}
	}
}

func TestTagsListNeverNull(t *testing.T) {
	reg := New(t)
	// A repository with a blob but no manifests and one whose only
	// manifest is untagged.
	pushBlob(t, reg, "team/blobs-only", []byte("just a blob"))
	img := newTestImage("untagged", nil, "")
	pushImage(t, reg, "team/untagged", string(img.Digest), img)
	// And one whose last tag was deleted.
	lsPushTags(t, reg, "team/deleted", "gone")
	wantStatus(t, do(t, reg, "DELETE", "/v2/team/deleted/manifests/gone", nil), http.StatusAccepted)

	for _, repo := range []string{"team/blobs-only", "team/untagged", "team/deleted"} {
		for _, query := range []string{"", "?n=0", "?n=10", "?last=zzz", "?n=5&last=a"} {
			list, resp := lsTags(t, reg, "/v2/"+repo+"/tags/list"+query)
			want := fmt.Sprintf(`{"name":%q,"tags":[]}`, repo)
			if got := strings.TrimSpace(string(resp.Body)); got != want {
				t.Errorf("%s%s: body %s, want %s", repo, query, got, want)
			}
			if list.Name != repo {
				t.Errorf("name = %q, want %q", list.Name, repo)
			}
		}
	}
}

func TestTagsListPagination(t *testing.T) {
	reg := New(t)
	var tags []string
	for i := range 250 {
		// Mixed case and widths, so ASCIIbetical order differs from push order.
		tags = append(tags, fmt.Sprintf("%s%d", []string{"v", "V", "rc-"}[i%3], i))
	}
	lsPushTags(t, reg, "team/app", tags...)
	want := slices.Clone(tags)
	sort.Strings(want)

	var got []string
	var sizes []int
	next := "/v2/team/app/tags/list?n=100"
	for next != "" {
		if len(sizes) > 10 {
			t.Fatalf("more pages than possible; Link chain: %v", sizes)
		}
		list, resp := lsTags(t, reg, next)
		if list.Name != "team/app" {
			t.Errorf("name = %q", list.Name)
		}
		got = append(got, list.Tags...)
		sizes = append(sizes, len(list.Tags))
		next = lsNextLink(t, reg, resp)
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Errorf("page sizes = %v, want [100 100 50]", sizes)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tags collected over pages (-want +got):\n%s", diff)
	}

	// A page that ends exactly at the end of the list has no Link.
	list, resp := lsTags(t, reg, "/v2/team/app/tags/list?n=50&last="+url.QueryEscape(want[199]))
	if !slices.Equal(list.Tags, want[200:]) {
		t.Errorf("last page = %q", list.Tags)
	}
	if l := resp.Header.Get("Link"); l != "" {
		t.Errorf("Link %q on the last page", l)
	}
}

func TestTagsListParams(t *testing.T) {
	reg := New(t)
	tags := []string{"a", "b", "c", "d", "e"}
	lsPushTags(t, reg, "team/app", tags...)
	tests := []struct {
		query    string
		want     []string
		wantLink bool
	}{
		{"", tags, false},
		{"?n=0", []string{}, false},
		{"?n=0&last=b", []string{}, false},
		{"?n=2", []string{"a", "b"}, true},
		{"?n=5", tags, false},
		{"?n=6", tags, false},
		{"?n=1000000", tags, false},
		{"?last=b", []string{"c", "d", "e"}, false}, // last without n
		{"?last=b&n=2", []string{"c", "d"}, true},
		{"?last=c&n=2", []string{"d", "e"}, false},
		{"?last=bb&n=1", []string{"c"}, true}, // last need not be a tag
		{"?last=e", []string{}, false},
		{"?last=zzz&n=3", []string{}, false},
		{"?last=", tags, false},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			list, resp := lsTags(t, reg, "/v2/team/app/tags/list"+tc.query)
			if !slices.Equal(list.Tags, tc.want) {
				t.Errorf("tags = %q, want %q", list.Tags, tc.want)
			}
			next := lsNextLink(t, reg, resp)
			if (next != "") != tc.wantLink {
				t.Errorf("Link = %q, want a Link: %v", resp.Header.Get("Link"), tc.wantLink)
			}
			if next != "" {
				// The next page starts right after this one.
				more, _ := lsTags(t, reg, next)
				if len(more.Tags) == 0 || more.Tags[0] <= list.Tags[len(list.Tags)-1] {
					t.Errorf("next page %s = %q does not continue %q", next, more.Tags, list.Tags)
				}
			}
		})
	}
}

func TestTagsListErrors(t *testing.T) {
	reg := New(t)
	lsPushTags(t, reg, "team/app", "v1")
	tests := []struct {
		path   string
		status int
		code   memstore.Code
	}{
		// The spec has no error code for a bad n; the registry uses UNSUPPORTED.
		{"/v2/team/app/tags/list?n=-1", 400, memstore.CodeUnsupported},
		{"/v2/team/app/tags/list?n=abc", 400, memstore.CodeUnsupported},
		{"/v2/team/app/tags/list?n=1.5", 400, memstore.CodeUnsupported},
		{"/v2/team/app/tags/list?n=", 400, memstore.CodeUnsupported},
		{"/v2/team/app/tags/list?n=99999999999999999999999", 400, memstore.CodeUnsupported},
		{"/v2/team/nope/tags/list", 404, memstore.CodeNameUnknown},
		{"/v2/team/nope/tags/list?n=0", 404, memstore.CodeNameUnknown},
		{"/v2/Team/App/tags/list", 400, memstore.CodeNameInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			before := reg.Store().Snapshot()
			resp := do(t, reg, "GET", tc.path, nil)
			wantError(t, resp, tc.status, tc.code)
			if len(resp.Body) == 0 {
				t.Error("no JSON error body")
			}
			if l := resp.Header.Get("Link"); l != "" {
				t.Errorf("error has Link %q", l)
			}
			unchanged(t, reg, before)
		})
	}
}

type lsCatalog struct {
	Repositories []string `json:"repositories"`
}

func lsGetCatalog(t testing.TB, reg *Registry, path string) (lsCatalog, response) {
	t.Helper()
	resp := do(t, reg, "GET", path, nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", "application/json")
	var c lsCatalog
	if err := json.Unmarshal(resp.Body, &c); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, resp.Body)
	}
	if c.Repositories == nil {
		t.Errorf("GET %s: repositories is null or missing: %s", path, resp.Body)
	}
	return c, resp
}

func TestCatalog(t *testing.T) {
	reg := New(t)
	c, resp := lsGetCatalog(t, reg, "/v2/_catalog")
	if got := strings.TrimSpace(string(resp.Body)); got != `{"repositories":[]}` {
		t.Errorf("empty catalog = %s", got)
	}

	repos := []string{"zeta", "team/app", "alpha", "team/app/sub", "team-b/x", "team_c/y", "a0", "0a"}
	for i, repo := range repos {
		if i%2 == 0 {
			lsPushTags(t, reg, repo, "v1")
		} else {
			pushBlob(t, reg, repo, []byte("blob of "+repo)) // a repository with only a blob counts
		}
	}
	want := slices.Clone(repos)
	sort.Strings(want)

	c, resp = lsGetCatalog(t, reg, "/v2/_catalog")
	if !slices.Equal(c.Repositories, want) {
		t.Errorf("catalog = %q, want %q", c.Repositories, want)
	}
	if l := resp.Header.Get("Link"); l != "" {
		t.Errorf("Link %q on a complete catalog", l)
	}

	// Pagination.
	var got []string
	var sizes []int
	next := "/v2/_catalog?n=3"
	for next != "" && len(sizes) < 10 {
		c, resp := lsGetCatalog(t, reg, next)
		got = append(got, c.Repositories...)
		sizes = append(sizes, len(c.Repositories))
		next = lsNextLink(t, reg, resp)
	}
	if !slices.Equal(sizes, []int{3, 3, 2}) {
		t.Errorf("page sizes = %v, want [3 3 2]", sizes)
	}
	if !slices.Equal(got, want) {
		t.Errorf("catalog over pages = %q, want %q", got, want)
	}

	c, resp = lsGetCatalog(t, reg, "/v2/_catalog?n=0")
	if len(c.Repositories) != 0 || resp.Header.Get("Link") != "" {
		t.Errorf("n=0: %q, Link %q", c.Repositories, resp.Header.Get("Link"))
	}
	c, _ = lsGetCatalog(t, reg, "/v2/_catalog?last=team")
	if !slices.Equal(c.Repositories, want[slices.Index(want, "team-b/x"):]) {
		t.Errorf("last=team: %q", c.Repositories)
	}

	for _, bad := range []string{"-1", "abc", ""} {
		before := reg.Store().Snapshot()
		wantError(t, do(t, reg, "GET", "/v2/_catalog?n="+bad, nil), 400, memstore.CodeUnsupported)
		unchanged(t, reg, before)
	}
}

// lsReferrers GETs the referrers of subject in repo (filtered by
// artifactType when not empty), checking what every referrers response
// must be: 200, the index content type, schemaVersion 2, the index
// mediaType and a manifests list that is never null.
func lsReferrers(t testing.TB, reg *Registry, repo string, subject digest.Digest, artifactType string) ocispec.Index {
	t.Helper()
	path := "/v2/" + repo + "/referrers/" + string(subject)
	if artifactType != "" {
		path += "?artifactType=" + url.QueryEscape(artifactType)
	}
	resp := do(t, reg, "GET", path, nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", ocispec.MediaTypeImageIndex)
	if artifactType != "" {
		wantHeader(t, resp, "OCI-Filters-Applied", "artifactType")
	} else if v := resp.Header.Values("OCI-Filters-Applied"); len(v) != 0 {
		t.Errorf("OCI-Filters-Applied = %q without a filter", v)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(resp.Body, &raw); err != nil {
		t.Fatalf("referrers body: %v: %s", err, resp.Body)
	}
	if string(raw["schemaVersion"]) != "2" {
		t.Errorf("schemaVersion = %s", raw["schemaVersion"])
	}
	if string(raw["mediaType"]) != `"`+ocispec.MediaTypeImageIndex+`"` {
		t.Errorf("mediaType = %s", raw["mediaType"])
	}
	if m := strings.TrimSpace(string(raw["manifests"])); m == "" || m == "null" {
		t.Errorf("manifests is %q, want a list: %s", m, resp.Body)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(resp.Body, &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

// lsRawManifests returns the manifests list of a referrers response as
// raw JSON objects, to check which keys are present.
func lsRawManifests(t testing.TB, reg *Registry, repo string, subject digest.Digest) []map[string]json.RawMessage {
	t.Helper()
	resp := do(t, reg, "GET", "/v2/"+repo+"/referrers/"+string(subject), nil)
	wantStatus(t, resp, http.StatusOK)
	var body struct {
		Manifests []map[string]json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatal(err)
	}
	return body.Manifests
}

// lsPut pushes raw manifest bytes by digest and returns their descriptor
// as the referrers API should list it.
func lsPut(t testing.TB, reg *Registry, repo, mediaType string, b []byte, artifactType string, annotations map[string]string) ocispec.Descriptor {
	t.Helper()
	d := digest.FromBytes(b)
	resp := do(t, reg, "PUT", "/v2/"+repo+"/manifests/"+string(d), b, "Content-Type: "+mediaType)
	wantStatus(t, resp, http.StatusCreated)
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b)), ArtifactType: artifactType, Annotations: annotations}
}

func TestReferrers(t *testing.T) {
	reg := New(t)
	subject := newTestImage("subject", nil, "")
	pushImage(t, reg, "team/app", "v1", subject)
	subj := subject.descriptor()

	// A: an image manifest with an artifactType.
	a := newTestImage("sbom", subj, "application/vnd.example.sbom.v1")
	pushImage(t, reg, "team/app", string(a.Digest), a)
	wantA := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: a.Digest, Size: int64(len(a.Manifest)),
		ArtifactType: "application/vnd.example.sbom.v1", Annotations: map[string]string{"seed": "sbom"}}

	// B: an image manifest without artifactType: the config's media type
	// stands in for it.
	sigCfg := []byte(`{"signature":"b"}`)
	pushBlob(t, reg, "team/app", sigCfg)
	bAnn := map[string]string{"org.example.kind": "signature", "org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
	b := ocispec.Manifest{
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      ocispec.Descriptor{MediaType: "application/vnd.example.sig.config.v1+json", Digest: digest.FromBytes(sigCfg), Size: int64(len(sigCfg))},
		Layers:      []ocispec.Descriptor{},
		Subject:     subj,
		Annotations: bAnn,
	}
	b.SchemaVersion = 2
	bBytes, _ := json.Marshal(b)
	wantB := lsPut(t, reg, "team/app", ocispec.MediaTypeImageManifest, bBytes, "application/vnd.example.sig.config.v1+json", bAnn)

	// C: an index without artifactType: none is reported.
	cAnn := map[string]string{"kind": "index"}
	c := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{*a.descriptor()}, Subject: subj, Annotations: cAnn}
	c.SchemaVersion = 2
	cBytes, _ := json.Marshal(c)
	wantC := lsPut(t, reg, "team/app", ocispec.MediaTypeImageIndex, cBytes, "", cAnn)

	// D: an index with an artifactType and no annotations.
	d := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, ArtifactType: "application/vnd.example.bundle.v1", Manifests: []ocispec.Descriptor{}, Subject: subj}
	d.SchemaVersion = 2
	dBytes, _ := json.Marshal(d)
	wantD := lsPut(t, reg, "team/app", ocispec.MediaTypeImageIndex, dBytes, "application/vnd.example.bundle.v1", nil)

	// E: an artifact with the empty config, a referrer of A (not of the subject).
	pushBlob(t, reg, "team/app", []byte("{}"))
	e := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: "application/vnd.example.sbom.v1",
		Config: ocispec.DescriptorEmptyJSON, Layers: []ocispec.Descriptor{ocispec.DescriptorEmptyJSON}, Subject: a.descriptor()}
	e.SchemaVersion = 2
	eBytes, _ := json.Marshal(e)
	wantE := lsPut(t, reg, "team/app", ocispec.MediaTypeImageManifest, eBytes, "application/vnd.example.sbom.v1", nil)

	// The same subject in another repository: not listed in team/app.
	pushImage(t, reg, "team/other", "v1", subject)
	other := newTestImage("other-repo", subj, "application/vnd.example.sbom.v1")
	pushImage(t, reg, "team/other", string(other.Digest), other)

	sortDescs := func(ds []ocispec.Descriptor) []ocispec.Descriptor {
		ds = slices.Clone(ds)
		slices.SortFunc(ds, func(x, y ocispec.Descriptor) int { return strings.Compare(string(x.Digest), string(y.Digest)) })
		return ds
	}
	tests := []struct {
		name         string
		repo         string
		subject      digest.Digest
		artifactType string
		want         []ocispec.Descriptor
	}{
		{"all", "team/app", subject.Digest, "", []ocispec.Descriptor{wantA, wantB, wantC, wantD}},
		{"filter sbom", "team/app", subject.Digest, "application/vnd.example.sbom.v1", []ocispec.Descriptor{wantA}},
		{"filter config type", "team/app", subject.Digest, "application/vnd.example.sig.config.v1+json", []ocispec.Descriptor{wantB}},
		{"filter index type", "team/app", subject.Digest, "application/vnd.example.bundle.v1", []ocispec.Descriptor{wantD}},
		{"filter matches nothing", "team/app", subject.Digest, "application/vnd.example.none", []ocispec.Descriptor{}},
		{"referrer of a referrer", "team/app", a.Digest, "", []ocispec.Descriptor{wantE}},
		{"other repository", "team/other", subject.Digest, "", []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageManifest,
			Digest: other.Digest, Size: int64(len(other.Manifest)), ArtifactType: "application/vnd.example.sbom.v1", Annotations: map[string]string{"seed": "other-repo"}}}},
		{"no referrers", "team/app", wantB.Digest, "", []ocispec.Descriptor{}},
		{"no referrers filtered", "team/app", wantB.Digest, "application/vnd.example.sbom.v1", []ocispec.Descriptor{}},
		{"unknown subject", "team/app", digest.FromString("nothing"), "", []ocispec.Descriptor{}},
		{"sha512 subject", "team/app", digest.SHA512.FromString("nothing"), "", []ocispec.Descriptor{}},
		{"repository does not exist", "team/nope", subject.Digest, "", []ocispec.Descriptor{}},
		{"repository does not exist filtered", "team/nope", subject.Digest, "application/vnd.example.sbom.v1", []ocispec.Descriptor{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := reg.Store().Snapshot()
			idx := lsReferrers(t, reg, tc.repo, tc.subject, tc.artifactType)
			if idx.SchemaVersion != 2 || idx.MediaType != ocispec.MediaTypeImageIndex {
				t.Errorf("index header = %d %q", idx.SchemaVersion, idx.MediaType)
			}
			if diff := cmp.Diff(sortDescs(tc.want), sortDescs(idx.Manifests)); diff != "" {
				t.Errorf("referrers (-want +got):\n%s", diff)
			}
			unchanged(t, reg, before)
		})
	}

	// An index without artifactType has no artifactType key at all; the
	// others carry theirs, and the descriptors have no keys beyond those
	// the spec lists.
	for _, m := range lsRawManifests(t, reg, "team/app", subject.Digest) {
		var dg digest.Digest
		json.Unmarshal(m["digest"], &dg)
		_, has := m["artifactType"]
		if has != (dg != wantC.Digest) {
			t.Errorf("descriptor %s: artifactType present = %v", dg, has)
		}
		for k := range m {
			switch k {
			case "mediaType", "digest", "size", "artifactType", "annotations":
			default:
				t.Errorf("descriptor %s has unexpected key %q", dg, k)
			}
		}
	}

	// The raw text of an empty result is an empty list, not null.
	for _, path := range []string{
		"/v2/team/app/referrers/" + string(wantB.Digest),
		"/v2/team/nope/referrers/" + string(subject.Digest),
		"/v2/team/app/referrers/" + string(subject.Digest) + "?artifactType=application/vnd.example.none",
	} {
		resp := do(t, reg, "GET", path, nil)
		wantStatus(t, resp, http.StatusOK)
		if !strings.Contains(string(resp.Body), `"manifests":[]`) {
			t.Errorf("GET %s: body %s lacks \"manifests\":[]", path, resp.Body)
		}
	}

	// HEAD: same headers, no body.
	resp := do(t, reg, "HEAD", "/v2/team/app/referrers/"+string(subject.Digest), nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", ocispec.MediaTypeImageIndex)
	if len(resp.Body) != 0 {
		t.Errorf("HEAD has a body")
	}
}

func TestReferrersErrors(t *testing.T) {
	reg := New(t)
	mfSeed(t, reg, "team/app")
	tests := []struct {
		path   string
		status int
		code   memstore.Code
	}{
		{"/v2/team/app/referrers/sha256:xyz", 400, memstore.CodeDigestInvalid},
		{"/v2/team/app/referrers/md5:d41d8cd98f00b204e9800998ecf8427e", 400, memstore.CodeDigestInvalid},
		{"/v2/team/app/referrers/notadigest", 400, memstore.CodeDigestInvalid},
		{"/v2/team/app/referrers/v1", 400, memstore.CodeDigestInvalid},
		{"/v2/team/app/referrers/sha256:" + strings.Repeat("A", 64), 400, memstore.CodeDigestInvalid},
		{"/v2/team/app/referrers/sha256:xyz?artifactType=a/b", 400, memstore.CodeDigestInvalid},
		{"/v2/team/nope/referrers/sha256:xyz", 400, memstore.CodeDigestInvalid},
		{"/v2/Team/referrers/" + string(digest.FromString("x")), 400, memstore.CodeNameInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			before := reg.Store().Snapshot()
			resp := do(t, reg, "GET", tc.path, nil)
			wantError(t, resp, tc.status, tc.code)
			if v := resp.Header.Get("OCI-Filters-Applied"); v != "" {
				t.Errorf("error has OCI-Filters-Applied %q", v)
			}
			unchanged(t, reg, before)
		})
	}
}

func TestReferrersUnknownSubjectAccepted(t *testing.T) {
	reg := New(t)
	// The subject was never pushed: the spec lets a referrer arrive first.
	ghost := &ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("ghost"), Size: 123}
	ref := newTestImage("ghost-ref", ghost, "application/vnd.example.sig.v1")
	pushBlob(t, reg, "team/app", ref.Config)
	pushBlob(t, reg, "team/app", ref.Layer)
	resp := do(t, reg, "PUT", "/v2/team/app/manifests/"+string(ref.Digest), ref.Manifest, "Content-Type: "+ocispec.MediaTypeImageManifest)
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "OCI-Subject", string(ghost.Digest))

	idx := lsReferrers(t, reg, "team/app", ghost.Digest, "")
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != ref.Digest {
		t.Fatalf("referrers = %+v, want %s", idx.Manifests, ref.Digest)
	}
	// The subject is still unknown as a manifest.
	wantError(t, do(t, reg, "GET", "/v2/team/app/manifests/"+string(ghost.Digest), nil), 404, memstore.CodeManifestUnknown)

	// Deleting the referrer empties the list again.
	wantStatus(t, do(t, reg, "DELETE", "/v2/team/app/manifests/"+string(ref.Digest), nil), http.StatusAccepted)
	if idx := lsReferrers(t, reg, "team/app", ghost.Digest, ""); len(idx.Manifests) != 0 {
		t.Errorf("referrers after delete = %+v", idx.Manifests)
	}
}

func TestPing(t *testing.T) {
	reg := New(t)
	for _, path := range []string{"/v2/", "/v2"} {
		for _, method := range []string{"GET", "HEAD"} {
			resp := do(t, reg, method, path, nil)
			wantStatus(t, resp, http.StatusOK)
			wantHeader(t, resp, "Docker-Distribution-API-Version", "registry/2.0")
			if method == "GET" {
				var v map[string]any
				if err := json.Unmarshal(resp.Body, &v); err != nil {
					t.Errorf("%s %s: body %q is not JSON: %v", method, path, resp.Body, err)
				}
			} else if len(resp.Body) != 0 {
				t.Errorf("HEAD %s has a body", path)
			}
		}
	}
}
