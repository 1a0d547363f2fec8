package quirks

import (
	"fmt"
	"net/http"
	"strings"
)

// HeaderBehavior is how a request is answered as to response headers and metadata.
type HeaderBehavior struct {
	// OmitDigest drops Docker-Content-Digest from the answers Value names.
	OmitDigest Setting[DigestOmission]
	// DigestHeader sends a Docker-Content-Digest on manifest GET and HEAD
	// that is not the digest of the body.
	DigestHeader Setting[DigestHeaderMode]
	// OmitContentLength answers the requests Value names without
	// Content-Length (GET bodies chunked).
	OmitContentLength Setting[ContentLengthOmission]
	// ContentType answers manifest GET and HEAD with another Content-Type
	// than the stored media type.
	ContentType Setting[ContentTypeRewrite]
	// BlobEndpointManifests serves manifests through the blob endpoint.
	BlobEndpointManifests Setting[BlobEndpointManifests]
	// HeadManifest refuses every manifest HEAD with this answer.
	HeadManifest Setting[ErrorResponse]
	// MissingContent answers requests for missing content with another
	// status than 404.
	MissingContent Setting[MissingContent]
	// ErrorCodes rewrites the codes (and messages) of error bodies.
	ErrorCodes Setting[[]ErrorRewrite]
}

// DigestOmission says which answers lack the Docker-Content-Digest header.
type DigestOmission struct {
	GetByTag    bool // GET /v2/<name>/manifests/<tag>
	GetByDigest bool // GET /v2/<name>/manifests/<digest>
	Head        bool // HEAD /v2/<name>/manifests/<tag or digest>
	PutManifest bool // the 201 of a manifest PUT
	PutBlob     bool // the 201 of a finished upload, a monolithic upload or a mount
}

func (o DigestOmission) String() string {
	return flagNames([]string{"GetByTag", "GetByDigest", "Head", "PutManifest", "PutBlob"},
		[]bool{o.GetByTag, o.GetByDigest, o.Head, o.PutManifest, o.PutBlob})
}

// DigestHeaderMode is how a wrong Docker-Content-Digest is wrong.
type DigestHeaderMode int

// Digest header modes.
const (
	DigestHeaderCorrect     DigestHeaderMode = iota // the body's digest (the spec)
	DigestHeaderNoAlgorithm                         // the hex part only, no "sha256:" prefix
	DigestHeaderOtherDigest                         // a well-formed digest of another document
)

// ContentLengthOmission says which answers come without Content-Length.
type ContentLengthOmission struct {
	ManifestGet  bool // GET /v2/<name>/manifests/<reference>: chunked body
	ManifestHead bool // HEAD /v2/<name>/manifests/<reference>
	BlobGet      bool // GET /v2/<name>/blobs/<digest>: chunked body
	BlobHead     bool // HEAD /v2/<name>/blobs/<digest>
	// MinSize limits the quirk to content of at least this many bytes, as
	// Zot chunked only manifests above about 2000 bytes; 0 means all.
	MinSize int64
}

func (o ContentLengthOmission) String() string {
	s := flagNames([]string{"ManifestGet", "ManifestHead", "BlobGet", "BlobHead"},
		[]bool{o.ManifestGet, o.ManifestHead, o.BlobGet, o.BlobHead})
	if o.MinSize > 0 {
		s += fmt.Sprintf(",>=%dB", o.MinSize)
	}
	return s
}

// ContentTypeMode is how a manifest's Content-Type is misreported.
type ContentTypeMode int

// Content-Type modes.
const (
	ContentTypeStored     ContentTypeMode = iota // the stored media type (the spec)
	ContentTypeFixed                             // one fixed type whatever was stored
	ContentTypeWithParams                        // the stored type with parameters appended
	ContentTypeEmpty                             // no Content-Type header at all
)

// ContentTypeRewrite is a Content-Type mode with its value: the fixed type,
// or the parameters to append ("charset=utf-8").
type ContentTypeRewrite struct {
	Mode  ContentTypeMode
	Value string
}

// BlobEndpointManifests is whether /v2/<name>/blobs/<digest> serves a
// manifest of that digest.
type BlobEndpointManifests int

// Blob endpoint modes.
const (
	BlobEndpointNeither       BlobEndpointManifests = iota // 404 BLOB_UNKNOWN on GET and HEAD (this fixture's default)
	BlobEndpointHead200Get404                              // HEAD 200 application/octet-stream, GET 404
	BlobEndpointBoth                                       // GET and HEAD serve the manifest as application/octet-stream
)

// MissingContent is how requests for missing manifests and blobs are
// answered: Error replaces the 404 on the requests On names. An empty
// Error.Code keeps the original code and message.
type MissingContent struct {
	Error ErrorResponse
	On    MissingRequests
}

// MissingRequests names the requests a missing-content quirk answers.
type MissingRequests struct {
	ManifestGet, ManifestHead, BlobGet, BlobHead bool
}

func (o MissingRequests) String() string {
	return flagNames([]string{"ManifestGet", "ManifestHead", "BlobGet", "BlobHead"},
		[]bool{o.ManifestGet, o.ManifestHead, o.BlobGet, o.BlobHead})
}

// ErrorRewrite replaces error code From by To in error bodies, and the
// message by Message when it is not empty.
type ErrorRewrite struct {
	From, To, Message string
}

func init() {
	register("no-digest-on-tag-get", OmitDigestOnTagGet)
	register("digest-header-wrong", func() Quirk { return WrongDigestHeader(DigestHeaderNoAlgorithm) })
	register("missing-content-length", func() Quirk {
		return OmitContentLength(ContentLengthOmission{ManifestGet: true, MinSize: 2000})
	})
	register("wrong-content-type", func() Quirk { return WrongContentType(ContentTypeFixed, "application/json") })
	register("head-manifest-unsupported", func() Quirk { return HeadManifestUnsupported(http.StatusMethodNotAllowed) })
	register("not-found-as-403", func() Quirk {
		return NotFoundStatus(http.StatusForbidden, MissingRequests{ManifestHead: true})
	})
	register("nonstandard-error-codes", func() Quirk {
		return NonstandardErrorCodes(ErrorRewrite{From: "MANIFEST_UNKNOWN", To: "UNKNOWN", Message: "artifact not found"})
	})
}

// OmitDigestOnTagGet answers GET /v2/<name>/manifests/<tag> with 200, the
// Content-Type and the body but no Docker-Content-Digest header, as AWS
// ECR and ECR Public do; HEAD and GET by digest keep the header. It is
// OmitDigestHeader(DigestOmission{GetByTag: true}), the most reported quirk
// of the catalog: clients that take the digest from the header get none
// (distribution's client, terraform-provider-docker, krustlet, oras-java
// crashed with a NullPointerException); cue's client hashes the body,
// containerd falls back to GET, oras-go treats the header as optional.
//
// Catalog id no-digest-on-tag-get. Evidence:
// https://github.com/google/containerregistry/pull/10,
// https://github.com/aws/containers-roadmap/issues/1931,
// https://github.com/distribution/distribution/issues/3792,
// https://github.com/hashicorp/terraform-provider-docker/pull/188,
// https://github.com/krustlet/krustlet/pull/667,
// https://github.com/oras-project/oras-java/issues/522,
// https://github.com/ChangemakerStudios/Docker.Registry.DotNet/pull/35,
// https://github.com/ivanilves/lstags/issues/186,
// https://github.com/containerd/containerd/issues/3238,
// https://github.com/quay/quay/pull/1310
func OmitDigestOnTagGet() Quirk {
	return OmitDigestHeader(DigestOmission{GetByTag: true})
}

// OmitDigestHeader drops the Docker-Content-Digest header from the
// successful answers o names: manifest GET by tag (AWS ECR, ECR Public),
// manifest GET by digest, manifest HEAD (registry.access.redhat.com and
// registry.redhat.io omit it on GET and HEAD), and the 201 answers of
// manifest PUT and blob uploads. Status, body and the other headers stay
// the spec's. Clients that rely on the header get no digest; those that
// HEAD first to learn it (Docker.Registry.DotNet switched to HEAD) fail on
// registries that omit it there too.
//
// Catalog id no-digest-on-tag-get. Evidence:
// https://github.com/google/containerregistry/pull/10,
// https://github.com/aws/containers-roadmap/issues/1931,
// https://github.com/distribution/distribution/issues/3792,
// https://github.com/hashicorp/terraform-provider-docker/pull/188,
// https://github.com/krustlet/krustlet/pull/667,
// https://github.com/oras-project/oras-java/issues/522,
// https://github.com/ChangemakerStudios/Docker.Registry.DotNet/pull/35,
// https://github.com/ivanilves/lstags/issues/186,
// https://github.com/containerd/containerd/issues/3238,
// https://github.com/quay/quay/pull/1310
func OmitDigestHeader(o DigestOmission) Quirk {
	return newQuirk("no-digest-on-tag-get", o.String(), func(b *Behavior, by string) { b.Headers.OmitDigest.set(o, by) })
}

// WrongDigestHeader answers manifest GET and HEAD (by tag or digest) with
// a Docker-Content-Digest that is not the body's digest: without the
// algorithm prefix ("bc1c0e10…" instead of "sha256:bc1c0e10…"), as Huawei
// Cloud SWR does, or a well-formed digest of another document, as Docker
// Hub once sent the list's digest while serving a converted manifest and
// registries serving signed schema1 send the digest of the unsigned
// payload. kaniko failed verifying it, and go-containerregistry stopped
// validating the header for tag pulls ("so many registries implement this
// incorrectly").
//
// Catalog id digest-header-wrong. Evidence:
// https://github.com/GoogleContainerTools/kaniko/issues/298,
// https://github.com/distribution/distribution/issues/2395,
// https://github.com/google/go-containerregistry/issues/56,
// https://github.com/concourse/docker-image-resource/issues/33
func WrongDigestHeader(mode DigestHeaderMode) Quirk {
	name := map[DigestHeaderMode]string{DigestHeaderCorrect: "correct", DigestHeaderNoAlgorithm: "noAlgorithm", DigestHeaderOtherDigest: "otherDigest"}[mode]
	return newQuirk("digest-header-wrong", name, func(b *Behavior, by string) { b.Headers.DigestHeader.set(mode, by) })
}

// OmitContentLength answers the manifest and blob GETs and HEADs o names
// without a Content-Length header: GET bodies come with
// Transfer-Encoding: chunked, HEAD answers carry no length at all. Zot
// (historically, for manifests of about 2000 bytes and more; set
// o.MinSize), Trow, Harbor behind some proxies and registry.access.redhat.com
// behind Akamai answer so. oras-go failed with "unknown response
// Content-Length", go-containerregistry's HEAD with "response did not
// include Content-Length header", and containerd committed the empty
// blob's digest from Trow.
//
// Catalog id missing-content-length. Evidence:
// https://github.com/oras-project/oras-go/issues/374,
// https://github.com/google/go-containerregistry/issues/1061,
// https://github.com/containerd/containerd/issues/5124,
// https://github.com/moby/moby/issues/15264,
// https://github.com/distribution/distribution/issues/2475,
// https://github.com/cloudfoundry/garden/issues/62,
// https://github.com/NotGlop/docker-drag/issues/17,
// https://github.com/dragonflyoss/dragonfly/issues/4573,
// https://github.com/ollama/ollama/pull/17580
func OmitContentLength(o ContentLengthOmission) Quirk {
	return newQuirk("missing-content-length", o.String(), func(b *Behavior, by string) { b.Headers.OmitContentLength.set(o, by) })
}

// WrongContentType answers manifest GET and HEAD with another Content-Type
// than the media type the manifest was pushed with: one fixed type
// (ContentTypeFixed, value "application/json" or "text/plain" as static
// registries on S3 or GitHub Pages serve files), the stored type with
// parameters (ContentTypeWithParams, value "charset=utf-8" as proxies
// add), or none at all (ContentTypeEmpty). Old docker.pkg.github.com
// served OCI content as Docker schema2, which broke buildah;
// go-containerregistry only warns because "some registries (e.g. static
// registries) don't set the Content-Type headers correctly"; the spec now
// says registries SHOULD NOT send parameters and clients SHOULD ignore
// them. A Quay blob PUT answered with text/html appears in a helm trace.
//
// Catalog id wrong-content-type. Evidence:
// https://github.com/containers/buildah/issues/2107,
// https://github.com/helm/helm/issues/30987,
// https://github.com/containerd/containerd/issues/7390,
// https://github.com/opencontainers/distribution-spec/pull/469
func WrongContentType(mode ContentTypeMode, value string) Quirk {
	rw := ContentTypeRewrite{Mode: mode, Value: value}
	var name string
	switch mode {
	case ContentTypeFixed:
		name = "fixed=" + value
	case ContentTypeWithParams:
		if rw.Value == "" {
			rw.Value = "charset=utf-8"
		}
		name = "withParams=" + rw.Value
	case ContentTypeEmpty:
		name = "empty"
	default:
		name = "stored"
	}
	return newQuirk("wrong-content-type", name, func(b *Behavior, by string) { b.Headers.ContentType.set(rw, by) })
}

// BlobEndpointServesManifests serves manifests through
// /v2/<name>/blobs/<manifest digest> with Content-Type
// application/octet-stream, as JFrog Artifactory does for HEAD while its
// GET answers 404 BLOB_UNKNOWN (BlobEndpointHead200Get404), or for both
// (BlobEndpointBoth). This fixture's own answer is 404 for both. containerd
// took the HEAD's type for the manifest's and cached it, then failed on
// the 404 GET.
//
// Catalog id wrong-content-type. Evidence:
// https://github.com/containers/buildah/issues/2107,
// https://github.com/helm/helm/issues/30987,
// https://github.com/containerd/containerd/issues/7390,
// https://github.com/opencontainers/distribution-spec/pull/469
func BlobEndpointServesManifests(mode BlobEndpointManifests) Quirk {
	name := map[BlobEndpointManifests]string{BlobEndpointNeither: "blobs:neither", BlobEndpointHead200Get404: "blobs:head200get404", BlobEndpointBoth: "blobs:both"}[mode]
	return newQuirk("wrong-content-type", name, func(b *Behavior, by string) { b.Headers.BlobEndpointManifests.set(mode, by) })
}

// HeadManifestUnsupported refuses HEAD /v2/<name>/manifests/<reference>
// with status while GET of the same manifest answers 200: 405 UNSUPPORTED
// as distribution 2.2.1 did with token auth, 403 DENIED as
// registry.centos.org did, or 404 MANIFEST_UNKNOWN as registries
// watchtower met do. containerd retries as GET only after a 405 (and
// refused a 403 workaround); crossplane and watchtower retry GET after
// any HEAD failure.
//
// Catalog id head-manifest-unsupported. Evidence:
// https://github.com/distribution/distribution/issues/1485,
// https://github.com/containerd/containerd/pull/6684,
// https://github.com/crossplane/crossplane/pull/3223,
// https://github.com/nicholas-fedor/watchtower/pull/669
func HeadManifestUnsupported(status int) Quirk {
	e := ErrorResponse{Status: status}
	switch status {
	case http.StatusForbidden:
		e.Code, e.Message = "DENIED", "requested access to the resource is denied"
	case http.StatusNotFound:
		e.Code, e.Message = "MANIFEST_UNKNOWN", "manifest unknown"
	case http.StatusUnauthorized:
		e.Code, e.Message = "UNAUTHORIZED", "authentication required"
	default:
		e.Code, e.Message = "UNSUPPORTED", "The operation is unsupported."
	}
	return newQuirk("head-manifest-unsupported", fmt.Sprint(status), func(b *Behavior, by string) { b.Headers.HeadManifest.set(e, by) })
}

// NotFoundStatus answers the requests on names for a manifest, tag, blob
// or repository that does not exist with status instead of 404: 403
// DENIED (the Wire answer of JFrog Artifactory, RTFACT-13797, on HEAD of a
// missing manifest, and of ECR on HEAD of a blob the IAM policy does not
// let it pull), 401 UNAUTHORIZED, or any other status with the original
// error code. go-containerregistry treats 403 on its existence check as
// "not there"; containerd now follows a HEAD 403 with a GET to show the
// error body.
//
// Catalog id not-found-as-403. Evidence:
// https://jfrog.atlassian.net/browse/RTFACT-13797,
// https://github.com/containerd/containerd/pull/13547,
// https://github.com/medic/cht-core/issues/9685
func NotFoundStatus(status int, on MissingRequests) Quirk {
	mc := MissingContent{Error: ErrorResponse{Status: status}, On: on}
	switch status {
	case http.StatusForbidden:
		mc.Error.Code, mc.Error.Message = "DENIED", "requested access to the resource is denied"
	case http.StatusUnauthorized:
		mc.Error.Code, mc.Error.Message = "UNAUTHORIZED", "authentication required"
	}
	return newQuirk("not-found-as-403", fmt.Sprintf("%d,%s", status, on), func(b *Behavior, by string) { b.Headers.MissingContent.set(mc, by) })
}

// NonstandardErrorCodes keeps error statuses but rewrites the error body's
// codes (and messages): Harbor 2.10.2 answers a missing manifest with 404
// {"errors":[{"code":"UNKNOWN","message":"artifact … not found"}]} and
// registry.redhat.io with UNKNOWN "Not Found". containers/image
// special-cases both in isManifestUnknownError, which sigstore attachment
// lookups need. Errors that other quirks prescribe are not rewritten.
//
// Catalog id nonstandard-error-codes. Evidence: containers/image
// docker/docker_client.go (no public issue).
func NonstandardErrorCodes(rewrites ...ErrorRewrite) Quirk {
	rw := append([]ErrorRewrite(nil), rewrites...)
	names := make([]string, len(rw))
	for i, r := range rw {
		names[i] = r.From + "->" + r.To
	}
	return newQuirk("nonstandard-error-codes", strings.Join(names, ","), func(b *Behavior, by string) { b.Headers.ErrorCodes.set(rw, by) })
}

// flagNames joins the names whose flag is set, with commas.
func flagNames(names []string, on []bool) string {
	var out []string
	for i, n := range names {
		if on[i] {
			out = append(out, n)
		}
	}
	return strings.Join(out, ",")
}
