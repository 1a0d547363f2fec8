package ggcr_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
)

func TestTokenScopes(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithTokenAuth(map[string]string{"alice": "s3cret"},
		ocitest.Grant{User: "alice", Repos: "team/*", Actions: []ocitest.Action{ocitest.Pull, ocitest.Push}}))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	// The credentials as a Docker config file would give them.
	auth := authn.FromConfig(authn.AuthConfig{Username: "alice", Password: "s3cret"})
	if err := crane.Copy(reg.Ref("team/app:v1"), reg.Ref("team/copy:v1"), crane.Insecure, crane.WithAuth(auth)); err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "team/copy", "v1", img.Digest())
	// One token to read the source, one to push the target, and before
	// mounting, one with both (push first: some registries read only the
	// first scope).
	want := [][]string{
		{"repository:team/app:pull"},
		{"repository:team/copy:push,pull"},
		{"repository:team/copy:push,pull", "repository:team/app:pull"},
	}
	if diff := cmp.Diff(want, reg.TokenScopes()); diff != "" {
		t.Errorf("token scopes (-want +got):\n%s", diff)
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.BlobMount, Status: 201}, 2)
	outcomes.Record(t, client, "token-scopes", "pass: 3 tokens: `team/app:pull`, `team/copy:push,pull`, then both for the mounts")
}
