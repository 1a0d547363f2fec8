package ocitest_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ocifixture/ocifixture/ocitest"
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
