package containerd_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
)

func TestTokenScopes(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.New(t, ocitest.WithTokenAuth(map[string]string{"alice": "s3cret"},
		ocitest.Grant{User: "alice", Repos: "team/*", Actions: []ocitest.Action{ocitest.Pull, ocitest.Push}}))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	authorizer := docker.NewDockerAuthorizer(docker.WithAuthCreds(func(string) (string, string, error) {
		return "alice", "s3cret", nil
	}))
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchAllHosts), docker.WithAuthorizer(authorizer)),
	})
	// Copy as in TestCopy: mount the blobs (labelled with their source),
	// then push the manifest.
	pusher, err := resolver.Pusher(ctx, reg.Ref("team/copy:v1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range img.Blobs() {
		desc := b.Descriptor
		desc.Annotations = map[string]string{"containerd.io/distribution.source.127.0.0.1": "team/app"}
		if _, err := pusher.Push(ctx, desc); !errdefs.IsAlreadyExists(err) {
			t.Fatalf("push %s: %v", desc.Digest, err)
		}
	}
	if err := remotes.PushContent(ctx, pusher, img.Descriptor(), provider{}.add(img), nil, platforms.All, nil); err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "team/copy", "v1", img.Digest())
	// containerd fetches tokens with the OAuth2 POST form; its pusher asks
	// for the target's pull and pull,push, and adds the source's pull for
	// the mounts.
	want := [][]string{
		{"repository:team/copy:pull", "repository:team/copy:pull,push"},
		{"repository:team/app:pull", "repository:team/copy:pull", "repository:team/copy:pull,push"},
	}
	if diff := cmp.Diff(want, reg.TokenScopes()); diff != "" {
		t.Errorf("token scopes (-want +got):\n%s", diff)
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.Token, Method: "POST", Status: 200}, 2)
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.BlobMount, Status: 201}, 2)
	outcomes.Record(t, client, "token-scopes", "pass: 2 tokens by OAuth2 POST: `team/copy:pull` + `team/copy:pull,push`; then + `team/app:pull` for the mounts")
}
