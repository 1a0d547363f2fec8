package ocitest

import (
	"encoding/base64"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
)

// callAuth is who a request authenticated as and what its credentials
// allow, for handlers that check a second repository (a mount's source).
type callAuth struct {
	user string
	can  func(repo string) actions
}

// mayPull reports whether c's credentials allow pulling from repo; without
// auth, everything is allowed.
func (c *call) mayPull(repo string) bool {
	return c.auth == nil || c.auth.can(repo)&actPull != 0
}

// credentials is what a request's Authorization header holds.
type credentials struct {
	scheme         string // "basic", "bearer", or "" for none
	user, password string // Basic
	token          string // Bearer
}

func readCredentials(r *http.Request) (credentials, bool) {
	// Trimmed as net/http trims header values it reads off the wire, so
	// that Handler() called directly judges a header the same way.
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return credentials{}, true
	}
	scheme, rest, _ := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return credentials{scheme: "basic"}, false
		}
		u, p, ok := strings.Cut(string(raw), ":")
		return credentials{scheme: "basic", user: u, password: p}, ok
	case "bearer":
		return credentials{scheme: "bearer", token: rest}, rest != ""
	}
	return credentials{scheme: strings.ToLower(scheme)}, false
}

// refusal is why a request is refused.
type refusal int

const (
	refuseNone         refusal = iota
	refuseNoCredential         // nothing usable sent: challenge
	refuseBadBasic             // wrong user or password
	refuseBadToken             // invalid, expired or foreign token
	refuseScope                // valid credentials that do not cover the request
	refuseOtherRepo            // a token for other repositories only (token-scope-handling BoundToRepo)
)

// authorize checks the request's credentials against what it needs, and
// answers it itself when they fall short (done). It records who the
// request authenticated as. The CDN host (signed URLs) and the token
// endpoint are not checked.
func (reg *Registry) authorize(w http.ResponseWriter, r *http.Request, c *call, req *Request) (done bool) {
	au := reg.auth
	if au == nil || c.Kind == Token || roleOf(r) == cdnHost {
		return false
	}
	n := needOf(c)
	creds, wellFormed := readCredentials(r)
	user, why := Anonymous, refuseNone
	var can func(repo string) actions
	switch au.mode {
	case authBasic:
		switch {
		case creds.scheme == "basic" && wellFormed && au.checkPassword(creds.user, creds.password):
			user = creds.user
		case creds.scheme != "":
			why = refuseBadBasic
		}
		u := user
		can = func(repo string) actions { return au.allowed(u, repo) }
		if why == refuseNone && n.acts == 0 && user == Anonymous {
			why = refuseNoCredential // the ping and unknown paths need a user
		}
	case authToken:
		switch {
		case creds.scheme != "bearer":
			why = refuseNoCredential
		case !wellFormed:
			why = refuseBadToken
		default:
			claims, err := au.verify(creds.token, kindAccess)
			if err != nil {
				if u, ok := reg.echoedPassword(c, creds.token); ok {
					user, can = u, func(repo string) actions { return au.allowed(u, repo) }
					break
				}
				why = refuseBadToken
				break
			}
			user, can = claims.user(), claims.grants
			if n.acts != 0 && can(n.repo)&n.acts != n.acts && claims.otherRepos(n.repo) {
				if ts := c.q.Auth.TokenScopes; ts.On() && ts.Value.BoundToRepo {
					c.note(ts.By)
					why = refuseOtherRepo
				}
			}
		}
	}
	if why == refuseNone && n.acts != 0 && can(n.repo)&n.acts != n.acts {
		why = refuseScope
		if au.mode == authBasic && user == Anonymous {
			why = refuseNoCredential
		}
	}
	req.User = user
	if why == refuseNone {
		c.auth = &callAuth{user: user, can: can}
		return reg.unknownRepo(w, r, c, n, can)
	}
	reg.writeRefusal(w, r, c, n, why, creds.scheme != "")
	return true
}

// echoedPassword accepts a user's password as a bearer token under the
// token-response-shape quirk that hands it out as one (GHCR).
func (reg *Registry) echoedPassword(c *call, token string) (string, bool) {
	ts := c.q.Auth.TokenShape
	if !ts.On() || !ts.Value.EchoPassword {
		return "", false
	}
	// In name order, so that two users with one password resolve the same
	// way every time.
	for _, u := range slices.Sorted(maps.Keys(reg.auth.users)) {
		if constantTimeEqual(reg.auth.users[u], token) {
			c.note(ts.By)
			return u, true
		}
	}
	return "", false
}

// unknownRepo answers a pull from a repository that does not exist with
// the unknown-repo-unauthorized quirk's status, for a caller who may not
// push there.
func (reg *Registry) unknownRepo(w http.ResponseWriter, r *http.Request, c *call, n need, can func(string) actions) bool {
	ur := c.q.Auth.UnknownRepo
	if !ur.On() || n.acts != actPull || can(n.repo)&actPush != 0 || reg.store.RepositoryExists(n.repo) {
		return false
	}
	c.note(ur.By)
	if ur.Value == http.StatusForbidden {
		reg.writeRefusal(w, r, c, n, refuseOtherRepo, true)
	} else {
		why := refuseScope // a Bearer challenge for the scope that would find it
		if reg.auth.mode == authBasic {
			why = refuseNoCredential
		}
		reg.writeRefusal(w, r, c, need{n.repo, actPull | actPush}, why, true)
	}
	return true
}

// writeRefusal answers a refused request: 401 with the challenge that
// tells the client how to get in, or 403 DENIED when asking again cannot
// help; the auth quirks change both.
func (reg *Registry) writeRefusal(w http.ResponseWriter, r *http.Request, c *call, n need, why refusal, sentCredentials bool) {
	au := reg.auth
	status, code, msg := http.StatusUnauthorized, memstore.CodeUnauthorized, "authentication required"
	challenge := ""
	// deny turns the answer into 403 DENIED, which carries no challenge.
	deny := func() {
		status, code, msg, challenge = http.StatusForbidden, memstore.CodeDenied, "requested access to the resource is denied", ""
	}
	switch au.mode {
	case authBasic:
		challenge = `Basic realm="ocifixture"`
		switch why {
		case refuseBadBasic:
			msg = "incorrect username or password"
		case refuseScope:
			deny()
		}
	case authToken:
		challenge = reg.bearerChallenge(r, c, n, why)
		switch why {
		case refuseBadToken:
			msg = "invalid or expired token"
		case refuseScope:
			msg = "insufficient scope"
		case refuseOtherRepo:
			deny()
		}
	}
	h := http.Header{}
	if sc := c.q.Auth.ScopeChallenge; sc.On() && status == http.StatusUnauthorized &&
		(sentCredentials || (sc.Value.Catalog && c.Kind == Catalog)) {
		c.note(sc.By)
		switch sc.Value.Answer {
		case quirks.ScopeBasic:
			scheme := sc.Value.Scheme
			if scheme == "" {
				scheme = "Basic"
			}
			challenge = scheme + ` realm="` + sc.Value.Realm + `"`
		case quirks.ScopeBare401:
			challenge = ""
		case quirks.ScopeForbidden:
			deny()
		}
	}
	if op := c.q.Auth.ChallengeOnlyOnPing; op.On() && c.Kind != Ping && status == http.StatusUnauthorized {
		c.note(op.By)
		if op.Value == http.StatusForbidden {
			deny()
		}
		status, challenge = op.Value, ""
		h.Set("Connection", "close")
	}
	if challenge != "" {
		h.Set("WWW-Authenticate", challenge)
	}
	e := &apiError{Status: status, Err: &memstore.Error{Code: code, Message: msg}, Header: h}
	if s := n.String(); s != "" {
		e.Err.Detail = []accessDetail{detailOf(n)}
	}
	writeError(w, rewriteErrorCode(c, e))
}

// accessDetail is the detail of an UNAUTHORIZED or DENIED error, as
// distribution writes it.
type accessDetail struct {
	Type   string `json:"Type"`
	Name   string `json:"Name"`
	Action string `json:"Action"`
}

func detailOf(n need) accessDetail {
	if n.acts == actCatalog {
		return accessDetail{Type: "registry", Name: "catalog", Action: "*"}
	}
	return accessDetail{Type: "repository", Name: n.repo, Action: strings.Join(n.acts.names(), ",")}
}

// bearerChallenge is the WWW-Authenticate value of a token-auth refusal.
func (reg *Registry) bearerChallenge(r *http.Request, c *call, n need, why refusal) string {
	realm := requestBaseURL(r) + tokenPath
	service, scope := reg.auth.service, n.String()
	if ch := c.q.Auth.Challenge; ch.On() && (ch.Value.Calls == 0 || ch.Value.Calls&callOf(c.Kind) != 0) {
		c.note(ch.By)
		if ch.Value.OmitService {
			service = ""
		}
		if ch.Value.ScopeActions != "" && n.repo != "" && scope != "" {
			scope = "repository:" + n.repo + ":" + ch.Value.ScopeActions
		}
		if ch.Value.FixedScope != "" {
			scope = ch.Value.FixedScope
		}
		if ch.Value.OmitScope {
			scope = ""
		}
	}
	var b strings.Builder
	b.WriteString(`Bearer realm="` + realm + `"`)
	if service != "" {
		b.WriteString(`,service="` + service + `"`)
	}
	if scope != "" {
		b.WriteString(`,scope="` + scope + `"`)
	}
	switch why {
	case refuseScope:
		b.WriteString(`,error="insufficient_scope"`)
	case refuseBadToken:
		b.WriteString(`,error="invalid_token"`)
	}
	return b.String()
}

// requestBaseURL is the scheme and host the request was sent to, so that
// every listener's challenge names its own token endpoint.
func requestBaseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
