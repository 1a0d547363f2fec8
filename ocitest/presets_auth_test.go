package ocitest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/quirks"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestPresetAuthFlows drives one token-flow client (challenge, token by
// OAuth2 POST falling back to GET as containerd does, push, a pull-only
// user trying to push, wrong credentials, an unknown repository, delete,
// catalog, a two-repository token for a mount) against every preset with
// WithTokenAuth on, and compares the exchange with
// testdata/preset-auth-flows/<preset>.txt: one request per line with the
// challenge, the user, the scopes asked and granted, and the quirks that
// changed it. Refresh with
// go test ./ocitest -run TestPresetAuthFlows -update-flows
func TestPresetAuthFlows(t *testing.T) {
	for _, name := range quirks.PresetNames() {
		t.Run(name, func(t *testing.T) {
			qs, _ := quirks.Lookup(name)
			clock := NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			reg := New(t, WithQuirks(qs...), WithClock(clock), WithTokenAuth(
				map[string]string{"alice": "a-pw", "puller": "p-pw"},
				Grant{User: "alice", Repos: "**", Actions: []Action{AllActions}},
				Grant{User: "puller", Repos: "**", Actions: []Action{Pull}},
				Grant{User: Anonymous, Repos: "team/*", Actions: []Action{Pull}},
			))
			authFlowRun(t, reg)
			checkFlow(t, filepath.Join("testdata", "preset-auth-flows", name+".txt"),
				"The token-auth client flow of TestPresetAuthFlows under the "+name+" preset.", qs, authFlowTranscript(reg))
		})
	}
}

// authClient fetches tokens as Docker clients do.
type authClient struct {
	*flowClient
}

// token gets a token for scopes: the OAuth2 POST first, then GET with
// Basic credentials if the POST is refused (containerd's order). user ""
// asks anonymously by GET.
func (c *authClient) token(user, password string, scopes ...string) string {
	if user != "" {
		form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {password},
			"service": {"ocifixture"}, "client_id": {"flow"}, "scope": {strings.Join(scopes, " ")}}
		resp, body := c.do("POST", tokenPath, []byte(form.Encode()), "Content-Type: application/x-www-form-urlencoded")
		if resp.StatusCode == http.StatusOK {
			return tokenOf(body)
		}
	}
	q := url.Values{"service": {"ocifixture"}, "scope": scopes}
	var hdr []string
	if user != "" {
		hdr = append(hdr, "Authorization: Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	}
	_, body := c.do("GET", tokenPath+"?"+q.Encode(), nil, hdr...)
	return tokenOf(body)
}

func tokenOf(body []byte) string {
	var a struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(body, &a)
	if a.Token != "" {
		return a.Token
	}
	return a.AccessToken
}

func authFlowRun(t *testing.T, reg *Registry) {
	c := &authClient{&flowClient{t: t, reg: reg, hc: &http.Client{
		Transport:     reg.Transport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}}
	const repo = "team/app"
	reg.PushBlob(t, repo, []byte("created"))
	reg.PushBlob(t, "team/copy", []byte("created"))
	img := NewImage(Layers(1), LayerSize(64))
	bearer := func(tok string) string { return "Authorization: Bearer " + tok }

	c.do("GET", "/v2/", nil)
	c.do("POST", "/v2/"+repo+"/blobs/uploads/", nil)
	tok := c.token("alice", "a-pw", "repository:"+repo+":pull,push")
	c.do("GET", "/v2/", nil, bearer(tok))
	for _, b := range img.Blobs() {
		c.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(b.Descriptor.Digest), b.Data, bearer(tok))
	}
	c.do("PUT", "/v2/"+repo+"/manifests/v1", img.Bytes(), "Content-Type: "+ocispec.MediaTypeImageManifest, bearer(tok))

	// A pull-only user: pulls, then tries to push.
	pull := c.token("puller", "p-pw", "repository:"+repo+":pull")
	c.do("GET", "/v2/"+repo+"/manifests/v1", nil, bearer(pull), "Accept: "+ocispec.MediaTypeImageManifest)
	c.do("POST", "/v2/"+repo+"/blobs/uploads/", nil, bearer(pull))
	c.do("GET", "/v2/"+repo+"/tags/list", nil, bearer("p-pw")) // a password as a token

	// Wrong credentials, then an anonymous look at a repository that does
	// not exist.
	bad := c.token("alice", "wrong", "repository:"+repo+":pull")
	c.do("GET", "/v2/"+repo+"/tags/list", nil, bearer(bad))
	anon := c.token("", "", "repository:team/new:pull")
	c.do("HEAD", "/v2/team/new/manifests/v1", nil, bearer(anon))

	// A mount needs both repositories in one token.
	both := c.token("alice", "a-pw", "repository:team/copy:pull,push", "repository:"+repo+":pull")
	c.do("POST", "/v2/team/copy/blobs/uploads/?mount="+string(img.Blobs()[1].Descriptor.Digest)+"&from="+repo, nil, bearer(both))

	// Delete, and the catalog.
	c.do("DELETE", "/v2/"+repo+"/manifests/"+string(img.Digest()), nil, bearer(tok))
	del := c.token("alice", "a-pw", "repository:"+repo+":pull,push,delete")
	c.do("DELETE", "/v2/"+repo+"/manifests/"+string(img.Digest()), nil, bearer(del))
	c.do("GET", "/v2/_catalog", nil)
	cat := c.token("alice", "a-pw", "registry:catalog:*")
	c.do("GET", "/v2/_catalog", nil, bearer(cat))
}

// authFlowTranscript is one line per request: the request line, the
// challenge, who it authenticated as, the scopes of token requests and
// the quirks that changed the answer.
func authFlowTranscript(reg *Registry) string {
	var b strings.Builder
	for _, r := range reg.Requests() {
		line := r.String()
		if r.Kind == Token {
			// Passwords and tokens stay out of the transcript; the
			// query's scopes are shown below.
			line = r.Method + " " + r.Path + " -> " + itoa(r.Status)
		}
		b.WriteString(line)
		if v := r.ResponseHeader.Get("WWW-Authenticate"); v != "" {
			fmt.Fprintf(&b, " | WWW-Authenticate: %s", v)
		}
		if r.User != "" {
			fmt.Fprintf(&b, " | user: %s", r.User)
		}
		if r.Kind == Token {
			fmt.Fprintf(&b, " | asked: %s | granted: %s", strings.Join(r.Scopes, " "), strings.Join(r.Granted, " "))
		}
		if len(r.Quirks) > 0 {
			fmt.Fprintf(&b, " | quirks: %s", strings.Join(r.Quirks, ", "))
		}
		b.WriteString("\n")
	}
	out := portRE.ReplaceAllString(b.String(), "127.0.0.1:PORT")
	return digestRE.ReplaceAllString(out, "$1…")
}
