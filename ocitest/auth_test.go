package ocitest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/memstore"
)

func basicHeader(user, password string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func bearerHeader(token string) string { return "Authorization: Bearer " + token }

// tokenAnswer is the token endpoint's JSON answer.
type tokenAnswer struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// fetchToken asks the token endpoint by GET for scopes, with Basic
// credentials if user is not empty, and returns the token.
func fetchToken(t testing.TB, reg *Registry, user, password string, scopes ...string) string {
	t.Helper()
	q := url.Values{"service": {"ocifixture"}, "scope": scopes}
	var hdr []string
	if user != "" {
		hdr = append(hdr, basicHeader(user, password))
	}
	resp := do(t, reg, "GET", "/token?"+q.Encode(), nil, hdr...)
	wantStatus(t, resp, http.StatusOK)
	var ta tokenAnswer
	if err := json.Unmarshal(resp.Body, &ta); err != nil {
		t.Fatalf("token answer %s: %v", resp.Body, err)
	}
	if ta.Token == "" || ta.Token != ta.AccessToken {
		t.Fatalf("token answer %s: want equal token and access_token", resp.Body)
	}
	return ta.Token
}

// jwtClaims decodes a token's claims without checking it.
func jwtClaims(t testing.TB, token string) tokenClaims {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c tokenClaims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBasicAuth(t *testing.T) {
	reg := New(t, WithBasicAuth(map[string]string{"alice": "a-pw", "bob": "b-pw"},
		Grant{User: "alice", Repos: "**", Actions: []Action{AllActions}},
		Grant{User: "bob", Repos: "team/*", Actions: []Action{Pull}},
		Grant{User: Anonymous, Repos: "public/*", Actions: []Action{Pull}},
	))
	img := NewImage()
	reg.PushImage(t, "team/app", "v1", img)
	reg.PushImage(t, "public/base", "v1", img)

	// The ping needs a user.
	resp := do(t, reg, "GET", "/v2/", nil)
	wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
	wantHeader(t, resp, "WWW-Authenticate", `Basic realm="ocifixture"`)
	wantStatus(t, do(t, reg, "GET", "/v2/", nil, basicHeader("bob", "b-pw")), http.StatusOK)

	// Wrong password: 401 even where anonymous could read.
	resp = do(t, reg, "GET", "/v2/public/base/manifests/v1", nil, basicHeader("bob", "wrong"))
	wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
	wantHeader(t, resp, "WWW-Authenticate", `Basic realm="ocifixture"`)
	if !strings.Contains(string(resp.Body), "incorrect username or password") {
		t.Errorf("body %s does not say why", resp.Body)
	}

	// Anonymous pull where granted, 401 with the challenge elsewhere.
	wantStatus(t, do(t, reg, "GET", "/v2/public/base/manifests/v1", nil), http.StatusOK)
	resp = do(t, reg, "GET", "/v2/team/app/manifests/v1", nil)
	wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
	wantHeader(t, resp, "WWW-Authenticate", `Basic realm="ocifixture"`)
	var eb errorBody
	if err := json.Unmarshal(resp.Body, &eb); err != nil {
		t.Fatal(err)
	}
	wantDetail := []any{map[string]any{"Type": "repository", "Name": "team/app", "Action": "pull"}}
	if diff := cmp.Diff(wantDetail, eb.Errors[0].Detail); diff != "" {
		t.Errorf("error detail (-want +got):\n%s", diff)
	}

	// A user without the action: 403 DENIED, no challenge.
	wantStatus(t, do(t, reg, "GET", "/v2/team/app/manifests/v1", nil, basicHeader("bob", "b-pw")), http.StatusOK)
	before := reg.Store().Snapshot()
	resp = do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil, basicHeader("bob", "b-pw"))
	wantError(t, resp, http.StatusForbidden, memstore.CodeDenied)
	wantHeader(t, resp, "WWW-Authenticate", "")
	unchanged(t, reg, before)
	resp = do(t, reg, "POST", "/v2/team/app/blobs/uploads/", nil, basicHeader("bob", "b-pw"))
	wantError(t, resp, http.StatusForbidden, memstore.CodeDenied)
	unchanged(t, reg, before)

	// Alice may do everything, including the catalog; bob may not list it.
	wantStatus(t, do(t, reg, "GET", "/v2/_catalog", nil, basicHeader("alice", "a-pw")), http.StatusOK)
	wantError(t, do(t, reg, "GET", "/v2/_catalog", nil, basicHeader("bob", "b-pw")), http.StatusForbidden, memstore.CodeDenied)
	wantStatus(t, do(t, reg, "DELETE", "/v2/team/app/manifests/"+string(img.Digest()), nil, basicHeader("alice", "a-pw")), http.StatusAccepted)

	// The log says who sent what.
	got := reg.Filter(Match{Kind: ManifestDelete})
	if len(got) != 2 || got[0].User != "bob" || got[1].User != "alice" {
		t.Errorf("recorded users of the deletes: %+v", got)
	}
	if u := reg.Filter(Match{Kind: Ping})[0].User; u != Anonymous {
		t.Errorf("anonymous ping recorded as user %q", u)
	}
}

func TestTokenFlow(t *testing.T) {
	clock := NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))
	reg := New(t, WithClock(clock), WithTokenAuth(map[string]string{"alice": "a-pw"},
		Grant{User: "alice", Repos: "team/**", Actions: []Action{Pull, Push}},
		Grant{User: Anonymous, Repos: "public/*", Actions: []Action{Pull}},
	))
	reg.PushImage(t, "team/app", "v1", NewImage())
	realm := reg.URL() + "/token"
	if reg.TokenURL() != realm {
		t.Errorf("TokenURL = %q, want %q", reg.TokenURL(), realm)
	}

	// No token: the challenge names the realm, the service and the scope.
	resp := do(t, reg, "GET", "/v2/", nil)
	wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+realm+`",service="ocifixture"`)
	resp = do(t, reg, "GET", "/v2/team/app/manifests/v1", nil)
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+realm+`",service="ocifixture",scope="repository:team/app:pull"`)
	resp = do(t, reg, "POST", "/v2/team/app/blobs/uploads/", nil)
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+realm+`",service="ocifixture",scope="repository:team/app:pull,push"`)
	resp = do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil)
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+realm+`",service="ocifixture",scope="repository:team/app:delete"`)
	resp = do(t, reg, "GET", "/v2/_catalog", nil)
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+realm+`",service="ocifixture",scope="registry:catalog:*"`)
	// Basic credentials are not accepted by the API in token mode.
	wantStatus(t, do(t, reg, "GET", "/v2/team/app/manifests/v1", nil, basicHeader("alice", "a-pw")), http.StatusUnauthorized)

	// GET with Basic credentials and two scopes: the token grants what
	// alice may (no delete, nothing on another team's repository).
	q := url.Values{"service": {"ocifixture"}, "scope": {"repository:team/app:pull,push,delete", "repository:other/x:pull"}}
	resp = do(t, reg, "GET", "/token?"+q.Encode(), nil, basicHeader("alice", "a-pw"))
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Content-Type", "application/json")
	wantHeader(t, resp, "Cache-Control", "no-store")
	var ta tokenAnswer
	if err := json.Unmarshal(resp.Body, &ta); err != nil {
		t.Fatal(err)
	}
	want := tokenAnswer{Token: ta.Token, AccessToken: ta.Token, ExpiresIn: 300, IssuedAt: "2026-11-27T10:00:00Z"}
	if diff := cmp.Diff(want, ta); diff != "" || ta.Token == "" {
		t.Errorf("token answer (-want +got):\n%s", diff)
	}
	claims := jwtClaims(t, ta.Token)
	wantAccess := []accessEntry{
		{Type: "repository", Name: "team/app", Actions: []string{"pull", "push"}},
		{Type: "repository", Name: "other/x", Actions: []string{}},
	}
	if diff := cmp.Diff(wantAccess, claims.Access); diff != "" || claims.Subject != "alice" || claims.Audience != "ocifixture" {
		t.Errorf("claims %+v; access (-want +got):\n%s", claims, diff)
	}
	tok := ta.Token
	wantStatus(t, do(t, reg, "GET", "/v2/", nil, bearerHeader(tok)), http.StatusOK)
	wantStatus(t, do(t, reg, "GET", "/v2/team/app/manifests/v1", nil, bearerHeader(tok)), http.StatusOK)

	// The token is for team/app only: other repositories and actions get
	// the insufficient_scope challenge, and the store is untouched.
	before := reg.Store().Snapshot()
	resp = do(t, reg, "DELETE", "/v2/team/app/manifests/v1", nil, bearerHeader(tok))
	wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+realm+`",service="ocifixture",scope="repository:team/app:delete",error="insufficient_scope"`)
	resp = do(t, reg, "GET", "/v2/team/lib/tags/list", nil, bearerHeader(tok))
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+realm+`",service="ocifixture",scope="repository:team/lib:pull",error="insufficient_scope"`)
	unchanged(t, reg, before)

	// Expiry follows the registry's clock.
	clock.Advance(5 * time.Minute)
	resp = do(t, reg, "GET", "/v2/team/app/manifests/v1", nil, bearerHeader(tok))
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+realm+`",service="ocifixture",scope="repository:team/app:pull",error="invalid_token"`)

	// Anonymous tokens carry the anonymous grants.
	anon := fetchToken(t, reg, "", "", "repository:public/base:pull", "repository:team/app:pull")
	if c := jwtClaims(t, anon); c.Subject != "" || len(c.Access[0].Actions) != 1 || len(c.Access[1].Actions) != 0 {
		t.Errorf("anonymous token claims %+v", c)
	}

	// Wrong credentials: 401 from the token endpoint, nothing issued.
	resp = do(t, reg, "GET", "/token?scope=repository:team/app:pull", nil, basicHeader("alice", "nope"))
	wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
	// An unknown service is refused.
	wantStatus(t, do(t, reg, "GET", "/token?service=registry.docker.io", nil), http.StatusBadRequest)
	wantStatus(t, do(t, reg, "PUT", "/token", nil), http.StatusMethodNotAllowed)

	// The log has the token requests with scopes asked and granted.
	toks := reg.Filter(Match{Kind: Token})
	if len(toks) != 5 {
		t.Fatalf("%d token requests recorded, want 5", len(toks))
	}
	if diff := cmp.Diff([]string{"repository:team/app:pull,push"}, toks[0].Granted); diff != "" || toks[0].User != "alice" {
		t.Errorf("first token request: user %q, granted (-want +got):\n%s", toks[0].User, diff)
	}
	reg.AssertTokenScopes(t,
		[]string{"repository:team/app:pull,push,delete", "repository:other/x:pull"},
		[]string{"repository:public/base:pull", "repository:team/app:pull"},
		[]string{"repository:team/app:pull"},
		nil, nil,
	)
}

func TestTokenPOSTAndRefresh(t *testing.T) {
	clock := NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))
	reg := New(t, WithClock(clock), WithTokenTTL(time.Minute), WithTokenAuth(map[string]string{"alice": "a-pw"}))
	post := func(form url.Values) response {
		return do(t, reg, "POST", "/token", []byte(form.Encode()), "Content-Type: application/x-www-form-urlencoded")
	}
	resp := post(url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"a-pw"},
		"service": {"ocifixture"}, "client_id": {"test"}, "access_type": {"offline"},
		"scope": {"repository:team/app:pull,push registry:catalog:*"}})
	wantStatus(t, resp, http.StatusOK)
	var ta tokenAnswer
	if err := json.Unmarshal(resp.Body, &ta); err != nil {
		t.Fatal(err)
	}
	if ta.AccessToken == "" || ta.Token != "" || ta.RefreshToken == "" || ta.ExpiresIn != 60 ||
		ta.Scope != "repository:team/app:pull,push registry:catalog:*" {
		t.Fatalf("POST answer %s", resp.Body)
	}
	wantStatus(t, do(t, reg, "GET", "/v2/_catalog", nil, bearerHeader(ta.AccessToken)), http.StatusOK)
	// A refresh token is not an access token.
	wantStatus(t, do(t, reg, "GET", "/v2/", nil, bearerHeader(ta.RefreshToken)), http.StatusUnauthorized)

	// After expiry, the refresh token gets a new access token.
	clock.Advance(2 * time.Minute)
	wantStatus(t, do(t, reg, "GET", "/v2/_catalog", nil, bearerHeader(ta.AccessToken)), http.StatusUnauthorized)
	resp = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ta.RefreshToken}, "scope": {"registry:catalog:*"}})
	wantStatus(t, resp, http.StatusOK)
	var again tokenAnswer
	json.Unmarshal(resp.Body, &again)
	wantStatus(t, do(t, reg, "GET", "/v2/_catalog", nil, bearerHeader(again.AccessToken)), http.StatusOK)

	// Errors are OAuth2's.
	for _, tc := range []struct {
		form url.Values
		code string
	}{
		{url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"bad"}}, "invalid_grant"},
		{url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ta.AccessToken}}, "invalid_grant"},
		{url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x.y.z"}}, "invalid_grant"},
		{url.Values{"grant_type": {"client_credentials"}}, "unsupported_grant_type"},
		{url.Values{"username": {"alice"}}, "invalid_request"},
	} {
		resp := post(tc.form)
		var e struct{ Error, ErrorDescription string }
		json.Unmarshal(resp.Body, &e)
		if resp.Status != http.StatusBadRequest || e.Error != tc.code {
			t.Errorf("POST %v: %d %s, want 400 %s", tc.form, resp.Status, resp.Body, tc.code)
		}
	}
	resp = do(t, reg, "POST", "/token", []byte(`{"grant_type":"password"}`), "Content-Type: application/json")
	wantStatus(t, resp, http.StatusBadRequest)
}

func TestTokenFromAnotherRegistry(t *testing.T) {
	users := map[string]string{"alice": "a-pw"}
	reg := New(t, WithTokenAuth(users))
	other := New(t, WithTokenAuth(users))
	foreign := fetchToken(t, other, "alice", "a-pw", "repository:app:pull")
	resp := do(t, reg, "GET", "/v2/app/tags/list", nil, bearerHeader(foreign))
	wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
	if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("challenge %q lacks invalid_token", resp.Header.Get("WWW-Authenticate"))
	}
	// A token for another service (audience) is refused too.
	svc := New(t, WithTokenAuth(users), WithTokenService("elsewhere"))
	tok := svc.IssueToken(t, "alice", "repository:app:pull")
	wantStatus(t, do(t, svc, "GET", "/v2/app/tags/list", nil, bearerHeader(tok)), http.StatusNotFound)
	wantStatus(t, do(t, reg, "GET", "/v2/app/tags/list", nil, bearerHeader(tok)), http.StatusUnauthorized)
}

func TestMountNeedsPullOnSource(t *testing.T) {
	reg := New(t, WithTokenAuth(map[string]string{"alice": "a-pw", "bob": "b-pw"},
		Grant{User: "alice", Repos: "**", Actions: []Action{Pull, Push}},
		Grant{User: "bob", Repos: "bob/*", Actions: []Action{Pull, Push}},
	))
	d := reg.PushBlob(t, "alice/secret", []byte("private layer"))
	mount := "/v2/bob/app/blobs/uploads/?mount=" + string(d) + "&from=alice/secret"

	// Bob may push to bob/app but not read alice/secret: a session, not a mount.
	tok := reg.IssueToken(t, "bob", "repository:bob/app:pull,push", "repository:alice/secret:pull")
	resp := do(t, reg, "POST", mount, nil, bearerHeader(tok))
	wantStatus(t, resp, http.StatusAccepted)
	if _, err := reg.Store().StatBlob("bob/app", d); err == nil {
		t.Fatal("bob mounted a blob he may not read")
	}
	// Without from, nothing is mounted either.
	resp = do(t, reg, "POST", "/v2/bob/app/blobs/uploads/?mount="+string(d), nil, bearerHeader(tok))
	wantStatus(t, resp, http.StatusAccepted)

	// Alice's token names both repositories: mounted.
	tok = reg.IssueToken(t, "alice", "repository:alice/copy:pull,push", "repository:alice/secret:pull")
	resp = do(t, reg, "POST", "/v2/alice/copy/blobs/uploads/?mount="+string(d)+"&from=alice/secret", nil, bearerHeader(tok))
	wantStatus(t, resp, http.StatusCreated)
	// Without the source in the token, alice gets a session too.
	tok = reg.IssueToken(t, "alice", "repository:alice/third:pull,push")
	resp = do(t, reg, "POST", "/v2/alice/third/blobs/uploads/?mount="+string(d)+"&from=alice/secret", nil, bearerHeader(tok))
	wantStatus(t, resp, http.StatusAccepted)
}

func TestAuthOptionErrors(t *testing.T) {
	for name, opts := range map[string][]Option{
		"unknown user":       {WithBasicAuth(map[string]string{"a": "p"}, Grant{User: "b", Actions: []Action{Pull}})},
		"no action":          {WithBasicAuth(map[string]string{"a": "p"}, Grant{User: "a"})},
		"unknown action":     {WithBasicAuth(map[string]string{"a": "p"}, Grant{User: "a", Actions: []Action{"write"}})},
		"bad pattern":        {WithBasicAuth(map[string]string{"a": "p"}, Grant{User: "a", Repos: "[", Actions: []Action{Pull}})},
		"reserved name":      {WithBasicAuth(map[string]string{"*": "p"})},
		"colon in name":      {WithBasicAuth(map[string]string{"a:b": "p"})},
		"ttl without tokens": {WithTokenTTL(time.Minute)},
		"ttl with basic":     {WithTokenTTL(time.Minute), WithBasicAuth(map[string]string{"a": "p"})},
		"basic and token":    {WithBasicAuth(map[string]string{"a": "p"}), WithTokenAuth(map[string]string{"a": "p"})},
	} {
		if reg, err := Start(opts...); err == nil {
			reg.Close()
			t.Errorf("%s: Start succeeded", name)
		}
	}
}

func TestGrantPatterns(t *testing.T) {
	au := &authority{authConfig: authConfig{grants: []Grant{
		{User: "u", Repos: "team/**", Actions: []Action{Push}},
		{User: "u", Repos: "lib/*", Actions: []Action{Pull, ListCatalog}},
		{User: AnyUser, Repos: "shared", Actions: []Action{Delete}},
		{User: Anonymous, Repos: "", Actions: []Action{Pull}},
	}}}
	for _, tc := range []struct {
		user, repo string
		want       actions
	}{
		{"u", "team/a/b/c", actPush | actPull | actCatalog},
		{"u", "team/a", actPush | actPull | actCatalog},
		{"u", "team", actPull | actCatalog},
		{"u", "lib/x", actPull | actCatalog},
		{"u", "lib/x/y", actPull | actCatalog},
		{"u", "shared", actDelete | actPull | actCatalog},
		{Anonymous, "shared", actPull},
		{Anonymous, "team/a", actPull},
		{"v", "shared", actDelete | actPull},
	} {
		if got := au.allowed(tc.user, tc.repo); got != tc.want {
			t.Errorf("allowed(%q, %q) = %b, want %b", tc.user, tc.repo, got, tc.want)
		}
	}
}
