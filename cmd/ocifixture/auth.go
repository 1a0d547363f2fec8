package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ocifixture/ocifixture/ocitest"
)

// authFlags are the flags that turn authentication on.
type authFlags struct {
	mode       string
	users      string
	usersFile  string
	grants     grantList
	grantsFile string
	tokenTTL   time.Duration
	service    string
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.mode, "auth", "", "authentication: basic (HTTP Basic) or token (the Docker/OCI bearer-token flow, token endpoint at /token); off if empty")
	fs.StringVar(&a.users, "users", "", "comma-separated `user:password` pairs for -auth, e.g. alice:s3cret,bob:hunter2")
	fs.StringVar(&a.usersFile, "users-file", "", "read -auth users from `file`: one user:password a line (the password is the rest of the line), lines starting with # are comments")
	fs.Var(&a.grants, "grant", "allow `user=pattern:actions` (repeatable), e.g. 'alice=team/**:pull,push,delete' or '<anonymous>=public/*:pull'; "+
		"user is a name, <anonymous> or * (every user); actions: pull, push, delete, catalog, *; without grants every user may do everything")
	fs.StringVar(&a.grantsFile, "grants-file", "", "read grants from `file`: one user=pattern:actions a line, lines starting with # are comments")
	fs.DurationVar(&a.tokenTTL, "token-ttl", 0, "lifetime of tokens with -auth token (default 5m)")
	fs.StringVar(&a.service, "token-service", "", "service name of the token flow with -auth token (default ocifixture)")
}

// grantList collects repeated -grant flags.
type grantList []ocitest.Grant

func (g *grantList) String() string { return fmt.Sprint(len(*g), " grants") }

func (g *grantList) Set(s string) error {
	gr, err := parseGrant(s)
	if err != nil {
		return err
	}
	*g = append(*g, gr)
	return nil
}

// options turns the flags into registry options (none with auth off) and
// a line describing the setup for the log.
func (a *authFlags) options() ([]ocitest.Option, string, error) {
	setup := a.users != "" || a.usersFile != "" || len(a.grants) > 0 || a.grantsFile != "" || a.tokenTTL != 0 || a.service != ""
	switch a.mode {
	case "":
		if setup {
			return nil, "", errors.New("-users, -users-file, -grant, -grants-file, -token-ttl and -token-service need -auth basic or -auth token")
		}
		return nil, "", nil
	case "basic":
		if a.tokenTTL != 0 || a.service != "" {
			return nil, "", errors.New("-token-ttl and -token-service need -auth token")
		}
	case "token":
		if a.tokenTTL < 0 {
			return nil, "", fmt.Errorf("-token-ttl %v is negative", a.tokenTTL)
		}
	default:
		return nil, "", fmt.Errorf("-auth %q: want basic or token", a.mode)
	}

	users := map[string]string{}
	if err := addUsers(users, "-users", strings.Split(a.users, ",")); err != nil {
		return nil, "", err
	}
	grants := slices.Clone([]ocitest.Grant(a.grants))
	if a.usersFile != "" {
		lines, err := readLines(a.usersFile)
		if err != nil {
			return nil, "", err
		}
		if err := addUsers(users, a.usersFile, lines); err != nil {
			return nil, "", err
		}
	}
	if a.grantsFile != "" {
		lines, err := readLines(a.grantsFile)
		if err != nil {
			return nil, "", err
		}
		for i, l := range lines {
			if l == "" {
				continue
			}
			g, err := parseGrant(l)
			if err != nil {
				return nil, "", fmt.Errorf("%s:%d: %w", a.grantsFile, i+1, err)
			}
			grants = append(grants, g)
		}
	}
	anonymous := slices.ContainsFunc(grants, func(g ocitest.Grant) bool { return g.User == ocitest.Anonymous })
	if len(users) == 0 && !anonymous {
		return nil, "", errors.New("-auth: no users (-users, -users-file) and no grant for <anonymous>: nobody could do anything")
	}

	var opts []ocitest.Option
	if a.mode == "basic" {
		opts = append(opts, ocitest.WithBasicAuth(users, grants...))
	} else {
		opts = append(opts, ocitest.WithTokenAuth(users, grants...))
		if a.tokenTTL != 0 {
			opts = append(opts, ocitest.WithTokenTTL(a.tokenTTL))
		}
		if a.service != "" {
			opts = append(opts, ocitest.WithTokenService(a.service))
		}
	}
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	slices.Sort(names)
	desc := fmt.Sprintf("%s, users: %s", a.mode, strings.Join(names, ", "))
	if len(names) == 0 {
		desc = a.mode + ", no users"
	}
	if len(grants) == 0 {
		desc += "; every user may do everything"
	}
	for _, g := range grants {
		desc += "; " + formatGrant(g)
	}
	return opts, desc, nil
}

// addUsers adds "user:password" entries (empty ones skipped) to users.
// The password is everything after the first colon.
func addUsers(users map[string]string, source string, entries []string) error {
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		where := source
		if source != "-users" {
			where = fmt.Sprintf("%s:%d", source, i+1)
		}
		u, p, ok := strings.Cut(e, ":")
		switch {
		case !ok || u == "":
			return fmt.Errorf("%s: %q is not user:password", where, e)
		case u == ocitest.Anonymous || u == ocitest.AnyUser:
			return fmt.Errorf("%s: %q is a reserved name, not a user", where, u)
		}
		if _, dup := users[u]; dup {
			return fmt.Errorf("%s: user %q given twice", where, u)
		}
		users[u] = p
	}
	return nil
}

// readLines reads a users or grants file: its lines with surrounding space
// removed, comment lines (starting with #) and blank lines kept as "" so
// that line numbers stay right. A # elsewhere is part of the line: it may
// be in a password.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return scanLines(f)
}

func scanLines(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			line = ""
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// parseGrant parses "user=pattern:actions", e.g. "alice=team/**:pull,push".
// The pattern may be empty ("alice=:catalog") and ends at the last colon
// (repository names hold none).
func parseGrant(s string) (ocitest.Grant, error) {
	user, rest, ok := strings.Cut(strings.TrimSpace(s), "=")
	user = strings.TrimSpace(user)
	i := strings.LastIndexByte(rest, ':')
	if !ok || user == "" || i < 0 {
		return ocitest.Grant{}, fmt.Errorf("grant %q: want user=pattern:actions, e.g. alice=team/**:pull,push", s)
	}
	g := ocitest.Grant{User: user, Repos: strings.TrimSpace(rest[:i])}
	for a := range strings.SplitSeq(rest[i+1:], ",") {
		a = strings.TrimSpace(a)
		switch ocitest.Action(a) {
		case ocitest.Pull, ocitest.Push, ocitest.Delete, ocitest.ListCatalog, ocitest.AllActions:
			g.Actions = append(g.Actions, ocitest.Action(a))
		case "":
		default:
			return ocitest.Grant{}, fmt.Errorf("grant %q: unknown action %q (want pull, push, delete, catalog or *)", s, a)
		}
	}
	if len(g.Actions) == 0 {
		return ocitest.Grant{}, fmt.Errorf("grant %q names no action", s)
	}
	return g, nil
}

// formatGrant writes a grant back in -grant syntax.
func formatGrant(g ocitest.Grant) string {
	acts := make([]string, len(g.Actions))
	for i, a := range g.Actions {
		acts[i] = string(a)
	}
	return g.User + "=" + g.Repos + ":" + strings.Join(acts, ",")
}
