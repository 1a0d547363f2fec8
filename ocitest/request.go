package ocitest

import (
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"
)

// Request is one recorded exchange with the registry. All fields are
// exported values, so recorded requests compare with go-cmp.
type Request struct {
	// Seq numbers requests from 1 in arrival order.
	Seq  int
	Kind Kind
	// Method, Path and Query are the request's, as sent.
	Method string
	Path   string
	Query  url.Values
	// Repo, Reference (tag or digest) and UploadID are what the path
	// addresses, empty where the endpoint has none.
	Repo      string
	Reference string
	UploadID  string
	Header    http.Header
	// BodySize is the number of request body bytes the registry read; Body
	// holds the first MaxCapturedBody of them, except for blob content:
	// the body of an UploadMonolithic, UploadChunk or UploadComplete is
	// counted but not kept (Body is nil). A client's layers are in the
	// store once pushed (Registry.Store), and a copy in every record would
	// make each push cost memory in proportion to the blob.
	BodySize int64
	Body     []byte
	// Status, ResponseHeader and ResponseSize describe the answer. A
	// dropped connection records Status 0.
	Status         int
	ResponseHeader http.Header
	ResponseSize   int64
	// User is who the request authenticated as, with WithBasicAuth or
	// WithTokenAuth: a user name, or Anonymous for a request without
	// valid credentials (a token request with wrong ones included). It is
	// empty when authentication is off, and for requests refused before
	// the auth check (faults).
	User string
	// Scopes and Granted are a token request's (Kind Token): the scopes
	// the client asked for, one per entry as sent (a scope parameter
	// holding several separated by spaces is split), and the scopes the
	// token grants, "repository:<name>:<actions>" with the actions the
	// user may have, same resources merged.
	Scopes  []string
	Granted []string
	// Quirks and Faults name what changed this response, if anything.
	Quirks []string
	Faults []string
	// Time is when the request arrived (by the registry's clock), Duration
	// how long it took to answer.
	Time     time.Time
	Duration time.Duration
}

// MaxCapturedBody is how many bytes of each request body are kept in
// Request.Body (blob content is not kept); the rest is counted but not
// stored.
const MaxCapturedBody = 64 << 10

// String is the request's one-line summary, e.g.
// "GET /v2/app/manifests/v1 -> 200". The query, if any, is shown sorted by
// key and unescaped. A dropped request ends in "-> dropped".
func (r Request) String() string {
	target := r.Path
	if len(r.Query) > 0 {
		// Sorted and decoded, so lines are predictable and readable:
		// "?digest=sha256:…", not "?digest=sha256%3A…".
		q := r.Query.Encode()
		if dq, err := url.QueryUnescape(q); err == nil {
			q = dq
		}
		target += "?" + q
	}
	status := "dropped"
	if r.Status != 0 {
		status = strconv.Itoa(r.Status)
	}
	return r.Method + " " + target + " -> " + status
}

// Match selects requests. Zero fields match anything; set fields must all
// match. Repo and Reference are path.Match patterns ("team/*"), so an exact
// name matches itself.
type Match struct {
	Kind      Kind
	Method    string
	Repo      string
	Reference string
	// Status matches the response status; faults ignore it, since they act
	// before there is a response.
	Status int
	// Func, if set, must also return true. It runs while the registry holds
	// internal locks, so it must not call the registry's methods.
	Func func(Request) bool
}

// Matches reports whether r is selected by m.
func (m Match) Matches(r Request) bool {
	return m.matchesRequest(r) && (m.Status == 0 || m.Status == r.Status)
}

// matchesRequest checks everything known before the response.
func (m Match) matchesRequest(r Request) bool {
	return (m.Kind == AnyKind || m.Kind == r.Kind) &&
		(m.Method == "" || m.Method == r.Method) &&
		matchPattern(m.Repo, r.Repo) &&
		matchPattern(m.Reference, r.Reference) &&
		(m.Func == nil || m.Func(r))
}

func matchPattern(pattern, s string) bool {
	if pattern == "" || pattern == s {
		return true
	}
	ok, err := path.Match(pattern, s)
	return ok && err == nil
}
