package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/quirks"
)

// TestRunServesAndStops starts the command on a free loopback port, pings
// it, and checks it stops cleanly when its context ends (as on SIGTERM).
func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.CloseWithError(err)
		done <- err
	}()

	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("no output: %v", lines.Err())
	}
	first := lines.Text()
	_, url, ok := strings.Cut(first, " at ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q does not name a loopback URL", first)
	}
	resp, err := http.Get(url + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
		t.Fatalf("ping: %s", resp.Status)
	}

	cancel()
	go io.Copy(io.Discard, pr) // let run print its last line
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after its context ended")
	}
	if _, err := http.Get(url + "/v2/"); err == nil {
		t.Error("the registry still answers after run returned")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"extra-arg"}, {"-addr", "127.0.0.1:notaport"}} {
		if err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}

func TestParseQuirks(t *testing.T) {
	qs, err := parseQuirks("spec, ecr-page-limit,,list-ignore-last")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(quirks.Names(qs), ","); got != "ecr-page-limit(1000),list-ignore-last" {
		t.Errorf("parsed %q", got)
	}
	if _, err := parseQuirks("ecr-page-limit,nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown name: err = %v", err)
	}
	var out strings.Builder
	if err := run(t.Context(), []string{"-list-quirks"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ecr-page-limit(1000)") || !strings.Contains(out.String(), "presets:") {
		t.Errorf("-list-quirks printed:\n%s", out.String())
	}
}

// TestRunAppliesQuirks checks -quirks reaches the server: with
// catalog-unsupported the catalog answers 401.
func TestRunAppliesQuirks(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-quirks", "catalog-unsupported"}, pw, io.Discard)
		pw.CloseWithError(err)
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("no output: %v", lines.Err())
	}
	_, url, _ := strings.Cut(lines.Text(), " at ")
	if !lines.Scan() || !strings.Contains(lines.Text(), "catalog-unsupported(401)") {
		t.Errorf("second line %q does not list the quirks", lines.Text())
	}
	go io.Copy(io.Discard, pr)
	resp, err := http.Get(url + "/v2/_catalog")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("catalog: %s, want 401", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
