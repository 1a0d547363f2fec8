package quirks

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultBehavior is how a request is answered as to rate limits and
// transient failures.
type FaultBehavior struct {
	// RateLimit limits pulls as Docker Hub does, with its headers.
	RateLimit Setting[RateLimit]
	// Transient fails some requests the way proxies and overloaded
	// registries do.
	Transient Setting[Transient]
	// RetryAfter writes the Retry-After header of 429 and 503 answers in
	// an unusual form, or leaves it out.
	RetryAfter Setting[RetryAfter]
}

// Calls selects requests by what they do, for quirks that hit some calls
// only. Values combine with |; the zero value means "the quirk's default".
type Calls uint16

// Kinds of calls.
const (
	CallPing         Calls = 1 << iota // GET /v2/
	CallManifestGet                    // GET of a manifest
	CallManifestHead                   // HEAD of a manifest
	CallManifestPut                    // PUT of a manifest
	CallBlobGet                        // GET of a blob
	CallBlobHead                       // HEAD of a blob
	CallUpload                         // upload POST, PATCH, PUT, status and cancel; mounts
	CallDelete                         // DELETE of a manifest or blob
	CallList                           // tags, referrers and catalog listings
	CallToken                          // the token endpoint
	CallOther                          // anything else: unknown paths, the fixture's CDN host
	AllCalls         Calls = 1<<iota - 1
)

var callNames = []string{"ping", "manifestGet", "manifestHead", "manifestPut", "blobGet", "blobHead", "upload", "delete", "list", "token", "other"}

// String lists the calls, e.g. "manifestGet|blobGet", or "all".
func (c Calls) String() string {
	if c == AllCalls {
		return "all"
	}
	var names []string
	for i, n := range callNames {
		if c&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, "|")
}

// RateLimit is a pull rate limit: at most Limit counted requests in any
// Window (a rolling window, read from the registry's clock).
type RateLimit struct {
	// Limit is how many counted requests a window allows (Docker Hub: 100
	// anonymous, 200 authenticated).
	Limit int
	// Window is the rolling window (Docker Hub: 6h, sent as w=21600).
	Window time.Duration
	// Counted selects the requests that count and can be refused; zero
	// means manifest GETs, as Docker Hub counts (HEAD does not count).
	Counted Calls
	// HAP429 answers 429 with Docker Hub's plain-text infrastructure
	// ("abuse") limit body "Too Many Requests (HAP429)." and no RateLimit
	// headers, instead of the pull limit's TOOMANYREQUESTS JSON.
	HAP429 bool

	state *rateState
}

type rateState struct {
	mu    sync.Mutex
	times []time.Time // counted requests still in the window, oldest first
}

// CountedCalls is Counted with its default applied.
func (r RateLimit) CountedCalls() Calls {
	if r.Counted == 0 {
		return CallManifestGet
	}
	return r.Counted
}

// Take counts one request at now if the limit allows it and reports
// whether it did, with the requests left in the window after it.
func (r RateLimit) Take(now time.Time) (remaining int, ok bool) {
	if r.state == nil {
		return r.Limit, true
	}
	s := r.state
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(now, r.Window)
	if len(s.times) >= r.Limit {
		return 0, false
	}
	s.times = append(s.times, now)
	return r.Limit - len(s.times), true
}

// Remaining is how many requests the window still allows at now, without
// counting one.
func (r RateLimit) Remaining(now time.Time) int {
	if r.state == nil {
		return r.Limit
	}
	s := r.state
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(now, r.Window)
	return max(r.Limit-len(s.times), 0)
}

func (s *rateState) prune(now time.Time, window time.Duration) {
	i := 0
	for i < len(s.times) && !s.times[i].Add(window).After(now) {
		i++
	}
	s.times = s.times[i:]
}

// Header is the value of RateLimit-Limit or RateLimit-Remaining for n
// requests, Docker Hub style: "100;w=21600".
func (r RateLimit) Header(n int) string {
	return strconv.Itoa(n) + ";w=" + strconv.FormatInt(int64(r.Window/time.Second), 10)
}

// Error is the answer to a refused request.
func (r RateLimit) Error() ErrorResponse {
	if r.HAP429 {
		return ErrorResponse{Status: http.StatusTooManyRequests, Body: "Too Many Requests (HAP429).\n", ContentType: "text/plain; charset=utf-8"}
	}
	return ErrorResponse{
		Status:  http.StatusTooManyRequests,
		Code:    "TOOMANYREQUESTS",
		Message: "You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
	}
}

// FaultBody is the body style of an injected failure.
type FaultBody int

// Body styles of failures.
const (
	FaultHTML  FaultBody = iota // the proxy's HTML error page (nginx; Cloudflare's "error code: 522")
	FaultEmpty                  // no body at all
	FaultJSON                   // the spec's JSON error body (UNAVAILABLE for 503, UNKNOWN otherwise)
)

// Transient is an intermittent failure: which requests fail and how.
// Which of the matching requests fail: with Every, every Every-th one;
// else with Probability, each with that chance (from a generator seeded
// with Seed, so runs repeat); else every one. Times caps the failures
// (0: no cap), so Transient{Times: 2} fails the next two requests.
type Transient struct {
	// Status is the answer's status (default 502): 500, 502, 503, 504,
	// nginx's 499 or Cloudflare's 522.
	Status int
	// Body is the answer's body style.
	Body FaultBody
	// Reset cuts the connection instead of answering, as an "EOF" or
	// "connection reset by peer".
	Reset bool
	// Calls selects the requests that can fail; zero means every request.
	Calls Calls
	// Every fails every Every-th matching request.
	Every int
	// Probability fails each matching request with this chance (0 to 1).
	Probability float64
	// Seed seeds the generator behind Probability.
	Seed uint64
	// Times is how many requests fail at most; 0 means no limit.
	Times int

	state *transientState
}

type transientState struct {
	mu     sync.Mutex
	seen   int // matching requests so far
	failed int
	rng    *rand.Rand
}

// Fails counts a request of kind call and reports whether it fails.
func (t Transient) Fails(call Calls) bool {
	if t.Calls != 0 && t.Calls&call == 0 {
		return false
	}
	s := t.state
	if s == nil {
		return t.Every <= 1 && t.Probability == 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen++
	if t.Times > 0 && s.failed >= t.Times {
		return false
	}
	fail := true
	switch {
	case t.Every > 0:
		fail = s.seen%t.Every == 0
	case t.Probability > 0:
		fail = s.rng.Float64() < t.Probability
	}
	if fail {
		s.failed++
	}
	return fail
}

// StatusCode is Status with its default applied.
func (t Transient) StatusCode() int {
	if t.Status == 0 {
		return http.StatusBadGateway
	}
	return t.Status
}

// RetryAfterStyle is a way of writing Retry-After.
type RetryAfterStyle int

// Retry-After styles.
const (
	RetryAfterSeconds    RetryAfterStyle = iota // "2": whole seconds, rounded up (RFC 9110)
	RetryAfterHTTPDate                          // "Wed, 01 Jan 2026 00:00:02 GMT": the registry clock plus the delay (RFC 9110)
	RetryAfterGoDuration                        // "1.889377ms": Go's Duration.String, neither form RFC 9110 allows (GHCR)
	RetryAfterOmitted                           // no Retry-After header at all
)

// RetryAfter is how the Retry-After header of 429 and 503 answers is
// written.
type RetryAfter struct {
	Style RetryAfterStyle
	// Delay is the wait the header announces.
	Delay time.Duration
}

// Value is the header's value at now, "" for RetryAfterOmitted.
func (ra RetryAfter) Value(now time.Time) string {
	switch ra.Style {
	case RetryAfterHTTPDate:
		return now.Add(ra.Delay).UTC().Format(http.TimeFormat)
	case RetryAfterGoDuration:
		return ra.Delay.String()
	case RetryAfterOmitted:
		return ""
	}
	return strconv.FormatInt(int64(math.Ceil(ra.Delay.Seconds())), 10)
}

func init() {
	register("dockerhub-rate-limit", func() Quirk { return DockerHubRateLimit(RateLimit{Limit: 100, Window: 6 * time.Hour}) })
	register("retry-after-quirks", func() Quirk { return UnusualRetryAfter(RetryAfterGoDuration, 1889377*time.Nanosecond) })
	register("transient-5xx", func() Quirk {
		return TransientErrors(Transient{Status: http.StatusBadGateway, Every: 3})
	})
}

// DockerHubRateLimit limits pulls as Docker Hub does: the manifest GETs
// (rl.Counted) beyond rl.Limit in any rl.Window of the registry's clock are
// answered 429 {"errors":[{"code":"TOOMANYREQUESTS","message":"You have
// reached your pull rate limit. You may increase the limit by
// authenticating and upgrading: https://www.docker.com/increase-rate-limit"}]},
// and successful manifest GETs and HEADs carry RateLimit-Limit: 100;w=21600,
// RateLimit-Remaining: 76;w=21600 and docker-ratelimit-source: <client IP>.
// HEADs do not count (unless rl.Counted says so), as Docker documents,
// though regclient users report hitting the limit with HEADs only. With
// rl.HAP429 the answer is the infrastructure limit's bare "Too Many
// Requests (HAP429)." text instead, with no RateLimit headers. Every
// manifest GET counts, found or not. The Docker daemon does not retry a
// 429; regclient reads the headers, and regctl and containers/image use
// HEAD to spare the limit. Docker Hub's token realm is
// https://auth.docker.io/token, service registry.docker.io. The count is
// kept in the quirk value: make a new one per registry.
//
// Catalog id dockerhub-rate-limit. Evidence:
// https://github.com/docker/docs/pull/11707,
// https://github.com/docker/docs/pull/11648,
// https://github.com/docker/docs/pull/13499,
// https://github.com/docker/hub-feedback/issues/1907,
// https://github.com/docker/hub-feedback/issues/2040,
// https://github.com/moby/moby/issues/41644,
// https://github.com/regclient/regclient/issues/711
func DockerHubRateLimit(rl RateLimit) Quirk {
	rl.state = &rateState{}
	params := fmt.Sprintf("%d/%s", rl.Limit, rl.Window)
	if rl.Counted != 0 {
		params += ",counted=" + rl.Counted.String()
	}
	if rl.HAP429 {
		params += ",HAP429"
	}
	return newQuirk("dockerhub-rate-limit", params, func(b *Behavior, by string) { b.Faults.RateLimit.set(rl, by) })
}

// UnusualRetryAfter writes the Retry-After header of every 429 and 503
// answer (those of dockerhub-rate-limit, transient-5xx and other quirks;
// not those of faults injected with Registry.Inject, which carry their own
// headers) in style, announcing delay: GHCR answers a blob upload 429 with
// "retry-after: 1.889377ms", which is neither a number of seconds nor an
// HTTP-date (RetryAfterGoDuration); RetryAfterSeconds and
// RetryAfterHTTPDate are RFC 9110's forms; RetryAfterOmitted removes the
// header. The oras Python client surfaced the raw value; ggcr, containerd
// and regclient retry 429s and must parse (or ignore) the header.
//
// Catalog id retry-after-quirks. Evidence:
// https://github.com/gardenlinux/gardenlinux/issues/2585
func UnusualRetryAfter(style RetryAfterStyle, delay time.Duration) Quirk {
	ra := RetryAfter{Style: style, Delay: delay}
	params := map[RetryAfterStyle]string{RetryAfterSeconds: "seconds", RetryAfterHTTPDate: "httpDate", RetryAfterGoDuration: "goDuration", RetryAfterOmitted: "omit"}[style]
	if style != RetryAfterOmitted {
		params += " " + delay.String()
	}
	return newQuirk("retry-after-quirks", params, func(b *Behavior, by string) { b.Faults.RetryAfter.set(ra, by) })
}

// TransientErrors fails requests now and then the way registries and the
// proxies in front of them do: GHCR's 502 Bad Gateway on uploads, ECR's
// 504 on push, Docker Hub's 503 on the token endpoint, nginx's 499,
// Cloudflare's 522, with an HTML page, an empty body or the spec's JSON, or
// a connection cut with no answer at all (GitLab.com's EOFs). t says which
// requests fail: every Nth, the next N, or a seeded random share. The
// failing request changes nothing in the store. Clients need retries: ggcr
// retries 499 and 522 too, containerd retries 500/503/504 once, regclient
// backs off and then drops the host. The count is kept in the quirk value:
// make a new one per registry.
//
// Catalog id transient-5xx. Evidence:
// https://github.com/gardenlinux/gardenlinux/pull/2727,
// https://github.com/infobloxopen/konk/pull/626,
// https://github.com/duriantaco/skylos/pull/562,
// https://github.com/concourse/registry-image-resource/issues/55,
// https://github.com/nextstrain/docker-base/issues/167,
// https://github.com/google/go-containerregistry/issues/618
func TransientErrors(t Transient) Quirk {
	t.state = &transientState{rng: rand.New(rand.NewPCG(t.Seed, t.Seed^0x9e3779b97f4a7c15))}
	var p []string
	if t.Reset {
		p = append(p, "reset")
	} else {
		p = append(p, strconv.Itoa(t.StatusCode()))
		p = append(p, map[FaultBody]string{FaultHTML: "html", FaultEmpty: "empty", FaultJSON: "json"}[t.Body])
	}
	if t.Calls != 0 {
		p = append(p, "calls="+t.Calls.String())
	}
	switch {
	case t.Every > 0:
		p = append(p, fmt.Sprintf("every=%d", t.Every))
	case t.Probability > 0:
		p = append(p, fmt.Sprintf("p=%g,seed=%d", t.Probability, t.Seed))
	}
	if t.Times > 0 {
		p = append(p, fmt.Sprintf("times=%d", t.Times))
	}
	return newQuirk("transient-5xx", strings.Join(p, ","), func(b *Behavior, by string) { b.Faults.Transient.set(t, by) })
}
