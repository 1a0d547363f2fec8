package cue_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cuelabs.dev/go/oci/ociregistry/ociauth"
	"cuelabs.dev/go/oci/ociregistry/ociclient"

	"github.com/ocifixture/ocifixture/examples/internal/outcomes"
	"github.com/ocifixture/ocifixture/ocitest"
)

// staticConfig gives the same credentials for every host, as a Docker
// config file with one entry would.
type staticConfig ociauth.ConfigEntry

func (c staticConfig) EntryForRegistry(string) (ociauth.ConfigEntry, error) {
	return ociauth.ConfigEntry(c), nil
}

func TestTokenScopes(t *testing.T) {
	ctx := context.Background()
	reg := ocitest.New(t, ocitest.WithTokenAuth(map[string]string{"alice": "s3cret"},
		ocitest.Grant{User: "alice", Repos: "team/*", Actions: []ocitest.Action{ocitest.Pull, ocitest.Push}}))
	img := ocitest.NewImage()
	reg.PushImage(t, "team/app", "v1", img)

	c := newClient(t, reg, ociclient.Options{Transport: ociauth.NewStdTransport(ociauth.StdTransportParams{
		Config: staticConfig{Username: "alice", Password: "s3cret"},
	})})
	for _, b := range img.Blobs() {
		if _, err := c.MountBlob(ctx, "team/app", "team/copy", b.Descriptor.Digest); err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.GetTag(ctx, "team/app", "v1")
	raw := readAll(t, r, err)
	if _, err := c.PushManifest(ctx, "team/copy", "v1", raw, img.Descriptor().MediaType); err != nil {
		t.Fatal(err)
	}
	reg.CheckTag(t, "team/copy", "v1", img.Digest())
	// The first request (a mount) asks for everything it needs; ociauth
	// reuses that token for the later pull and push.
	want := [][]string{{"repository:team/app:pull", "repository:team/copy:pull,push"}}
	if diff := cmp.Diff(want, reg.TokenScopes()); diff != "" {
		t.Errorf("token scopes (-want +got):\n%s", diff)
	}
	outcomes.Record(t, client, "token-scopes", "pass: one token, `team/app:pull` + `team/copy:pull,push`, reused for the pull and the push")
}
