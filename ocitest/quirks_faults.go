package ocitest

import (
	"fmt"
	"net"
	"net/http"
	"strconv"

	"github.com/ocifixture/ocifixture/memstore"
	"github.com/ocifixture/ocifixture/quirks"
)

// Rate limits and transient faults (catalog section 10), applied by
// serveQuirks before the spec handlers.

// failTransient answers a request the transient-5xx quirk fails: an error
// page, an empty body, the spec's JSON, or a connection cut short.
func failTransient(w http.ResponseWriter, r *http.Request, c *call) {
	t := c.q.Faults.Transient
	c.note(t.By)
	if t.Value.Reset {
		panic(http.ErrAbortHandler) // no answer: the client reads EOF
	}
	status := t.Value.StatusCode()
	if t.Value.Body == quirks.FaultJSON {
		writeError(w, &apiError{Status: status, Err: &memstore.Error{Code: faultCode(status, c.Kind), Message: statusText(status)}})
		return
	}
	h := w.Header()
	h.Del("Docker-Distribution-API-Version") // the proxy answers, not the registry
	var body string
	if t.Value.Body == quirks.FaultHTML {
		body, h["Content-Type"] = proxyErrorPage(status)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write([]byte(body))
	}
}

// proxyErrorPage is the page a proxy answers status with: Cloudflare's
// one-liner for its 52x codes, nginx's HTML otherwise.
func proxyErrorPage(status int) (string, []string) {
	if status >= 520 && status <= 530 {
		return fmt.Sprintf("error code: %d", status), []string{"text/plain; charset=UTF-8"}
	}
	title := fmt.Sprintf("%d %s", status, statusText(status))
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", []string{"text/html"}
}

func statusText(status int) string {
	switch status {
	case 499:
		return "Client Closed Request"
	case 522:
		return "Connection Timed Out"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

// rateLimit applies dockerhub-rate-limit: a counted request over the limit
// is refused (true: answered); successful manifest answers carry the
// RateLimit headers.
func (reg *Registry) rateLimit(w *quirkWriter, r *http.Request, c *call) bool {
	s := c.q.Faults.RateLimit
	rl := s.Value
	now := reg.clock.Now()
	remaining := -1
	if rl.CountedCalls()&callOf(c.Kind) != 0 {
		n, ok := rl.Take(now)
		if !ok {
			c.note(s.By)
			writeQuirkError(w, r, rl.Error())
			return true
		}
		remaining = n
	}
	if rl.HAP429 || (c.Kind != ManifestGet && c.Kind != ManifestHead) {
		return false
	}
	if remaining < 0 {
		remaining = rl.Remaining(now) // a request that does not count
	}
	source, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		source = r.RemoteAddr
	}
	w.before = append(w.before, func(status int, h http.Header) {
		if status/100 != 2 {
			return
		}
		h.Set("RateLimit-Limit", rl.Header(rl.Limit))
		h.Set("RateLimit-Remaining", rl.Header(remaining))
		h.Set("Docker-RateLimit-Source", source)
		c.note(s.By)
	})
	return false
}

// retryAfterHook writes the Retry-After of 429 and 503 answers the way the
// retry-after-quirks quirk says.
func (reg *Registry) retryAfterHook(c *call) func(int, http.Header) {
	ra := c.q.Faults.RetryAfter
	return func(status int, h http.Header) {
		if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
			return
		}
		v, was := ra.Value.Value(reg.clock.Now()), h.Values("Retry-After")
		if len(was) == 1 && was[0] == v || len(was) == 0 && v == "" {
			return // already so
		}
		if v != "" {
			h.Set("Retry-After", v)
		} else {
			h.Del("Retry-After")
		}
		c.note(ra.By)
	}
}
