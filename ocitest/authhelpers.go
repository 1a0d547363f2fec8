package ocitest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TokenURL is the token endpoint (the challenge's realm) of a registry
// with WithTokenAuth, e.g. "http://127.0.0.1:PORT/token"; "" without it.
func (reg *Registry) TokenURL() string {
	if reg.auth == nil || reg.auth.mode != authToken {
		return ""
	}
	return reg.URL() + tokenPath
}

// IssueToken returns a token as the token endpoint would issue it to user
// (a user name or Anonymous) asking for scopes, such as
// "repository:team/app:pull,push": each scope limited to what the user's
// grants allow. It is for tests that send requests by hand; it fails the
// test if the registry has no token auth or the user is unknown. The
// token endpoint's quirks do not apply.
func (reg *Registry) IssueToken(t testing.TB, user string, scopes ...string) string {
	t.Helper()
	au := reg.auth
	if au == nil || au.mode != authToken {
		t.Fatalf("ocitest: IssueToken needs a registry started WithTokenAuth")
		return ""
	}
	if _, ok := au.users[user]; !ok && user != Anonymous {
		t.Fatalf("ocitest: IssueToken: unknown user %q", user)
		return ""
	}
	access, _ := au.grantScopes(user, splitScopes(scopes), 0)
	token, _ := au.issue(user, access)
	return token
}

// TokenScopes lists, for each recorded token request in order, the scopes
// the client asked for (Request.Scopes; nil for a request that asked for
// none).
func (reg *Registry) TokenScopes() [][]string {
	var out [][]string
	for _, r := range reg.Filter(Match{Kind: Token}) {
		out = append(out, r.Scopes)
	}
	return out
}

// AssertTokenScopes checks that the client's token requests asked for
// exactly want, request by request in order (a nil or empty entry is a
// request with no scope), and reports a go-cmp diff if not.
func (reg *Registry) AssertTokenScopes(t testing.TB, want ...[]string) {
	t.Helper()
	if diff := cmp.Diff(want, reg.TokenScopes(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ocitest: token requests asked for other scopes (-want +got):\n%s", diff)
	}
}
