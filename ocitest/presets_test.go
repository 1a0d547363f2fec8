package ocitest

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/quirks"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

var updateFlows = flag.Bool("update-flows", false, "rewrite testdata/preset-flows/<preset>.txt from this run")

// TestPresetClientFlows drives the same client flow (push with every upload
// style, pull, list, referrers, delete) against every preset and compares
// the exchange with testdata/preset-flows/<preset>.txt. Each file shows, one
// request per line with the quirks that changed it, what a client author
// meets on that registry. Refresh them with
// go test ./ocitest -run TestPresetClientFlows -update-flows
func TestPresetClientFlows(t *testing.T) {
	for _, name := range quirks.PresetNames() {
		t.Run(name, func(t *testing.T) {
			qs, _ := quirks.Lookup(name)
			// A fixed clock keeps time-stamped answers (signed redirect URLs,
			// rate-limit windows) the same on every run.
			clock := NewFakeClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			reg := New(t, WithQuirks(qs...), WithClock(clock))
			flowRun(t, reg)
			checkFlow(t, filepath.Join("testdata", "preset-flows", name+".txt"),
				"The client flow of TestPresetClientFlows under the "+name+" preset.", qs, flowTranscript(reg))
		})
	}
}

// checkFlow compares a transcript with its file, whose two header lines
// (title, then the quirks) are not compared; -update-flows rewrites it.
func checkFlow(t *testing.T, file, title string, qs []quirks.Quirk, got string) {
	t.Helper()
	if *updateFlows {
		names := strings.Join(quirks.Names(qs), ", ")
		if names == "" {
			names = "none"
		}
		header := fmt.Sprintf("# %s\n# Quirks: %s\n", title, names)
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(header+got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update-flows to create it)", err)
	}
	want := string(data)
	if i := strings.Index(want, "\n# Quirks:"); i >= 0 {
		want = want[strings.Index(want[i+1:], "\n")+i+2:]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the flow changed (-%s +this run):\n%s", file, diff)
	}
}

// flowClient is a plain spec-following client: it does not follow
// redirects by itself (so the transcript shows them) and resolves
// Location headers against the URL it requested.
type flowClient struct {
	t   *testing.T
	reg *Registry
	hc  *http.Client
}

func (c *flowClient) do(method, target string, body []byte, header ...string) (*http.Response, []byte) {
	c.t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		c.t.Fatalf("bad target %q: %v", target, err)
	}
	if !u.IsAbs() {
		u = mustURL(c.reg.URL()).ResolveReference(u)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u.String(), rd)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return &http.Response{StatusCode: 0, Header: http.Header{}, Request: req}, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// location resolves a response's Location against its request URL.
func location(resp *http.Response) string {
	loc := resp.Header.Get("Location")
	if loc == "" || resp.Request == nil {
		return loc
	}
	if u, err := resp.Request.URL.Parse(loc); err == nil {
		return u.String()
	}
	return loc
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// flowRun is the client flow. It carries on after failures, as the point
// is to show every answer.
func flowRun(t *testing.T, reg *Registry) {
	c := &flowClient{t: t, reg: reg, hc: &http.Client{
		Transport:     reg.Transport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	const repo = "team/app"
	img := NewImage(Layers(2), LayerSize(64))
	blobs := img.Blobs()

	// The repositories exist beforehand, as on registries where they must
	// be created first (ECR); a push to a new one shows the difference.
	reg.PushBlob(t, repo, []byte("created"))
	reg.PushBlob(t, "other", []byte("created"))
	c.do("GET", "/v2/", nil)
	c.do("POST", "/v2/brand-new/blobs/uploads/", nil)
	// Config: POST, one PATCH with Content-Range, PUT.
	cfg := blobs[0]
	resp, _ := c.do("POST", "/v2/"+repo+"/blobs/uploads/", nil)
	if loc := location(resp); loc != "" {
		resp, _ = c.do("PATCH", loc, cfg.Data, "Content-Type: application/octet-stream",
			fmt.Sprintf("Content-Range: 0-%d", len(cfg.Data)-1))
		if loc := location(resp); loc != "" {
			c.do("PUT", withDigest(loc, cfg.Descriptor.Digest), nil)
		}
	}
	// First layer: monolithic POST. Second: cross-repository mount after a
	// push to another repository.
	c.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(blobs[1].Descriptor.Digest), blobs[1].Data)
	resp, _ = c.do("POST", "/v2/other/blobs/uploads/", nil)
	if loc := location(resp); loc != "" {
		c.do("PUT", withDigest(loc, blobs[2].Descriptor.Digest), blobs[2].Data)
	}
	resp, _ = c.do("POST", "/v2/"+repo+"/blobs/uploads/?mount="+string(blobs[2].Descriptor.Digest)+"&from=other", nil)
	if resp.StatusCode == http.StatusAccepted {
		if loc := location(resp); loc != "" {
			c.do("PUT", withDigest(loc, blobs[2].Descriptor.Digest), blobs[2].Data)
		}
	}
	// Manifest by tag, more tags, then pulls.
	mt := "Content-Type: " + ocispec.MediaTypeImageManifest
	c.do("PUT", "/v2/"+repo+"/manifests/v1", img.Bytes(), mt)
	for _, tag := range []string{"v2", "latest"} {
		c.do("PUT", "/v2/"+repo+"/manifests/"+tag, img.Bytes(), mt)
	}
	accept := "Accept: " + ocispec.MediaTypeImageManifest + ", " + ocispec.MediaTypeImageIndex
	c.do("HEAD", "/v2/"+repo+"/manifests/v1", nil, accept)
	c.do("GET", "/v2/"+repo+"/manifests/v1", nil, accept)
	c.do("GET", "/v2/"+repo+"/manifests/"+string(img.Digest()), nil, accept)
	resp, _ = c.do("GET", "/v2/"+repo+"/blobs/"+string(blobs[1].Descriptor.Digest), nil)
	if resp.StatusCode/100 == 3 {
		c.do("GET", location(resp), nil)
	}
	c.do("GET", "/v2/"+repo+"/blobs/"+string(blobs[1].Descriptor.Digest), nil, "Range: bytes=10-19")
	// Listing, following Link.
	next := "/v2/" + repo + "/tags/list?n=2"
	for i := 0; next != "" && i < 4; i++ {
		resp, _ = c.do("GET", next, nil)
		next = ""
		if link := resp.Header.Get("Link"); link != "" {
			if m := regexp.MustCompile(`<([^>]*)>`).FindStringSubmatch(link); m != nil {
				next = m[1]
			}
		}
	}
	c.do("GET", "/v2/_catalog", nil)
	// A referrer: an artifact whose subject is the image.
	art := NewArtifact("application/vnd.example.sbom", ptr(img.Descriptor()), []byte("sbom"))
	for _, b := range art.Blobs()[1:] {
		c.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(b.Descriptor.Digest), b.Data)
	}
	c.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+string(art.Config.Descriptor.Digest), art.Config.Data)
	c.do("PUT", "/v2/"+repo+"/manifests/"+string(art.Digest()), art.Bytes(), mt)
	c.do("GET", "/v2/"+repo+"/referrers/"+string(img.Digest()), nil)
	c.do("GET", "/v2/"+repo+"/referrers/"+string(img.Digest())+"?artifactType=application/vnd.example.sbom", nil)
	// Deletes.
	c.do("DELETE", "/v2/"+repo+"/manifests/latest", nil)
	c.do("DELETE", "/v2/"+repo+"/manifests/"+string(art.Digest()), nil)
	c.do("GET", "/v2/"+repo+"/tags/list", nil)
}

func ptr[T any](v T) *T { return &v }

func withDigest(loc string, d digest.Digest) string {
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	return loc + sep + "digest=" + url.QueryEscape(string(d))
}

var (
	portRE   = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	digestRE = regexp.MustCompile(`(sha256:[0-9a-f]{12})[0-9a-f]{52}`)
)

// flowTranscript is one line per recorded request with the headers a
// client acts on and the quirks that changed the answer. Ports, which
// change from run to run, are replaced by PORT; digests are shortened.
func flowTranscript(reg *Registry) string {
	var b strings.Builder
	for _, r := range reg.Requests() {
		fmt.Fprintf(&b, "%s", r)
		for _, h := range []string{"Docker-Content-Digest", "Location", "Range", "Link", "OCI-Subject", "OCI-Filters-Applied", "Content-Type", "Retry-After"} {
			if v := r.ResponseHeader.Get(h); v != "" {
				if h == "Docker-Content-Digest" {
					v = "yes"
				}
				fmt.Fprintf(&b, " | %s: %s", h, v)
			}
		}
		if len(r.Quirks) > 0 {
			fmt.Fprintf(&b, " | quirks: %s", strings.Join(r.Quirks, ", "))
		}
		b.WriteString("\n")
	}
	out := portRE.ReplaceAllString(b.String(), "127.0.0.1:PORT")
	return digestRE.ReplaceAllString(out, "$1…")
}
