package quirks

import (
	"fmt"
	"net/http"
	"strings"
)

// AuthBehavior is how a request is answered as to authentication and
// authorisation (catalog section 9). These quirks act only on a registry
// with authentication on (ocitest.WithBasicAuth, ocitest.WithTokenAuth);
// the token endpoint has no repository, so quirks limited with ForRepos
// never reach it.
type AuthBehavior struct {
	// TokenPOST is the status the token endpoint answers the OAuth2 POST
	// form with, where GET still works.
	TokenPOST Setting[int]
	// TokenShape changes the token endpoint's JSON answer.
	TokenShape Setting[TokenShape]
	// ChallengeOnlyOnPing is the status of an unauthenticated request to
	// anything but /v2/, answered without a WWW-Authenticate challenge.
	ChallengeOnlyOnPing Setting[int]
	// Challenge changes the parameters of the Bearer challenge.
	Challenge Setting[Challenge]
	// ScopeChallenge changes the answer to requests whose credentials do
	// not cover what they ask for.
	ScopeChallenge Setting[ScopeChallenge]
	// TokenForBadCredentials issues a token with no access for wrong
	// credentials instead of refusing them.
	TokenForBadCredentials Setting[bool]
	// TokenScopes limits which of the scopes of a token request are
	// granted.
	TokenScopes Setting[TokenScopes]
	// UnknownRepo is the status of a pull from a repository that does not
	// exist, for callers who may not push to it, instead of 404.
	UnknownRepo Setting[int]
	// DeleteScope changes what a delete needs.
	DeleteScope Setting[DeleteScope]
}

// TokenField says which field of the token endpoint's answer carries the
// token.
type TokenField int

// Token fields.
const (
	// TokenBothFields sends the token as both "token" and "access_token",
	// as the Docker token specification and Docker Hub do.
	TokenBothFields TokenField = iota
	// TokenOnly sends only "token".
	TokenOnly
	// AccessTokenOnly sends only "access_token", as OAuth2 servers do.
	AccessTokenOnly
)

var tokenFieldNames = [...]string{"both", "token", "access_token"}

func (f TokenField) String() string {
	if f >= 0 && int(f) < len(tokenFieldNames) {
		return tokenFieldNames[f]
	}
	return fmt.Sprintf("TokenField(%d)", int(f))
}

// TokenShape is an unusual answer of the token endpoint.
type TokenShape struct {
	// Field selects the field(s) that carry the token.
	Field TokenField
	// OmitExpiresIn and OmitIssuedAt leave those fields out; the spec says
	// a client must then assume 60 seconds.
	OmitExpiresIn bool
	OmitIssuedAt  bool
	// EchoPassword answers the Basic-auth password itself as the token
	// (GHCR with a personal access token); the API then accepts that
	// password as a bearer token with all of the user's permissions,
	// whatever scopes were asked for.
	EchoPassword bool
}

func (s TokenShape) String() string {
	parts := []string{s.Field.String()}
	if s.OmitExpiresIn {
		parts = append(parts, "noExpiresIn")
	}
	if s.OmitIssuedAt {
		parts = append(parts, "noIssuedAt")
	}
	if s.EchoPassword {
		parts = append(parts, "echoPassword")
	}
	return strings.Join(parts, ",")
}

// Challenge changes the parameters of Bearer challenges.
type Challenge struct {
	// OmitService and OmitScope leave those parameters out.
	OmitService bool
	OmitScope   bool
	// FixedScope is sent as the scope whatever the request needs (ECR
	// Public: "aws").
	FixedScope string
	// ScopeActions replaces the actions of the scope (GHCR: "pull", even
	// for a push).
	ScopeActions string
	// Calls selects the requests whose challenge changes; zero means all.
	Calls Calls
}

func (c Challenge) String() string {
	var parts []string
	if c.OmitService {
		parts = append(parts, "noService")
	}
	if c.OmitScope {
		parts = append(parts, "noScope")
	}
	if c.FixedScope != "" {
		parts = append(parts, "scope="+c.FixedScope)
	}
	if c.ScopeActions != "" {
		parts = append(parts, "actions="+c.ScopeActions)
	}
	if c.Calls != 0 {
		parts = append(parts, c.Calls.String())
	}
	return strings.Join(parts, ",")
}

// ScopeAnswer is how a registry refuses credentials that fall short.
type ScopeAnswer int

// Answers to credentials that fall short.
const (
	// ScopeBasic answers 401 with a Basic challenge instead of a Bearer
	// challenge naming the scope (Harbor, ACR, Nexus).
	ScopeBasic ScopeAnswer = iota
	// ScopeBare401 answers 401 with no challenge at all.
	ScopeBare401
	// ScopeForbidden answers 403 DENIED with no challenge: the client is
	// told it may not, not how to ask.
	ScopeForbidden
)

var scopeAnswerNames = [...]string{"basic", "bare401", "403"}

func (a ScopeAnswer) String() string {
	if a >= 0 && int(a) < len(scopeAnswerNames) {
		return scopeAnswerNames[a]
	}
	return fmt.Sprintf("ScopeAnswer(%d)", int(a))
}

// ScopeChallenge is how refused requests that carried credentials are
// answered.
type ScopeChallenge struct {
	Answer ScopeAnswer
	// Realm and Scheme are those of the Basic challenge (ScopeBasic);
	// Scheme defaults to "Basic" (Nexus sends "BASIC").
	Realm  string
	Scheme string
	// Catalog sends the Basic challenge on every refused /v2/_catalog
	// request, with or without credentials (Harbor).
	Catalog bool
}

func (s ScopeChallenge) String() string {
	out := s.Answer.String()
	if s.Answer == ScopeBasic {
		scheme := s.Scheme
		if scheme == "" {
			scheme = "Basic"
		}
		out += ":" + scheme + " realm=" + s.Realm
	}
	if s.Catalog {
		out += ",catalog"
	}
	return out
}

// ScopeGrant says which of the scopes of one token request are granted.
type ScopeGrant int

// Scope grants.
const (
	// GrantAllScopes grants every scope asked for, as far as the user may
	// (the spec).
	GrantAllScopes ScopeGrant = iota
	// GrantFirstScope grants only the first scope parameter
	// (cesanta/docker_auth).
	GrantFirstScope
	// GrantLastScope grants only the last scope parameter.
	GrantLastScope
	// GrantFirstRepository grants only the scopes naming the same
	// repository as the first one, merging their actions.
	GrantFirstRepository
)

var scopeGrantNames = [...]string{"all", "firstOnly", "lastOnly", "firstRepoOnly"}

func (g ScopeGrant) String() string {
	if g >= 0 && int(g) < len(scopeGrantNames) {
		return scopeGrantNames[g]
	}
	return fmt.Sprintf("ScopeGrant(%d)", int(g))
}

// TokenScopes is how a token server treats the scopes of one request.
type TokenScopes struct {
	Grant ScopeGrant
	// BoundToRepo refuses a token that grants access to other
	// repositories only with 403 DENIED and no challenge, instead of
	// challenging for the scope needed (GCR), so a client that reuses one
	// token across repositories fails instead of asking again.
	BoundToRepo bool
}

func (s TokenScopes) String() string {
	out := s.Grant.String()
	if s.BoundToRepo {
		out += ",boundToRepo"
	}
	return out
}

// DeleteScope changes what deleting takes.
type DeleteScope struct {
	// Needs is the action a DELETE needs instead of "delete": "push"
	// (Quay). Empty keeps "delete".
	Needs string
	// RefuseDeleteInTokenRequest refuses a token request that asks for the
	// delete action with 401, granting nothing (Quay).
	RefuseDeleteInTokenRequest bool
}

func (d DeleteScope) String() string {
	var parts []string
	if d.Needs != "" {
		parts = append(parts, "needs="+d.Needs)
	}
	if d.RefuseDeleteInTokenRequest {
		parts = append(parts, "refuseDeleteScope")
	}
	return strings.Join(parts, ",")
}

func init() {
	register("token-post-unsupported", func() Quirk { return TokenPOSTUnsupported(http.StatusNotFound) })
	register("token-response-shape", func() Quirk { return TokenResponseShape(TokenShape{Field: AccessTokenOnly, OmitExpiresIn: true}) })
	register("challenge-only-on-ping", func() Quirk { return ChallengeOnlyOnPing(http.StatusUnauthorized) })
	register("challenge-params-nonstandard", func() Quirk { return NonstandardChallenge(Challenge{OmitService: true, Calls: CallPing}) })
	register("basic-challenge-after-bearer", func() Quirk { return BasicChallengeAfterBearer(ScopeChallenge{Realm: "harbor", Catalog: true}) })
	register("token-ok-for-bad-credentials", func() Quirk { return TokenForBadCredentials() })
	register("token-scope-handling", func() Quirk { return TokenScopeHandling(TokenScopes{Grant: GrantFirstScope}) })
	register("unknown-repo-unauthorized", func() Quirk { return UnknownRepoUnauthorized(http.StatusUnauthorized) })
	register("delete-scope-quirks", func() Quirk {
		return DeleteScopeQuirks(DeleteScope{Needs: "push", RefuseDeleteInTokenRequest: true})
	})
}
