// Package quirks is the catalog of real-registry behaviours as code: each
// quirk is a documented toggle that makes the ocitest registry answer the
// way a named registry (ECR, GHCR, Docker Hub, ...) does on the wire, with
// the evidence that clients broke on it.
//
// A Quirk is a value made by one constructor per behaviour, e.g.
// MaxPageSize(1000) or OmitDigestOnTagGet(). Presets such as ECR() bundle
// the quirks of one registry. The server resolves the active quirks into a
// Behavior for each request (Resolve) and consults it at the few points
// where registries differ; each Setting remembers which quirk set it, so
// the request log can say which quirks changed a response.
//
// The package is data and small pure functions: it knows nothing of the
// store or of HTTP servers.
package quirks
