package oras_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
)

func TestTokenScopes(t *testing.T) {
	reg := ocitest.New(t, ocitest.WithTokenAuth(map[string]string{"alice": "s3cret"},
		ocitest.Grant{User: "alice", Repos: "team/*", Actions: []ocitest.Action{ocitest.Pull, ocitest.Push}}))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	// One auth.Client with a static credential for both repositories, so
	// they share its token cache.
	client := &auth.Client{
		Client:     retry.DefaultClient,
		Cache:      auth.NewCache(),
		Credential: auth.StaticCredential(reg.Host(), auth.Credential{Username: "alice", Password: "s3cret"}),
	}
	src, dst := repository(t, reg, "team/app"), repository(t, reg, "team/copy")
	src.Client, dst.Client = client, client
	opts := oras.DefaultCopyOptions
	opts.MountFrom = func(context.Context, ocispec.Descriptor) ([]string, error) { return []string{"team/app"}, nil }
	if _, err := oras.Copy(context.Background(), src, "v1", dst, "v1", opts); err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "team/copy", "v1", img.Digest())
	// A token per set of scopes, each asked for once the cache misses
	// (oras.Copy runs requests concurrently, so the order varies).
	got := map[string]bool{}
	for _, scopes := range reg.TokenScopes() {
		got[strings.Join(scopes, " ")] = true
	}
	want := map[string]bool{
		"repository:team/app:pull":                                true, // resolve the source
		"repository:team/copy:pull":                               true, // does the target have it?
		"repository:team/app:pull repository:team/copy:pull,push": true, // mount
		"repository:team/copy:pull,push":                          true, // manifest PUT
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token scopes (-want +got):\n%s", diff)
	}
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.BlobMount, Status: 201}, 2)
	outcomes.Record(t, "oras", "token-scopes", "pass: a token per scope set: `team/app:pull`; `team/copy:pull`; both with `team/copy:pull,push` for the mounts; `team/copy:pull,push`")
}
