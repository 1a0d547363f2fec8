package ocitest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
)

// authQuirkRegistry is a token-auth registry with users alice (everything
// on team/**) and puller (pull on team/**), team/app seeded, and qs on.
func authQuirkRegistry(t *testing.T, qs ...quirks.Quirk) *Registry {
	t.Helper()
	reg := New(t, WithQuirks(qs...), WithTokenAuth(map[string]string{"alice": "a-pw", "puller": "p-pw"},
		Grant{User: "alice", Repos: "team/**", Actions: []Action{AllActions}},
		Grant{User: "puller", Repos: "team/**", Actions: []Action{Pull}},
	))
	reg.PushImage(t, "team/app", "v1", NewImage())
	return reg
}

// lastQuirks is the Quirks of the last recorded request.
func lastQuirks(t *testing.T, reg *Registry) []string {
	t.Helper()
	r, ok := reg.LastRequest()
	if !ok {
		t.Fatal("no request recorded")
	}
	return r.Quirks
}

func wantQuirk(t *testing.T, reg *Registry, name string) {
	t.Helper()
	if got := lastQuirks(t, reg); !slices.Contains(got, name) {
		t.Errorf("last request's Quirks = %q, want %q in it", got, name)
	}
}

func TestQuirkTokenPOSTUnsupported(t *testing.T) {
	reg := authQuirkRegistry(t, quirks.TokenPOSTUnsupported(http.StatusNotFound))
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"a-pw"}, "scope": {"repository:team/app:pull"}}
	resp := do(t, reg, "POST", "/token", []byte(form.Encode()), "Content-Type: application/x-www-form-urlencoded")
	wantError(t, resp, http.StatusNotFound, memstore.CodeUnsupported)
	wantQuirk(t, reg, "token-post-unsupported(404)")
	// GET still works.
	tok := fetchToken(t, reg, "alice", "a-pw", "repository:team/app:pull")
	wantStatus(t, do(t, reg, "GET", "/v2/team/app/manifests/v1", nil, bearerHeader(tok)), http.StatusOK)
	if got := lastQuirks(t, reg); len(got) != 0 {
		t.Errorf("GET changed by %q", got)
	}
}

func TestQuirkTokenResponseShape(t *testing.T) {
	t.Run("access_token only, no expiry", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.TokenResponseShape(quirks.TokenShape{Field: quirks.AccessTokenOnly, OmitExpiresIn: true, OmitIssuedAt: true}))
		resp := do(t, reg, "GET", "/token?scope=repository:team/app:pull", nil, basicHeader("alice", "a-pw"))
		wantStatus(t, resp, http.StatusOK)
		var m map[string]any
		json.Unmarshal(resp.Body, &m)
		if keys := mapKeys(m); !slices.Equal(keys, []string{"access_token"}) {
			t.Errorf("answer fields %q, want only access_token", keys)
		}
		wantQuirk(t, reg, "token-response-shape(access_token,noExpiresIn,noIssuedAt)")
	})
	t.Run("token only on POST", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.TokenResponseShape(quirks.TokenShape{Field: quirks.TokenOnly}))
		form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"a-pw"}}
		resp := do(t, reg, "POST", "/token", []byte(form.Encode()), "Content-Type: application/x-www-form-urlencoded")
		var m map[string]any
		json.Unmarshal(resp.Body, &m)
		if keys := mapKeys(m); !slices.Equal(keys, []string{"expires_in", "issued_at", "scope", "token"}) {
			t.Errorf("answer fields %q", keys)
		}
	})
	t.Run("GHCR echoes the password", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.TokenResponseShape(quirks.TokenShape{EchoPassword: true}))
		tok := fetchToken(t, reg, "puller", "p-pw", "repository:team/app:pull")
		if tok != "p-pw" {
			t.Fatalf("token = %q, want the password", tok)
		}
		// The password works as a token, with the user's permissions
		// and nothing more.
		wantStatus(t, do(t, reg, "GET", "/v2/team/app/manifests/v1", nil, bearerHeader("p-pw")), http.StatusOK)
		wantQuirk(t, reg, "token-response-shape(both,echoPassword)")
		if r, _ := reg.LastRequest(); r.User != "puller" {
			t.Errorf("User = %q, want puller", r.User)
		}
		resp := do(t, reg, "POST", "/v2/team/app/blobs/uploads/", nil, bearerHeader("p-pw"))
		wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
		// Anonymous tokens are still real tokens.
		anon := fetchToken(t, reg, "", "", "repository:team/app:pull")
		if strings.Count(anon, ".") != 2 {
			t.Errorf("anonymous token %q is not a JWT", anon)
		}
	})
}

func mapKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestQuirkChallengeOnlyOnPing(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		reg := authQuirkRegistry(t, quirks.ChallengeOnlyOnPing(status))
		resp := do(t, reg, "GET", "/v2/team/app/manifests/v1", nil)
		wantStatus(t, resp, status)
		wantHeader(t, resp, "WWW-Authenticate", "")
		// (The client consumes Connection; the record keeps it.)
		if r, _ := reg.LastRequest(); r.ResponseHeader.Get("Connection") != "close" {
			t.Errorf("response header Connection = %q, want close", r.ResponseHeader.Get("Connection"))
		}
		wantQuirk(t, reg, "challenge-only-on-ping("+itoa(status)+")")
		// Insufficient scope is refused the same way.
		tok := reg.IssueToken(t, "puller", "repository:team/app:pull")
		resp = do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil, bearerHeader(tok))
		wantStatus(t, resp, status)
		wantHeader(t, resp, "WWW-Authenticate", "")
		// The ping still challenges.
		resp = do(t, reg, "GET", "/v2/", nil)
		wantStatus(t, resp, http.StatusUnauthorized)
		wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+reg.TokenURL()+`",service="ocifixture"`)
		if got := lastQuirks(t, reg); len(got) != 0 {
			t.Errorf("ping changed by %q", got)
		}
	}
}

func TestQuirkNonstandardChallenge(t *testing.T) {
	realm := func(reg *Registry) string { return `Bearer realm="` + reg.TokenURL() + `"` }
	t.Run("no service on the ping (GAR)", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.NonstandardChallenge(quirks.Challenge{OmitService: true, Calls: quirks.CallPing}))
		wantHeader(t, do(t, reg, "GET", "/v2/", nil), "WWW-Authenticate", realm(reg))
		wantQuirk(t, reg, "challenge-params-nonstandard(noService,ping)")
		wantHeader(t, do(t, reg, "GET", "/v2/team/app/tags/list", nil), "WWW-Authenticate",
			realm(reg)+`,service="ocifixture",scope="repository:team/app:pull"`)
	})
	t.Run("fixed scope (ECR Public)", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.NonstandardChallenge(quirks.Challenge{FixedScope: "aws"}))
		wantHeader(t, do(t, reg, "POST", "/v2/team/app/blobs/uploads/", nil), "WWW-Authenticate",
			realm(reg)+`,service="ocifixture",scope="aws"`)
	})
	t.Run("always pull (GHCR)", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.NonstandardChallenge(quirks.Challenge{ScopeActions: "pull"}))
		wantHeader(t, do(t, reg, "POST", "/v2/team/app/blobs/uploads/", nil), "WWW-Authenticate",
			realm(reg)+`,service="ocifixture",scope="repository:team/app:pull"`)
		// A token got for that scope still does not allow the push.
		tok := fetchToken(t, reg, "alice", "a-pw", "repository:team/app:pull")
		wantStatus(t, do(t, reg, "POST", "/v2/team/app/blobs/uploads/", nil, bearerHeader(tok)), http.StatusUnauthorized)
	})
	t.Run("no scope (GCR)", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.NonstandardChallenge(quirks.Challenge{OmitScope: true}))
		wantHeader(t, do(t, reg, "GET", "/v2/team/app/tags/list", nil), "WWW-Authenticate", realm(reg)+`,service="ocifixture"`)
	})
}

func TestQuirkBasicChallengeAfterBearer(t *testing.T) {
	t.Run("Harbor", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.BasicChallengeAfterBearer(quirks.ScopeChallenge{Realm: "harbor", Catalog: true}))
		tok := fetchToken(t, reg, "puller", "p-pw", "repository:team/app:pull")
		resp := do(t, reg, "POST", "/v2/team/app/blobs/uploads/", nil, bearerHeader(tok))
		wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
		wantHeader(t, resp, "WWW-Authenticate", `Basic realm="harbor"`)
		wantQuirk(t, reg, "basic-challenge-after-bearer(basic:Basic realm=harbor,catalog)")
		// An invalid token too.
		wantHeader(t, do(t, reg, "GET", "/v2/team/app/tags/list", nil, bearerHeader("x.y.z")), "WWW-Authenticate", `Basic realm="harbor"`)
		// Without credentials: the Bearer challenge, except for the catalog.
		wantHeader(t, do(t, reg, "GET", "/v2/team/app/tags/list", nil), "WWW-Authenticate",
			`Bearer realm="`+reg.TokenURL()+`",service="ocifixture",scope="repository:team/app:pull"`)
		wantHeader(t, do(t, reg, "GET", "/v2/_catalog", nil), "WWW-Authenticate", `Basic realm="harbor"`)
	})
	t.Run("Nexus upper-case scheme", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.BasicChallengeAfterBearer(quirks.ScopeChallenge{Realm: "Sonatype Nexus Repository Manager", Scheme: "BASIC"}))
		tok := reg.IssueToken(t, "puller", "repository:team/app:pull")
		wantHeader(t, do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil, bearerHeader(tok)), "WWW-Authenticate",
			`BASIC realm="Sonatype Nexus Repository Manager"`)
	})
	t.Run("403 instead of a challenge", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.BasicChallengeAfterBearer(quirks.ScopeChallenge{Answer: quirks.ScopeForbidden}))
		tok := reg.IssueToken(t, "puller", "repository:team/app:pull")
		resp := do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil, bearerHeader(tok))
		wantError(t, resp, http.StatusForbidden, memstore.CodeDenied)
		wantHeader(t, resp, "WWW-Authenticate", "")
		wantQuirk(t, reg, "basic-challenge-after-bearer(403)")
	})
	t.Run("bare 401", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.BasicChallengeAfterBearer(quirks.ScopeChallenge{Answer: quirks.ScopeBare401}))
		tok := reg.IssueToken(t, "puller", "repository:team/app:pull")
		resp := do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil, bearerHeader(tok))
		wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
		wantHeader(t, resp, "WWW-Authenticate", "")
	})
}

func TestQuirkTokenForBadCredentials(t *testing.T) {
	reg := authQuirkRegistry(t, quirks.TokenForBadCredentials())
	tok := fetchToken(t, reg, "alice", "wrong", "repository:team/app:pull")
	wantQuirk(t, reg, "token-ok-for-bad-credentials")
	if r, _ := reg.LastRequest(); len(r.Granted) != 0 || r.User != Anonymous {
		t.Errorf("bad credentials: granted %q to %q", r.Granted, r.User)
	}
	if c := jwtClaims(t, tok); len(c.Access) != 0 {
		t.Errorf("token access %+v, want none", c.Access)
	}
	// The next API call is refused again, with the same challenge.
	resp := do(t, reg, "GET", "/v2/team/app/manifests/v1", nil, bearerHeader(tok))
	wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+reg.TokenURL()+`",service="ocifixture",scope="repository:team/app:pull",error="insufficient_scope"`)
}

func TestQuirkTokenScopeHandling(t *testing.T) {
	scopes := []string{"repository:team/app:pull,push", "repository:team/lib:pull", "repository:team/app:delete"}
	for _, tc := range []struct {
		grant quirks.ScopeGrant
		want  []string
	}{
		{quirks.GrantAllScopes, []string{"repository:team/app:pull,push,delete", "repository:team/lib:pull"}},
		{quirks.GrantFirstScope, []string{"repository:team/app:pull,push"}},
		{quirks.GrantLastScope, []string{"repository:team/app:delete"}},
		{quirks.GrantFirstRepository, []string{"repository:team/app:pull,push,delete"}},
	} {
		reg := authQuirkRegistry(t, quirks.TokenScopeHandling(quirks.TokenScopes{Grant: tc.grant}))
		fetchToken(t, reg, "alice", "a-pw", scopes...)
		r, _ := reg.LastRequest()
		if diff := cmp.Diff(tc.want, r.Granted); diff != "" {
			t.Errorf("%v: granted (-want +got):\n%s", tc.grant, diff)
		}
	}
	t.Run("bound to repo (GCR)", func(t *testing.T) {
		reg := authQuirkRegistry(t, quirks.TokenScopeHandling(quirks.TokenScopes{BoundToRepo: true}))
		tok := reg.IssueToken(t, "alice", "repository:team/app:pull")
		resp := do(t, reg, "GET", "/v2/team/lib/tags/list", nil, bearerHeader(tok))
		wantError(t, resp, http.StatusForbidden, memstore.CodeDenied)
		wantHeader(t, resp, "WWW-Authenticate", "")
		wantQuirk(t, reg, "token-scope-handling(all,boundToRepo)")
		// Missing actions on the token's own repository still challenge.
		resp = do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil, bearerHeader(tok))
		wantStatus(t, resp, http.StatusUnauthorized)
	})
}

func TestQuirkUnknownRepoUnauthorized(t *testing.T) {
	reg := authQuirkRegistry(t, quirks.UnknownRepoUnauthorized(http.StatusUnauthorized))
	tok := reg.IssueToken(t, "puller", "repository:team/new:pull", "repository:team/app:pull")
	resp := do(t, reg, "HEAD", "/v2/team/new/manifests/v1", nil, bearerHeader(tok))
	wantStatus(t, resp, http.StatusUnauthorized)
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+reg.TokenURL()+`",service="ocifixture",scope="repository:team/new:pull,push",error="insufficient_scope"`)
	wantQuirk(t, reg, "unknown-repo-unauthorized(401)")
	// An existing repository answers as usual, 404 for a missing tag.
	wantError(t, do(t, reg, "GET", "/v2/team/app/manifests/nope", nil, bearerHeader(tok)), http.StatusNotFound, memstore.CodeManifestUnknown)
	// Someone who may push there gets the spec's 404.
	push := reg.IssueToken(t, "alice", "repository:team/new:pull,push")
	wantError(t, do(t, reg, "GET", "/v2/team/new/manifests/v1", nil, bearerHeader(push)), http.StatusNotFound, memstore.CodeNameUnknown)

	reg = authQuirkRegistry(t, quirks.UnknownRepoUnauthorized(http.StatusForbidden))
	tok = reg.IssueToken(t, "puller", "repository:team/new:pull")
	resp = do(t, reg, "GET", "/v2/team/new/tags/list", nil, bearerHeader(tok))
	wantError(t, resp, http.StatusForbidden, memstore.CodeDenied)
}

func TestQuirkDeleteScope(t *testing.T) {
	reg := authQuirkRegistry(t, quirks.DeleteScopeQuirks(quirks.DeleteScope{Needs: "push", RefuseDeleteInTokenRequest: true}))
	resp := do(t, reg, "GET", "/token?scope=repository:team/app:pull,push,delete", nil, basicHeader("alice", "a-pw"))
	wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
	wantQuirk(t, reg, "delete-scope-quirks(needs=push,refuseDeleteScope)")
	// The challenge asks for push, and a push token deletes.
	resp = do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil)
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+reg.TokenURL()+`",service="ocifixture",scope="repository:team/app:push"`)
	tok := fetchToken(t, reg, "alice", "a-pw", "repository:team/app:pull,push")
	wantStatus(t, do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil, bearerHeader(tok)), http.StatusAccepted)
	wantQuirk(t, reg, "delete-scope-quirks(needs=push,refuseDeleteScope)")
	// A delete-only grant no longer deletes.
	reg2 := New(t, WithQuirks(quirks.DeleteScopeQuirks(quirks.DeleteScope{Needs: "push"})),
		WithTokenAuth(map[string]string{"d": "pw"}, Grant{User: "d", Repos: "**", Actions: []Action{Pull, Delete}}))
	reg2.PushImage(t, "x", "v1", NewImage())
	tok = reg2.IssueToken(t, "d", "repository:x:pull,delete")
	wantStatus(t, do(t, reg2, "DELETE", "/v2/x/manifests/v1", nil, bearerHeader(tok)), http.StatusUnauthorized)
}
