// Package ocifixture is the root of a Go library that gives tests a real,
// spec-complete OCI / Docker container registry in process, and can make it
// misbehave the way real registries do.
//
// The packages:
//
//   - [github.com/ocifixture/ocifixture/ocitest]: the registry for tests,
//     ocitest.New(t), an httptest server implementing the OCI distribution
//     spec.
//   - [github.com/ocifixture/ocifixture/memstore]: the concurrency-safe
//     in-memory content store behind it, usable on its own.
//   - ocifixture/cmd/ocifixture: the same registry as a standalone process.
//
// This package holds no code; its tests run the official OCI conformance
// suite against the registry and guard the module's dependencies.
package ocifixture
