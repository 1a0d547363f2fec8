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
