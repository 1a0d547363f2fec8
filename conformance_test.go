package ocifixture_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocifixture/ocifixture/ocitest"
)

// conformanceModule pins the official OCI distribution-spec conformance suite,
// so that a new upstream commit cannot change what "conformant" means under us.
const conformanceModule = "github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111"

// conformanceToggles turns on every optional API and data set the suite knows.
// Several of them (sparse data, upload cancel, digest headers, tag parameters)
// are off by default for OCI_VERSION=1.1; listing them all explicitly makes
// both version runs exercise the same, complete set of checks instead of
// depending on the suite's per-version defaults.
var conformanceToggles = []string{
	"OCI_API_PING",
	"OCI_API_PULL",
	"OCI_API_PUSH",
	"OCI_API_BLOBS_ATOMIC",
	"OCI_API_BLOBS_DELETE",
	"OCI_API_BLOBS_DIGEST_HEADER",
	"OCI_API_BLOBS_MOUNT_ANONYMOUS",
	"OCI_API_BLOBS_UPLOAD_CANCEL",
	"OCI_API_MANIFESTS_ATOMIC",
	"OCI_API_MANIFESTS_DELETE",
	"OCI_API_MANIFESTS_DIGEST_HEADER",
	"OCI_API_MANIFESTS_TAG_PARAM",
	"OCI_API_TAGS_ATOMIC",
	"OCI_API_TAGS_DELETE",
	"OCI_API_TAGS_LIST",
	"OCI_API_REFERRER",
	"OCI_DATA_IMAGE",
	"OCI_DATA_INDEX",
	"OCI_DATA_INDEX_LIST",
	"OCI_DATA_SPARSE",
	"OCI_DATA_ARTIFACT",
	"OCI_DATA_SUBJECT",
	"OCI_DATA_SUBJECT_MISSING",
	"OCI_DATA_ARTIFACT_LIST",
	"OCI_DATA_SUBJECT_LIST",
	"OCI_DATA_DATA_FIELD",
	"OCI_DATA_NONDISTRIBUTABLE",
	"OCI_DATA_CUSTOM_FIELDS",
	"OCI_DATA_NO_LAYERS",
	"OCI_DATA_EMPTY_BLOB",
	"OCI_DATA_SHA512",
}

const (
	// The suite's HTTP client has no timeouts, so a registry that hangs would
	// otherwise stall until the go test deadline and lose the diagnostics.
	conformanceRunTimeout = 5 * time.Minute
	// A cold build downloads the suite's dependencies from the module proxy.
	conformanceBuildTimeout = 5 * time.Minute
	// How much of the suite's own output to show when a run fails.
	conformanceTailLines = 60
)

func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the OCI conformance suite in -short mode")
	}
	bin := buildConformance(t)
	for _, version := range []string{"1.1", "dev"} {
		t.Run(version, func(t *testing.T) {
			res := runConformance(t, bin, version)
			if res.failed.total > 0 {
				t.Error(res.failureReport())
			}
		})
	}
	// The same suite with authentication on. The suite logs in with
	// OCI_USERNAME and OCI_PASSWORD: its HTTP client (api.go of the pinned
	// suite, not reggie as in older suites) answers any 401 once, a Basic
	// challenge with those credentials, a Bearer challenge by a GET of the
	// challenge's realm with the service and scope it names and the
	// credentials as Basic; it caches the answer per host, repository and
	// pull (GET, HEAD) or push (POST, PATCH, PUT) or DELETE. The checks do
	// not depend on the spec version, so dev alone runs them.
	//
	// Expected skips (the suite's record of an allowed fallback, not
	// failures): with auth on, a mount without "from" opens a session
	// (202) instead of searching every repository, in both runs; and with
	// token auth the mount from repo1 into repo2 is a 202 too, because the
	// suite asks the token endpoint only for the challenge's scope
	// (repository:conformance/repo2:pull,push), so its token never holds
	// pull on the source, and the fixture then falls back to a session as
	// registries do (TestAuthMatrix checks the 201 with a token that names
	// the source).
	users := map[string]string{conformanceUser: conformancePassword}
	grants := []ocitest.Grant{{User: conformanceUser, Repos: "conformance/**", Actions: []ocitest.Action{ocitest.Pull, ocitest.Push, ocitest.Delete}}}
	for _, tc := range []struct {
		name string
		opt  ocitest.Option
	}{
		{"dev-basic-auth", ocitest.WithBasicAuth(users, grants...)},
		{"dev-token-auth", ocitest.WithTokenAuth(users, grants...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runConformanceLogin(t, bin, "dev", conformanceUser, conformancePassword, checkAuthenticated, tc.opt)
			if res.failed.total > 0 {
				t.Error(res.failureReport())
			}
		})
	}
}

// The suite's login in the runs with authentication.
const (
	conformanceUser     = "conformance"
	conformancePassword = "conformance-pw"
)

// checkAuthenticated makes sure an auth run really ran with auth: the
// registry challenged, and every request it answered with success (the
// token endpoint aside) came from the suite's user.
func checkAuthenticated(t *testing.T, reg *ocitest.Registry) {
	t.Helper()
	reqs := reg.Requests()
	var challenged, served, tokens int
	for _, r := range reqs {
		switch {
		case r.Kind == ocitest.Token:
			tokens++
		case r.Status == 401:
			challenged++
		case r.Status < 400:
			served++
			if r.User != conformanceUser {
				t.Errorf("request %s answered %d for user %q, want %q", r, r.Status, r.User, conformanceUser)
			}
		}
	}
	t.Logf("auth: %d requests, %d challenged, %d token requests, %d served to %s", len(reqs), challenged, tokens, served, conformanceUser)
	if challenged == 0 || served == 0 {
		t.Errorf("the registry challenged %d requests and served %d: auth was not exercised", challenged, served)
	}
	if reg.TokenURL() != "" && tokens == 0 {
		t.Errorf("token auth, but the suite never asked for a token")
	}
}

// buildConformance compiles the pinned suite into a temporary directory and
// returns the path of the binary.
func buildConformance(t *testing.T) string {
	t.Helper()
	gobin := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), conformanceBuildTimeout)
	defer cancel()
	// "go build pkg@version" is rejected ("can only use path@version syntax
	// with 'go get' and 'go install'"), but "go install pkg@version" builds the
	// suite with its own go.mod, independent of ours, so it needs no require
	// line here. GOFLAGS=-mod=mod overrides an inherited -mod=vendor, with
	// which "go install pkg@version" refuses to query the module at all.
	cmd := exec.CommandContext(ctx, "go", "install", conformanceModule)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go install %s: %v\n%s", conformanceModule, err, out)
	}
	return filepath.Join(gobin, "conformance")
}

// conformanceResult is what one run of the suite found.
type conformanceResult struct {
	failed caseGroups
	output string
}

// failingNames lists the distinct names of failing test cases, sorted.
func (r conformanceResult) failingNames() []string {
	names := make([]string, 0, len(r.failed.groups))
	for _, g := range r.failed.groups {
		names = append(names, strings.TrimPrefix(g.name, "OCI Conformance Test/"))
	}
	slices.Sort(names)
	return names
}

// failureReport lists every failing test case with its message, then the
// end of the suite's output.
func (r conformanceResult) failureReport() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d conformance test cases failed (%d distinct names):\n", r.failed.total, len(r.failed.groups))
	for _, g := range r.failed.groups {
		fmt.Fprintf(&b, "  %s\n", g)
	}
	fmt.Fprintf(&b, "suite output (last %d lines):\n%s", conformanceTailLines, tail(r.output, conformanceTailLines))
	return b.String()
}

func runConformance(t *testing.T, bin, version string, opts ...ocitest.Option) conformanceResult {
	return runConformanceLogin(t, bin, version, "", "", nil, opts...)
}

// runConformanceLogin runs the suite logged in as user (none if empty) and,
// if check is not nil, calls it with the registry after the run.
func runConformanceLogin(t *testing.T, bin, version, user, password string, check func(*testing.T, *ocitest.Registry), opts ...ocitest.Option) conformanceResult {
	reg, err := ocitest.Start(opts...)
	if err != nil {
		t.Fatalf("ocitest.Start: %v", err)
	}
	defer reg.Close()

	host := reg.Host()
	// The suite must only ever talk to the in-process registry.
	if h, _, err := net.SplitHostPort(host); err != nil || !isLoopback(h) {
		t.Fatalf("registry host %q is not a loopback address", host)
	}

	// Run in an empty directory: the suite silently loads ./oci-conformance.yaml
	// from its working directory if one exists.
	workDir := t.TempDir()
	resultsDir := filepath.Join(workDir, "results")
	env := []string{
		"OCI_VERSION=" + version,
		"OCI_REGISTRY=" + host,
		"OCI_TLS=disabled", // plain http; any other value means https
		"OCI_REPO1=conformance/repo1",
		"OCI_REPO2=conformance/repo2",
		"OCI_RESULTS_DIR=" + resultsDir,
		"OCI_LOG=warn",
	}
	for _, name := range conformanceToggles {
		env = append(env, name+"=true")
	}
	if user != "" {
		env = append(env, "OCI_USERNAME="+user, "OCI_PASSWORD="+password)
	}

	ctx, cancel := context.WithTimeout(t.Context(), conformanceRunTimeout)
	defer cancel()
	var output bytes.Buffer
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = workDir
	cmd.Env = append(environWithoutOCI(), env...)
	cmd.Stdout = &output
	cmd.Stderr = &output
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("conformance suite (OCI_VERSION=%s) ran in %v", version, time.Since(start).Round(time.Millisecond))

	// The exit code is not the verdict: the suite exits 0 when it cannot load
	// its configuration (writing no report) and 1 for any failure, so the
	// junit report decides. Only a run that did not finish is an error here.
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		t.Fatalf("running conformance suite: %v\n%s", runErr, tail(output.String(), conformanceTailLines))
	}
	if ctx.Err() != nil {
		t.Fatalf("conformance suite did not finish within %v\n%s", conformanceRunTimeout, tail(output.String(), conformanceTailLines))
	}

	report, err := readJUnit(filepath.Join(resultsDir, "junit.xml"))
	if err != nil {
		t.Fatalf("conformance suite (exit: %v) left no usable report: %v\n%s", runErr, err, tail(output.String(), conformanceTailLines))
	}

	var passed, skipped int
	var failed, skips caseGroups
	for _, tc := range report.testCases() {
		switch tc.verdict() {
		case "passed":
			passed++
		case "skipped":
			skipped++
			skips.add(tc.Name, tc.message())
		default:
			failed.add(tc.Name, tc.message())
		}
	}
	total := passed + skipped + failed.total
	t.Logf("OCI_VERSION=%s: %d test cases: %d passed, %d failed, %d skipped (suite assertions: %s)",
		version, total, passed, failed.total, skipped, report.assertionSummary())
	// Skips are the suite's way of recording an unsupported-but-allowed
	// fallback (e.g. no OCI-Tag header); they are not failures, but they are
	// worth seeing when running with -v.
	for _, g := range skips.groups {
		t.Logf("skipped: %s", g)
	}

	// An empty or all-skipped report means the registry was never really
	// exercised, even though nothing failed.
	if failed.total == 0 && passed == 0 {
		t.Errorf("junit report has %d test cases and none passed\n%s", total, tail(output.String(), conformanceTailLines))
	}
	if check != nil {
		check(t, reg)
	}
	return conformanceResult{failed: failed, output: output.String()}
}

// environWithoutOCI returns the test's environment minus every OCI_* variable:
// the suite also honours legacy variables (OCI_ROOT_URL, OCI_NAMESPACE,
// OCI_TEST_PUSH, ...) and OCI_CONFIGURATION, any of which would silently
// change what is tested.
func environWithoutOCI() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OCI_") {
			env = append(env, kv)
		}
	}
	return env
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// junitSuites mirrors the junit.xml written by the conformance suite. The
// pinned suite records each verdict only in the testcase's status attribute
// ("passed", "skipped", "failure" or "error") and the failure text in
// <system-out>; the standard <failure>/<error>/<skipped> elements are decoded
// too so that a suite that starts emitting them is still judged correctly.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Disabled  int         `xml:"disabled,attr"`
	TestCases []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Status    string        `xml:"status,attr"`
	Failure   *junitMessage `xml:"failure"`
	Error     *junitMessage `xml:"error"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut string        `xml:"system-out"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func readJUnit(path string) (*junitSuites, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var report junitSuites
	if err := xml.Unmarshal(data, &report); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return &report, nil
}

func (r *junitSuites) testCases() []junitCase {
	var cases []junitCase
	for _, s := range r.Suites {
		cases = append(cases, s.TestCases...)
	}
	return cases
}

// assertionSummary reports the suite's own counters, which count individual
// assertions rather than test cases and so differ from the test case totals.
func (r *junitSuites) assertionSummary() string {
	var tests, failures, errs, skipped, disabled int
	for _, s := range r.Suites {
		tests += s.Tests
		failures += s.Failures
		errs += s.Errors
		skipped += s.Skipped
		disabled += s.Disabled
	}
	return fmt.Sprintf("%d total, %d failures, %d errors, %d skipped, %d disabled", tests, failures, errs, skipped, disabled)
}

// verdict normalises a test case to "passed", "skipped" or "failed". Unknown
// statuses count as failures so that a format change cannot hide problems.
func (tc junitCase) verdict() string {
	switch tc.Status {
	case "passed":
		return "passed"
	case "skipped":
		return "skipped"
	case "":
		switch {
		case tc.Failure != nil || tc.Error != nil:
			return "failed"
		case tc.Skipped != nil:
			return "skipped"
		default:
			return "passed"
		}
	default: // "failure", "error" or anything unexpected
		return "failed"
	}
}

// message returns the first lines of whatever explains the verdict.
func (tc junitCase) message() string {
	for _, m := range []*junitMessage{tc.Failure, tc.Error, tc.Skipped} {
		if m == nil {
			continue
		}
		if s := firstLines(m.Message, 2); s != "" {
			return s
		}
		if s := firstLines(m.Text, 2); s != "" {
			return s
		}
	}
	if s := firstLines(tc.SystemOut, 2); s != "" {
		return s
	}
	return fmt.Sprintf("(no message, status %q)", tc.Status)
}

// caseGroups collects test cases by name, in first-seen order. The suite
// reuses a name for every blob or manifest it checks (".../push/blob-post-put"
// appears once per blob), so listing each occurrence would drown the report.
type caseGroups struct {
	total  int
	groups []*caseGroup
	byName map[string]*caseGroup
}

type caseGroup struct {
	name    string
	count   int
	message string // from the first occurrence
}

func (c *caseGroups) add(name, message string) {
	c.total++
	if c.byName == nil {
		c.byName = make(map[string]*caseGroup)
	}
	g, ok := c.byName[name]
	if !ok {
		g = &caseGroup{name: name, message: message}
		c.byName[name] = g
		c.groups = append(c.groups, g)
	}
	g.count++
}

func (g *caseGroup) String() string {
	name := strings.TrimPrefix(g.name, "OCI Conformance Test/")
	if g.count > 1 {
		name = fmt.Sprintf("%s (x%d)", name, g.count)
	}
	return name + ": " + strings.ReplaceAll(g.message, "\n", " | ")
}

// firstLines returns up to n non-blank lines of s, each cut to a readable
// length; the suite's messages can embed multi-kilobyte response bodies.
func firstLines(s string, n int) string {
	const maxLine = 300
	var lines []string
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(line) > maxLine {
			line = line[:maxLine] + "..."
		}
		lines = append(lines, line)
		if len(lines) == n {
			break
		}
	}
	return strings.Join(lines, "\n")
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
