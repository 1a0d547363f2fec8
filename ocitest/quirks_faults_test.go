package ocitest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/quirks"
)

func TestQuirkDockerHubRateLimit(t *testing.T) {
	clock := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := quirks.DockerHubRateLimit(quirks.RateLimit{Limit: 2, Window: time.Hour})
	reg := New(t, WithClock(clock), WithQuirks(q))
	img := NewImage()
	reg.PushImage(t, "library/alpine", "latest", img)
	path := "/v2/library/alpine/manifests/latest"

	for _, remaining := range []string{"1;w=3600", "0;w=3600"} {
		resp := do(t, reg, "GET", path, nil)
		wantStatus(t, resp, http.StatusOK)
		wantHeader(t, resp, "RateLimit-Limit", "2;w=3600")
		wantHeader(t, resp, "RateLimit-Remaining", remaining)
		wantHeader(t, resp, "Docker-RateLimit-Source", "127.0.0.1")
		dhWantQuirks(t, reg, "dockerhub-rate-limit(2/1h0m0s)")
	}
	resp := do(t, reg, "GET", path, nil)
	wantError(t, resp, http.StatusTooManyRequests, "TOOMANYREQUESTS")
	if !bytes.Contains(resp.Body, []byte("You have reached your pull rate limit.")) {
		t.Errorf("429 body = %s", resp.Body)
	}
	wantHeader(t, resp, "RateLimit-Remaining", "")
	dhWantQuirks(t, reg, q.String())

	// HEAD does not count and shows what is left; blobs are not limited.
	resp = do(t, reg, "HEAD", path, nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "RateLimit-Remaining", "0;w=3600")
	dhWantQuirks(t, reg, q.String())
	resp = do(t, reg, "GET", "/v2/library/alpine/blobs/"+string(img.Config.Descriptor.Digest), nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "RateLimit-Limit", "")
	dhWantQuirks(t, reg)

	// The window rolls with the registry's clock.
	clock.Advance(time.Hour)
	resp = do(t, reg, "GET", path, nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "RateLimit-Remaining", "1;w=3600")

	// A missing manifest still counts, and carries no headers.
	resp = do(t, reg, "GET", "/v2/library/alpine/manifests/nope", nil)
	wantError(t, resp, http.StatusNotFound, "MANIFEST_UNKNOWN")
	wantHeader(t, resp, "RateLimit-Limit", "")
	dhWantQuirks(t, reg)
	wantError(t, do(t, reg, "GET", path, nil), http.StatusTooManyRequests, "TOOMANYREQUESTS")
}

func TestQuirkDockerHubRateLimitHAP429(t *testing.T) {
	q := quirks.DockerHubRateLimit(quirks.RateLimit{Limit: 1, Window: time.Hour, Counted: quirks.AllCalls, HAP429: true})
	reg := New(t, WithQuirks(q))
	resp := do(t, reg, "GET", "/v2/", nil)
	wantStatus(t, resp, http.StatusOK)
	wantHeader(t, resp, "RateLimit-Limit", "")
	dhWantQuirks(t, reg)
	resp = do(t, reg, "GET", "/v2/app/tags/list", nil)
	wantStatus(t, resp, http.StatusTooManyRequests)
	wantHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")
	if string(resp.Body) != "Too Many Requests (HAP429).\n" {
		t.Errorf("body = %q", resp.Body)
	}
	dhWantQuirks(t, reg, "dockerhub-rate-limit(1/1h0m0s,counted=all,HAP429)")
}

func TestQuirkUnusualRetryAfter(t *testing.T) {
	clock := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	limit := quirks.DockerHubRateLimit(quirks.RateLimit{Limit: 0, Window: time.Hour})
	for _, tc := range []struct {
		q    quirks.Quirk
		want string
	}{
		{quirks.UnusualRetryAfter(quirks.RetryAfterGoDuration, 1889377*time.Nanosecond), "1.889377ms"},
		{quirks.UnusualRetryAfter(quirks.RetryAfterSeconds, 1500*time.Millisecond), "2"},
		{quirks.UnusualRetryAfter(quirks.RetryAfterHTTPDate, 2*time.Second), "Thu, 01 Jan 2026 00:00:02 GMT"},
	} {
		reg := New(t, WithClock(clock), WithQuirks(limit, tc.q))
		resp := do(t, reg, "GET", "/v2/app/manifests/v1", nil)
		wantStatus(t, resp, http.StatusTooManyRequests)
		wantHeader(t, resp, "Retry-After", tc.want)
		dhWantQuirks(t, reg, limit.String(), tc.q.String())
		// Other answers are left alone.
		resp = do(t, reg, "GET", "/v2/", nil)
		wantStatus(t, resp, http.StatusOK)
		wantHeader(t, resp, "Retry-After", "")
		dhWantQuirks(t, reg)
	}
	// On a transient 503 too.
	q := quirks.UnusualRetryAfter(quirks.RetryAfterGoDuration, time.Millisecond)
	reg := New(t, WithQuirks(quirks.TransientErrors(quirks.Transient{Status: 503, Times: 1}), q))
	resp := do(t, reg, "GET", "/v2/", nil)
	wantStatus(t, resp, http.StatusServiceUnavailable)
	wantHeader(t, resp, "Retry-After", "1ms")
	// Omitted, with nothing to omit, changes nothing.
	omit := quirks.UnusualRetryAfter(quirks.RetryAfterOmitted, 0)
	reg = New(t, WithQuirks(limit, omit))
	resp = do(t, reg, "GET", "/v2/app/manifests/v1", nil)
	wantStatus(t, resp, http.StatusTooManyRequests)
	wantHeader(t, resp, "Retry-After", "")
	dhWantQuirks(t, reg, limit.String())
	if omit.String() != "retry-after-quirks(omit)" {
		t.Errorf("omit quirk is %s", omit)
	}
}

func TestQuirkTransientErrorsEveryNth(t *testing.T) {
	q := quirks.TransientErrors(quirks.Transient{Status: http.StatusBadGateway, Every: 3})
	reg := New(t, WithQuirks(q))
	for i := 1; i <= 6; i++ {
		resp := do(t, reg, "GET", "/v2/", nil)
		if i%3 != 0 {
			wantStatus(t, resp, http.StatusOK)
			wantHeader(t, resp, "Docker-Distribution-API-Version", "registry/2.0")
			dhWantQuirks(t, reg)
			continue
		}
		wantStatus(t, resp, http.StatusBadGateway)
		wantHeader(t, resp, "Content-Type", "text/html")
		wantHeader(t, resp, "Docker-Distribution-API-Version", "")
		if !bytes.Contains(resp.Body, []byte("<title>502 Bad Gateway</title>")) {
			t.Errorf("body = %s", resp.Body)
		}
		dhWantQuirks(t, reg, "transient-5xx(502,html,every=3)")
	}
}

func TestQuirkTransientErrorsNextOnCalls(t *testing.T) {
	q := quirks.TransientErrors(quirks.Transient{Status: http.StatusGatewayTimeout, Body: quirks.FaultEmpty, Calls: quirks.CallManifestPut, Times: 2})
	reg := New(t, WithQuirks(q))
	img := newTestImage("t", nil, "")
	pushBlob(t, reg, "app", img.Config) // uploads are not selected
	pushBlob(t, reg, "app", img.Layer)
	dhWantQuirks(t, reg)
	before := reg.Store().Snapshot()
	for range 2 {
		resp := do(t, reg, "PUT", "/v2/app/manifests/v1", img.Manifest, "Content-Type: application/vnd.oci.image.manifest.v1+json")
		wantStatus(t, resp, http.StatusGatewayTimeout)
		if len(resp.Body) != 0 {
			t.Errorf("body = %q, want none", resp.Body)
		}
		dhWantQuirks(t, reg, "transient-5xx(504,empty,calls=manifestPut,times=2)")
	}
	unchanged(t, reg, before)
	resp := do(t, reg, "PUT", "/v2/app/manifests/v1", img.Manifest, "Content-Type: application/vnd.oci.image.manifest.v1+json")
	wantStatus(t, resp, http.StatusCreated)
	dhWantQuirks(t, reg)
}

func TestQuirkTransientErrorsJSONAndProxyCodes(t *testing.T) {
	reg := New(t, WithQuirks(quirks.TransientErrors(quirks.Transient{Status: 503, Body: quirks.FaultJSON, Times: 1})))
	wantError(t, do(t, reg, "GET", "/v2/", nil), http.StatusServiceUnavailable, "UNAVAILABLE")
	reg = New(t, WithQuirks(quirks.TransientErrors(quirks.Transient{Status: 522, Times: 1})))
	resp := do(t, reg, "GET", "/v2/", nil)
	wantStatus(t, resp, 522)
	if string(resp.Body) != "error code: 522" {
		t.Errorf("522 body = %q", resp.Body)
	}
	reg = New(t, WithQuirks(quirks.TransientErrors(quirks.Transient{Status: 499, Times: 1})))
	resp = do(t, reg, "GET", "/v2/", nil)
	wantStatus(t, resp, 499)
	if !strings.Contains(string(resp.Body), "499 Client Closed Request") {
		t.Errorf("499 body = %q", resp.Body)
	}
}

func TestQuirkTransientErrorsReset(t *testing.T) {
	q := quirks.TransientErrors(quirks.Transient{Reset: true, Calls: quirks.CallBlobGet, Times: 1})
	reg := New(t, WithQuirks(q))
	d, b := dhBlob(t, reg, "app")
	// A fresh connection, so that Go's client does not retry silently.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, err := client.Get(reg.URL() + "/v2/app/blobs/" + string(d))
	if err == nil || !(errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "reset")) {
		t.Errorf("GET: %v, want the connection cut", err)
	}
	last := dhLast(t, reg)
	if last.Status != 0 || !slices.Equal(last.Quirks, []string{"transient-5xx(reset,calls=blobGet,times=1)"}) {
		t.Errorf("recorded status %d, quirks %q", last.Status, last.Quirks)
	}
	resp := do(t, reg, "GET", "/v2/app/blobs/"+string(d), nil)
	if !bytes.Equal(resp.Body, b) {
		t.Errorf("after the reset: %q", resp.Body)
	}
}

func TestQuirkTransientErrorsSeeded(t *testing.T) {
	run := func() []int {
		reg := New(t, WithQuirks(quirks.TransientErrors(quirks.Transient{Status: 500, Probability: 0.5, Seed: 7})))
		var statuses []int
		for range 20 {
			statuses = append(statuses, do(t, reg, "GET", "/v2/", nil).Status)
		}
		return statuses
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different failures:\n%v\n%v", a, b)
	}
	fails := 0
	for _, s := range a {
		if s == 500 {
			fails++
		}
	}
	if fails == 0 || fails == len(a) {
		t.Errorf("p=0.5 failed %d of %d", fails, len(a))
	}
}

func TestQuirkTransientErrorsConcurrent(t *testing.T) {
	reg := New(t, WithQuirks(quirks.TransientErrors(quirks.Transient{Status: 502, Every: 4})))
	done := make(chan int)
	for range 8 {
		go func() {
			n := 0
			for range 10 {
				resp, err := reg.Client().Get(reg.URL() + "/v2/")
				if err == nil {
					if resp.StatusCode == http.StatusBadGateway {
						n++
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
			done <- n
		}()
	}
	total := 0
	for range 8 {
		total += <-done
	}
	if total != 20 {
		t.Errorf("%d of 80 requests failed, want every 4th: 20", total)
	}
}
