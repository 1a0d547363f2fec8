package quirks

import (
	"path"
	"slices"
	"strings"
)

// Quirk is one real-registry behaviour, ready to switch on. The zero
// value does nothing. Quirks are values safe for concurrent use; those that
// count requests (rate limits, every-Nth failures, truncation, lag) keep
// their count in the value, so make a new one for each registry.
type Quirk struct {
	id     string
	params string
	repos  string // path.Match pattern; empty: every repository
	apply  func(b *Behavior, by string)
}

// newQuirk makes a quirk of catalog entry id; params describes its
// parameters for people ("1000", "status=405").
func newQuirk(id, params string, apply func(b *Behavior, by string)) Quirk {
	if _, ok := catalogEntry(id); !ok {
		panic("quirks: no catalog entry " + id) // a programming error in this package
	}
	return Quirk{id: id, params: params, apply: apply}
}

// ID is the quirk's catalog id, e.g. "ecr-page-limit".
func (q Quirk) ID() string { return q.id }

// String names the quirk with its parameters and scope, e.g.
// "ecr-page-limit(1000)" or "no-referrers-api@team/*".
func (q Quirk) String() string {
	s := q.id
	if q.params != "" {
		s += "(" + q.params + ")"
	}
	if q.repos != "" {
		s += "@" + q.repos
	}
	return s
}

// Info is the quirk's catalog entry.
func (q Quirk) Info() Info {
	info, _ := catalogEntry(q.id)
	return info
}

// ForRepos limits quirks to repositories matching pattern (path.Match
// syntax: "team/*" matches "team/app" but not "team/a/b"), so one registry
// can hold repositories that behave differently. Requests that name no
// repository (ping, catalog) are outside every pattern.
func ForRepos(pattern string, qs ...Quirk) []Quirk {
	out := make([]Quirk, len(qs))
	for i, q := range qs {
		q.repos = pattern
		out[i] = q
	}
	return out
}

// appliesTo reports whether q is active for a request to repo.
func (q Quirk) appliesTo(repo string) bool {
	if q.apply == nil {
		return false
	}
	if q.repos == "" {
		return true
	}
	ok, err := path.Match(q.repos, repo)
	return ok && err == nil && repo != ""
}

// Resolve works out how a request to repository repo behaves under qs (a
// request without a repository passes ""). Later quirks override earlier
// ones that set the same thing.
//
// The result must not be modified: when no quirk applies (the common case
// of a registry without quirks) every call returns the same Behavior, the
// spec's, so that a request costs no allocation for quirks it does not use.
func Resolve(qs []Quirk, repo string) *Behavior {
	var b *Behavior
	for _, q := range qs {
		if q.appliesTo(repo) {
			if b == nil {
				b = &Behavior{}
			}
			q.apply(b, q.String())
		}
	}
	if b == nil {
		return &specBehavior
	}
	return b
}

// specBehavior is the Behavior of a request no quirk applies to.
var specBehavior Behavior

// Names lists the quirks' String forms, for logs and messages.
func Names(qs []Quirk) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.String()
	}
	return out
}

// Info describes one catalog entry.
type Info struct {
	// ID is the catalog id, e.g. "no-digest-on-tag-get".
	ID string
	// Group is the catalog section, e.g. "Response headers and metadata".
	Group string
	// Summary is the one-line description.
	Summary string
	// Wire is what the registry does on the wire, as reported.
	Wire string
	// Registries names where it has been seen.
	Registries string
	// Strength is the evidence grade: E3 (several independent client
	// breakages), E2 (one concrete report), E1 (indirect), F (folklore).
	Strength string
	// Evidence links the issues and pull requests where clients broke.
	Evidence []string
}

func catalogEntry(id string) (Info, bool) {
	i := slices.IndexFunc(catalog, func(e Info) bool { return e.ID == id })
	if i < 0 {
		return Info{}, false
	}
	return catalog[i], true
}

// Catalog returns every entry of the catalog, implemented here or not.
func Catalog() []Info { return slices.Clone(catalog) }

// All returns the catalog entries this package implements, in catalog
// order: those a constructor in Constructors makes.
func All() []Info {
	var out []Info
	for _, e := range catalog {
		if _, ok := examples[e.ID]; ok {
			out = append(out, e)
		}
	}
	return out
}

// Example returns a quirk of catalog entry id with typical parameters
// (those of the registry the catalog names first), and whether this
// package implements id.
func Example(id string) (Quirk, bool) {
	mk, ok := examples[id]
	if !ok {
		return Quirk{}, false
	}
	return mk(), true
}

// examples maps each implemented catalog id to a constructor call with
// typical parameters. Each quirk file registers its own in init.
var examples = map[string]func() Quirk{}

func register(id string, example func() Quirk) {
	if _, ok := catalogEntry(id); !ok {
		panic("quirks: no catalog entry " + id)
	}
	examples[id] = example
}

// Lookup finds a preset or quirk by name, as the command line names them:
// a preset name ("ecr", "dockerhub", case-insensitive) or a quirk id with
// typical parameters ("no-referrers-api").
func Lookup(name string) ([]Quirk, bool) {
	if p, ok := presetByName(name); ok {
		return p, true
	}
	if q, ok := Example(strings.ToLower(name)); ok {
		return []Quirk{q}, true
	}
	return nil, false
}
