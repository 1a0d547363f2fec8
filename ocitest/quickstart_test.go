package ocitest_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ocifixture/ocifixture/ocitest"
	"github.com/opencontainers/go-digest"
)

func TestQuickStart(t *testing.T) {
	reg := ocitest.New(t) // serves 127.0.0.1:PORT until the test ends

	// Seed content straight into the store...
	blob := strings.NewReader("hello, registry")
	info, err := reg.Store().PutBlob("team/app", "", blob, -1)
	if err != nil {
		t.Fatal(err)
	}

	// ...and let the client under test fetch it over HTTP from reg.Host().
	resp, err := reg.Client().Get(reg.URL() + "/v2/team/app/blobs/" + info.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || digest.FromBytes(body) != info.Digest {
		t.Fatalf("GET blob: %s, %d bytes", resp.Status, len(body))
	}
}
