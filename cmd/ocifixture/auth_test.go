package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/ocitest"
)

func TestParseGrant(t *testing.T) {
	acts := func(a ...ocitest.Action) []ocitest.Action { return a }
	for _, tc := range []struct {
		in   string
		want ocitest.Grant
	}{
		{"alice=team/**:pull,push,delete", ocitest.Grant{User: "alice", Repos: "team/**", Actions: acts(ocitest.Pull, ocitest.Push, ocitest.Delete)}},
		{"<anonymous>=public/*:pull", ocitest.Grant{User: ocitest.Anonymous, Repos: "public/*", Actions: acts(ocitest.Pull)}},
		{"*=**:*", ocitest.Grant{User: ocitest.AnyUser, Repos: "**", Actions: acts(ocitest.AllActions)}},
		{"alice=:catalog", ocitest.Grant{User: "alice", Actions: acts(ocitest.ListCatalog)}},
		{" bob = lib/x : pull , push ", ocitest.Grant{User: "bob", Repos: "lib/x", Actions: acts(ocitest.Pull, ocitest.Push)}},
		{"bob=a:pull,,", ocitest.Grant{User: "bob", Repos: "a", Actions: acts(ocitest.Pull)}},
	} {
		got, err := parseGrant(tc.in)
		if err != nil {
			t.Errorf("parseGrant(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("parseGrant(%q) (-want +got):\n%s", tc.in, diff)
		}
		// What the command logs parses back to the same grant.
		if again, err := parseGrant(formatGrant(got)); err != nil || !cmp.Equal(again, got) {
			t.Errorf("formatGrant(%q) = %q, parsed back to %+v, %v", tc.in, formatGrant(got), again, err)
		}
	}
	for _, bad := range []string{"", "alice", "alice:pull", "=team:pull", "alice=team", "alice=team:", "alice=team:write", "alice=team:pull,admin"} {
		if g, err := parseGrant(bad); err == nil {
			t.Errorf("parseGrant(%q) = %+v, want an error", bad, g)
		}
	}
}

// parseAuth parses args as the command does and returns the auth options'
// description or error.
func parseAuth(t *testing.T, args ...string) (string, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var a authFlags
	a.register(fs)
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	_, desc, err := a.options()
	return desc, err
}

func TestAuthFlags(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	os.WriteFile(users, []byte("# the team\n\ncarol:pw,with:colons # and a hash\n  dave:d-pw  \n"), 0o600)
	grants := filepath.Join(dir, "grants")
	os.WriteFile(grants, []byte("# grants\ncarol=team/**:pull,push\n\n<anonymous>=public/*:pull\n"), 0o600)
	badGrants := filepath.Join(dir, "bad-grants")
	os.WriteFile(badGrants, []byte("# ok\n\ncarol=team:write\n"), 0o600)
	dupUsers := filepath.Join(dir, "dup-users")
	os.WriteFile(dupUsers, []byte("alice:x\n"), 0o600)

	for _, tc := range []struct {
		args []string
		want string // the description, or a part of the error
		err  bool
	}{
		{args: nil, want: ""},
		{args: []string{"-auth", "basic", "-users", "alice:a,bob:b"}, want: "basic, users: alice, bob; every user may do everything"},
		{args: []string{"-auth", "token", "-users", "alice:a", "-grant", "alice=team/**:pull,push", "-grant", "<anonymous>=public/*:pull", "-token-ttl", "1m"},
			want: "token, users: alice; alice=team/**:pull,push; <anonymous>=public/*:pull"},
		{args: []string{"-auth", "token", "-grant", "<anonymous>=**:pull"}, want: "token, no users; <anonymous>=**:pull"},
		{args: []string{"-auth", "basic", "-users-file", users, "-grants-file", grants},
			want: "basic, users: carol, dave; carol=team/**:pull,push; <anonymous>=public/*:pull"},
		{args: []string{"-auth", "basic", "-users", "alice:a", "-grant", "alice=:catalog", "-grants-file", grants, "-users-file", users},
			want: "basic, users: alice, carol, dave; alice=:catalog; carol=team/**:pull,push; <anonymous>=public/*:pull"},

		{args: []string{"-users", "alice:a"}, want: "need -auth", err: true},
		{args: []string{"-grant", "alice=x:pull"}, want: "need -auth", err: true},
		{args: []string{"-auth", "oauth", "-users", "a:b"}, want: "want basic or token", err: true},
		{args: []string{"-auth", "basic"}, want: "no users", err: true},
		{args: []string{"-auth", "basic", "-users", "a:b", "-token-ttl", "1m"}, want: "need -auth token", err: true},
		{args: []string{"-auth", "token", "-users", "a:b", "-token-ttl", "-1m"}, want: "negative", err: true},
		{args: []string{"-auth", "basic", "-users", "alice"}, want: "not user:password", err: true},
		{args: []string{"-auth", "basic", "-users", ":pw"}, want: "not user:password", err: true},
		{args: []string{"-auth", "basic", "-users", "alice:a,alice:b"}, want: "given twice", err: true},
		{args: []string{"-auth", "basic", "-users", "<anonymous>:x"}, want: "reserved", err: true},
		{args: []string{"-auth", "basic", "-users", "alice:a", "-users-file", dupUsers}, want: "dup-users:1: user \"alice\" given twice", err: true},
		{args: []string{"-auth", "basic", "-users", "alice:a", "-grant", "alice=x:write"}, want: "unknown action", err: true},
		{args: []string{"-auth", "basic", "-users", "alice:a", "-grants-file", badGrants}, want: "bad-grants:3:", err: true},
		{args: []string{"-auth", "basic", "-users-file", filepath.Join(dir, "missing")}, want: "missing", err: true},
	} {
		got, err := parseAuth(t, tc.args...)
		switch {
		case tc.err && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: err = %v, want one containing %q", tc.args, err, tc.want)
		case !tc.err && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case !tc.err && got != tc.want:
			t.Errorf("%q: described as %q, want %q", tc.args, got, tc.want)
		}
	}

	// The file's password is the rest of the line, commas, colons and # included.
	got := map[string]string{}
	lines, err := readLines(users)
	if err != nil {
		t.Fatal(err)
	}
	if err := addUsers(got, users, lines); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"carol": "pw,with:colons # and a hash", "dave": "d-pw"}; !cmp.Equal(want, got) {
		t.Errorf("users file read as %v, want %v", got, want)
	}
}

// TestRunRejectsBadAuth checks the registry's own checks reach the user:
// a grant for a user nobody defined.
func TestRunRejectsBadAuth(t *testing.T) {
	err := run(t.Context(), []string{"-addr", "127.0.0.1:0", "-auth", "basic", "-users", "alice:a", "-grant", "bob=x:pull"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `"bob"`) {
		t.Errorf("run with a grant for an unknown user: %v", err)
	}
}

// TestRunTokenFlow starts the command with token auth and walks the flow
// over HTTP as a client would: challenge, token request, authorized push
// and pull, refused scope, wrong password.
func TestRunTokenFlow(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-auth", "token", "-users", "alice:s3cret",
			"-grant", "alice=team/**:pull,push", "-grant", "<anonymous>=public/*:pull", "-token-ttl", "90s"}, pw, io.Discard)
		pw.CloseWithError(err)
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	var out []string
	for len(out) < 3 && lines.Scan() {
		out = append(out, lines.Text())
	}
	go io.Copy(io.Discard, pr)
	if len(out) < 3 {
		t.Fatalf("output %q, want the address, auth and token endpoint lines", out)
	}
	_, base, _ := strings.Cut(out[0], " at ")
	if want := "ocifixture: auth: token, users: alice; alice=team/**:pull,push; <anonymous>=public/*:pull"; out[1] != want {
		t.Errorf("auth line %q, want %q", out[1], want)
	}
	if want := "ocifixture: token endpoint at " + base + "/token"; out[2] != want {
		t.Errorf("token line %q, want %q", out[2], want)
	}

	client := &http.Client{Timeout: 10 * time.Second}
	send := func(method, u string, body []byte, header ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	token := func(user, password, scope string) string {
		t.Helper()
		// Where to ask, as the challenge says.
		u, err := url.Parse(challengeURL(t, client, base+"/v2/team/app/blobs/uploads/"))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("scope", scope)
		u.RawQuery = q.Encode()
		req, _ := http.NewRequest("GET", u.String(), nil)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		r, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var ta struct {
			Token     string `json:"token"`
			ExpiresIn int    `json:"expires_in"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ta); err != nil || r.StatusCode != 200 || ta.Token == "" {
			t.Fatalf("token request %s: %s, %v", u, r.Status, err)
		}
		if ta.ExpiresIn != 90 {
			t.Errorf("expires_in = %d, want 90 (-token-ttl 90s)", ta.ExpiresIn)
		}
		return ta.Token
	}

	// The ping challenges without a scope; a push with the push scope.
	resp, _ := send("GET", base+"/v2/", nil)
	if want := `Bearer realm="` + base + `/token",service="ocifixture"`; resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("ping: %s %q, want 401 %q", resp.Status, resp.Header.Get("WWW-Authenticate"), want)
	}
	blob := []byte("pushed through the token flow")
	sum := sha256.Sum256(blob)
	d := "sha256:" + hex.EncodeToString(sum[:])
	push := base + "/v2/team/app/blobs/uploads/?digest=" + d
	resp, _ = send("POST", push, blob)
	if want := `Bearer realm="` + base + `/token",service="ocifixture",scope="repository:team/app:pull,push"`; resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("push without a token: %s %q, want 401 %q", resp.Status, resp.Header.Get("WWW-Authenticate"), want)
	}

	// Alice's token pushes and pulls.
	tok := token("alice", "s3cret", "repository:team/app:pull,push")
	resp, b := send("POST", push, blob, "Authorization", "Bearer "+tok)
	if resp.StatusCode != 201 {
		t.Fatalf("push with alice's token: %s %s", resp.Status, b)
	}
	resp, b = send("GET", base+"/v2/team/app/blobs/"+d, nil, "Authorization", "Bearer "+tok)
	if resp.StatusCode != 200 || !bytes.Equal(b, blob) {
		t.Fatalf("pull with alice's token: %s %q", resp.Status, b)
	}
	// Not for deletes (alice has no grant for them), nor other repositories.
	resp, _ = send("DELETE", base+"/v2/team/app/blobs/"+d, nil, "Authorization", "Bearer "+tok)
	if !strings.HasSuffix(resp.Header.Get("WWW-Authenticate"), `scope="repository:team/app:delete",error="insufficient_scope"`) || resp.StatusCode != 401 {
		t.Errorf("delete: %s %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
	resp, _ = send("GET", base+"/v2/team/lib/tags/list", nil, "Authorization", "Bearer "+tok)
	if resp.StatusCode != 401 {
		t.Errorf("another repository: %s", resp.Status)
	}

	// An anonymous token reads public/* only.
	anon := token("", "", "repository:team/app:pull")
	resp, _ = send("GET", base+"/v2/team/app/blobs/"+d, nil, "Authorization", "Bearer "+anon)
	if resp.StatusCode != 401 {
		t.Errorf("anonymous pull of team/app: %s", resp.Status)
	}
	anon = token("", "", "repository:public/base:pull")
	resp, _ = send("GET", base+"/v2/public/base/tags/list", nil, "Authorization", "Bearer "+anon)
	if resp.StatusCode != 404 { // allowed, and the repository does not exist
		t.Errorf("anonymous tags list of public/base: %s, want 404", resp.Status)
	}

	// A wrong password gets no token.
	req, _ := http.NewRequest("GET", base+"/token?service=ocifixture&scope=repository:team/app:pull", nil)
	req.SetBasicAuth("alice", "wrong")
	r, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 401 {
		t.Errorf("token request with a wrong password: %s", r.Status)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

var challengeParam = regexp.MustCompile(`(\w+)="([^"]*)"`)

// challengeURL sends an anonymous request to u and returns the token URL
// its Bearer challenge points at (realm?service=...).
func challengeURL(t *testing.T, client *http.Client, u string) string {
	t.Helper()
	resp, err := client.Post(u, "application/octet-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || !strings.HasPrefix(h, "Bearer ") {
		t.Fatalf("POST %s: %s, challenge %q", u, resp.Status, h)
	}
	params := map[string]string{}
	for _, m := range challengeParam.FindAllStringSubmatch(h, -1) {
		params[m[1]] = m[2]
	}
	return params["realm"] + "?" + url.Values{"service": {params["service"]}}.Encode()
}
