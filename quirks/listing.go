package quirks

import (
	"fmt"
	"net/http"
)

// ListBehavior is how tag, catalog and referrers listings are paginated
// and encoded.
type ListBehavior struct {
	// MaxPageSize refuses pages larger than Value.Max with Value.Error.
	MaxPageSize Setting[PageLimit]
	// DefaultPageSize pages listings to this size when the client sent no n.
	DefaultPageSize Setting[int]
	// IgnorePageParams ignores n and last: the whole list, no Link.
	IgnorePageParams Setting[bool]
	// IgnoreLast ignores last, so every request returns the first page.
	IgnoreLast Setting[bool]
	// OpaqueCursor puts an opaque next=<token> in Link and refuses last=.
	OpaqueCursor Setting[ErrorResponse]
	// TagOrder lists tags in another order than lexical.
	TagOrder Setting[TagOrder]
	// EmptyTagList encodes a repository without tags differently.
	EmptyTagList Setting[EmptyTagList]
	// InvalidTagEntries adds these raw JSON values to every tags list.
	InvalidTagEntries Setting[[]string]
	// Catalog refuses /v2/_catalog with this answer.
	Catalog Setting[ErrorResponse]
}

// PageLimit is the largest page a registry serves and its error beyond.
type PageLimit struct {
	Max   int
	Error ErrorResponse
}

// TagOrder is an order tags are listed in.
type TagOrder int

// Tag orders.
const (
	TagsLexical   TagOrder = iota // the spec's order
	TagsInsertion                 // the order tags were first pushed (storage order)
	TagsReverse                   // reverse lexical
)

// EmptyTagList is how a repository with no tags is listed.
type EmptyTagList int

// Encodings of an empty tag list.
const (
	EmptyTagsArray    EmptyTagList = iota // "tags": [] (the spec)
	EmptyTagsNull                         // "tags": null
	EmptyTagsOmitted                      // no "tags" field
	EmptyTagsNotFound                     // 404 NAME_UNKNOWN
)

func init() {
	register("ecr-page-limit", func() Quirk { return MaxPageSize(1000) })
	register("list-default-page-size", func() Quirk { return DefaultPageSize(100) })
	register("list-no-pagination", IgnorePageParams)
	register("list-ignore-last", IgnoreLast)
	register("ecr-opaque-cursor", OpaqueListCursor)
	register("list-unsorted", func() Quirk { return UnsortedTags(TagsInsertion) })
	register("tags-null-or-404-when-empty", func() Quirk { return EmptyTags(EmptyTagsNull) })
	register("tags-list-invalid-entries", func() Quirk {
		return InvalidTagEntries(`null`, `"sha256:0000000000000000000000000000000000000000000000000000000000000000"`, `"-bad"`)
	})
	register("catalog-unsupported", func() Quirk { return CatalogUnsupported(http.StatusUnauthorized) })
}

// MaxPageSize refuses tag, catalog and referrers pages larger than max, as
// AWS ECR refuses n above 1000: 405 with
// {"errors":[{"code":"UNSUPPORTED","message":"Invalid parameter at
// 'maxResults' failed to satisfy constraint: 'Member must have value less
// than or equal to 1000'"}]}. Clients that ask for more (crane ls once
// asked for 10000) fail.
//
// Catalog id ecr-page-limit. Registries: AWS ECR, ECR Public. Evidence:
// https://github.com/google/go-containerregistry/issues/681
func MaxPageSize(max int) Quirk {
	limit := PageLimit{Max: max, Error: ErrorResponse{
		Status:  http.StatusMethodNotAllowed,
		Code:    "UNSUPPORTED",
		Message: fmt.Sprintf("Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to %d'", max),
	}}
	return newQuirk("ecr-page-limit", fmt.Sprint(max), func(b *Behavior, by string) { b.List.MaxPageSize.set(limit, by) })
}

// DefaultPageSize pages tag and catalog listings at n entries when the
// client sent no n, with a Link header to the next page, as ECR and
// Docker Hub (100), Quay (50), GHCR and Harbor do. Clients that read one
// page silently lose tags.
//
// Catalog id list-default-page-size. Evidence:
// https://github.com/docker-archive/migrator/issues/96,
// https://github.com/genuinetools/reg/issues/206,
// https://github.com/gadievron/raptor/pull/495,
// https://github.com/meziantou/Meziantou.Framework/pull/2190,
// https://github.com/deitch/docker_registry2/pull/107
func DefaultPageSize(n int) Quirk {
	return newQuirk("list-default-page-size", fmt.Sprint(n), func(b *Behavior, by string) { b.List.DefaultPageSize.set(n, by) })
}

// IgnorePageParams ignores n and last on listings: every request gets the
// whole list and no Link header, as distribution up to 2.8 does. Clients
// that page by counting results see everything on the first page; clients
// that expect at most n entries get more.
//
// Catalog id list-no-pagination. Evidence:
// https://github.com/distribution/distribution/issues/1936,
// https://github.com/distribution/distribution/pull/3143,
// https://github.com/deckhouse/deckhouse/pull/18914
func IgnorePageParams() Quirk {
	return newQuirk("list-no-pagination", "", func(b *Behavior, by string) { b.List.IgnorePageParams.set(true, by) })
}

// IgnoreLast ignores the last parameter of tag listings, so a client that
// pages with last gets the first page again, as Quay did in 2022. A client
// that does not check for progress loops for ever.
//
// Catalog id list-ignore-last. Evidence:
// https://github.com/regclient/regclient/issues/272
func IgnoreLast() Quirk {
	return newQuirk("list-ignore-last", "", func(b *Behavior, by string) { b.List.IgnoreLast.set(true, by) })
}

// OpaqueListCursor makes the Link header carry an opaque next=<token>
// instead of last=, and answers a request that rebuilds the next page
// with last= with 405 UNSUPPORTED "Invalid parameter at 'NextToken' failed
// to satisfy constraint: 'Invalid next token provided'", as ECR Public
// does. Only clients that follow Link verbatim see every tag.
//
// Catalog id ecr-opaque-cursor. Evidence:
// https://github.com/CodesWhat/drydock/pull/927
func OpaqueListCursor() Quirk {
	e := ErrorResponse{
		Status:  http.StatusMethodNotAllowed,
		Code:    "UNSUPPORTED",
		Message: "Invalid parameter at 'NextToken' failed to satisfy constraint: 'Invalid next token provided'",
	}
	return newQuirk("ecr-opaque-cursor", "", func(b *Behavior, by string) { b.List.OpaqueCursor.set(e, by) })
}

// UnsortedTags lists tags in another order than the spec's lexical one:
// storage (first push) order as distribution up to 2.8, Docker Hub and
// R2-backed registries do, or reversed. Clients that take the last tag as
// the newest, or resume with last= assuming sorted order, go wrong.
//
// Catalog id list-unsorted. Evidence:
// https://github.com/distribution/distribution/pull/3143,
// https://github.com/gadievron/raptor/pull/495,
// https://github.com/cloudflare/serverless-registry/issues/125,
// https://github.com/opencontainers/distribution-spec/pull/583
func UnsortedTags(order TagOrder) Quirk {
	name := map[TagOrder]string{TagsLexical: "lexical", TagsInsertion: "insertion", TagsReverse: "reverse"}[order]
	return newQuirk("list-unsorted", name, func(b *Behavior, by string) { b.List.TagOrder.set(order, by) })
}

// EmptyTags encodes the tag list of a repository without tags oddly:
// "tags": null (distribution 2.1; GHCR for repositories holding only
// untagged manifests), no tags field, or 404 NAME_UNKNOWN (distribution 3.0
// after the last tag is deleted, while the catalog still lists the
// repository). JSON consumers crash on null; "404 means missing" logic
// misfires.
//
// Catalog id tags-null-or-404-when-empty. Evidence:
// https://github.com/distribution/distribution/issues/1186,
// https://github.com/zeegin/v8std/pull/39,
// https://github.com/distribution/distribution/issues/4324,
// https://github.com/Azure/acr/pull/175
func EmptyTags(enc EmptyTagList) Quirk {
	name := map[EmptyTagList]string{EmptyTagsArray: "array", EmptyTagsNull: "null", EmptyTagsOmitted: "omit", EmptyTagsNotFound: "notFound"}[enc]
	return newQuirk("tags-null-or-404-when-empty", name, func(b *Behavior, by string) { b.List.EmptyTagList.set(enc, by) })
}

// InvalidTagEntries adds raw JSON values that are not tags to every tag
// list, after the real tags: null (Sonatype Nexus 3.58), digests such as
// "sha256:…" (JFrog Artifactory), invalid names such as "-bad" (ECR
// Public). skopeo failed with "registry returned invalid tag".
//
// Catalog id tags-list-invalid-entries. Evidence:
// https://github.com/containers/skopeo/issues/2409,
// https://github.com/containers/skopeo/issues/2346,
// https://github.com/containers/image/pull/2544,
// https://github.com/containers/image/pull/2440,
// https://github.com/containers/image/issues/2771
func InvalidTagEntries(rawJSON ...string) Quirk {
	entries := append([]string(nil), rawJSON...)
	return newQuirk("tags-list-invalid-entries", fmt.Sprint(len(entries)), func(b *Behavior, by string) { b.List.InvalidTagEntries.set(entries, by) })
}

// CatalogUnsupported refuses GET /v2/_catalog with status: 401
// UNAUTHORIZED as Docker Hub does even when logged in, 404 as GitHub's
// registries and distribution 2.0 do, or 405 as Harbor does.
//
// Catalog id catalog-unsupported. Evidence:
// https://github.com/regclient/regclient/issues/539,
// https://github.com/microsoft/vscode-docker/issues/1525,
// https://github.com/microsoft/vscode-docker/issues/1927,
// https://github.com/distribution/distribution/issues/768
func CatalogUnsupported(status int) Quirk {
	e := ErrorResponse{Status: status}
	switch status {
	case http.StatusUnauthorized:
		e.Code, e.Message = "UNAUTHORIZED", "authentication required"
	case http.StatusNotFound:
		e.Code, e.Message = "NAME_UNKNOWN", "repository name not known to registry"
	default:
		e.Code, e.Message = "UNSUPPORTED", "The operation is unsupported."
	}
	return newQuirk("catalog-unsupported", fmt.Sprint(status), func(b *Behavior, by string) { b.List.Catalog.set(e, by) })
}
