package quirks

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// ManifestBehavior is how a request is answered as to manifest validation,
// media types and content negotiation, and as to tags, immutability and
// deletion (catalog sections 3 and 5).
type ManifestBehavior struct {
	// StrictAccept answers 404 MANIFEST_UNKNOWN to a GET or HEAD of an
	// OCI manifest or index whose type the Accept header does not list.
	StrictAccept Setting[bool]
	// DowngradeList answers a GET by tag of a Docker manifest list, when
	// Accept does not list that type, with its linux/amd64 child.
	DowngradeList Setting[bool]
	// AcceptParsing negotiates the manifest type from a partly read Accept.
	AcceptParsing Setting[AcceptRules]
	// Schema1 serves tagged images as schema1 to clients that do not ask
	// for the newer types.
	Schema1 Setting[Schema1When]
	// MediaTypes refuses manifests naming config, artifact or layer media
	// types outside the allow-lists.
	MediaTypes Setting[MediaTypeRules]
	// RequireMediaTypeField refuses manifests without a top-level mediaType.
	RequireMediaTypeField Setting[ErrorResponse]
	// RejectOCITypes refuses manifests of these OCI media types.
	RejectOCITypes Setting[TypeRejection]
	// RejectDockerTypes refuses manifests of these Docker media types.
	RejectDockerTypes Setting[TypeRejection]
	// EmptyBlobUpload refuses uploads of zero-length blobs.
	EmptyBlobUpload Setting[EmptyBlobMode]
	// EmptyConfig refuses manifests whose config descriptor has size 0.
	EmptyConfig Setting[ErrorResponse]
	// SizeLimits caps manifest sizes on push and on pull separately.
	SizeLimits Setting[ManifestSizeLimits]
	// MaxLayers refuses image manifests with more layers than Value.Max.
	MaxLayers Setting[LayerLimit]
	// DigestAlgorithms refuses every digest but sha256.
	DigestAlgorithms Setting[DigestAlgorithmParam]
	// RepoNames refuses repository names the rules do not allow.
	RepoNames Setting[RepoNameRules]
	// ImmutableTags refuses pushes that would move or re-push a tag.
	ImmutableTags Setting[TagImmutability]
	// Deletes refuses manifest, tag or blob DELETEs.
	Deletes Setting[DeleteRules]
}

// AcceptLines is how much of a request's Accept headers a registry reads.
type AcceptLines int

// How much of Accept is read.
const (
	AllAcceptLines   AcceptLines = iota // every header line, every comma-separated value (RFC 9110)
	FirstAcceptLine                     // only the first Accept header line
	FirstAcceptValue                    // only the first value of the first line
)

// AcceptRules is how a registry that negotiates manifest types reads Accept.
type AcceptRules struct {
	// Lines is how much of the Accept headers is read.
	Lines AcceptLines
	// HonourWildcard makes */* and application/* accept every type; by
	// default they accept none.
	HonourWildcard bool
	// RequireAccept refuses a manifest GET or HEAD without any Accept;
	// by default such a request gets the stored type.
	RequireAccept bool
	// Status of the refusal: 406 (the default, MANIFEST_INVALID) or 404
	// (MANIFEST_UNKNOWN).
	Status int
}

// Schema1When is when a registry serves a tagged image as schema1.
type Schema1When int

// When schema1 is served.
const (
	// Schema1NoAccept: the request's Accept lists no v2 manifest type
	// (Docker schema2 or list, OCI manifest or index), or there is no
	// Accept at all; distribution before 2.3 and Docker Hub did this.
	Schema1NoAccept Schema1When = iota + 1
	// Schema1DockerOnlyAccept: the request's Accept lists no OCI type
	// (or there is none); Quay did this for some repositories.
	Schema1DockerOnlyAccept
)

// MediaTypeRules are allow-lists of media types inside manifests. A nil
// list allows every type; an empty, non-nil list allows none.
type MediaTypeRules struct {
	// Config lists the config.mediaType values allowed.
	Config []string
	// ArtifactType lists the artifactType values allowed (a manifest
	// without artifactType passes).
	ArtifactType []string
	// Layers lists the layers[].mediaType values allowed.
	Layers []string
	// Error is the refusal; zero fields default to 400 MANIFEST_INVALID
	// "manifest invalid". Its detail is "unknown media type: <type>".
	Error ErrorResponse
}

// TypeRejection is a list of manifest media types a registry refuses on
// push, and the error it refuses them with.
type TypeRejection struct {
	Types []string
	// Error is the refusal; its detail is {"mediaType": <type>}.
	Error ErrorResponse
}

// EmptyBlobMode is how a registry treats zero-length blobs.
type EmptyBlobMode int

// Ways of refusing empty blobs.
const (
	// EmptyBlobECR refuses the upload with AWS ECR's 400
	// BLOB_UPLOAD_INVALID "The upload with id '<id>' in the repository
	// with name '<name>' in registry with id '<account>' cannot be
	// completed because it does not have any parts."
	EmptyBlobECR EmptyBlobMode = iota + 1
	// EmptyBlobGAR refuses the upload with 400 BLOB_UPLOAD_INVALID, as
	// Google Artifact Registry does (the reports show only the status).
	EmptyBlobGAR
	// EmptyConfigHarbor accepts the upload but answers a manifest PUT
	// whose config has size 0 with Harbor's 500 UNKNOWN "internal server
	// error".
	EmptyConfigHarbor
)

// ManifestSizeLimits caps manifest sizes. The store's own limit (4 MiB
// unless configured with memstore.WithMaxManifestSize) applies to pushes
// in any case.
type ManifestSizeLimits struct {
	// Put refuses pushes of manifests larger than Put bytes; 0: no
	// limit besides the store's.
	Put int64
	// Get refuses pulls (GET and HEAD) of stored manifests larger than
	// Get bytes; 0: no limit.
	Get int64
	// Status of the refusal: 413 (the default, SIZE_INVALID) or 500
	// (UNKNOWN, as distribution fails a pull).
	Status int
}

// LayerLimit is the most layers a registry takes in one image manifest
// and its error beyond.
type LayerLimit struct {
	Max   int
	Error ErrorResponse
}

// DigestAlgorithmParam is how a sha256-only registry treats the spec's
// ?digest-algorithm= parameter on POST .../blobs/uploads/.
type DigestAlgorithmParam int

// Treatments of ?digest-algorithm=.
const (
	// IgnoreDigestAlgorithm ignores it: the session hashes sha256 and the
	// client's final PUT with another digest fails (distribution).
	IgnoreDigestAlgorithm DigestAlgorithmParam = iota
	// RefuseDigestAlgorithm answers 400 DIGEST_INVALID at once.
	RefuseDigestAlgorithm
)

// RepoNameRules restrict repository names beyond the spec's grammar.
// Names breaking MaxComponents or Pattern get 400 NAME_INVALID; names
// outside every prefix get 404 NAME_UNKNOWN.
type RepoNameRules struct {
	// MaxComponents is the most "/"-separated path components; 0: any.
	MaxComponents int
	// Pattern must match the name (anchor it with ^ and $ to match the
	// whole name); nil: any.
	Pattern *regexp.Regexp
	// Prefixes are the namespaces repositories may live in: a name must
	// equal one or start with it followed by "/". nil: any.
	Prefixes []string
}

// ImmutableTagMode is which tag pushes an immutable repository refuses.
type ImmutableTagMode int

// Modes of tag immutability.
const (
	// ImmutableRejectAll refuses every push to an existing tag, even of
	// the manifest it already points at (AWS ECR).
	ImmutableRejectAll ImmutableTagMode = iota
	// ImmutableRejectDifferentDigest refuses only pushes that would move
	// an existing tag to other content.
	ImmutableRejectDifferentDigest
)

// TagImmutability is how a registry keeps tags from being overwritten.
type TagImmutability struct {
	Mode ImmutableTagMode
	// Except lists path.Match patterns of tags that stay mutable, for
	// "immutable except latest" setups.
	Except []string
	// Error is the refusal; zero: ECR's 400 TAG_INVALID "The image tag
	// '<tag>' already exists in the '<name>' repository and cannot be
	// overwritten because the repository is immutable."
	Error ErrorResponse
}

// DeletePolicy is which DELETE requests a registry accepts.
type DeletePolicy int

// Delete policies.
const (
	// DeleteAllowed is the spec's behaviour.
	DeleteAllowed DeletePolicy = iota
	// DeleteByDigestOnly refuses DELETE of a manifest by tag but deletes
	// by digest (for blobs it is DeleteAllowed).
	DeleteByDigestOnly
	// DeleteRefused refuses every DELETE of the kind.
	DeleteRefused
)

// DeleteRules are the DELETEs a registry refuses, each with 405
// UNSUPPORTED "The operation is unsupported." unless TagStatus says
// otherwise for tags.
type DeleteRules struct {
	Manifests DeletePolicy
	Blobs     DeletePolicy
	// TagStatus is the status of a refused DELETE by tag: 405 (the
	// default) or 400 (Pulp).
	TagStatus int
}

func init() {
	register("accept-strict-404", StrictAccept)
	register("accept-list-downgrade", DowngradeListForOldAccept)
	register("accept-parsing", func() Quirk { return AcceptParsing(AcceptRules{Lines: FirstAcceptLine}) })
	register("schema1-fallback", func() Quirk { return Schema1Fallback(Schema1NoAccept) })
	register("media-type-allowlist", func() Quirk {
		return MediaTypeAllowlist(MediaTypeRules{Config: []string{
			"application/vnd.oci.image.config.v1+json",
			"application/vnd.docker.container.image.v1+json",
			"application/vnd.cncf.helm.config.v1+json",
		}})
	})
	register("ecr-requires-manifest-mediatype", RequireManifestMediaTypeField)
	register("oci-types-unsupported", func() Quirk {
		return OCITypesUnsupported(ErrorResponse{Status: http.StatusBadRequest}, "application/vnd.oci.image.index.v1+json")
	})
	register("docker-media-types-rejected", func() Quirk { return DockerMediaTypesRejected(ErrorResponse{}) })
	register("empty-blob-rejected", func() Quirk { return EmptyBlobRejected(EmptyBlobECR) })
	register("manifest-size-limit", func() Quirk { return ManifestSizeLimit(ManifestSizeLimits{Get: 4 << 20}) })
	register("layer-count-limit", func() Quirk { return MaxLayersPerManifest(500) })
	register("digest-sha256-only", func() Quirk { return SHA256Only(IgnoreDigestAlgorithm) })
	register("repo-name-restrictions", func() Quirk { return RepoNameRestrictions(RepoNameRules{MaxComponents: 2}) })
	register("immutable-tags", func() Quirk { return ImmutableTags(TagImmutability{}) })
	register("delete-unsupported", func() Quirk {
		return DeleteUnsupported(DeleteRules{Manifests: DeleteRefused, Blobs: DeleteRefused})
	})
}

// StrictAccept answers a GET or HEAD of an OCI manifest or OCI index whose
// media type the request's Accept does not list with 404
// {"errors":[{"code":"MANIFEST_UNKNOWN","message":"OCI manifest found, but
// accept header does not support OCI manifests"}]} ("OCI index found, but
// accept header does not support OCI indexes" for an index), by tag and by
// digest, as distribution/registry 2.x and 3.x and the services built on it
// do (Docker Hub, GHCR, ACR, Oracle's registry). Like distribution, it
// reads every Accept line and every comma-separated value but honours no
// wildcard: Accept: */* and a request without Accept both get the 404.
// Docker schema2 manifests and lists are served whatever Accept says. A
// matching If-None-Match still gets its 304. Clients took the 404 for "tag
// missing" (fossa-cli, docker-drag, craneoperator, registry browsers).
//
// Catalog id accept-strict-404. Evidence:
// https://github.com/NotGlop/docker-drag/issues/41,
// https://github.com/cloudfoundry/dockerapplifecycle/issues/13,
// https://github.com/Azure/acr/pull/764,
// https://github.com/fossas/fossa-cli/pull/1309,
// https://github.com/klausmeyer/docker-registry-browser/issues/409,
// https://github.com/parabuzzle/craneoperator/issues/65,
// https://github.com/UffizziCloud/uffizzi/issues/364
func StrictAccept() Quirk {
	return newQuirk("accept-strict-404", "", func(b *Behavior, by string) { b.Manifests.StrictAccept.set(true, by) })
}

// DowngradeListForOldAccept answers a GET or HEAD by tag of a Docker
// manifest list, when Accept does not list
// application/vnd.docker.distribution.manifest.list.v2+json, with the
// list's linux/amd64 child instead: 200, the child's bytes and media type,
// and the child's digest in Docker-Content-Digest and ETag. If Accept does
// not list Docker schema2 either (or is absent) and the child is schema2,
// the answer is 400 {"errors":[{"code":"MANIFEST_INVALID","message":
// "Schema 2 manifest not supported by client"}]}; a list without a
// linux/amd64 entry gives 404 MANIFEST_UNKNOWN. OCI indexes and GETs by
// digest are not rewritten. distribution/registry does this (still in
// v3.1.2), hence Docker Hub; keppel kept it on purpose. Tools asking only
// for schema2 got a platform image they did not ask for, with a digest
// that is not the tag's.
//
// Catalog id accept-list-downgrade. Evidence:
// https://github.com/distribution/distribution/issues/2395,
// https://github.com/google/go-containerregistry/issues/56,
// https://github.com/sapcc/keppel/pull/181
func DowngradeListForOldAccept() Quirk {
	return newQuirk("accept-list-downgrade", "", func(b *Behavior, by string) { b.Manifests.DowngradeList.set(true, by) })
}

// AcceptParsing makes manifest GET and HEAD negotiate the media type from
// Accept read the way some registries read it: only the first header line
// (Pulp, Artipie, keppel, and an ECR emulator that answered skopeo's
// several Accept lines with 406 MANIFEST_INVALID), only the first value,
// without honouring */*, or refusing requests that send no Accept at all.
// When the stored type is not among the values read, the answer is
// rules.Status: 406 MANIFEST_INVALID (the default) or 404
// MANIFEST_UNKNOWN. c/image and CRI-O send one Accept line per type and
// broke; cue sends an explicit list because */* "isn't recognized by some
// registries" and "some servers won't return the content unless there's an
// Accept header". (Artifactory's token endpoint answering 406 to manifest
// Accept types belongs to the auth quirks, not here.)
//
// Catalog id accept-parsing. Evidence:
// https://github.com/pulp/pulp_docker/pull/391,
// https://github.com/artipie/docker-adapter/issues/449,
// https://github.com/sapcc/keppel/pull/181,
// https://github.com/mulgadc/spinifex/pull/399,
// https://github.com/apptainer/singularity/issues/868,
// https://github.com/cri-o/cri-o/issues/9902
func AcceptParsing(rules AcceptRules) Quirk {
	if rules.Status == 0 {
		rules.Status = http.StatusNotAcceptable
	}
	params := []string{mqName(int(rules.Lines), "allLines", "firstLine", "firstValue")}
	if rules.HonourWildcard {
		params = append(params, "wildcard")
	}
	if rules.RequireAccept {
		params = append(params, "requireAccept")
	}
	params = append(params, fmt.Sprint(rules.Status))
	return newQuirk("accept-parsing", strings.Join(params, ","), func(b *Behavior, by string) { b.Manifests.AcceptParsing.set(rules, by) })
}

// Schema1Fallback answers a GET or HEAD by tag of an image manifest
// (Docker schema2 or OCI) with a schema1 rendering of it when the client's
// Accept does not ask for the newer types: 200, Content-Type
// application/vnd.docker.distribution.manifest.v1+prettyjws, and a
// Docker-Content-Digest that is the digest of those bytes, not of the
// stored manifest (so fetching it by that digest is a 404, as Quay's
// answers were in 2026). The document is synthetic and honest about it:
// schemaVersion 1, name, tag, architecture, fsLayers (top layer first) and
// history built from the stored image and its config, with no
// "signatures" (the fixture holds no libtrust key), so clients that verify
// schema1 signatures refuse it. With a Docker manifest list and
// DowngradeListForOldAccept, the linux/amd64 child is served as schema1
// instead of the 400, as distribution 2.x did for old clients. Served by
// distribution before 2.3 and Docker Hub (historic) and Quay; ggcr refuses
// schema1 (ErrSchema1), concourse and updatecli broke.
//
// Catalog id schema1-fallback. Evidence:
// https://github.com/distribution/distribution/issues/1662,
// https://github.com/concourse/docker-image-resource/pull/34,
// https://github.com/updatecli/updatecli/issues/605,
// https://github.com/eclipse-che/che-plugin-registry/pull/2082,
// https://github.com/google/go-containerregistry/issues/377,
// https://github.com/aws/containers-roadmap/issues/862
func Schema1Fallback(when Schema1When) Quirk {
	if when != Schema1DockerOnlyAccept {
		when = Schema1NoAccept
	}
	name := map[Schema1When]string{Schema1NoAccept: "noAccept", Schema1DockerOnlyAccept: "dockerOnlyAccept"}[when]
	return newQuirk("schema1-fallback", name, func(b *Behavior, by string) { b.Manifests.Schema1.set(when, by) })
}

// MediaTypeAllowlist refuses manifest PUTs whose config.mediaType,
// artifactType or layers[].mediaType are not in the allow-lists, with
// rules.Error (400 MANIFEST_INVALID "manifest invalid" by default) and
// detail "unknown media type: <type>", as GitLab answers (ocx, CUE
// modules); Quay answers 415 for artifact manifests and 400 for unknown
// config types, Docker Hub answered helm charts and wasm modules with 400
// or 403 until 2022, ECR and Harbor 1.x had allow-lists too. Artifact
// tools (oras, helm, cue, wasm-to-oci) could not push.
//
// Catalog id media-type-allowlist. Evidence:
// https://github.com/ocx-sh/ocx/issues/480,
// https://github.com/cue-lang/cue/issues/2817,
// https://github.com/oras-project/oras/issues/738,
// https://github.com/deckhouse/deckhouse/pull/10672,
// https://github.com/oras-project/oras/issues/129,
// https://github.com/helm/helm/issues/5861,
// https://github.com/engineerd/wasm-to-oci/issues/7,
// https://github.com/aws/containers-roadmap/issues/308,
// https://github.com/aws/containers-roadmap/issues/2306,
// https://github.com/goharbor/harbor/issues/13809
func MediaTypeAllowlist(rules MediaTypeRules) Quirk {
	rules.Config = mqClone(rules.Config)
	rules.ArtifactType = mqClone(rules.ArtifactType)
	rules.Layers = mqClone(rules.Layers)
	rules.Error = mqDefaults(rules.Error, http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid")
	var params []string
	for _, l := range []struct {
		name string
		list []string
	}{{"config", rules.Config}, {"artifactType", rules.ArtifactType}, {"layers", rules.Layers}} {
		if l.list != nil {
			params = append(params, fmt.Sprintf("%s=%d", l.name, len(l.list)))
		}
	}
	params = append(params, fmt.Sprint(rules.Error.Status))
	return newQuirk("media-type-allowlist", strings.Join(params, ","), func(b *Behavior, by string) { b.Manifests.MediaTypes.set(rules, by) })
}

// RequireManifestMediaTypeField refuses a manifest PUT whose JSON has no
// top-level "mediaType" (valid for OCI manifests and indexes) with 405
// {"errors":[{"code":"UNSUPPORTED","message":"Invalid parameter at
// 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'"}]},
// as AWS ECR did for cosign v1-era pushes. c/image treats the answer as
// "manifest type rejected" and retries as Docker schema2; apko's SBOM
// attach and helm charts via put-image failed.
//
// Catalog id ecr-requires-manifest-mediatype. Evidence:
// https://github.com/containers/image/pull/584,
// https://github.com/chainguard-dev/apko/issues/450,
// https://github.com/aws/aws-sdk/issues/193
func RequireManifestMediaTypeField() Quirk {
	e := ErrorResponse{
		Status:  http.StatusMethodNotAllowed,
		Code:    "UNSUPPORTED",
		Message: "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
	}
	return newQuirk("ecr-requires-manifest-mediatype", "", func(b *Behavior, by string) { b.Manifests.RequireMediaTypeField.set(e, by) })
}

// OCITypesUnsupported refuses manifest PUTs of the given OCI media types
// (both the OCI manifest and index types when none are given) with e:
// zero fields default to 400 MANIFEST_INVALID "manifest invalid", and the
// body's detail is {"mediaType": <type>}. Nexus answers an index push with
// 400, Gitea with 404, Quay (2020) and old Harbor refused OCI manifests,
// distribution refuses buildx cache indexes. podman had to push v2s2,
// buildx users turned provenance off, c/image's conversion fallback exists
// for this.
//
// Catalog id oci-types-unsupported. Evidence:
// https://github.com/containers/podman/issues/8353,
// https://github.com/go-gitea/gitea/issues/37093,
// https://github.com/estesp/manifest-tool/issues/190,
// https://github.com/docker/buildx/issues/1653,
// https://github.com/distribution/distribution/issues/3863,
// https://github.com/bazel-contrib/rules_oci/issues/241,
// https://github.com/containerd/nerdctl/issues/3838
func OCITypesUnsupported(e ErrorResponse, types ...string) Quirk {
	if len(types) == 0 {
		types = []string{"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"}
	}
	r := TypeRejection{Types: mqClone(types), Error: mqDefaults(e, http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid")}
	return newQuirk("oci-types-unsupported", mqRejectionParams(r), func(b *Behavior, by string) { b.Manifests.RejectOCITypes.set(r, by) })
}

// DockerMediaTypesRejected refuses manifest PUTs of the given Docker media
// types (Docker schema2 manifest and manifest list when none are given)
// with e: zero fields default to 400 MANIFEST_INVALID "manifest invalid",
// with detail {"mediaType": <type>}, as Zot (an OCI-only registry) does.
// imgpkg and OCM pushes of Docker images failed.
//
// Catalog id docker-media-types-rejected. Evidence:
// https://github.com/project-zot/zot/issues/724,
// https://github.com/carvel-dev/imgpkg/issues/621,
// https://github.com/project-zot/zot/issues/3104,
// https://github.com/open-component-model/open-component-model/issues/3419
func DockerMediaTypesRejected(e ErrorResponse, types ...string) Quirk {
	if len(types) == 0 {
		types = []string{"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
	}
	r := TypeRejection{Types: mqClone(types), Error: mqDefaults(e, http.StatusBadRequest, "MANIFEST_INVALID", "manifest invalid")}
	return newQuirk("docker-media-types-rejected", mqRejectionParams(r), func(b *Behavior, by string) { b.Manifests.RejectDockerTypes.set(r, by) })
}

// EmptyBlobRejected refuses zero-length blobs. EmptyBlobECR and
// EmptyBlobGAR refuse the upload that would store one (the completing PUT
// or the monolithic POST whose ?digest= is the empty blob's digest): AWS
// ECR with 400 BLOB_UPLOAD_INVALID "The upload with id '<id>' in the
// repository with name '<name>' in registry with id '123456789012' cannot
// be completed because it does not have any parts.", Google Artifact
// Registry with 400. EmptyConfigHarbor lets the upload through but answers
// a manifest PUT whose config descriptor has size 0 with Harbor's 500
// UNKNOWN "internal server error". oras-go went back to a "{}" config
// because of GAR; radius' ECR publish broke.
//
// Catalog id empty-blob-rejected. Evidence:
// https://github.com/oras-project/oras-go/issues/294,
// https://github.com/oras-project/oras/issues/532,
// https://github.com/oras-project/oras/pull/184,
// https://github.com/radius-project/radius/pull/7887,
// https://github.com/goharbor/harbor/issues/21018,
// https://github.com/oras-project/oras/issues/129
func EmptyBlobRejected(mode EmptyBlobMode) Quirk {
	switch mode {
	case EmptyConfigHarbor:
		e := ErrorResponse{Status: http.StatusInternalServerError, Code: "UNKNOWN", Message: "internal server error"}
		return newQuirk("empty-blob-rejected", "harborConfig", func(b *Behavior, by string) { b.Manifests.EmptyConfig.set(e, by) })
	case EmptyBlobGAR:
		return newQuirk("empty-blob-rejected", "gar", func(b *Behavior, by string) { b.Manifests.EmptyBlobUpload.set(mode, by) })
	}
	mode = EmptyBlobECR
	return newQuirk("empty-blob-rejected", "ecr", func(b *Behavior, by string) { b.Manifests.EmptyBlobUpload.set(mode, by) })
}

// ManifestSizeLimit caps manifests separately on push and on pull: a PUT
// larger than limits.Put bytes and a GET or HEAD of a stored manifest
// larger than limits.Get bytes are refused with limits.Status (413
// SIZE_INVALID by default; 500 UNKNOWN "unknown error" is what
// distribution 3.0 answers on pull). distribution 3.0 accepts pushes over
// 4 MiB and then cannot serve them (ManifestSizeLimits{Get: 4 << 20});
// the spec recommends 413 on push. regclient enforces 4 MiB on put and
// 8 MiB on get, oras-go 4 MiB.
//
// Catalog id manifest-size-limit. Evidence:
// https://github.com/distribution/distribution/issues/4636,
// https://github.com/opencontainers/distribution-spec/pull/293,
// https://github.com/regclient/regclient/pull/512
func ManifestSizeLimit(limits ManifestSizeLimits) Quirk {
	if limits.Status == 0 {
		limits.Status = http.StatusRequestEntityTooLarge
	}
	params := fmt.Sprintf("put=%d,get=%d,%d", limits.Put, limits.Get, limits.Status)
	return newQuirk("manifest-size-limit", params, func(b *Behavior, by string) { b.Manifests.SizeLimits.set(limits, by) })
}

// MaxLayersPerManifest refuses image manifest PUTs with more than max
// layers with AWS ECR's 405 {"errors":[{"code":"UNSUPPORTED","message":
// "Invalid parameter at 'ImageManifest' failed to satisfy constraint:
// 'Limit on number of layers per image exceeded'"}]}. ECR does not
// document the limit; users measured 500. tart's VM images split into
// 512 MB layers could not be pushed.
//
// Catalog id layer-count-limit. Evidence:
// https://github.com/openai/tart/issues/890
func MaxLayersPerManifest(max int) Quirk {
	l := LayerLimit{Max: max, Error: ErrorResponse{
		Status:  http.StatusMethodNotAllowed,
		Code:    "UNSUPPORTED",
		Message: "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Limit on number of layers per image exceeded'",
	}}
	return newQuirk("layer-count-limit", fmt.Sprint(max), func(b *Behavior, by string) { b.Manifests.MaxLayers.set(l, by) })
}

// SHA256Only refuses every digest that is not sha256 with 400
// DIGEST_INVALID: in manifest and blob paths (GET, HEAD, PUT, DELETE,
// referrers), in ?digest= of an upload and in ?mount=. The spec's
// ?digest-algorithm= on POST .../blobs/uploads/ is ignored (the session
// hashes sha256, so the final PUT with a sha512 digest fails) or refused,
// as param says. distribution 2.x and 3.0 betas, django-oci and Quay
// behave so; regctl --digest-algo sha512 failed, ggcr only learned to pull
// by sha512 in 2026.
//
// Catalog id digest-sha256-only. Evidence:
// https://github.com/distribution/distribution/issues/4420,
// https://github.com/vsoch/django-oci/issues/34,
// https://github.com/quay/quay/pull/4981,
// https://github.com/google/go-containerregistry/pull/2427,
// https://github.com/opencontainers/distribution-spec/pull/543
func SHA256Only(param DigestAlgorithmParam) Quirk {
	name := mqName(int(param), "ignoreParam", "refuseParam")
	return newQuirk("digest-sha256-only", name, func(b *Behavior, by string) { b.Manifests.DigestAlgorithms.set(param, by) })
}

// RepoNameRestrictions refuses requests to repositories whose names the
// spec allows but the registry does not: more path components than
// rules.MaxComponents (Harbor 1.x: two; Docker Hub: namespace/repo) or
// not matching rules.Pattern give 400 NAME_INVALID; names outside every
// rules.Prefixes namespace (GitLab: under a project path) give 404
// NAME_UNKNOWN. Every endpoint naming a repository is refused, so e.g.
// POST /v2/a/b/c/d/blobs/uploads/ fails first. cue had to offer a
// single-repository layout; zarf could not push nested names to ECR.
//
// Catalog id repo-name-restrictions. Evidence:
// https://github.com/goharbor/harbor/issues/3162,
// https://github.com/cue-lang/cue/issues/2816,
// https://github.com/cue-labs/oci/issues/32,
// https://github.com/zarf-dev/zarf/issues/1938
func RepoNameRestrictions(rules RepoNameRules) Quirk {
	rules.Prefixes = mqClone(rules.Prefixes)
	var params []string
	if rules.MaxComponents > 0 {
		params = append(params, fmt.Sprintf("components=%d", rules.MaxComponents))
	}
	if rules.Pattern != nil {
		params = append(params, "pattern="+rules.Pattern.String())
	}
	if rules.Prefixes != nil {
		params = append(params, "prefixes="+strings.Join(rules.Prefixes, "|"))
	}
	return newQuirk("repo-name-restrictions", strings.Join(params, ","), func(b *Behavior, by string) { b.Manifests.RepoNames.set(rules, by) })
}

// ImmutableTags refuses manifest PUTs that would set a tag that already
// exists (by the path or by ?tag=), including a re-push of the very
// manifest the tag points at (ImmutableRejectAll, AWS ECR with
// imageTagMutability=IMMUTABLE) or only pushes that would move it
// (ImmutableRejectDifferentDigest), except tags matching rules.Except.
// The answer is 400 {"errors":[{"code":"TAG_INVALID","message":"The image
// tag 'latest' already exists in the 'app' repository and cannot be
// overwritten because the repository is immutable."}]} unless rules.Error
// says otherwise (an ECR emulator chose 409 TAG_IMMUTABLE). CI re-runs and
// build-push-action failed; c/image maps TAG_INVALID to "manifest type
// rejected" and retries in another format for nothing.
//
// Catalog id immutable-tags. Evidence:
// https://github.com/aws/containers-roadmap/issues/862,
// https://github.com/aws/containers-roadmap/issues/2380,
// https://github.com/aws/containers-roadmap/issues/2179,
// https://github.com/docker/build-push-action/issues/1042,
// https://github.com/cerbos/cerbos/pull/2220,
// https://github.com/mulgadc/spinifex/pull/392
func ImmutableTags(rules TagImmutability) Quirk {
	rules.Except = mqClone(rules.Except)
	params := []string{mqName(int(rules.Mode), "rejectAll", "rejectDifferentDigest")}
	if len(rules.Except) > 0 {
		params = append(params, "except="+strings.Join(rules.Except, "|"))
	}
	return newQuirk("immutable-tags", strings.Join(params, ","), func(b *Behavior, by string) { b.Manifests.ImmutableTags.set(rules, by) })
}

// DeleteUnsupported refuses DELETE requests: of manifests (all, or only
// those by tag with DeleteByDigestOnly) and of blobs, with 405
// {"errors":[{"code":"UNSUPPORTED","message":"The operation is
// unsupported."}]}; a refused DELETE by tag answers rules.TagStatus when
// set (Pulp: 400). distribution with its default storage.delete.enabled
// false refuses both kinds, Docker Hub and GHCR refuse registry-API
// deletes (their own APIs must be used). regclient's tag delete falls back
// to pushing a throwaway manifest and deleting it by digest; reg and
// cleanup scripts failed.
//
// Catalog id delete-unsupported. Evidence:
// https://github.com/docker/hub-feedback/issues/1759,
// https://github.com/distribution/distribution/issues/2290,
// https://github.com/genuinetools/reg/issues/143,
// https://github.com/distribution/distribution/issues/1222,
// https://github.com/regclient/regclient/issues/819,
// https://github.com/pulp/pulp_container/pull/2377
func DeleteUnsupported(rules DeleteRules) Quirk {
	names := []string{"ok", "byDigestOnly", "unsupported"}
	params := "manifests=" + mqName(int(rules.Manifests), names...) + ",blobs=" + mqName(int(rules.Blobs), names...)
	if rules.TagStatus != 0 {
		params += fmt.Sprintf(",tag=%d", rules.TagStatus)
	}
	return newQuirk("delete-unsupported", params, func(b *Behavior, by string) { b.Manifests.Deletes.set(rules, by) })
}

// mqDefaults fills e's zero status, code and message.
func mqDefaults(e ErrorResponse, status int, code, message string) ErrorResponse {
	if e.Status == 0 {
		e.Status = status
	}
	if e.Code == "" && e.Body == "" {
		e.Code = code
	}
	if e.Message == "" && e.Body == "" {
		e.Message = message
	}
	return e
}

// mqRejectionParams names a rejection for Quirk.String.
func mqRejectionParams(r TypeRejection) string {
	short := make([]string, len(r.Types))
	for i, t := range r.Types {
		short[i] = strings.TrimPrefix(strings.TrimPrefix(t, "application/vnd."), "docker.distribution.")
	}
	return strings.Join(short, "|") + "," + fmt.Sprint(r.Error.Status)
}

// mqClone copies a list keeping nil as nil (nil means "any" in rules).
func mqClone(l []string) []string {
	if l == nil {
		return nil
	}
	return append([]string{}, l...)
}

// mqName names enum value i for Quirk.String.
func mqName(i int, names ...string) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return fmt.Sprint(i)
}
