package quirks

import (
	"strconv"
)

// TokenPOSTUnsupported makes the token endpoint refuse the OAuth2 POST
// form (grant_type=password or refresh_token) with status, a JSON error
// body, while GET with Basic credentials still issues tokens: GCR answered
// 404, JFrog Artifactory 401, ACR 400 and distribution's reference token
// servers 405. containerd falls back to GET on all four; go-containerregistry
// only on 404.
//
// Catalog id token-post-unsupported. Evidence:
// https://github.com/containerd/containerd/pull/2169,
// https://github.com/containerd/containerd/pull/2171,
// https://github.com/containerd/cri/pull/650,
// https://github.com/ChangemakerStudios/Docker.Registry.DotNet/pull/37,
// https://github.com/Azure/acr/issues/166
func TokenPOSTUnsupported(status int) Quirk {
	return newQuirk("token-post-unsupported", strconv.Itoa(status), func(b *Behavior, by string) {
		b.Auth.TokenPOST.set(status, by)
	})
}

// TokenResponseShape changes the token endpoint's JSON answer: only
// "access_token" or only "token", no "expires_in" (clients must assume 60
// seconds), no "issued_at", or GHCR's echo of the Basic-auth password as
// the token.
//
// Catalog id token-response-shape. Evidence:
// https://github.com/ChangemakerStudios/Docker.Registry.DotNet/pull/37,
// https://github.com/SgtSilvio/gradle-oci/pull/141
func TokenResponseShape(shape TokenShape) Quirk {
	return newQuirk("token-response-shape", shape.String(), func(b *Behavior, by string) {
		b.Auth.TokenShape.set(shape, by)
	})
}

// ChallengeOnlyOnPing answers unauthenticated requests to anything but
// /v2/ with status (401, or 403 as GCR did until pinged), no
// WWW-Authenticate header and Connection: close; only the ping carries the
// challenge, so a client must take its challenge from the ping (as
// containers/image does) rather than from the failing request.
//
// Catalog id challenge-only-on-ping. Evidence:
// https://github.com/containers/image/pull/211,
// https://github.com/containerd/containerd/pull/1205,
// https://github.com/containerd/containerd/issues/1318,
// https://github.com/heroku/docker-registry-client/pull/28
func ChallengeOnlyOnPing(status int) Quirk {
	return newQuirk("challenge-only-on-ping", strconv.Itoa(status), func(b *Behavior, by string) {
		b.Auth.ChallengeOnlyOnPing.set(status, by)
	})
}

// NonstandardChallenge changes the Bearer challenge's parameters: no
// service (Artifact Registry's /v2/), no scope (GCR), a fixed scope
// whatever the resource (ECR Public: "aws"), or other actions than the
// request needs (GHCR: always "pull"). Tokens are still checked against
// what each request needs.
//
// Catalog id challenge-params-nonstandard. Evidence:
// https://github.com/apple/container/issues/1026,
// https://github.com/heroku/docker-registry-client/pull/28,
// https://github.com/SgtSilvio/gradle-oci/pull/141
func NonstandardChallenge(ch Challenge) Quirk {
	return newQuirk("challenge-params-nonstandard", ch.String(), func(b *Behavior, by string) {
		b.Auth.Challenge.set(ch, by)
	})
}

// BasicChallengeAfterBearer answers a request whose credentials fall
// short (a bearer token without the scope it needs, an invalid token,
// wrong Basic credentials) with a Basic challenge (Harbor's
// `Basic realm="harbor"`, ACR, Nexus's upper-case "BASIC"), with no
// challenge at all, or with 403, instead of the spec's Bearer challenge
// with error="insufficient_scope" and the scope needed. Requests without
// credentials still get the Bearer challenge, except /v2/_catalog with
// Catalog set. go-containerregistry does not switch from Bearer back to
// Basic.
//
// Catalog id basic-challenge-after-bearer. Evidence:
// https://github.com/goharbor/harbor/issues/18856,
// https://github.com/goharbor/harbor/issues/17930,
// https://github.com/google/go-containerregistry/pull/1747,
// https://github.com/Azure/acr/issues/651,
// https://github.com/dotnet/sdk-container-builds/issues/527,
// https://github.com/google/go-containerregistry/pull/1075
func BasicChallengeAfterBearer(ch ScopeChallenge) Quirk {
	if ch.Answer == ScopeBasic && ch.Realm == "" {
		ch.Realm = "registry"
	}
	return newQuirk("basic-challenge-after-bearer", ch.String(), func(b *Behavior, by string) {
		b.Auth.ScopeChallenge.set(ch, by)
	})
}

// TokenForBadCredentials makes the token endpoint answer wrong Basic
// credentials with 200 and a token that grants nothing (Harbor, by
// design), so the next API call is refused again; clients that loop
// "401, fetch token, 401" must notice the repeat.
//
// Catalog id token-ok-for-bad-credentials. Evidence:
// https://github.com/goharbor/harbor/issues/11632,
// https://github.com/goharbor/harbor/issues/20930
func TokenForBadCredentials() Quirk {
	return newQuirk("token-ok-for-bad-credentials", "", func(b *Behavior, by string) {
		b.Auth.TokenForBadCredentials.set(true, by)
	})
}

// TokenScopeHandling makes the token endpoint grant only some of the
// scopes of one request (the first, the last, or those of the first
// repository, as cesanta/docker_auth and others do), and with BoundToRepo
// refuses a token for another repository with 403 instead of challenging
// for the right one (GCR). Clients that put two repositories in one token
// request (cross-repository mounts) or ask for pull and push separately
// (helm ≥ 3.18 on Quay) break.
//
// Catalog id token-scope-handling. Evidence:
// https://github.com/cesanta/docker_auth/issues/67,
// https://github.com/moby/moby/pull/20580,
// https://github.com/regclient/regclient/pull/892,
// https://github.com/regclient/regclient/issues/667,
// https://github.com/helm/helm/issues/32144,
// https://github.com/helm/helm/issues/31117,
// https://github.com/oras-project/oras/issues/1599
func TokenScopeHandling(s TokenScopes) Quirk {
	return newQuirk("token-scope-handling", s.String(), func(b *Behavior, by string) {
		b.Auth.TokenScopes.set(s, by)
	})
}

// UnknownRepoUnauthorized answers a pull (manifest or blob GET/HEAD, tag
// or referrers list) from a repository that does not exist with status
// (401 with the auth challenge, or 403 DENIED) instead of 404 NAME_UNKNOWN
// or MANIFEST_UNKNOWN, for callers who may not push to that repository:
// Docker Hub outside the caller's own namespace, Quay with a pull-only
// token. A client's "does it exist yet?" check before a push then fails.
//
// Catalog id unknown-repo-unauthorized. Evidence:
// https://github.com/distribution/distribution/issues/1291,
// https://github.com/docker-library/meta-scripts/pull/33,
// https://github.com/openSUSE/open-build-service/pull/13056,
// https://github.com/helm/helm/issues/32144
func UnknownRepoUnauthorized(status int) Quirk {
	return newQuirk("unknown-repo-unauthorized", strconv.Itoa(status), func(b *Behavior, by string) {
		b.Auth.UnknownRepo.set(status, by)
	})
}

// DeleteScopeQuirks changes what deleting takes: Quay needs push, not
// delete, and refuses any token request that asks for delete; IBM Cloud
// and distribution need an explicit delete, which many token servers never
// grant (that is the spec's behaviour here, with a user granted no
// Delete).
//
// Catalog id delete-scope-quirks. Evidence:
// https://github.com/google/go-containerregistry/issues/724
func DeleteScopeQuirks(d DeleteScope) Quirk {
	return newQuirk("delete-scope-quirks", d.String(), func(b *Behavior, by string) {
		b.Auth.DeleteScope.set(d, by)
	})
}
