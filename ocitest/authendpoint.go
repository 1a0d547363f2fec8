package ocitest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
)

// maxTokenForm bounds the body of an OAuth2 POST to the token endpoint.
const maxTokenForm = 64 << 10

// tokenRequest is a token request, GET or POST, once read.
type tokenRequest struct {
	user    string // who it authenticated as (Anonymous without credentials)
	bad     bool   // it sent credentials that are wrong
	echo    string // the Basic password, for token-response-shape's echo
	scopes  []string
	offline bool // a refresh token is wanted
	post    bool
}

// serveToken answers the token endpoint (WithTokenAuth): GET per the
// Docker token specification, POST per its OAuth2 variant.
func (reg *Registry) serveToken(w http.ResponseWriter, r *http.Request, c *call, req *Request) {
	au := reg.auth
	var tr tokenRequest
	var err *tokenError
	switch r.Method {
	case http.MethodGet:
		tr, err = au.readTokenGET(r)
	case http.MethodPost:
		if tp := c.q.Auth.TokenPOST; tp.On() {
			c.note(tp.By)
			writeError(w, newAPIError(tp.Value, memstore.ErrUnsupported, "POST is not supported here; use GET"))
			return
		}
		tr, err = au.readTokenPOST(w, r)
	default:
		e := newAPIError(http.StatusMethodNotAllowed, memstore.ErrUnsupported, "the token endpoint takes GET and POST")
		e.Header = http.Header{"Allow": {"GET, POST"}}
		writeError(w, e)
		return
	}
	req.User, req.Scopes = tr.user, tr.scopes
	if err == nil && tr.bad {
		if tb := c.q.Auth.TokenForBadCredentials; tb.On() {
			c.note(tb.By)
		} else {
			err = badCredentials(tr.post)
		}
	}
	if err == nil && slices.ContainsFunc(tr.scopes, asksDelete) {
		if ds := c.q.Auth.DeleteScope; ds.On() && ds.Value.RefuseDeleteInTokenRequest {
			c.note(ds.By)
			err = &tokenError{status: http.StatusUnauthorized, code: "access_denied", message: "a token cannot include the delete action"}
		}
	}
	if err != nil {
		err.write(w, tr.post)
		return
	}
	grant := c.q.Auth.TokenScopes
	if grant.On() && grant.Value.Grant != 0 {
		c.note(grant.By)
	}
	var access []accessEntry
	var granted []string
	if !tr.bad {
		access, granted = au.grantScopes(tr.user, tr.scopes, grant.Value.Grant)
	}
	req.Granted = granted
	token, issued := au.issue(tr.user, access)
	if sh := c.q.Auth.TokenShape; sh.On() && sh.Value.EchoPassword && tr.echo != "" {
		c.note(sh.By)
		token = tr.echo
	}
	body := map[string]any{}
	// The spec's fields: both on GET, access_token on POST (OAuth2).
	field := quirks.TokenBothFields
	if tr.post {
		field = quirks.AccessTokenOnly
	}
	if sh := c.q.Auth.TokenShape; sh.On() {
		c.note(sh.By)
		field = sh.Value.Field
	}
	switch field {
	case quirks.TokenOnly:
		body["token"] = token
	case quirks.AccessTokenOnly:
		body["access_token"] = token
	default:
		body["token"], body["access_token"] = token, token
	}
	sh := c.q.Auth.TokenShape.Value
	if !sh.OmitExpiresIn {
		body["expires_in"] = int(au.ttl / time.Second)
	}
	if !sh.OmitIssuedAt {
		body["issued_at"] = issued.UTC().Format(time.RFC3339)
	}
	if tr.post {
		body["scope"] = strings.Join(granted, " ")
	}
	if tr.offline && tr.user != Anonymous && !tr.bad {
		body["refresh_token"] = au.issueRefresh(tr.user)
	}
	writeTokenJSON(w, http.StatusOK, body)
}

// asksDelete reports whether a scope asks for the delete action.
func asksDelete(s string) bool {
	sc, ok := parseScope(s)
	return ok && sc.typ == "repository" && (slices.Contains(sc.actions, "delete") || slices.Contains(sc.actions, "*"))
}

// readTokenGET reads GET <realm>?service=…&scope=…&scope=…&offline_token=…
// with optional Basic credentials.
func (au *authority) readTokenGET(r *http.Request) (tokenRequest, *tokenError) {
	q := r.URL.Query()
	tr := tokenRequest{user: Anonymous, scopes: splitScopes(q["scope"]), offline: q.Get("offline_token") == "true"}
	if err := au.checkService(q.Get("service")); err != nil {
		return tr, err
	}
	creds, ok := readCredentials(r)
	switch {
	case creds.scheme == "basic" && ok && au.checkPassword(creds.user, creds.password):
		tr.user, tr.echo = creds.user, creds.password
	case creds.scheme == "basic":
		tr.bad = true
	}
	// A Bearer header (a client re-sending an old token) is no credential
	// here: the request is anonymous.
	return tr, nil
}

// readTokenPOST reads the OAuth2 form: grant_type=password with
// username and password, or grant_type=refresh_token with refresh_token;
// service, scope (space-separated), client_id, access_type=offline.
func (au *authority) readTokenPOST(w http.ResponseWriter, r *http.Request) (tokenRequest, *tokenError) {
	tr := tokenRequest{user: Anonymous, post: true}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenForm)
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.TrimSpace(strings.ToLower(ct)) != "application/x-www-form-urlencoded" {
		return tr, &tokenError{status: http.StatusBadRequest, code: "invalid_request", message: "the body must be application/x-www-form-urlencoded"}
	}
	if err := r.ParseForm(); err != nil {
		return tr, &tokenError{status: http.StatusBadRequest, code: "invalid_request", message: "malformed form: " + err.Error()}
	}
	f := r.PostForm
	tr.scopes = splitScopes(f["scope"])
	tr.offline = f.Get("access_type") == "offline"
	if err := au.checkService(f.Get("service")); err != nil {
		return tr, err
	}
	switch f.Get("grant_type") {
	case "password":
		u, p := f.Get("username"), f.Get("password")
		if u == "" {
			return tr, &tokenError{status: http.StatusBadRequest, code: "invalid_request", message: "username is required"}
		}
		if au.checkPassword(u, p) {
			tr.user, tr.echo = u, p
		} else {
			tr.bad = true
		}
	case "refresh_token":
		rt := f.Get("refresh_token")
		if rt == "" {
			return tr, &tokenError{status: http.StatusBadRequest, code: "invalid_request", message: "refresh_token is required"}
		}
		claims, err := au.verify(rt, kindRefresh)
		if err != nil {
			return tr, &tokenError{status: http.StatusBadRequest, code: "invalid_grant", message: "refresh token refused: " + err.Error()}
		}
		tr.user = claims.user()
		if _, ok := au.users[tr.user]; !ok {
			return tr, &tokenError{status: http.StatusBadRequest, code: "invalid_grant", message: "refresh token of an unknown user"}
		}
	case "":
		return tr, &tokenError{status: http.StatusBadRequest, code: "invalid_request", message: "grant_type is required"}
	default:
		return tr, &tokenError{status: http.StatusBadRequest, code: "unsupported_grant_type", message: "grant_type must be password or refresh_token"}
	}
	return tr, nil
}

func (au *authority) checkService(s string) *tokenError {
	if s != "" && s != au.service {
		return &tokenError{status: http.StatusBadRequest, code: "invalid_request", message: "unknown service " + strconvQuote(s) + "; this registry is " + strconvQuote(au.service)}
	}
	return nil
}

// badCredentials is the answer to a wrong user name or password.
func badCredentials(post bool) *tokenError {
	if post {
		return &tokenError{status: http.StatusBadRequest, code: "invalid_grant", message: "incorrect username or password"}
	}
	return &tokenError{status: http.StatusUnauthorized, code: "invalid_grant", message: "incorrect username or password"}
}

// tokenError is a refused token request. GET answers carry the
// distribution spec's error body (and a Basic challenge on 401); POST
// answers the OAuth2 error body of RFC 6749 section 5.2.
type tokenError struct {
	status  int
	code    string // the OAuth2 error code
	message string
}

func (e *tokenError) write(w http.ResponseWriter, post bool) {
	if post {
		writeTokenJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.message})
		return
	}
	code := memstore.CodeDenied
	h := http.Header{}
	if e.status == http.StatusUnauthorized {
		code = memstore.CodeUnauthorized
		h.Set("WWW-Authenticate", `Basic realm="ocifixture token"`)
	} else if e.status == http.StatusBadRequest {
		code = memstore.CodeUnsupported
	}
	writeError(w, &apiError{Status: e.status, Err: &memstore.Error{Code: code, Message: e.message}, Header: h})
}

// writeTokenJSON writes a token endpoint's JSON answer, which must not be
// cached (RFC 6749 section 5.1).
func writeTokenJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	b = append(b, '\n')
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
