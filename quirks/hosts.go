package quirks

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// HostBehavior is how a request is answered as to redirects and other
// hosts.
type HostBehavior struct {
	// BlobRedirect answers blob GETs with a redirect to the fixture's
	// CDN host.
	BlobRedirect Setting[BlobRedirect]
	// RejectAuthorization is the CDN host's answer to a request that
	// carries an Authorization header.
	RejectAuthorization Setting[ErrorResponse]
	// RedirectAPI redirects every API request with this status to the
	// fixture's second registry host.
	RedirectAPI Setting[int]
	// PathPrefix serves the API under this path ("/artifactory/api/docker/docker-local")
	// instead of at the root.
	PathPrefix Setting[string]
}

// BlobRedirect is how blob GETs are redirected to the CDN host.
type BlobRedirect struct {
	// Status is the redirect's status: 307 (default), 302 or 303.
	Status int
	// ExpiresAfterUses makes a signed URL good for this many GETs; 0
	// means any number.
	ExpiresAfterUses int
	// ExpiresAfter makes a signed URL expire this long after it was
	// issued, by the registry's clock; 0 means never.
	ExpiresAfter time.Duration
}

// StatusCode is Status with its default applied.
func (r BlobRedirect) StatusCode() int {
	if r.Status == 0 {
		return http.StatusTemporaryRedirect
	}
	return r.Status
}

func init() {
	register("blob-redirect", func() Quirk { return RedirectBlobs(BlobRedirect{Status: http.StatusTemporaryRedirect}) })
	register("redirect-target-rejects-authorization", RedirectTargetRejectsAuthorization)
	register("api-redirect-to-other-registry", func() Quirk { return RedirectAPI(http.StatusTemporaryRedirect) })
	register("api-under-path-prefix", func() Quirk { return APIUnderPathPrefix("/artifactory/api/docker/docker-local") })
}

// RedirectBlobs answers blob GETs (of blobs the repository has; HEADs and
// misses are answered as usual) with r.Status (307 by default) and a
// Location on the fixture's CDN host, another loopback port of the same
// IP (Registry.CDNHost), at a storage-like path with a fake S3 signature:
// /registry-v2/docker/registry/v2/blobs/sha256/<2>/<hex>/data?X-Amz-Algorithm=...&X-Amz-Signature=...
// The CDN host serves the bytes (with Range support, no
// Docker-Content-Digest). With r.ExpiresAfterUses or r.ExpiresAfter a
// signed URL stops working (403 AccessDenied "Request has expired", S3
// XML), so a client must go back to the registry for a new one. Docker Hub
// redirects to production.cloudflare.docker.com, GHCR to
// pkg-containers.githubusercontent.com, ECR to S3 pre-signed URLs, ACR to
// <registry>.<region>.data.azurecr.io. Firewall allow-lists broke on the
// second host, the Azure SDK had to re-enable redirects, and GHCR took
// seconds to sign URLs under load.
//
// Catalog id blob-redirect. Evidence:
// https://github.com/docker/hub-feedback/issues/2218,
// https://github.com/sitespeedio/sitespeed.io/pull/4773,
// https://github.com/anthropics/claude-code/issues/69174,
// https://github.com/scarf-sh/gateway/pull/35,
// https://github.com/Azure/azure-sdk-for-net/pull/40771,
// https://github.com/opencontainers/artifacts/issues/34
func RedirectBlobs(r BlobRedirect) Quirk {
	params := fmt.Sprint(r.StatusCode())
	if r.ExpiresAfterUses > 0 {
		params += fmt.Sprintf(",uses=%d", r.ExpiresAfterUses)
	}
	if r.ExpiresAfter > 0 {
		params += ",expires=" + r.ExpiresAfter.String()
	}
	return newQuirk("blob-redirect", params, func(b *Behavior, by string) { b.Hosts.BlobRedirect.set(r, by) })
}

// RedirectTargetRejectsAuthorization makes the fixture's CDN host (see
// RedirectBlobs) answer a request that carries an Authorization header as
// S3 answers a signed URL with a forwarded bearer token: 400
// Content-Type: application/xml <Error><Code>InvalidArgument</Code><Message>Only
// one auth mechanism allowed; only the X-Amz-Algorithm query parameter,
// Signature query string parameter or the Authorization header should be
// specified</Message>...</Error>. Registries that redirect to S3 or GCS
// signed URLs (ECR, Docker Hub, distribution on S3) show it; ggcr sets the
// token only for the registry's host since its early days, containerd
// drops the authorizer on a host change, oras-java and Spring Cloud Data
// Flow had to stop forwarding it.
//
// Catalog id redirect-target-rejects-authorization. Evidence:
// https://github.com/google/go-containerregistry/pull/6,
// https://github.com/oras-project/oras-java/pull/334,
// https://github.com/spring-attic/spring-cloud-dataflow/pull/4066
func RedirectTargetRejectsAuthorization() Quirk {
	e := ErrorResponse{
		Status:      http.StatusBadRequest,
		Code:        "InvalidArgument",
		Message:     "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
		ContentType: "application/xml",
	}
	e.Body = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<Error><Code>` + e.Code + `</Code><Message>` + e.Message + `</Message>` +
		`<ArgumentName>Authorization</ArgumentName><RequestId>0CIF1XTURE000000</RequestId>` +
		`<HostId>b2NpZml4dHVyZQ==</HostId></Error>`
	return newQuirk("redirect-target-rejects-authorization", "", func(b *Behavior, by string) { b.Hosts.RejectAuthorization.set(e, by) })
}

// RedirectAPI answers every request to the registry's API (/v2/...) with
// status (307 by default) and a Location with the same path and query on
// the fixture's second registry host (Registry.OtherRegistryHost), another
// loopback port that serves the same store with the same quirks, this one
// excepted. Vanity registries do this (lscr.io and cr.l5d.io redirect to
// ghcr.io), as do JFrog redirect gateways; ggcr went through four changes
// (leaking the first host's token to the second, then not applying the
// second's) before settling on a per-host token exchange, and watchtower
// had to follow lscr.io.
//
// Catalog id api-redirect-to-other-registry. Evidence:
// https://github.com/google/go-containerregistry/pull/2360,
// https://github.com/nicholas-fedor/watchtower/pull/359,
// https://github.com/scarf-sh/gateway/pull/35
func RedirectAPI(status int) Quirk {
	if status == 0 {
		status = http.StatusTemporaryRedirect
	}
	return newQuirk("api-redirect-to-other-registry", fmt.Sprint(status), func(b *Behavior, by string) { b.Hosts.RedirectAPI.set(status, by) })
}

// APIUnderPathPrefix serves the API under prefix instead of at the root,
// as JFrog Artifactory's repository path access does
// (/artifactory/api/docker/<repo>/v2/...) and path-based reverse proxies
// in front of Nexus: GET <prefix>/v2/ works, while GET /v2/ and every
// other request at the root answer 404 "404 page not found" (text/plain).
// Location and Link headers of answers under the prefix point under it.
// Clients that build URLs from the host alone cannot use such a registry;
// containerd's hosts.toml has override_path for it. The prefix decides how
// a path is read before its repository is known, so apply this quirk to
// the whole registry rather than through ForRepos. The prefix must not
// contain "/v2/".
//
// Catalog id api-under-path-prefix. Evidence:
// https://github.com/jfrog/artifactory-docker-examples/issues/168,
// https://github.com/jetstack/version-checker/issues/65
func APIUnderPathPrefix(prefix string) Quirk {
	prefix = "/" + strings.Trim(prefix, "/")
	return newQuirk("api-under-path-prefix", prefix, func(b *Behavior, by string) { b.Hosts.PathPrefix.set(prefix, by) })
}
