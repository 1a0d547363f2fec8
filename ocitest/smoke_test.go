package ocitest

import (
	"net/http"
	"testing"
)

func TestPushPullSmoke(t *testing.T) {
	reg := New(t)
	img := newTestImage("smoke", nil, "")
	pushImage(t, reg, "team/app", "v1", img)
	resp := do(t, reg, "GET", "/v2/team/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "Docker-Content-Digest", string(img.Digest))
	if string(resp.Body) != string(img.Manifest) {
		t.Errorf("manifest body differs")
	}
}
