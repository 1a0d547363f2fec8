package ocitest

import (
	"crypto/rand"
	"fmt"
	"path"
	"strings"
	"time"
)

// Action is something a Grant allows on a repository.
type Action string

// Actions, as named in token scopes ("repository:team/app:pull,push").
const (
	Pull   Action = "pull"   // GET and HEAD of manifests and blobs; tag and referrers lists
	Push   Action = "push"   // uploads, mounts and manifest PUT (which also need Pull, as in distribution)
	Delete Action = "delete" // DELETE of manifests and blobs
	// ListCatalog allows GET /v2/_catalog (the scope
	// "registry:catalog:*"); Grant.Repos does not apply to it.
	ListCatalog Action = "catalog"
	// AllActions is Pull, Push, Delete and ListCatalog.
	AllActions Action = "*"
)

// Who a Grant is for, besides a user name.
const (
	// Anonymous is whoever sends no credentials (or, with token auth,
	// fetches a token without them). What anonymous may do, every user
	// may do too.
	Anonymous = "<anonymous>"
	// AnyUser is every user who authenticates.
	AnyUser = "*"
)

// Grant allows User to do Actions on the repositories whose names match
// Repos. Repos is a path.Match pattern ("team/*" matches "team/app" but not
// "team/a/b"); "**" or "" matches every repository, and a pattern ending in
// "/**" matches everything below its prefix ("team/**").
type Grant struct {
	User    string // a user name, Anonymous or AnyUser
	Repos   string
	Actions []Action
}

// WithBasicAuth protects the registry with HTTP Basic authentication:
// users maps user names to passwords. A request without valid credentials
// that its Grants do not allow anonymously is answered 401 with
// `WWW-Authenticate: Basic realm="ocifixture"`; an authenticated user
// without the needed action gets 403 DENIED. Without grants every user may
// do everything and anonymous nothing. The ping (/v2/) needs valid
// credentials. A registry has one kind of authentication: giving both
// WithBasicAuth and WithTokenAuth makes Start fail.
func WithBasicAuth(users map[string]string, grants ...Grant) Option {
	return func(c *config) { c.auth = newAuthConfig(authBasic, users, grants, c.auth) }
}

// WithTokenAuth protects the registry with the Docker/OCI bearer-token
// flow, as Docker Hub, GHCR, Quay and Harbor use it. A request without a
// valid token is answered 401 with
// `WWW-Authenticate: Bearer realm="<registry URL>/token",service="ocifixture",scope="repository:<name>:pull"`
// (the scope the request needs; `error="insufficient_scope"` when a valid
// token lacks it, `error="invalid_token"` for an expired, foreign or
// malformed one). The token endpoint is served on the registry's own
// listener (TokenURL): GET with Basic credentials or anonymously, several
// scope parameters, offline_token=true for a refresh token; and the OAuth2
// POST form with grant_type=password or refresh_token. Tokens are
// HMAC-signed JWTs with a key of this registry, expire after the token TTL
// (WithTokenTTL, by the registry's clock) and carry the access granted:
// each scope's actions limited to what the user's grants allow. Users and
// grants work as in WithBasicAuth; the ping needs any valid token, even an
// anonymous one.
func WithTokenAuth(users map[string]string, grants ...Grant) Option {
	return func(c *config) { c.auth = newAuthConfig(authToken, users, grants, c.auth) }
}

// WithTokenTTL sets how long tokens of WithTokenAuth last (default 5
// minutes, as Docker Hub's), read from the registry's clock: with a
// FakeClock, advancing it past the TTL expires them.
func WithTokenTTL(d time.Duration) Option {
	return func(c *config) {
		c.auth = c.auth.orNew()
		c.auth.ttl = d
	}
}

// WithTokenService sets the service name of the token flow: the
// challenge's service parameter, the tokens' audience, and the service a
// token request must name if it names one (default "ocifixture").
func WithTokenService(service string) Option {
	return func(c *config) {
		c.auth = c.auth.orNew()
		c.auth.service = service
	}
}

// DefaultTokenTTL is how long tokens last unless WithTokenTTL says.
const DefaultTokenTTL = 5 * time.Minute

// tokenPath is where the token endpoint is served on every listener.
const tokenPath = "/token"

type authMode int

const (
	authOff authMode = iota
	authBasic
	authToken
)

// authConfig is what the auth options set.
type authConfig struct {
	mode    authMode
	users   map[string]string
	grants  []Grant
	ttl     time.Duration
	service string
	// twice records that both WithBasicAuth and WithTokenAuth were given.
	twice bool
}

func (a *authConfig) orNew() *authConfig {
	if a == nil {
		return &authConfig{}
	}
	return a
}

func newAuthConfig(mode authMode, users map[string]string, grants []Grant, prev *authConfig) *authConfig {
	a := prev.orNew()
	a.twice = a.twice || (a.mode != authOff && a.mode != mode)
	a.mode = mode
	a.users = make(map[string]string, len(users))
	for u, p := range users {
		a.users[u] = p
	}
	a.grants = append([]Grant(nil), grants...)
	return a
}

// authority is a registry's authentication: its users and grants, and the
// key its tokens are signed with.
type authority struct {
	authConfig // checked, with defaults filled in
	key        []byte
	clock      Clock
}

// newAuthority checks an auth configuration and makes the registry's
// signing key.
func newAuthority(a *authConfig, clock Clock) (*authority, error) {
	if a == nil || a.mode == authOff {
		if a != nil && (a.ttl != 0 || a.service != "") {
			return nil, fmt.Errorf("ocitest: WithTokenTTL and WithTokenService need WithTokenAuth")
		}
		return nil, nil
	}
	if a.twice {
		return nil, fmt.Errorf("ocitest: WithBasicAuth and WithTokenAuth both given; a registry has one kind of authentication")
	}
	au := &authority{authConfig: *a, clock: clock}
	if au.ttl == 0 {
		au.ttl = DefaultTokenTTL
	}
	if au.ttl < 0 {
		return nil, fmt.Errorf("ocitest: negative token TTL %v", au.ttl)
	}
	if au.service == "" {
		au.service = "ocifixture"
	}
	if a.mode == authBasic && (a.ttl != 0 || a.service != "") {
		return nil, fmt.Errorf("ocitest: WithTokenTTL and WithTokenService need WithTokenAuth, not WithBasicAuth")
	}
	for u := range au.users {
		if u == "" || u == Anonymous || u == AnyUser || strings.Contains(u, ":") {
			return nil, fmt.Errorf("ocitest: invalid user name %q (empty, reserved, or containing ':')", u)
		}
	}
	if len(au.grants) == 0 {
		au.grants = []Grant{{User: AnyUser, Actions: []Action{AllActions}}}
	}
	for _, g := range au.grants {
		if err := checkGrant(g, au.users); err != nil {
			return nil, err
		}
	}
	au.key = make([]byte, 32)
	if _, err := rand.Read(au.key); err != nil {
		return nil, fmt.Errorf("ocitest: making the token signing key: %w", err)
	}
	return au, nil
}

func checkGrant(g Grant, users map[string]string) error {
	if _, ok := users[g.User]; !ok && g.User != Anonymous && g.User != AnyUser {
		return fmt.Errorf("ocitest: grant for unknown user %q (use ocitest.Anonymous or ocitest.AnyUser for everyone)", g.User)
	}
	if _, err := path.Match(strings.TrimSuffix(g.Repos, "/**"), ""); err != nil {
		return fmt.Errorf("ocitest: grant for %q: bad repository pattern %q: %w", g.User, g.Repos, err)
	}
	if len(g.Actions) == 0 {
		return fmt.Errorf("ocitest: grant for %q on %q names no action", g.User, g.Repos)
	}
	for _, a := range g.Actions {
		if actionBit(a) == 0 {
			return fmt.Errorf("ocitest: grant for %q: unknown action %q", g.User, a)
		}
	}
	return nil
}

// actions is a set of Actions.
type actions uint8

const (
	actPull actions = 1 << iota
	actPush
	actDelete
	actCatalog
	actAll = actPull | actPush | actDelete | actCatalog
)

func actionBit(a Action) actions {
	switch a {
	case Pull:
		return actPull
	case Push:
		return actPush
	case Delete:
		return actDelete
	case ListCatalog:
		return actCatalog
	case AllActions:
		return actAll
	}
	return 0
}

// names lists the repository actions in the order clients write them.
func (s actions) names() []string {
	var out []string
	for _, a := range []struct {
		bit  actions
		name string
	}{{actPull, "pull"}, {actPush, "push"}, {actDelete, "delete"}} {
		if s&a.bit != 0 {
			out = append(out, a.name)
		}
	}
	return out
}

// matchRepos reports whether a grant's pattern covers repo.
func matchRepos(pattern, repo string) bool {
	switch {
	case pattern == "" || pattern == "**":
		return true
	case strings.HasSuffix(pattern, "/**"):
		// The base pattern must match the name's first segments, and at
		// least one more segment must follow.
		base := strings.TrimSuffix(pattern, "/**")
		segs := strings.Split(repo, "/")
		k := strings.Count(base, "/") + 1
		if len(segs) <= k {
			return false
		}
		pattern, repo = base, strings.Join(segs[:k], "/")
	}
	ok, err := path.Match(pattern, repo)
	return ok && err == nil
}

// allowed is what user (Anonymous for no credentials) may do on repo; for
// ListCatalog, repo is ignored.
func (au *authority) allowed(user, repo string) actions {
	var out actions
	for _, g := range au.grants {
		if g.User != user && g.User != Anonymous && (g.User != AnyUser || user == Anonymous) {
			continue
		}
		var bits actions
		for _, a := range g.Actions {
			bits |= actionBit(a)
		}
		out |= bits & actCatalog
		if repo != "" && matchRepos(g.Repos, repo) {
			out |= bits &^ actCatalog
		}
	}
	return out
}

// checkPassword reports whether user's password is password.
func (au *authority) checkPassword(user, password string) bool {
	want, ok := au.users[user]
	return ok && constantTimeEqual(want, password)
}
