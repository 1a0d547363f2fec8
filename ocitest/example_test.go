package ocitest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/ocifixture/ocifixture/ocitest"
	"github.com/ocifixture/ocifixture/quirks"
)

// A registry for TestMain, an Example or a program: Start it, Close it.
func ExampleStart() {
	reg, err := ocitest.Start()
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	resp, err := reg.Client().Get(reg.URL() + "/v2/")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Docker-Distribution-API-Version"))
	// Output: 200 OK registry/2.0
}

// Pushing a blob in one request and reading the registry's answer.
func ExampleRegistry_Client() {
	reg, err := ocitest.Start()
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	const d = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // "hello"
	resp, err := reg.Client().Post(reg.URL()+"/v2/team/app/blobs/uploads/?digest="+d,
		"application/octet-stream", strings.NewReader("hello"))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode == http.StatusCreated, resp.Header.Get("Location"))
	// Output: true /v2/team/app/blobs/sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
}

// Errors are the spec's JSON bodies with the spec's codes.
func ExampleNew_errors() {
	reg, err := ocitest.Start()
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	resp, err := reg.Client().Get(reg.URL() + "/v2/team/app/manifests/latest")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Type"))
	// Output: 404 Not Found application/json
}

// Ref qualifies a reference with the registry's host, for clients that take
// image references.
func ExampleRegistry_Ref() {
	reg, err := ocitest.Start()
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	fmt.Println(strings.TrimPrefix(reg.Ref("team/app:v1"), reg.Host()))
	// Output: /team/app:v1
}

// Every request is recorded; Request.String gives one line per exchange.
func ExampleRegistry_Requests() {
	reg, err := ocitest.Start()
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	for _, path := range []string{"/v2/", "/v2/team/app/tags/list"} {
		resp, err := reg.Client().Get(reg.URL() + path)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}
	for _, r := range reg.Requests() {
		fmt.Println(r.Seq, r.Kind, r)
	}
	fmt.Println(reg.Count(ocitest.Match{Kind: ocitest.TagsList, Status: http.StatusNotFound}))
	// Output:
	// 1 Ping GET /v2/ -> 200
	// 2 TagsList GET /v2/team/app/tags/list -> 404
	// 1
}

// Faults are count-based: the first manifest GET fails, the retry works.
func ExampleRegistry_Inject() {
	reg, err := ocitest.Start()
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	if err := reg.Push("team/app", "v1", ocitest.NewImage()); err != nil {
		panic(err)
	}

	fault := reg.Inject(ocitest.Fault{
		Match:  ocitest.Match{Kind: ocitest.ManifestGet},
		Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {"1"}},
		Times:  1,
	})
	for range 2 {
		resp, err := reg.Client().Get(reg.URL() + "/v2/team/app/manifests/v1")
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Printf("%s Retry-After=%q\n", resp.Status, resp.Header.Get("Retry-After"))
	}
	fmt.Println("hits:", fault.Hits())
	last, _ := reg.LastRequest()
	fmt.Println(last.Faults == nil)
	// Output:
	// 429 Too Many Requests Retry-After="1"
	// 200 OK Retry-After=""
	// hits: 1
	// true
}

// Generated content is deterministic: the same options give the same
// digests on every run.
func ExampleNewImage() {
	a := ocitest.NewImage(ocitest.Layers(3), ocitest.Seed(7))
	b := ocitest.NewImage(ocitest.Layers(3), ocitest.Seed(7))
	c := ocitest.NewImage(ocitest.Layers(3), ocitest.Seed(8))
	fmt.Println(len(a.Layers), a.Digest() == b.Digest(), a.Digest() == c.Digest())
	fmt.Println(a.Descriptor().MediaType)
	// Output:
	// 3 true false
	// application/vnd.oci.image.manifest.v1+json
}

// A registry that serves HTTPS under a real registry's host name; its
// Client trusts the certificate and dials the loopback port for the name.
func ExampleWithHostname() {
	reg, err := ocitest.Start(ocitest.WithTLS(), ocitest.WithHostname("123456789012.dkr.ecr.us-east-1.amazonaws.com"))
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	resp, err := reg.Client().Get(reg.URL() + "/v2/")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(strings.HasPrefix(reg.URL(), "https://123456789012.dkr.ecr.us-east-1.amazonaws.com:"), resp.Status)
	// Output: true 200 OK
}

// Seeding declares content straight into the store; none of it shows up as
// requests.
func ExampleRegistry_Push() {
	reg, err := ocitest.Start()
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	img := ocitest.NewImage(ocitest.Layers(2))
	idx := ocitest.NewIndex(ocitest.Seed(1))
	for tag, m := range map[string]ocitest.Manifest{"v1": img, "multi": idx} {
		if err := reg.Push("team/app", tag, m); err != nil {
			panic(err)
		}
	}
	tags, _, _ := reg.Store().Tags("team/app", "", -1)
	fmt.Println(tags, len(reg.Requests()))
	// Output: [multi v1] 0
}

// Recorded requests compare with go-cmp; IgnoreVolatile leaves out what
// changes from run to run (sequence numbers, times, headers, upload ids).
func ExampleIgnoreVolatile() {
	reg, err := ocitest.Start()
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	resp, err := reg.Client().Get(reg.URL() + "/v2/team/app/tags/list?n=10")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	want := []ocitest.Request{{
		Kind: ocitest.TagsList, Method: "GET", Path: "/v2/team/app/tags/list",
		Query: url.Values{"n": {"10"}}, Repo: "team/app", Status: 404, ResponseSize: 95,
	}}
	fmt.Printf("diff: %q\n", cmp.Diff(want, reg.Requests(), ocitest.IgnoreVolatile()))
	// Output: diff: ""
}

// Quirks make the registry answer like a real one; each recorded request
// names the quirks that changed its answer.
func ExampleWithQuirks() {
	reg, err := ocitest.Start(ocitest.WithQuirks(quirks.MaxPageSize(1000)))
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	if err := reg.Push("team/app", "v1", ocitest.NewImage()); err != nil {
		panic(err)
	}
	for _, n := range []string{"1000", "10000"} {
		resp, err := reg.Client().Get(reg.URL() + "/v2/team/app/tags/list?n=" + n)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		last, _ := reg.LastRequest()
		fmt.Println(last, last.Quirks)
	}
	// Output:
	// GET /v2/team/app/tags/list?n=1000 -> 200 []
	// GET /v2/team/app/tags/list?n=10000 -> 405 [ecr-page-limit(1000)]
}

// The token flow by hand: the challenge, the token request, the retry.
func ExampleWithTokenAuth() {
	reg, err := ocitest.Start(ocitest.WithTokenAuth(map[string]string{"alice": "s3cret"},
		ocitest.Grant{User: "alice", Repos: "team/**", Actions: []ocitest.Action{ocitest.Pull, ocitest.Push}}))
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	if err := reg.Push("team/app", "v1", ocitest.NewImage()); err != nil {
		panic(err)
	}
	get := func(url, token string) *http.Response {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := reg.Client().Do(req)
		if err != nil {
			panic(err)
		}
		return resp
	}

	resp := get(reg.URL()+"/v2/team/app/manifests/v1", "")
	resp.Body.Close()
	challenge := resp.Header.Get("WWW-Authenticate")
	fmt.Println(resp.StatusCode, strings.Replace(challenge, reg.URL(), "http://HOST", 1))

	// Ask the realm for the scope the challenge named, as alice.
	req, _ := http.NewRequest("GET", reg.TokenURL()+"?service=ocifixture&scope="+
		url.QueryEscape("repository:team/app:pull,push,delete"), nil)
	req.SetBasicAuth("alice", "s3cret")
	tresp, err := reg.Client().Do(req)
	if err != nil {
		panic(err)
	}
	var answer struct{ Token string }
	json.NewDecoder(tresp.Body).Decode(&answer)
	tresp.Body.Close()

	resp = get(reg.URL()+"/v2/team/app/manifests/v1", answer.Token)
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	tok, _ := reg.LastRequest()
	for _, r := range reg.Filter(ocitest.Match{Kind: ocitest.Token}) {
		fmt.Println(r.User, r.Scopes, "->", r.Granted)
	}
	fmt.Println(tok.User)
	// Output:
	// 401 Bearer realm="http://HOST/token",service="ocifixture",scope="repository:team/app:pull"
	// 200
	// alice [repository:team/app:pull,push,delete] -> [repository:team/app:pull,push]
	// alice
}
