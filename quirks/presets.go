package quirks

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Presets bundle the quirks of one registry, after the catalog's section
// 13. Each call returns new quirk values, so count-based state (rate
// limits, every-Nth failures, lag) starts afresh for every registry that
// uses it. Behaviours that registries have since fixed are in the
// <Name>Historic variants, to add on top when a test needs them. The
// authentication quirks in a preset act only on a registry with
// authentication on (ocitest.WithBasicAuth or ocitest.WithTokenAuth).
//
// Later quirks override earlier ones that change the same behaviour, so a
// preset can be adjusted by appending:
//
//	ocitest.WithQuirks(append(quirks.ECR(), quirks.NoCreateOnPush("team/*"))...)

// Spec is the baseline: no quirks, the spec's behaviour.
func Spec() []Quirk { return nil }

// Distribution2x is registry:2 up to 2.8: no pagination, unsorted tags,
// null for an empty tag list, single-POST uploads that only start a
// session, deletes disabled (the default configuration), strict Accept
// handling with the manifest-list downgrade, no referrers API, sha256 only,
// "Range: 0-0" for an empty upload session, uploads purged after a week.
func Distribution2x() []Quirk {
	return []Quirk{
		IgnorePageParams(),
		UnsortedTags(TagsInsertion),
		EmptyTags(EmptyTagsNull),
		NoSinglePostUpload(http.StatusAccepted),
		DeleteUnsupported(DeleteRules{Manifests: DeleteRefused, Blobs: DeleteRefused}),
		StrictAccept(),
		DowngradeListForOldAccept(),
		NoReferrersAPI(ReferrersNotFound),
		SHA256Only(IgnoreDigestAlgorithm),
		WrongPatchRange(PatchRangeZeroZeroWhenEmpty, 0),
		UploadSessionExpiry(168 * time.Hour),
	}
}

// Distribution2xHistoric adds what registry:2 did before 2.3 (schema1
// served to clients that do not ask for v2), 2.2.1 with token auth (405 on
// manifest HEAD) and 2.0 (no catalog).
func Distribution2xHistoric() []Quirk {
	return []Quirk{
		Schema1Fallback(Schema1NoAccept),
		HeadManifestUnsupported(http.StatusMethodNotAllowed),
		CatalogUnsupported(http.StatusNotFound),
	}
}

// Distribution3 is registry 3.x: strict Accept handling with the
// manifest-list downgrade, no referrers API, 404 for a repository whose
// last tag was deleted, sha256 only, manifests over 4 MiB accepted but not
// served, deletes disabled (the default configuration).
func Distribution3() []Quirk {
	return []Quirk{
		StrictAccept(),
		DowngradeListForOldAccept(),
		NoReferrersAPI(ReferrersNotFound),
		EmptyTags(EmptyTagsNotFound),
		SHA256Only(IgnoreDigestAlgorithm),
		ManifestSizeLimit(ManifestSizeLimits{Get: 4 << 20}),
		DeleteUnsupported(DeleteRules{Manifests: DeleteRefused, Blobs: DeleteRefused}),
	}
}

// DockerHub is registry-1.docker.io: the pull rate limit (100 manifest
// GETs per 6 hours, with RateLimit headers), no catalog (401), no deletes
// through the registry API, strict Accept handling, Docker Hub's 400 on a
// mount from an unknown repository, blob GETs redirected to a CDN host that
// rejects a forwarded Authorization header, no referrers API, 100 tags per
// page by default in storage order, tags visible a moment after the push,
// at most namespace/repository names, and, with auth on, 401 instead of 404
// for a missing repository the caller may not push to.
func DockerHub() []Quirk {
	return []Quirk{
		DockerHubRateLimit(RateLimit{Limit: 100, Window: 6 * time.Hour}),
		CatalogUnsupported(http.StatusUnauthorized),
		DeleteUnsupported(DeleteRules{Manifests: DeleteRefused, Blobs: DeleteRefused}),
		StrictAccept(),
		DowngradeListForOldAccept(),
		MountMisbehaviour(MountBadRequestOnUnknownSource),
		RedirectBlobs(BlobRedirect{Status: http.StatusTemporaryRedirect}),
		RedirectTargetRejectsAuthorization(),
		NoReferrersAPI(ReferrersNotFound),
		DefaultPageSize(100),
		UnsortedTags(TagsInsertion),
		ReadAfterWriteLag(Lag{Tags: 1}),
		RepoNameRestrictions(RepoNameRules{MaxComponents: 2}),
		UnknownRepoUnauthorized(http.StatusUnauthorized),
	}
}

// DockerHubHistoric adds what Docker Hub did until 2022: an allow-list of
// config media types, refusing manifests with a subject (404), a digest
// header of another document, and schema1 for clients that did not ask for
// v2.
func DockerHubHistoric() []Quirk {
	return []Quirk{
		MediaTypeAllowlist(MediaTypeRules{Config: []string{
			"application/vnd.oci.image.config.v1+json",
			"application/vnd.docker.container.image.v1+json",
		}}),
		RejectSubjectField(http.StatusNotFound, SubjectField),
		WrongDigestHeader(DigestHeaderOtherDigest),
		Schema1Fallback(Schema1NoAccept),
	}
}

// GHCR is ghcr.io: no referrers API (clients must use the sha256-<hex>
// tag fallback), null tags for a repository holding only untagged
// manifests, no catalog (404), blob GETs redirected to another host, GHCR's
// "1.889377ms" Retry-After, an occasional 502 on uploads (every 50th upload
// request), manifests visible a moment after the push, strict Accept
// handling, 100 tags per page by default; with auth on, challenges that
// always ask for pull and the Basic password (a personal access token)
// handed back as the token.
func GHCR() []Quirk {
	return []Quirk{
		NoReferrersAPI(ReferrersNotFound),
		EmptyTags(EmptyTagsNull),
		CatalogUnsupported(http.StatusNotFound),
		RedirectBlobs(BlobRedirect{Status: http.StatusTemporaryRedirect}),
		UnusualRetryAfter(RetryAfterGoDuration, 1889377*time.Nanosecond),
		TransientErrors(Transient{Status: http.StatusBadGateway, Calls: CallUpload, Every: 50}),
		ReadAfterWriteLag(Lag{Manifests: 1}),
		StrictAccept(),
		DefaultPageSize(100),
		NonstandardChallenge(Challenge{ScopeActions: "pull"}),
		TokenResponseShape(TokenShape{EchoPassword: true}),
	}
}

// GHCRHistoric adds GHCR's 2021 pagination bug (last ignored).
func GHCRHistoric() []Quirk { return []Quirk{IgnoreLast()} }

// ECR is AWS ECR (private): pages of at most 1000 and 100 by default, no
// Docker-Content-Digest on GET by tag, 201 for chunk PATCHes with a Range
// stuck at the first chunk, repositories that must exist before the first
// push (seed them, or append NoCreateOnPush with patterns), empty blobs
// refused, a layer count limit, OCI-Subject sent whatever happens, mounts
// only of blobs a manifest references, a retried chunk failing the upload,
// blob GETs redirected to S3, which rejects a forwarded Authorization
// header, and an occasional 504 on pushes (every 50th upload request).
func ECR() []Quirk {
	return []Quirk{
		MaxPageSize(1000),
		DefaultPageSize(100),
		OmitDigestOnTagGet(),
		UploadStatusCodes(http.StatusCreated, 0),
		WrongPatchRange(PatchRangeStuckAtFirstChunk, 0),
		NoCreateOnPush(),
		EmptyBlobRejected(EmptyBlobECR),
		MaxLayersPerManifest(500),
		OCISubjectHeader(SubjectHeaderAlways),
		MountMisbehaviour(MountOnlyIfReferenced),
		UploadNotResumable(RetriedChunkFailsECR, 0),
		RedirectBlobs(BlobRedirect{Status: http.StatusTemporaryRedirect}),
		RedirectTargetRejectsAuthorization(),
		TransientErrors(Transient{Status: http.StatusGatewayTimeout, Calls: CallUpload, Every: 50}),
	}
}

// ECRHistoric adds ECR's refusal of OCI manifests without a top-level
// mediaType (the cosign v1 era).
func ECRHistoric() []Quirk { return []Quirk{RequireManifestMediaTypeField()} }

// ECRPublic is public.ecr.aws: an opaque pagination cursor, pages of at
// most 1000, tag lists with invalid names, no Docker-Content-Digest on GET
// by tag, repositories that must exist before the first push; with auth
// on, the challenge's scope is "aws" whatever the resource.
func ECRPublic() []Quirk {
	return []Quirk{
		OpaqueListCursor(),
		MaxPageSize(1000),
		InvalidTagEntries(`"-ot-beta-jmx"`),
		OmitDigestOnTagGet(),
		NoCreateOnPush(),
		NonstandardChallenge(Challenge{FixedScope: "aws"}),
	}
}

// GAR is Google Artifact Registry (*-docker.pkg.dev): empty blobs refused
// (400), content visible a moment after the push; with auth on, the
// ping's challenge has no service.
func GAR() []Quirk {
	return []Quirk{
		EmptyBlobRejected(EmptyBlobGAR),
		ReadAfterWriteLag(Lag{Tags: 1, Referrers: 1}),
		NonstandardChallenge(Challenge{OmitService: true, Calls: CallPing}),
	}
}

// Quay is quay.io: an allow-list of config media types, mounts that need
// from, 50 tags per page by default, schema1 for clients that only accept
// Docker types; with auth on, deletes that need push and token requests
// asking for delete refused, and 401 instead of 404 for a missing
// repository with a pull-only token.
func Quay() []Quirk {
	return []Quirk{
		MediaTypeAllowlist(MediaTypeRules{Config: []string{
			"application/vnd.oci.image.config.v1+json",
			"application/vnd.docker.container.image.v1+json",
			"application/vnd.cncf.helm.config.v1+json",
			"application/vnd.oci.empty.v1+json",
		}}),
		MountMisbehaviour(MountRequireFrom),
		DefaultPageSize(50),
		Schema1Fallback(Schema1DockerOnlyAccept),
		DeleteScopeQuirks(DeleteScope{Needs: "push", RefuseDeleteInTokenRequest: true}),
		UnknownRepoUnauthorized(http.StatusUnauthorized),
	}
}

// QuayHistoric adds Quay's ignored last (2022) and its refusal of OCI
// indexes (up to 2020).
func QuayHistoric() []Quirk {
	return []Quirk{
		IgnoreLast(),
		OCITypesUnsupported(ErrorResponse{Status: http.StatusBadRequest}, "application/vnd.oci.image.index.v1+json"),
	}
}

// ACR is Azure Container Registry: Content-Range in the RFC 9110 bytes form
// refused, chunked request bodies refused, monolithic uploads over about
// 20 MB refused, a retried chunk failing the upload, blob GETs redirected
// to a data endpoint, strict Accept handling; with auth on, the OAuth2
// POST to the token endpoint refused (400) and a Basic challenge for
// credentials that fall short.
func ACR() []Quirk {
	return []Quirk{
		StrictContentRange(ContentRangeRejectBytesUnit, 0),
		RequireContentLength(),
		MaxRequestBody(20<<20, TooLargeText),
		UploadNotResumable(RetriedChunkFailsACR, 0),
		RedirectBlobs(BlobRedirect{Status: http.StatusTemporaryRedirect}),
		StrictAccept(),
		TokenPOSTUnsupported(http.StatusBadRequest),
		BasicChallengeAfterBearer(ScopeChallenge{Realm: "Azure Container Registry"}),
	}
}

// Harbor is Harbor 2.x: 401 for a mount from a project that does not
// exist, UNKNOWN instead of MANIFEST_UNKNOWN, a 500 for a manifest whose
// config is empty; with auth on, `Basic realm="harbor"` for credentials
// that fall short and for the catalog, and tokens (granting nothing) for
// wrong credentials.
func Harbor() []Quirk {
	return []Quirk{
		MountMisbehaviour(MountUnauthorizedIfSourceMissing),
		NonstandardErrorCodes(ErrorRewrite{From: "MANIFEST_UNKNOWN", To: "UNKNOWN", Message: "artifact not found"}),
		EmptyBlobRejected(EmptyConfigHarbor),
		BasicChallengeAfterBearer(ScopeChallenge{Realm: "harbor", Catalog: true}),
		TokenForBadCredentials(),
	}
}

// HarborHistoric adds Harbor up to 2.7 (referrers filtered without
// OCI-Filters-Applied, an empty body when there are none) and 1.x (two
// name components at most).
func HarborHistoric() []Quirk {
	return []Quirk{
		ReferrersFilterIgnored(FilterAppliedWithoutHeader),
		ReferrersWrongShape(ReferrersEmptyBody, ""),
		RepoNameRestrictions(RepoNameRules{MaxComponents: 2}),
	}
}

// Artifactory is JFrog Artifactory: 403 for a manifest HEAD of missing
// content, digests listed as tags, the API under a repository path, the
// blob endpoint answering HEAD for manifests but not GET, re-uploads of
// an existing blob refused (deploy without overwrite permission), and,
// with auth on, the OAuth2 POST to the token endpoint refused (401).
func Artifactory() []Quirk {
	return []Quirk{
		NotFoundStatus(http.StatusForbidden, MissingRequests{ManifestHead: true}),
		InvalidTagEntries(`"sha256:0000000000000000000000000000000000000000000000000000000000000000"`),
		APIUnderPathPrefix("/artifactory/api/docker/docker-local"),
		BlobEndpointServesManifests(BlobEndpointHead200Get404),
		RejectReupload(),
		TokenPOSTUnsupported(http.StatusUnauthorized),
	}
}

// Nexus is Sonatype Nexus 3: null entries in tag lists and OCI indexes
// refused; with auth on, an upper-case `BASIC realm="Sonatype Nexus
// Repository Manager"` challenge for credentials that fall short.
func Nexus() []Quirk {
	return []Quirk{
		InvalidTagEntries(`null`),
		OCITypesUnsupported(ErrorResponse{Status: http.StatusBadRequest}, "application/vnd.oci.image.index.v1+json"),
		BasicChallengeAfterBearer(ScopeChallenge{Realm: "Sonatype Nexus Repository Manager", Scheme: "BASIC"}),
	}
}

// GitLab is the GitLab container registry: an allow-list of config media
// types, 401 for a mount from a project that does not exist, connections
// cut now and then (every 50th upload request), uploads purged after a
// day.
func GitLab() []Quirk {
	return []Quirk{
		MediaTypeAllowlist(MediaTypeRules{Config: []string{
			"application/vnd.oci.image.config.v1+json",
			"application/vnd.docker.container.image.v1+json",
			"application/vnd.cncf.helm.config.v1+json",
		}}),
		MountMisbehaviour(MountUnauthorizedIfSourceMissing),
		TransientErrors(Transient{Reset: true, Calls: CallUpload, Every: 50}),
		UploadSessionExpiry(24 * time.Hour),
	}
}

// Zot is older Zot releases: Docker media types refused, large manifests
// served without Content-Length, a PATCH Range that lags behind.
func Zot() []Quirk {
	return []Quirk{
		DockerMediaTypesRejected(ErrorResponse{}),
		OmitContentLength(ContentLengthOmission{ManifestGet: true, MinSize: 2000}),
		WrongPatchRange(PatchRangeOffBy, -1),
	}
}

// RedHat is registry.access.redhat.com / registry.redhat.io: no
// Docker-Content-Digest on GET or HEAD by tag, gzip on blob GETs, blobs
// without Content-Length, UNKNOWN error codes, blob GETs redirected to a
// CDN.
func RedHat() []Quirk {
	return []Quirk{
		OmitDigestHeader(DigestOmission{GetByTag: true, Head: true}),
		GzipBlobs(),
		OmitContentLength(ContentLengthOmission{BlobGet: true}),
		NonstandardErrorCodes(ErrorRewrite{From: "MANIFEST_UNKNOWN", To: "UNKNOWN", Message: "Not Found"}),
		RedirectBlobs(BlobRedirect{Status: http.StatusFound}),
	}
}

// FlakyProxy is generic infrastructure in front of any registry: no
// Content-Length, Range ignored, a 413 page for large bodies, 502s now and
// then (every 20th request) with unusual Retry-After, blob downloads cut
// short once, parameters on Content-Type.
func FlakyProxy() []Quirk {
	return []Quirk{
		OmitContentLength(ContentLengthOmission{ManifestGet: true, BlobGet: true}),
		RangeHandling(Ranges{Mode: RangesIgnored}),
		MaxRequestBody(100<<20, TooLargeHTML),
		TransientErrors(Transient{Status: http.StatusBadGateway, Calls: AllCalls, Every: 20}),
		UnusualRetryAfter(RetryAfterSeconds, 2*time.Second),
		TruncateBlobs(1024, 1),
		WrongContentType(ContentTypeWithParams, "charset=utf-8"),
	}
}

// presets maps lower-case preset names to their constructors.
var presets = map[string]func() []Quirk{
	"spec":                    Spec,
	"distribution2x":          Distribution2x,
	"distribution2x-historic": Distribution2xHistoric,
	"distribution3":           Distribution3,
	"dockerhub":               DockerHub,
	"dockerhub-historic":      DockerHubHistoric,
	"ghcr":                    GHCR,
	"ghcr-historic":           GHCRHistoric,
	"ecr":                     ECR,
	"ecr-historic":            ECRHistoric,
	"ecrpublic":               ECRPublic,
	"gar":                     GAR,
	"quay":                    Quay,
	"quay-historic":           QuayHistoric,
	"acr":                     ACR,
	"harbor":                  Harbor,
	"harbor-historic":         HarborHistoric,
	"artifactory":             Artifactory,
	"nexus":                   Nexus,
	"gitlab":                  GitLab,
	"zot":                     Zot,
	"redhat":                  RedHat,
	"flakyproxy":              FlakyProxy,
}

// PresetNames lists the presets Lookup knows, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func presetByName(name string) ([]Quirk, bool) {
	p, ok := presets[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return p(), true
}
