package ocitest_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/ocifixture/ocifixture/ocitest"
)

func TestQuickStart(t *testing.T) {
	reg := ocitest.New(t) // serves 127.0.0.1:PORT until the test ends

	img := ocitest.NewImage(ocitest.Layers(2)) // the same digests on every run
	reg.PushImage(t, "team/app", "v1", img)    // seeded straight into the store

	// Run the client under test against reg.Host(); here, a plain GET.
	resp, err := reg.Client().Get(reg.URL() + "/v2/team/app/manifests/v1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != string(img.Bytes()) {
		t.Fatalf("GET manifest: %s", resp.Status)
	}

	// Then check what the client actually sent.
	reg.AssertCount(t, ocitest.Match{Kind: ocitest.ManifestGet}, 1)
	reg.AssertRequestLines(t, ocitest.Match{Repo: "team/*"}, "GET /v2/team/app/manifests/v1 -> 200")
}
