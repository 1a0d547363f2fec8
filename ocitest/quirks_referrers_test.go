package ocitest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const (
	rqSBOM = "application/spdx+json"
	rqSig  = "application/vnd.dev.cosign.artifact.sig.v1+json"
)

// rqSetup starts a registry with quirks qs holding a subject image at
// app:v1 and, pushed in this order, an SBOM and a signature referring to it.
func rqSetup(t *testing.T, qs ...quirks.Quirk) (reg *Registry, subject *Image, refs []*Image) {
	t.Helper()
	reg = New(t, WithQuirks(qs...))
	subject = NewImage()
	reg.PushImage(t, "app", "v1", subject)
	desc := subject.Descriptor()
	refs = []*Image{
		NewArtifact(rqSBOM, &desc, []byte("sbom")),
		NewArtifact(rqSig, &desc, []byte("signature")),
	}
	for _, a := range refs {
		reg.PushArtifact(t, "app", "", a)
	}
	return reg, subject, refs
}

// rqIndex decodes a referrers answer.
func rqIndex(t *testing.T, resp response) ocispec.Index {
	t.Helper()
	var idx ocispec.Index
	if err := json.Unmarshal(resp.Body, &idx); err != nil {
		t.Fatalf("referrers answer is not JSON: %v: %q", err, resp.Body)
	}
	return idx
}

// rqDigests lists an index's manifest digests.
func rqDigests(idx ocispec.Index) []digest.Digest {
	var out []digest.Digest
	for _, d := range idx.Manifests {
		out = append(out, d.Digest)
	}
	return out
}

func rqWantDigests(t *testing.T, idx ocispec.Index, want ...*Image) {
	t.Helper()
	got := rqDigests(idx)
	if len(got) != len(want) {
		t.Fatalf("referrers %v, want %d of them", got, len(want))
	}
	for i, img := range want {
		if got[i] != img.Digest() {
			t.Errorf("referrer %d = %s, want %s", i, got[i], img.Digest())
		}
	}
}

// rqPutReferrer pushes a new artifact referring to subject over HTTP.
func rqPutReferrer(t *testing.T, reg *Registry, subject *Image, artifactType string) response {
	t.Helper()
	return rqPut(t, reg, rqReferrer(t, reg, subject, artifactType))
}

// rqReferrer makes an artifact referring to subject and seeds its blobs.
func rqReferrer(t *testing.T, reg *Registry, subject *Image, artifactType string) *Image {
	t.Helper()
	desc := subject.Descriptor()
	a := NewArtifact(artifactType, &desc, []byte("more "+artifactType))
	for _, b := range a.Blobs() {
		reg.PushBlob(t, "app", b.Data)
	}
	return a
}

// rqPut pushes a's manifest by digest over HTTP.
func rqPut(t *testing.T, reg *Registry, a *Image) response {
	t.Helper()
	return do(t, reg, "PUT", "/v2/app/manifests/"+string(a.Digest()), a.Bytes(), "Content-Type: "+ocispec.MediaTypeImageManifest)
}

// rqType is an artifactType query parameter.
func rqType(t string) string { return "artifactType=" + url.QueryEscape(t) }

func TestReferrersQuirksOffIsSpec(t *testing.T) {
	reg, subject, refs := rqSetup(t)
	path := "/v2/app/referrers/" + string(subject.Digest())
	resp := do(t, reg, "GET", path, nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", ocispec.MediaTypeImageIndex)
	rqWantDigests(t, rqIndex(t, resp), refs...)
	hqWantQuirks(t, reg)
	resp = do(t, reg, "GET", path+"?"+rqType(rqSig)+"&n=1", nil)
	wantHeader(t, resp, "OCI-Filters-Applied", "artifactType")
	wantHeader(t, resp, "Link", "")
	rqWantDigests(t, rqIndex(t, resp), refs[1])
	resp = rqPutReferrer(t, reg, subject, "application/example")
	wantStatus(t, resp, http.StatusCreated)
	wantHeader(t, resp, "OCI-Subject", string(subject.Digest()))
	hqWantQuirks(t, reg)
	// The fallback tag is an ordinary (here missing) tag.
	wantError(t, do(t, reg, "GET", "/v2/app/manifests/sha256-"+subject.Digest().Encoded(), nil), http.StatusNotFound, memstore.CodeManifestUnknown)
}

func TestQuirkNoReferrersAPI(t *testing.T) {
	for _, tc := range []struct {
		q      quirks.Quirk
		status int
		code   memstore.Code // empty: a plain-text body
		body   string
	}{
		{quirks.NoReferrersAPI(quirks.ReferrersNotFound), http.StatusNotFound, "", "404 page not found\n"},
		{quirks.NoReferrersAPI(quirks.ReferrersNotFoundNameUnknown), http.StatusNotFound, memstore.CodeNameUnknown, ""},
		{quirks.NoReferrersAPI(quirks.ReferrersNotAcceptable), http.StatusNotAcceptable, "", "Not Acceptable\n"},
		{quirks.NoReferrersAPI(quirks.ReferrersBadRequest), http.StatusBadRequest, memstore.CodeUnsupported, ""},
		{quirks.NoReferrersAPI(quirks.ReferrersTooManyRequests), http.StatusTooManyRequests, memstore.CodeTooManyRequests, ""},
	} {
		t.Run(tc.q.String(), func(t *testing.T) {
			reg, subject, _ := rqSetup(t, tc.q)
			for _, path := range []string{
				"/v2/app/referrers/" + string(subject.Digest()),
				"/v2/app/referrers/" + string(subject.Digest()) + "?" + rqType(rqSBOM),
				"/v2/nobody/referrers/" + string(digest.FromString("x")),
			} {
				resp := do(t, reg, "GET", path, nil)
				if tc.code != "" {
					wantError(t, resp, tc.status, tc.code)
				} else {
					wantStatus(t, resp, tc.status)
					wantHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")
					if string(resp.Body) != tc.body {
						t.Errorf("body %q, want %q", resp.Body, tc.body)
					}
				}
				hqWantQuirks(t, reg, tc.q.String())
			}
			// Manifest PUTs with a subject send no OCI-Subject: the
			// registry has no referrers API.
			resp := rqPutReferrer(t, reg, subject, "application/example")
			wantStatus(t, resp, http.StatusCreated)
			if hqHasHeader(resp, "OCI-Subject") {
				t.Errorf("OCI-Subject %q sent without a referrers API", resp.Header.Get("OCI-Subject"))
			}
			hqWantQuirks(t, reg, tc.q.String())
			// Neighbours: PUT without subject, manifest GET.
			resp = do(t, reg, "PUT", "/v2/app/manifests/v2", subject.Bytes(), "Content-Type: "+ocispec.MediaTypeImageManifest)
			wantStatus(t, resp, http.StatusCreated)
			hqWantQuirks(t, reg)
			wantStatus(t, do(t, reg, "GET", "/v2/app/manifests/v1", nil), http.StatusOK)
			hqWantQuirks(t, reg)
		})
	}
}

func TestQuirkReferrersRedirect(t *testing.T) {
	for _, q := range []quirks.Quirk{quirks.NoReferrersAPI(quirks.ReferrersRedirect), quirks.ReferrersOddStatus(http.StatusSeeOther)} {
		t.Run(q.String(), func(t *testing.T) {
			reg, subject, _ := rqSetup(t, q)
			resp := hqRaw(t, reg, "GET", "/v2/app/referrers/"+string(subject.Digest()))
			wantStatus(t, resp.response, http.StatusSeeOther)
			wantHeader(t, resp.response, "Location", "/v2/app/referrers/sha256")
			hqWantQuirks(t, reg, q.String())
			// A client that follows the redirect is rate-limited.
			resp2 := do(t, reg, "GET", "/v2/app/referrers/"+string(subject.Digest()), nil)
			wantError(t, resp2, http.StatusTooManyRequests, memstore.CodeTooManyRequests)
			hqWantQuirks(t, reg, q.String())
			if n := reg.Count(Match{Kind: ReferrersList}); n != 3 {
				t.Errorf("%d referrers requests, want 3 (one, then one redirected)", n)
			}
		})
	}
}

func TestQuirkReferrersOddStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   memstore.Code
	}{
		{http.StatusNotAcceptable, ""},
		{http.StatusTooManyRequests, memstore.CodeTooManyRequests},
		{http.StatusInternalServerError, memstore.CodeUnsupported},
	} {
		q := quirks.ReferrersOddStatus(tc.status)
		if q.ID() != "referrers-odd-unsupported-status" {
			t.Fatalf("id %s", q.ID())
		}
		t.Run(q.String(), func(t *testing.T) {
			reg, subject, _ := rqSetup(t, q)
			resp := do(t, reg, "GET", "/v2/app/referrers/"+string(subject.Digest()), nil)
			if tc.code == "" {
				wantStatus(t, resp, tc.status)
			} else {
				wantError(t, resp, tc.status, tc.code)
			}
			hqWantQuirks(t, reg, q.String())
			resp = rqPutReferrer(t, reg, subject, "application/example")
			if hqHasHeader(resp, "OCI-Subject") {
				t.Error("OCI-Subject sent without a referrers API")
			}
			hqWantQuirks(t, reg, q.String())
			wantStatus(t, do(t, reg, "GET", "/v2/app/tags/list", nil), http.StatusOK)
			hqWantQuirks(t, reg)
		})
	}
}

func TestQuirkReferrersWrongShape(t *testing.T) {
	for _, tc := range []struct {
		q           quirks.Quirk
		contentType string
		body        string // for a subject without referrers; "" with a check below
		always      bool   // also for a subject with referrers
	}{
		{quirks.ReferrersWrongShape(quirks.ReferrersEmptyBody, ""), "application/json", "", false},
		{quirks.ReferrersWrongShape(quirks.ReferrersNullManifests, ""), ocispec.MediaTypeImageIndex,
			`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null}` + "\n", false},
		{quirks.ReferrersWrongShape(quirks.ReferrersHTML, ""), "text/html; charset=utf-8", "", true},
		{quirks.ReferrersWrongShape(quirks.ReferrersIndexBody, "application/json"), "application/json", "", true},
	} {
		t.Run(tc.q.String(), func(t *testing.T) {
			reg, subject, refs := rqSetup(t, tc.q)
			lonely := "/v2/app/referrers/" + string(refs[0].Digest()) // has no referrers
			resp := do(t, reg, "GET", lonely, nil)
			wantStatus(t, resp, http.StatusOK)
			wantHeader(t, resp, "Content-Type", tc.contentType)
			switch {
			case strings.HasPrefix(tc.contentType, "text/html"):
				if !strings.Contains(string(resp.Body), "<html>") {
					t.Errorf("body %q is not HTML", resp.Body)
				}
			case tc.q.String() == quirks.ReferrersWrongShape(quirks.ReferrersIndexBody, "application/json").String():
				if idx := rqIndex(t, resp); idx.Manifests == nil || len(idx.Manifests) != 0 {
					t.Errorf("index body %s", resp.Body)
				}
			default:
				if string(resp.Body) != tc.body {
					t.Errorf("body %q, want %q", resp.Body, tc.body)
				}
			}
			hqWantQuirks(t, reg, tc.q.String())

			resp = do(t, reg, "GET", "/v2/app/referrers/"+string(subject.Digest()), nil)
			wantStatus(t, resp, http.StatusOK)
			if tc.always {
				wantHeader(t, resp, "Content-Type", tc.contentType)
				hqWantQuirks(t, reg, tc.q.String())
			} else {
				wantHeader(t, resp, "Content-Type", ocispec.MediaTypeImageIndex)
				rqWantDigests(t, rqIndex(t, resp), refs...)
				hqWantQuirks(t, reg)
			}
			// Neighbour: tags list.
			wantHeader(t, do(t, reg, "GET", "/v2/app/tags/list", nil), "Content-Type", "application/json")
			hqWantQuirks(t, reg)
		})
	}
}

func TestQuirkReferrersFilterIgnored(t *testing.T) {
	for _, tc := range []struct {
		mode     quirks.ReferrersFilter
		filtered bool
	}{
		{quirks.FilterIgnored, false},
		{quirks.FilterAppliedWithoutHeader, true},
	} {
		q := quirks.ReferrersFilterIgnored(tc.mode)
		t.Run(q.String(), func(t *testing.T) {
			reg, subject, refs := rqSetup(t, q)
			path := "/v2/app/referrers/" + string(subject.Digest())
			resp := do(t, reg, "GET", path+"?"+rqType(rqSig), nil)
			wantStatus(t, resp, http.StatusOK)
			if hqHasHeader(resp, "OCI-Filters-Applied") {
				t.Errorf("OCI-Filters-Applied %q", resp.Header.Get("OCI-Filters-Applied"))
			}
			if tc.filtered {
				rqWantDigests(t, rqIndex(t, resp), refs[1])
			} else {
				rqWantDigests(t, rqIndex(t, resp), refs...)
			}
			hqWantQuirks(t, reg, q.String())
			// Neighbour: no filter asked for, nothing to ignore.
			resp = do(t, reg, "GET", path, nil)
			rqWantDigests(t, rqIndex(t, resp), refs...)
			hqWantQuirks(t, reg)
		})
	}
}

func TestQuirkReferrersPageSize(t *testing.T) {
	q := quirks.ReferrersPageSize(2, true)
	reg, subject, refs := rqSetup(t, q)
	rqPutReferrer(t, reg, subject, rqSig)
	third, _ := reg.LastRequest()
	path := "/v2/app/referrers/" + string(subject.Digest())

	resp := do(t, reg, "GET", path, nil)
	wantStatus(t, resp, http.StatusOK)
	rqWantDigests(t, rqIndex(t, resp), refs...)
	link := `<` + path + `?` + url.Values{"last": {string(refs[1].Digest())}, "n": {"2"}}.Encode() + `>; rel="next"`
	wantHeader(t, resp, "Link", link)
	hqWantQuirks(t, reg, q.String())

	resp = do(t, reg, "GET", path+"?last="+string(refs[1].Digest())+"&n=2", nil)
	if got := rqDigests(rqIndex(t, resp)); len(got) != 1 || string(got[0]) != third.Reference {
		t.Errorf("second page %v, want [%s]", got, third.Reference)
	}
	wantHeader(t, resp, "Link", "")
	hqWantQuirks(t, reg, q.String())

	// n honoured, the filter carried into the Link.
	resp = do(t, reg, "GET", path+"?n=1&"+rqType(rqSig), nil)
	idx := rqIndex(t, resp)
	rqWantDigests(t, idx, refs[1])
	next := url.Values{"artifactType": {rqSig}, "last": {string(refs[1].Digest())}, "n": {"1"}}
	wantHeader(t, resp, "Link", `<`+path+`?`+next.Encode()+`>; rel="next"`)
	hqWantQuirks(t, reg, q.String())

	// Neighbour: a list that fits in a page is not changed.
	resp = do(t, reg, "GET", path+"?"+rqType(rqSBOM), nil)
	rqWantDigests(t, rqIndex(t, resp), refs[0])
	wantHeader(t, resp, "Link", "")
	hqWantQuirks(t, reg)

	// Without honouring n, n is ignored as the spec fixture does.
	reg.SetQuirks(quirks.ReferrersPageSize(0, false))
	resp = do(t, reg, "GET", path+"?n=1", nil)
	if got := rqDigests(rqIndex(t, resp)); len(got) != 3 {
		t.Errorf("n ignored: %d referrers, want 3", len(got))
	}
	hqWantQuirks(t, reg)
}

func TestQuirkOCISubjectHeader(t *testing.T) {
	never := quirks.OCISubjectHeader(quirks.SubjectHeaderNever)
	reg, subject, _ := rqSetup(t, never)
	resp := rqPutReferrer(t, reg, subject, "application/example")
	wantStatus(t, resp, http.StatusCreated)
	if hqHasHeader(resp, "OCI-Subject") {
		t.Error("OCI-Subject sent with never")
	}
	wantHeader(t, resp, "Docker-Content-Digest", resp.Header.Get("Docker-Content-Digest"))
	hqWantQuirks(t, reg, never.String())
	// The referrers API still works; a PUT without subject is unchanged.
	wantStatus(t, do(t, reg, "GET", "/v2/app/referrers/"+string(subject.Digest()), nil), http.StatusOK)
	hqWantQuirks(t, reg)
	wantStatus(t, do(t, reg, "PUT", "/v2/app/manifests/v2", subject.Bytes(), "Content-Type: "+ocispec.MediaTypeImageManifest), http.StatusCreated)
	hqWantQuirks(t, reg)

	// always, with the API absent: ECR's 2024 answer.
	always := quirks.OCISubjectHeader(quirks.SubjectHeaderAlways)
	noAPI := quirks.NoReferrersAPI(quirks.ReferrersNotFound)
	reg.SetQuirks(noAPI, always)
	resp = rqPutReferrer(t, reg, subject, "application/other")
	wantHeader(t, resp, "OCI-Subject", string(subject.Digest()))
	hqWantQuirks(t, reg, always.String())
	wantStatus(t, do(t, reg, "GET", "/v2/app/referrers/"+string(subject.Digest()), nil), http.StatusNotFound)
	hqWantQuirks(t, reg, noAPI.String())

	// always with the API present changes nothing.
	reg.SetQuirks(always)
	resp = rqPutReferrer(t, reg, subject, "application/third")
	wantHeader(t, resp, "OCI-Subject", string(subject.Digest()))
	hqWantQuirks(t, reg)
}

func TestQuirkRejectSubjectField(t *testing.T) {
	q := quirks.RejectSubjectField(http.StatusNotFound, quirks.SubjectField)
	reg, subject, _ := rqSetup(t, q)
	ref := rqReferrer(t, reg, subject, "application/example")
	before := reg.Store().Snapshot()
	resp := rqPut(t, reg, ref)
	wantError(t, resp, http.StatusNotFound, memstore.CodeManifestUnknown)
	hqWantQuirks(t, reg, q.String())
	unchanged(t, reg, before)

	// Neighbours: an artifact without subject, an image.
	a := NewArtifact("application/example", nil, []byte("standalone"))
	for _, b := range a.Blobs() {
		reg.PushBlob(t, "app", b.Data)
	}
	wantStatus(t, do(t, reg, "PUT", "/v2/app/manifests/art", a.Bytes(), "Content-Type: "+ocispec.MediaTypeImageManifest), http.StatusCreated)
	hqWantQuirks(t, reg)

	// artifactType refused with 405, as ECR's 2026 report.
	q = quirks.RejectSubjectField(http.StatusMethodNotAllowed, quirks.SubjectField|quirks.ArtifactTypeField)
	reg.SetQuirks(q)
	before = reg.Store().Snapshot()
	wantError(t, do(t, reg, "PUT", "/v2/app/manifests/art2", a.Bytes(), "Content-Type: "+ocispec.MediaTypeImageManifest), http.StatusMethodNotAllowed, memstore.CodeUnsupported)
	hqWantQuirks(t, reg, "subject-field-rejected(405,subject,artifactType)")
	unchanged(t, reg, before)
	wantStatus(t, do(t, reg, "PUT", "/v2/app/manifests/v3", subject.Bytes(), "Content-Type: "+ocispec.MediaTypeImageManifest), http.StatusCreated)
	hqWantQuirks(t, reg)
}

func TestQuirkFallbackTagResolvesToSubject(t *testing.T) {
	q := quirks.FallbackTagResolvesToSubject()
	reg, subject, refs := rqSetup(t, q)
	tag := "sha256-" + subject.Digest().Encoded()
	// The fallback index a client would have pushed.
	fallback := NewIndex(Children(refs[0], refs[1]))
	reg.PushIndex(t, "app", tag, fallback)

	for _, method := range []string{"GET", "HEAD"} {
		resp := do(t, reg, method, "/v2/app/manifests/"+tag, nil)
		wantStatus(t, resp, http.StatusOK)
		wantHeader(t, resp, "Content-Type", ocispec.MediaTypeImageManifest)
		wantHeader(t, resp, "Docker-Content-Digest", string(subject.Digest()))
		if method == "GET" && string(resp.Body) != string(subject.Bytes()) {
			t.Error("fallback tag does not serve the subject")
		}
		hqWantQuirks(t, reg, q.String())
	}
	// Neighbours: a fallback-shaped tag whose subject is not here is an
	// ordinary tag; ordinary tags and digests are unchanged.
	other := "sha256-" + digest.FromString("elsewhere").Encoded()
	reg.PushIndex(t, "app", other, fallback)
	resp := do(t, reg, "GET", "/v2/app/manifests/"+other, nil)
	wantHeader(t, resp, "Docker-Content-Digest", string(fallback.Digest()))
	hqWantQuirks(t, reg)
	wantHeader(t, do(t, reg, "GET", "/v2/app/manifests/v1", nil), "Docker-Content-Digest", string(subject.Digest()))
	hqWantQuirks(t, reg)
	// Without the quirk the tag is the index.
	reg.SetQuirks()
	wantHeader(t, do(t, reg, "GET", "/v2/app/manifests/"+tag, nil), "Docker-Content-Digest", string(fallback.Digest()))
}

func TestReferrersQuirkExamples(t *testing.T) {
	for _, id := range []string{
		"no-digest-on-tag-get", "digest-header-wrong", "missing-content-length", "wrong-content-type",
		"head-manifest-unsupported", "not-found-as-403", "nonstandard-error-codes",
		"no-referrers-api", "referrers-odd-unsupported-status", "referrers-200-wrong-shape",
		"referrers-filter-ignored", "referrers-pagination", "oci-subject-header-unreliable",
		"subject-field-rejected", "fallback-tag-anomalies",
	} {
		q, ok := quirks.Example(id)
		if !ok || q.ID() != id {
			t.Errorf("Example(%s) = %v, %v", id, q, ok)
			continue
		}
		// Each example runs on a registry without upsetting a plain pull.
		reg, _ := hqSetup(t, q)
		if resp := do(t, reg, "GET", "/v2/app/manifests/v1", nil); resp.Status != http.StatusOK {
			t.Errorf("%s: GET manifest %d", q, resp.Status)
		}
	}
}
