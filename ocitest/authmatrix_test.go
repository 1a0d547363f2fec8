package ocitest

// The auth security matrix: every (auth mode × credentials × repository ×
// request) combination, each sent to a fresh registry, with the answer
// checked against a small model written out by hand below. The model does
// not call the code under test: who may do what is a literal table, and
// the challenges are spelled out as the documentation of WithBasicAuth and
// WithTokenAuth describes them.
//
// Each case checks that:
//   - an allowed request succeeds with its usual status (and a GET its content);
//   - a refused one has the right status (401 or 403), the spec's error code
//     in a JSON body, and exactly the challenge the model predicts;
//   - a refused request leaks nothing (no content, no digest or Location)
//     and changes nothing (the store snapshot is the same before and after);
//   - a cross-repository mount links the blob (201) only when the caller
//     may pull from the source, and otherwise falls back to a session (202).

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The matrix's users and grants.
var (
	mxUsers  = map[string]string{"alice": "a-pw", "bob": "b-pw", "carol": "c-pw"}
	mxGrants = []Grant{
		{User: "alice", Repos: "team/**", Actions: []Action{Pull, Push, Delete}},
		{User: "alice", Actions: []Action{ListCatalog}},
		{User: "bob", Repos: "team/*", Actions: []Action{Pull}},
		{User: "bob", Repos: "bob/*", Actions: []Action{Pull, Push}},
		{User: AnyUser, Repos: "bob/*", Actions: []Action{Pull}},
		{User: Anonymous, Repos: "public/*", Actions: []Action{Pull}},
	}
	// mxRepos are the repositories every registry of the matrix holds.
	mxRepos = []string{"team/app", "bob/app", "public/base", "secret/x"}
)

// mxAccess is the model: what each user may do on each repository, written
// out by hand from the grants above (anonymous grants count for everyone,
// AnyUser grants for every user). A missing entry is nothing.
var mxAccess = map[string]map[string][]Action{
	"alice":   {"team/app": {Pull, Push, Delete}, "bob/app": {Pull}, "public/base": {Pull}},
	"bob":     {"team/app": {Pull}, "bob/app": {Pull, Push}, "public/base": {Pull}},
	"carol":   {"bob/app": {Pull}, "public/base": {Pull}},
	Anonymous: {"public/base": {Pull}},
}

// mxCatalog is who may list the catalog.
var mxCatalog = map[string]bool{"alice": true}

// mxMay reports whether the model lets user do every action of acts on repo.
func mxMay(user, repo string, acts []Action) bool {
	for _, a := range acts {
		if !slices.Contains(mxAccess[user][repo], a) {
			return false
		}
	}
	return true
}

// mxContent is what each repository holds: an image tagged v1 and an
// artifact referring to it.
type mxContent struct {
	img, ref *Image
}

var mxSeeded = func() map[string]mxContent {
	out := map[string]mxContent{}
	for i, repo := range mxRepos {
		img := NewImage(Seed(uint64(100 + i)))
		d := img.Descriptor()
		out[repo] = mxContent{img: img, ref: NewArtifact("application/vnd.example.sbom", &d, []byte("sbom of "+repo))}
	}
	return out
}()

// mxOp is one kind of request of the matrix.
type mxOp struct {
	name    string
	repo    bool     // it addresses a repository (else the ping or catalog)
	session bool     // it needs an open upload session in its repository
	needs   []Action // what it needs: nil for the ping (valid credentials), ListCatalog for the catalog
	ok      int      // its status when allowed
	// mountFrom is the source of a mount; asksSource says whether the
	// client's token request names the source too (as clients do).
	mountFrom  func(repo string) string
	asksSource bool
	// request builds the request for repo (with session id up).
	request func(repo, up string) (method, path string, body []byte, header []string)
}

var (
	mxPullOnly = []Action{Pull}
	mxPush     = []Action{Pull, Push}
	mxDelete   = []Action{Delete}
)

// mxNewBlob is a blob pushed by the matrix's uploads.
func mxNewBlob(repo string) []byte { return []byte("a new blob for " + repo) }

func mxSourceOf(repo string) string {
	if repo == "team/app" {
		return "bob/app"
	}
	return "team/app"
}

var mxOps = []mxOp{
	{name: "ping", ok: 200, request: func(_, _ string) (string, string, []byte, []string) {
		return "GET", "/v2/", nil, nil
	}},
	{name: "catalog", needs: []Action{ListCatalog}, ok: 200, request: func(_, _ string) (string, string, []byte, []string) {
		return "GET", "/v2/_catalog", nil, nil
	}},
	{name: "manifest-get", repo: true, needs: mxPullOnly, ok: 200, request: func(repo, _ string) (string, string, []byte, []string) {
		return "GET", "/v2/" + repo + "/manifests/v1", nil, []string{"Accept: " + ocispec.MediaTypeImageManifest}
	}},
	{name: "manifest-head", repo: true, needs: mxPullOnly, ok: 200, request: func(repo, _ string) (string, string, []byte, []string) {
		return "HEAD", "/v2/" + repo + "/manifests/" + string(mxSeeded[repo].img.Digest()), nil, nil
	}},
	{name: "blob-get", repo: true, needs: mxPullOnly, ok: 200, request: func(repo, _ string) (string, string, []byte, []string) {
		return "GET", "/v2/" + repo + "/blobs/" + string(mxSeeded[repo].img.Config.Descriptor.Digest), nil, nil
	}},
	{name: "blob-head", repo: true, needs: mxPullOnly, ok: 200, request: func(repo, _ string) (string, string, []byte, []string) {
		return "HEAD", "/v2/" + repo + "/blobs/" + string(mxSeeded[repo].img.Layers[0].Descriptor.Digest), nil, nil
	}},
	{name: "tags-list", repo: true, needs: mxPullOnly, ok: 200, request: func(repo, _ string) (string, string, []byte, []string) {
		return "GET", "/v2/" + repo + "/tags/list", nil, nil
	}},
	{name: "referrers-list", repo: true, needs: mxPullOnly, ok: 200, request: func(repo, _ string) (string, string, []byte, []string) {
		return "GET", "/v2/" + repo + "/referrers/" + string(mxSeeded[repo].img.Digest()), nil, nil
	}},
	{name: "upload-start", repo: true, needs: mxPush, ok: 202, request: func(repo, _ string) (string, string, []byte, []string) {
		return "POST", "/v2/" + repo + "/blobs/uploads/", nil, nil
	}},
	{name: "upload-monolithic", repo: true, needs: mxPush, ok: 201, request: func(repo, _ string) (string, string, []byte, []string) {
		b := mxNewBlob(repo)
		return "POST", "/v2/" + repo + "/blobs/uploads/?digest=" + string(digest.FromBytes(b)), b,
			[]string{"Content-Type: application/octet-stream"}
	}},
	{name: "upload-chunk", repo: true, session: true, needs: mxPush, ok: 202, request: func(repo, up string) (string, string, []byte, []string) {
		b := mxNewBlob(repo)
		return "PATCH", "/v2/" + repo + "/blobs/uploads/" + up, b,
			[]string{"Content-Type: application/octet-stream", fmt.Sprintf("Content-Range: 0-%d", len(b)-1)}
	}},
	{name: "upload-complete", repo: true, session: true, needs: mxPush, ok: 201, request: func(repo, up string) (string, string, []byte, []string) {
		b := mxNewBlob(repo)
		return "PUT", "/v2/" + repo + "/blobs/uploads/" + up + "?digest=" + string(digest.FromBytes(b)), b,
			[]string{"Content-Type: application/octet-stream"}
	}},
	{name: "upload-status", repo: true, session: true, needs: mxPush, ok: 204, request: func(repo, up string) (string, string, []byte, []string) {
		return "GET", "/v2/" + repo + "/blobs/uploads/" + up, nil, nil
	}},
	{name: "upload-cancel", repo: true, session: true, needs: mxPush, ok: 204, request: func(repo, up string) (string, string, []byte, []string) {
		return "DELETE", "/v2/" + repo + "/blobs/uploads/" + up, nil, nil
	}},
	{name: "manifest-put", repo: true, needs: mxPush, ok: 201, request: func(repo, _ string) (string, string, []byte, []string) {
		return "PUT", "/v2/" + repo + "/manifests/v2", mxSeeded[repo].img.Bytes(),
			[]string{"Content-Type: " + ocispec.MediaTypeImageManifest}
	}},
	{name: "manifest-delete", repo: true, needs: mxDelete, ok: 202, request: func(repo, _ string) (string, string, []byte, []string) {
		return "DELETE", "/v2/" + repo + "/manifests/" + string(mxSeeded[repo].img.Digest()), nil, nil
	}},
	{name: "blob-delete", repo: true, needs: mxDelete, ok: 202, request: func(repo, _ string) (string, string, []byte, []string) {
		return "DELETE", "/v2/" + repo + "/blobs/" + string(mxSeeded[repo].img.Layers[0].Descriptor.Digest), nil, nil
	}},
	// A mount whose token request names the source, as clients do.
	{name: "mount", repo: true, needs: mxPush, ok: 202, mountFrom: mxSourceOf, asksSource: true, request: mxMount(mxSourceOf)},
	// A mount whose token was asked for the target only.
	{name: "mount-unasked-source", repo: true, needs: mxPush, ok: 202, mountFrom: mxSourceOf, request: mxMount(mxSourceOf)},
	// A mount from a repository nobody may read.
	{name: "mount-from-secret", repo: true, needs: mxPush, ok: 202, mountFrom: mxSecret, asksSource: true, request: mxMount(mxSecret)},
}

func mxSecret(string) string { return "secret/x" }

// mxMount mounts the source's layer into repo.
func mxMount(from func(string) string) func(repo, _ string) (string, string, []byte, []string) {
	return func(repo, _ string) (string, string, []byte, []string) {
		src := from(repo)
		return "POST", "/v2/" + repo + "/blobs/uploads/?mount=" + string(mxSeeded[src].img.Layers[0].Descriptor.Digest) + "&from=" + src, nil, nil
	}
}

// mxScope is the scope string the model expects for needs on repo: the
// challenge's scope, and what a client asks the token endpoint for.
func mxScope(repo string, needs []Action) string {
	switch {
	case needs == nil:
		return ""
	case slices.Equal(needs, []Action{ListCatalog}):
		return "registry:catalog:*"
	}
	var names []string
	for _, a := range needs {
		names = append(names, string(a))
	}
	return "repository:" + repo + ":" + strings.Join(names, ",")
}

// mxCreds are the credentials a case sends.
type mxCreds struct {
	name string
	// user is who the credentials are for if they are valid ("" when the
	// request is effectively anonymous or the credentials are no good).
	user string
	// valid: the registry accepts them as a user's credentials (a Basic
	// password or a token it signed, still in date).
	valid bool
	// In token mode: the token's scopes are the ones the request needs
	// (scoped), so only the user's grants can limit it.
	scoped bool
	// bad: credentials that are sent but are no good (wrong password, a
	// foreign, expired, forged or garbled token).
	bad bool
	// header makes the Authorization header (or none) for the case.
	header func(t *testing.T, e *mxEnv) []string
}

// mxEnv is one case's registry with what the credentials need.
type mxEnv struct {
	reg, other *Registry
	clock      *FakeClock
	op         mxOp
	repo       string
}

// scopes are the scopes a client asks the token endpoint for to send the
// case's request.
func (e *mxEnv) scopes() []string {
	var out []string
	if s := mxScope(e.repo, e.op.needs); s != "" {
		out = append(out, s)
	}
	if e.op.mountFrom != nil && e.op.asksSource {
		out = append(out, "repository:"+e.op.mountFrom(e.repo)+":pull")
	}
	return out
}

var mxBasicCreds = []mxCreds{
	{name: "none", header: func(*testing.T, *mxEnv) []string { return nil }},
	{name: "wrong-password", bad: true, header: func(*testing.T, *mxEnv) []string { return []string{basicHeader("alice", "b-pw")} }},
	{name: "unknown-user", bad: true, header: func(*testing.T, *mxEnv) []string { return []string{basicHeader("mallory", "a-pw")} }},
	{name: "not-base64", bad: true, header: func(*testing.T, *mxEnv) []string { return []string{"Authorization: Basic !!!"} }},
	{name: "bearer", bad: true, header: func(*testing.T, *mxEnv) []string { return []string{bearerHeader("a-pw")} }},
	{name: "alice", user: "alice", valid: true, header: func(*testing.T, *mxEnv) []string { return []string{basicHeader("alice", "a-pw")} }},
	{name: "bob", user: "bob", valid: true, header: func(*testing.T, *mxEnv) []string { return []string{basicHeader("bob", "b-pw")} }},
	{name: "carol", user: "carol", valid: true, header: func(*testing.T, *mxEnv) []string { return []string{basicHeader("carol", "c-pw")} }},
}

var mxTokenCreds = []mxCreds{
	{name: "none", header: func(*testing.T, *mxEnv) []string { return nil }},
	// The API takes tokens only: Basic credentials, even right ones, get
	// the challenge that sends the client to the token endpoint.
	{name: "basic-to-api", header: func(*testing.T, *mxEnv) []string { return []string{basicHeader("alice", "a-pw")} }},
	{name: "garbage", bad: true, header: func(*testing.T, *mxEnv) []string { return []string{bearerHeader("not.a.jwt")} }},
	{name: "empty-bearer", bad: true, header: func(*testing.T, *mxEnv) []string { return []string{"Authorization: Bearer "} }},
	{name: "expired", bad: true, header: func(t *testing.T, e *mxEnv) []string {
		tok := fetchToken(t, e.reg, "alice", "a-pw", e.scopes()...)
		e.clock.Advance(DefaultTokenTTL + time.Second)
		return []string{bearerHeader(tok)}
	}},
	{name: "foreign", bad: true, header: func(t *testing.T, e *mxEnv) []string {
		return []string{bearerHeader(fetchToken(t, e.other, "alice", "a-pw", e.scopes()...))}
	}},
	{name: "forged", bad: true, header: func(t *testing.T, e *mxEnv) []string {
		// A real token of carol's whose claims are rewritten to grant
		// everything, keeping the signature.
		tok := fetchToken(t, e.reg, "carol", "c-pw", e.scopes()...)
		return []string{bearerHeader(mxForge(t, tok))}
	}},
	{name: "refresh-token", bad: true, header: func(t *testing.T, e *mxEnv) []string {
		// A refresh token is no access token.
		resp := do(t, e.reg, "GET", "/token?offline_token=true&service=ocifixture&scope="+strings.Join(e.scopes(), "&scope="), nil, basicHeader("alice", "a-pw"))
		wantStatus(t, resp, http.StatusOK)
		var ta tokenAnswer
		if err := json.Unmarshal(resp.Body, &ta); err != nil || ta.RefreshToken == "" {
			t.Fatalf("no refresh token in %s", resp.Body)
		}
		return []string{bearerHeader(ta.RefreshToken)}
	}},
	{name: "other-repo", user: "alice", valid: true, header: func(t *testing.T, e *mxEnv) []string {
		return []string{bearerHeader(fetchToken(t, e.reg, "alice", "a-pw", "repository:team/other:pull,push,delete"))}
	}},
	{name: "too-few-actions", user: "alice", valid: true, header: func(t *testing.T, e *mxEnv) []string {
		// Every action but one the request needs (for the catalog: all
		// of the repository's).
		var scopes []string
		switch {
		case e.op.needs == nil:
		case !e.op.repo:
			scopes = []string{"repository:team/app:pull,push,delete"}
		default:
			var acts []string
			for _, a := range []Action{Pull, Push, Delete} {
				if a != e.op.needs[len(e.op.needs)-1] {
					acts = append(acts, string(a))
				}
			}
			scopes = []string{"repository:" + e.repo + ":" + strings.Join(acts, ",")}
		}
		return []string{bearerHeader(fetchToken(t, e.reg, "alice", "a-pw", scopes...))}
	}},
	{name: "anonymous-token", user: Anonymous, valid: true, scoped: true, header: func(t *testing.T, e *mxEnv) []string {
		return []string{bearerHeader(fetchToken(t, e.reg, "", "", e.scopes()...))}
	}},
	{name: "alice", user: "alice", valid: true, scoped: true, header: mxTokenFor("alice", "a-pw")},
	{name: "bob", user: "bob", valid: true, scoped: true, header: mxTokenFor("bob", "b-pw")},
	{name: "carol", user: "carol", valid: true, scoped: true, header: mxTokenFor("carol", "c-pw")},
}

func mxTokenFor(user, password string) func(*testing.T, *mxEnv) []string {
	return func(t *testing.T, e *mxEnv) []string {
		return []string{bearerHeader(fetchToken(t, e.reg, user, password, e.scopes()...))}
	}
}

// mxForge rewrites a token's claims to grant every action on every
// repository of the matrix and the catalog, keeping the signature.
func mxForge(t *testing.T, token string) string {
	parts := strings.Split(token, ".")
	c := jwtClaims(t, token)
	c.Subject = "alice"
	c.Access = []accessEntry{{Type: "registry", Name: "catalog", Actions: []string{"*"}}}
	for _, repo := range mxRepos {
		c.Access = append(c.Access, accessEntry{Type: "repository", Name: repo, Actions: []string{"pull", "push", "delete"}})
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

// mxWant is the model's verdict on one case.
type mxWant struct {
	status    int
	code      memstore.Code // "" when allowed
	challenge string        // the exact WWW-Authenticate ("" for none)
	mounted   bool          // a mount links the blob (201)
}

// mxExpect is the model: what the registry must answer.
func mxExpect(mode authMode, cr mxCreds, op mxOp, repo, realm string) mxWant {
	allowed := func(user string) bool {
		switch {
		case op.needs == nil: // the ping: valid credentials, any user
			return user != ""
		case !op.repo:
			return mxCatalog[user]
		}
		return mxMay(user, repo, op.needs)
	}
	success := mxWant{status: op.ok}
	if op.mountFrom != nil {
		if mxMay(cr.user, op.mountFrom(repo), mxPullOnly) && (mode == authBasic || op.asksSource) {
			success = mxWant{status: http.StatusCreated, mounted: true}
		}
	}
	unauthorized := func(challenge string) mxWant {
		return mxWant{status: http.StatusUnauthorized, code: memstore.CodeUnauthorized, challenge: challenge}
	}
	if mode == authBasic {
		switch {
		case cr.bad:
			return unauthorized(`Basic realm="ocifixture"`)
		case cr.valid && allowed(cr.user):
			return success
		case cr.valid:
			return mxWant{status: http.StatusForbidden, code: memstore.CodeDenied}
		case op.needs != nil && allowed(Anonymous):
			return success
		}
		return unauthorized(`Basic realm="ocifixture"`)
	}
	challenge := `Bearer realm="` + realm + `",service="ocifixture"`
	if s := mxScope(repo, op.needs); s != "" {
		challenge += `,scope="` + s + `"`
	}
	switch {
	case cr.bad:
		return unauthorized(challenge + `,error="invalid_token"`)
	case !cr.valid:
		return unauthorized(challenge)
	case op.needs == nil: // any valid token will do for the ping
		return success
	case cr.scoped && allowed(cr.user):
		return success
	}
	return unauthorized(challenge + `,error="insufficient_scope"`)
}

// TestAuthMatrix runs the matrix. Each case gets a registry of its own, so
// that an allowed write cannot change what a later case sees.
func TestAuthMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the auth matrix sends a few thousand requests")
	}
	for _, mode := range []struct {
		name  string
		mode  authMode
		opt   func(map[string]string, ...Grant) Option
		creds []mxCreds
	}{
		{"basic", authBasic, WithBasicAuth, mxBasicCreds},
		{"token", authToken, WithTokenAuth, mxTokenCreds},
	} {
		t.Run(mode.name, func(t *testing.T) {
			// The registry that signs the foreign tokens: same users,
			// same grants, another key.
			other := New(t, mode.opt(mxUsers, mxGrants...))
			counts := map[int]int{}
			for _, op := range mxOps {
				repos := mxRepos
				if !op.repo {
					repos = []string{""}
				}
				for _, repo := range repos {
					for _, cr := range mode.creds {
						name := op.name + "/" + strings.ReplaceAll(repo, "/", "_") + "/" + cr.name
						if repo == "" {
							name = op.name + "/" + cr.name
						}
						t.Run(name, func(t *testing.T) {
							counts[mxRun(t, mode.mode, mode.opt, other, op, repo, cr)]++
						})
					}
				}
			}
			// The matrix must exercise every verdict, or it proves little.
			for _, status := range []int{200, 201, 202, 204, 401} {
				if counts[status] == 0 {
					t.Errorf("no case of the %s matrix expects %d: %v", mode.name, status, counts)
				}
			}
			if mode.mode == authBasic && counts[403] == 0 {
				t.Errorf("no case of the basic matrix expects 403: %v", counts)
			}
			t.Logf("%s: expected statuses %v", mode.name, counts)
		})
	}
}

// mxRun runs one case and returns the status the model expected.
func mxRun(t *testing.T, mode authMode, opt func(map[string]string, ...Grant) Option, other *Registry, op mxOp, repo string, cr mxCreds) int {
	clock := NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))
	reg := New(t, WithClock(clock), opt(mxUsers, mxGrants...))
	for _, r := range mxRepos {
		c := mxSeeded[r]
		reg.PushImage(t, r, "v1", c.img)
		reg.PushArtifact(t, r, "", c.ref)
	}
	var up string
	if op.session {
		info, err := reg.Store().StartUpload(repo, digest.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		up = info.ID
	}
	env := &mxEnv{reg: reg, other: other, clock: clock, op: op, repo: repo}
	header := cr.header(t, env)
	want := mxExpect(mode, cr, op, repo, reg.URL()+"/token")

	before := reg.Store().Snapshot()
	method, path, body, h := op.request(repo, up)
	resp := do(t, reg, method, path, body, append(h, header...)...)

	if want.code == "" {
		if resp.Status != want.status {
			t.Fatalf("%s %s with %s: status %d, want %d; body %s", method, path, cr.name, resp.Status, want.status, resp.Body)
		}
		mxCheckAllowed(t, reg, op, repo, resp, want)
		return want.status
	}
	wantError(t, resp, want.status, want.code)
	wantHeader(t, resp, "WWW-Authenticate", want.challenge)
	unchanged(t, reg, before)
	mxCheckNoLeak(t, resp)
	return want.status
}

// mxCheckAllowed checks what an allowed request answered.
func mxCheckAllowed(t *testing.T, reg *Registry, op mxOp, repo string, resp response, want mxWant) {
	t.Helper()
	c := mxSeeded[repo]
	switch op.name {
	case "manifest-get":
		if !bytes.Equal(resp.Body, c.img.Bytes()) {
			t.Errorf("manifest GET answered %q", resp.Body)
		}
	case "blob-get":
		if !bytes.Equal(resp.Body, c.img.Config.Data) {
			t.Errorf("blob GET answered %q", resp.Body)
		}
	case "tags-list":
		if !bytes.Contains(resp.Body, []byte(`"v1"`)) {
			t.Errorf("tags list %s lacks v1", resp.Body)
		}
	case "referrers-list":
		if !bytes.Contains(resp.Body, []byte(c.ref.Digest())) {
			t.Errorf("referrers %s lack the artifact", resp.Body)
		}
	}
	if op.mountFrom != nil {
		d := mxSeeded[op.mountFrom(repo)].img.Layers[0].Descriptor.Digest
		_, err := reg.Store().StatBlob(repo, d)
		if mounted := err == nil; mounted != want.mounted {
			t.Errorf("mount from %s into %s: blob linked = %v, want %v", op.mountFrom(repo), repo, mounted, want.mounted)
		}
	}
}

// mxCheckNoLeak fails if a refusal carries any of the matrix's content
// or headers that describe it.
func mxCheckNoLeak(t *testing.T, resp response) {
	t.Helper()
	for _, h := range []string{"Docker-Content-Digest", "Location", "Docker-Upload-UUID", "Range", "Link", "OCI-Subject"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("refusal carries %s: %s", h, v)
		}
	}
	for repo, c := range mxSeeded {
		for _, b := range [][]byte{c.img.Bytes(), c.img.Config.Data, c.ref.Bytes(), []byte(c.ref.Digest())} {
			if bytes.Contains(resp.Body, b) {
				t.Errorf("refusal body %s holds content of %s", resp.Body, repo)
			}
		}
	}
	if bytes.Contains(resp.Body, []byte(`"tags"`)) || bytes.Contains(resp.Body, []byte(`"repositories"`)) || bytes.Contains(resp.Body, []byte(`"manifests"`)) {
		t.Errorf("refusal body %s holds a listing", resp.Body)
	}
}

// TestAuthMatrixModel checks a few of the model's verdicts by hand, so a
// model that drifted into agreeing with a broken registry is noticed.
func TestAuthMatrixModel(t *testing.T) {
	op := func(name string) mxOp {
		i := slices.IndexFunc(mxOps, func(o mxOp) bool { return o.name == name })
		return mxOps[i]
	}
	creds := func(list []mxCreds, name string) mxCreds {
		return list[slices.IndexFunc(list, func(c mxCreds) bool { return c.name == name })]
	}
	const realm = "http://r/token"
	for _, tc := range []struct {
		mode  authMode
		creds mxCreds
		op    string
		repo  string
		want  mxWant
	}{
		{authBasic, creds(mxBasicCreds, "none"), "manifest-get", "public/base", mxWant{status: 200}},
		{authBasic, creds(mxBasicCreds, "none"), "manifest-get", "team/app", mxWant{401, "UNAUTHORIZED", `Basic realm="ocifixture"`, false}},
		{authBasic, creds(mxBasicCreds, "wrong-password"), "manifest-get", "public/base", mxWant{401, "UNAUTHORIZED", `Basic realm="ocifixture"`, false}},
		{authBasic, creds(mxBasicCreds, "bob"), "manifest-delete", "team/app", mxWant{403, "DENIED", "", false}},
		{authBasic, creds(mxBasicCreds, "bob"), "mount", "bob/app", mxWant{status: 201, mounted: true}},
		{authBasic, creds(mxBasicCreds, "bob"), "mount-from-secret", "bob/app", mxWant{status: 202}},
		{authBasic, creds(mxBasicCreds, "none"), "ping", "", mxWant{401, "UNAUTHORIZED", `Basic realm="ocifixture"`, false}},
		{authBasic, creds(mxBasicCreds, "carol"), "catalog", "", mxWant{403, "DENIED", "", false}},
		{authToken, creds(mxTokenCreds, "none"), "manifest-get", "public/base", mxWant{401, "UNAUTHORIZED", `Bearer realm="http://r/token",service="ocifixture",scope="repository:public/base:pull"`, false}},
		{authToken, creds(mxTokenCreds, "anonymous-token"), "manifest-get", "public/base", mxWant{status: 200}},
		{authToken, creds(mxTokenCreds, "expired"), "upload-start", "team/app", mxWant{401, "UNAUTHORIZED", `Bearer realm="http://r/token",service="ocifixture",scope="repository:team/app:pull,push",error="invalid_token"`, false}},
		{authToken, creds(mxTokenCreds, "bob"), "blob-delete", "bob/app", mxWant{401, "UNAUTHORIZED", `Bearer realm="http://r/token",service="ocifixture",scope="repository:bob/app:delete",error="insufficient_scope"`, false}},
		{authToken, creds(mxTokenCreds, "bob"), "mount-unasked-source", "bob/app", mxWant{status: 202}},
		{authToken, creds(mxTokenCreds, "other-repo"), "ping", "", mxWant{status: 200}},
		{authToken, creds(mxTokenCreds, "alice"), "catalog", "", mxWant{status: 200}},
	} {
		if got := mxExpect(tc.mode, tc.creds, op(tc.op), tc.repo, realm); got != tc.want {
			t.Errorf("model(%d, %s, %s, %s) = %+v, want %+v", tc.mode, tc.creds.name, tc.op, tc.repo, got, tc.want)
		}
	}
}

// TestTokenExpiryBoundary: a token is good until its TTL has passed on the
// registry's clock, to the second.
func TestTokenExpiryBoundary(t *testing.T) {
	clock := NewFakeClock(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))
	reg := New(t, WithClock(clock), WithTokenTTL(time.Minute), WithTokenAuth(mxUsers, mxGrants...))
	reg.PushImage(t, "team/app", "v1", mxSeeded["team/app"].img)
	tok := fetchToken(t, reg, "alice", "a-pw", "repository:team/app:pull")
	clock.Advance(time.Minute - time.Second)
	wantStatus(t, do(t, reg, "GET", "/v2/team/app/tags/list", nil, bearerHeader(tok)), http.StatusOK)
	clock.Advance(time.Second)
	resp := do(t, reg, "GET", "/v2/team/app/tags/list", nil, bearerHeader(tok))
	wantError(t, resp, http.StatusUnauthorized, memstore.CodeUnauthorized)
	wantHeader(t, resp, "WWW-Authenticate", `Bearer realm="`+reg.URL()+`/token",service="ocifixture",scope="repository:team/app:pull",error="invalid_token"`)
}

// TestTokenHasOneSpelling: a token altered in any way is refused, even
// where lenient base64 decoding would read the same bytes (the spare bits
// of the last character, newlines). Found while writing FuzzAuthorization:
// the signature was decoded leniently, so four strings passed as one token.
func TestTokenHasOneSpelling(t *testing.T) {
	reg := New(t, WithTokenAuth(mxUsers, mxGrants...))
	reg.PushImage(t, "team/app", "v1", mxSeeded["team/app"].img)
	tok := reg.IssueToken(t, "alice", "repository:team/app:pull")
	get := func(token string) int {
		t.Helper()
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/v2/team/app/tags/list", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		reg.Handler().ServeHTTP(rec, r)
		return rec.Code
	}
	if got := get(tok); got != http.StatusOK {
		t.Fatalf("the token itself: %d", got)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	head, last := tok[:len(tok)-1], strings.IndexByte(alphabet, tok[len(tok)-1])
	var spellings []string
	for k := 1; k < 4; k++ { // the same 6 bits but for the 2 spare ones
		spellings = append(spellings, head+string(alphabet[last&^3|(last+k)&3]))
	}
	dot := strings.LastIndexByte(tok, '.')
	spellings = append(spellings, tok[:dot+5]+"\n"+tok[dot+5:], tok[:dot+5]+"\r"+tok[dot+5:], tok+"=", tok[:10]+"\n"+tok[10:])
	for _, s := range spellings {
		if got := get(s); got != http.StatusUnauthorized {
			t.Errorf("token spelled %q: %d, want 401", s[dot-3:], got)
		}
	}
}
