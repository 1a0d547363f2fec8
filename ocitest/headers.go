package ocitest

import "net/http"

// setHeaders sets each key of kv (key, value, key, value, ...) to its
// value, as h.Set does, but with one allocation for all the values instead
// of one each, and without canonicalizing the keys: each key must be a
// string literal already in canonical form (http.CanonicalHeaderKey),
// which TestSetHeadersKeysCanonical checks at every call in this package.
// A small answer sets half a dozen headers, and their allocations and key
// scans were a good part of what the fixture cost above net/http.
func setHeaders(h http.Header, kv ...string) {
	vals := make([]string, len(kv)/2)
	for i := range vals {
		vals[i] = kv[2*i+1]
		// A value slice of capacity one: a later Add copies it rather
		// than writing into its neighbour.
		h[kv[2*i]] = vals[i : i+1 : i+1]
	}
}
