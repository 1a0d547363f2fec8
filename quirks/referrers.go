package quirks

import (
	"fmt"
	"net/http"
)

// ReferrersBehavior is how a request is answered as to the referrers API and the OCI-Subject header.
type ReferrersBehavior struct {
	// Unsupported answers every referrers request this way: the registry
	// has no referrers API. Manifest PUTs then send no OCI-Subject.
	Unsupported Setting[ReferrersAnswer]
	// Shape answers referrers requests with 200 but not a proper index.
	Shape Setting[ReferrersShape]
	// Filter ignores the artifactType filter or does not announce it.
	Filter Setting[ReferrersFilter]
	// Paging pages referrers lists with Link headers.
	Paging Setting[ReferrersPaging]
	// SubjectHeader sends OCI-Subject on manifest PUT regardless of the
	// referrers API, or never.
	SubjectHeader Setting[SubjectHeader]
	// RejectFields refuses manifest PUTs whose body has these fields.
	RejectFields Setting[FieldRejection]
	// FallbackTagToSubject resolves the referrers fallback tag
	// <alg>-<hex> to the subject manifest <alg>:<hex> itself.
	FallbackTagToSubject Setting[bool]
}

// ReferrersAnswer is how a registry without the referrers API answers
// GET /v2/<name>/referrers/<digest>.
type ReferrersAnswer struct {
	// Error is the answer: its status, and its JSON error code or raw body.
	Error ErrorResponse
	// Redirect first answers 303 See Other to a Location on the same host
	// whose path cuts the digest down to its algorithm
	// (/v2/<name>/referrers/sha256), as GHCR's Location does; a request
	// there gets Error.
	Redirect bool
}

// ReferrersAbsence is how a registry says it has no referrers API.
type ReferrersAbsence int

// Answers of a missing referrers API.
const (
	ReferrersNotFound            ReferrersAbsence = iota + 1 // 404 text/plain "404 page not found", as a router answers an unknown path
	ReferrersNotFoundNameUnknown                             // 404 NAME_UNKNOWN
	ReferrersNotAcceptable                                   // 406 Not Acceptable
	ReferrersBadRequest                                      // 400 Bad Request
	ReferrersRedirect                                        // 303 to a truncated Location, which answers 429
	ReferrersTooManyRequests                                 // 429 TOOMANYREQUESTS
)

var absenceNames = map[ReferrersAbsence]string{
	ReferrersNotFound:            "notFound",
	ReferrersNotFoundNameUnknown: "notFoundNameUnknown",
	ReferrersNotAcceptable:       "notAcceptable",
	ReferrersBadRequest:          "badRequest",
	ReferrersRedirect:            "redirect",
	ReferrersTooManyRequests:     "tooManyRequests",
}

// referrersAnswer is the answer of each kind of absence.
func referrersAnswer(a ReferrersAbsence) ReferrersAnswer {
	switch a {
	case ReferrersNotFoundNameUnknown:
		return ReferrersAnswer{Error: ErrorResponse{Status: http.StatusNotFound, Code: "NAME_UNKNOWN", Message: "repository name not known to registry"}}
	case ReferrersNotAcceptable:
		return ReferrersAnswer{Error: ErrorResponse{Status: http.StatusNotAcceptable, Body: "Not Acceptable\n"}}
	case ReferrersBadRequest:
		return ReferrersAnswer{Error: ErrorResponse{Status: http.StatusBadRequest, Code: "UNSUPPORTED", Message: "referrers API not supported"}}
	case ReferrersRedirect:
		a := referrersAnswer(ReferrersTooManyRequests)
		a.Redirect = true
		return a
	case ReferrersTooManyRequests:
		return ReferrersAnswer{Error: ErrorResponse{Status: http.StatusTooManyRequests, Code: "TOOMANYREQUESTS", Message: "rate limit exceeded"}}
	default:
		return ReferrersAnswer{Error: ErrorResponse{Status: http.StatusNotFound, Body: "404 page not found\n"}}
	}
}

// ReferrersBody is what a 200 referrers answer carries.
type ReferrersBody int

// Referrers bodies.
const (
	ReferrersIndexBody     ReferrersBody = iota // the proper index (only the Content-Type is off)
	ReferrersEmptyBody                          // no body at all, when there are no referrers
	ReferrersNullManifests                      // an index with "manifests": null, when there are no referrers
	ReferrersHTML                               // an HTML page, always
)

// ReferrersShape is a malformed 200 referrers answer: its body and the
// Content-Type it is sent with.
type ReferrersShape struct {
	Body        ReferrersBody
	ContentType string
}

// ReferrersFilter is what a registry does with ?artifactType=.
type ReferrersFilter int

// Filter handling.
const (
	FilterApplied              ReferrersFilter = iota // filtered, with OCI-Filters-Applied (the spec)
	FilterIgnored                                     // every referrer, no OCI-Filters-Applied
	FilterAppliedWithoutHeader                        // filtered, but no OCI-Filters-Applied
)

// ReferrersPaging is how referrers lists are paged: at most PageSize
// descriptors per page (0: no limit of the server's own), and the client's
// n honoured (HonourN) or ignored.
type ReferrersPaging struct {
	PageSize int
	HonourN  bool
}

// SubjectHeader is when manifest PUTs answer with OCI-Subject.
type SubjectHeader int

// OCI-Subject header modes.
const (
	SubjectHeaderAccurate SubjectHeader = iota // when the manifest has a subject and the referrers API exists (the spec)
	SubjectHeaderAlways                        // when the manifest has a subject, even without a referrers API
	SubjectHeaderNever                         // never
)

// ManifestFields is a set of manifest fields.
type ManifestFields int

// Manifest fields a registry may refuse.
const (
	SubjectField      ManifestFields = 1 << iota // a non-null "subject"
	ArtifactTypeField                            // a non-empty top-level "artifactType"
)

func (f ManifestFields) String() string {
	return flagNames([]string{"subject", "artifactType"}, []bool{f&SubjectField != 0, f&ArtifactTypeField != 0})
}

// FieldRejection refuses manifests that have any of Fields with Error.
type FieldRejection struct {
	Fields ManifestFields
	Error  ErrorResponse
}

func init() {
	register("no-referrers-api", func() Quirk { return NoReferrersAPI(ReferrersNotFound) })
	register("referrers-odd-unsupported-status", func() Quirk { return ReferrersOddStatus(http.StatusNotAcceptable) })
	register("referrers-200-wrong-shape", func() Quirk { return ReferrersWrongShape(ReferrersEmptyBody, "") })
	register("referrers-filter-ignored", func() Quirk { return ReferrersFilterIgnored(FilterAppliedWithoutHeader) })
	register("referrers-pagination", func() Quirk { return ReferrersPageSize(10, true) })
	register("oci-subject-header-unreliable", func() Quirk { return OCISubjectHeader(SubjectHeaderAlways) })
	register("subject-field-rejected", func() Quirk { return RejectSubjectField(http.StatusNotFound, SubjectField) })
	register("fallback-tag-anomalies", FallbackTagResolvesToSubject)
}

// NoReferrersAPI makes GET /v2/<name>/referrers/<digest> answer as a
// registry without the referrers API: 404 with a plain-text body
// (ReferrersNotFound: GHCR, Docker Hub, distribution/registry 2 and 3.0),
// 404 NAME_UNKNOWN, 406, 400, or a 303 to a Location that answers 429 (see
// ReferrersOddStatus for those). Manifest PUTs then send no OCI-Subject
// header, so spec-following clients maintain the sha256-<hex> fallback
// tag (OCISubjectHeader(SubjectHeaderAlways) sends it anyway, as ECR
// did). Every client carries fallback logic: oras-go takes 404 as
// unsupported unless the body says NAME_UNKNOWN, go-containerregistry
// accepts 404, 400 and 406; notation gated referrers behind a flag.
//
// Catalog id no-referrers-api. Evidence:
// https://github.com/containerd/containerd/pull/12347,
// https://github.com/dataaxiom/ghcr-cleanup-action/issues/13,
// https://github.com/actions/attest-build-provenance/issues/71,
// https://github.com/docker/roadmap/issues/724,
// https://github.com/oras-project/rust-oci-client/pull/259,
// https://github.com/google/go-containerregistry/issues/1647,
// https://github.com/notaryproject/notation/issues/659
func NoReferrersAPI(how ReferrersAbsence) Quirk {
	a := referrersAnswer(how)
	return newQuirk("no-referrers-api", absenceNames[how], func(b *Behavior, by string) { b.Referrers.Unsupported.set(a, by) })
}

// ReferrersOddStatus makes a registry without the referrers API say so
// with an unusual status: 406 Not Acceptable (an unnamed registry; 406 was
// added to go-containerregistry's fallback list), 303 See Other to a
// Location that truncates the digest and answers 429, as GHCR did in 2026
// (Location `https://github.com/-/v2/packages/container/package/...%2Freferrers%2Fsha256`,
// here a path on the fixture's own host), or 429 directly; Artifact Hub's
// tracking stalled on the 429 for 12 hours. oras-go treats anything but
// 200 and 404 as an error. Any other status is answered with a JSON
// UNSUPPORTED error. Manifest PUTs send no OCI-Subject, as with
// NoReferrersAPI.
//
// Catalog id referrers-odd-unsupported-status. Evidence:
// https://github.com/google/go-containerregistry/issues/1962,
// https://github.com/artifacthub/hub/issues/4785
func ReferrersOddStatus(status int) Quirk {
	var a ReferrersAnswer
	switch status {
	case http.StatusNotAcceptable:
		a = referrersAnswer(ReferrersNotAcceptable)
	case http.StatusSeeOther:
		a = referrersAnswer(ReferrersRedirect)
	case http.StatusTooManyRequests:
		a = referrersAnswer(ReferrersTooManyRequests)
	default:
		a = ReferrersAnswer{Error: ErrorResponse{Status: status, Code: "UNSUPPORTED", Message: "referrers API not supported"}}
	}
	return newQuirk("referrers-odd-unsupported-status", fmt.Sprint(status), func(b *Behavior, by string) { b.Referrers.Unsupported.set(a, by) })
}

// ReferrersWrongShape answers the referrers API with 200 but not a proper
// image index: no body at all (ReferrersEmptyBody) or "manifests": null
// (ReferrersNullManifests) for a subject without referrers, as Harbor
// before 2.8 did; an HTML page (ReferrersHTML) from a catch-all web
// frontend; or the right index (ReferrersIndexBody) under another
// Content-Type. contentType "" means application/json for an empty body,
// the index media type for null manifests, text/html for HTML. oras-go and
// go-containerregistry accept a 200 only with Content-Type
// application/vnd.oci.image.index.v1+json and otherwise fall back to the
// tag schema; regclient takes any 200 as support, so clients disagree on
// the same answer.
//
// Catalog id referrers-200-wrong-shape. Evidence:
// https://github.com/goharbor/harbor/pull/18430
func ReferrersWrongShape(body ReferrersBody, contentType string) Quirk {
	if contentType == "" {
		switch body {
		case ReferrersEmptyBody:
			contentType = "application/json"
		case ReferrersNullManifests:
			contentType = "application/vnd.oci.image.index.v1+json"
		case ReferrersHTML:
			contentType = "text/html; charset=utf-8"
		}
	}
	s := ReferrersShape{Body: body, ContentType: contentType}
	name := map[ReferrersBody]string{ReferrersIndexBody: "index", ReferrersEmptyBody: "emptyBody", ReferrersNullManifests: "nullManifests", ReferrersHTML: "html"}[body]
	if contentType != "" {
		name += "," + contentType
	}
	return newQuirk("referrers-200-wrong-shape", name, func(b *Behavior, by string) { b.Referrers.Shape.set(s, by) })
}

// ReferrersFilterIgnored changes how GET
// /v2/<name>/referrers/<digest>?artifactType=<type> is answered: with
// every referrer and no OCI-Filters-Applied header (FilterIgnored), or
// filtered but without the header (FilterAppliedWithoutHeader), as Harbor
// up to 2.7 did. Clients must then filter themselves (oras-go does; cue's
// client did not).
//
// Catalog id referrers-filter-ignored. Evidence:
// https://github.com/goharbor/harbor/issues/18413,
// https://github.com/cue-labs/oci/issues/41
func ReferrersFilterIgnored(mode ReferrersFilter) Quirk {
	name := map[ReferrersFilter]string{FilterApplied: "applied", FilterIgnored: "ignored", FilterAppliedWithoutHeader: "appliedWithoutHeader"}[mode]
	return newQuirk("referrers-filter-ignored", name, func(b *Behavior, by string) { b.Referrers.Filter.set(mode, by) })
}

// ReferrersPageSize pages referrers lists: at most pageSize descriptors
// per answer (0: no limit of the server's own), and when honourN the
// client's ?n= too, with a Link: <…?last=<digest>&n=…>; rel="next" header
// to the rest. Without this quirk the fixture answers every referrer at
// once and ignores n. oras-go's ReferrerListPageSize "may not work for all
// registries".
//
// Catalog id referrers-pagination. Evidence:
// https://github.com/oras-project/oras-go/issues/841
func ReferrersPageSize(pageSize int, honourN bool) Quirk {
	p := ReferrersPaging{PageSize: max(pageSize, 0), HonourN: honourN}
	name := fmt.Sprint(p.PageSize)
	if honourN {
		name += ",n"
	}
	return newQuirk("referrers-pagination", name, func(b *Behavior, by string) { b.Referrers.Paging.set(p, by) })
}

// OCISubjectHeader makes the OCI-Subject header of manifest PUTs
// unreliable: SubjectHeaderAlways sends it for every manifest with a
// subject even when the referrers API is absent (with NoReferrersAPI or
// ReferrersOddStatus), as AWS ECR did in 2024; SubjectHeaderNever never
// sends it. oras-go marks referrers as supported when it sees the header
// and regclient then skips the fallback tag, so on such a registry both
// lose referrers; sigstore-js stopped trusting the header.
//
// Catalog id oci-subject-header-unreliable. Evidence:
// https://github.com/sigstore/sigstore-js/pull/1183
func OCISubjectHeader(mode SubjectHeader) Quirk {
	name := map[SubjectHeader]string{SubjectHeaderAccurate: "accurate", SubjectHeaderAlways: "always", SubjectHeaderNever: "never"}[mode]
	return newQuirk("oci-subject-header-unreliable", name, func(b *Behavior, by string) { b.Referrers.SubjectHeader.set(mode, by) })
}

// RejectSubjectField refuses PUT /v2/<name>/manifests/<reference> of a
// manifest that has any of fields (a subject, a top-level artifactType)
// with status, storing nothing: 404 as Docker Hub did for subject until
// OCI 1.1 GA, 405 as AWS ECR did in 2026 for referrer manifests with
// artifactType and subject. oras and regclient failed to copy referrers;
// the deprecated ORAS artifact manifest was refused widely.
//
// Catalog id subject-field-rejected. Evidence:
// https://github.com/docker/hub-feedback/issues/2307,
// https://github.com/oras-project/oras/issues/666,
// https://github.com/aws/containers-roadmap/issues/2783,
// https://github.com/oras-project/oras/issues/557
func RejectSubjectField(status int, fields ManifestFields) Quirk {
	e := ErrorResponse{Status: status}
	switch status {
	case http.StatusNotFound:
		e.Code, e.Message = "MANIFEST_UNKNOWN", "manifest unknown"
	case http.StatusMethodNotAllowed:
		e.Code, e.Message = "UNSUPPORTED", "The operation is unsupported."
	default:
		e.Code, e.Message = "MANIFEST_INVALID", "manifest invalid"
	}
	r := FieldRejection{Fields: fields, Error: e}
	return newQuirk("subject-field-rejected", fmt.Sprintf("%d,%s", status, fields), func(b *Behavior, by string) { b.Referrers.RejectFields.set(r, by) })
}

// FallbackTagResolvesToSubject answers GET and HEAD of
// /v2/<name>/manifests/<alg>-<hex> (the referrers fallback tag) with the
// subject manifest <alg>:<hex> itself, not the fallback index, whenever
// that manifest is in the repository: "some registries resolve the
// fallback tag to the subject itself", says oras-go, which then treats
// the tag as not found. Fallback indexes written by go-containerregistry
// and cosign also lack pulled-up artifactType and annotations.
//
// Catalog id fallback-tag-anomalies. Evidence:
// https://github.com/sigstore/cosign/issues/4641
func FallbackTagResolvesToSubject() Quirk {
	return newQuirk("fallback-tag-anomalies", "resolvesToSubject", func(b *Behavior, by string) { b.Referrers.FallbackTagToSubject.set(true, by) })
}
