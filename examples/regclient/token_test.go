package regclient_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/regclient/regclient/config"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
)

func TestTokenScopes(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithTokenAuth(map[string]string{"alice": "s3cret"},
		ocitest.Grant{User: "alice", Repos: "team/*", Actions: []ocitest.Action{ocitest.Pull, ocitest.Push}}))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	rc := newClient(reg, config.Host{User: "alice", Pass: "s3cret"})
	if err := rc.ImageCopy(context.Background(), mustRef(t, reg.Ref("team/app:v1")), mustRef(t, reg.Ref("team/copy:v1"))); err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "team/copy", "v1", img.Digest())
	// regclient keeps one token per host and widens it: each new request
	// asks for the scopes so far plus the new one.
	want := [][]string{
		{"repository:team/copy:pull"},
		{"repository:team/copy:pull", "repository:team/app:pull"},
		{"repository:team/copy:pull,push", "repository:team/app:pull"},
	}
	if diff := cmp.Diff(want, reg.TokenScopes()); diff != "" {
		t.Errorf("token scopes (-want +got):\n%s", diff)
	}
	tok := reg.Filter(ocitest.Match{Kind: ocitest.Token})
	if tok[0].Query.Get("account") != "alice" {
		t.Errorf("token request: %v", tok[0])
	}
	outcomes.Record(t, client, "token-scopes", "pass: one token, widened on each new need: `team/copy:pull`; + `team/app:pull`; then `team/copy:pull,push` + `team/app:pull` (sends `account=alice`)")
}
