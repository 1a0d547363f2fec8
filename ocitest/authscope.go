package ocitest

import (
	"slices"
	"strings"

	"github.com/ocifixture/ocifixture/quirks"
)

// scope is one resource scope of a token request,
// "<type>[(<class>)]:<name>:<action>[,<action>...]".
type scope struct {
	typ     string
	name    string
	actions []string
}

// parseScope parses a scope. The name may itself hold colons, so the type
// ends at the first colon and the actions start after the last.
func parseScope(s string) (scope, bool) {
	i, j := strings.IndexByte(s, ':'), strings.LastIndexByte(s, ':')
	if i <= 0 || j <= i+1 {
		return scope{}, false
	}
	typ := s[:i]
	if k := strings.IndexByte(typ, '('); k > 0 && strings.HasSuffix(typ, ")") {
		typ = typ[:k] // "repository(plugin)" is a repository
	}
	sc := scope{typ: typ, name: s[i+1 : j]}
	for a := range strings.SplitSeq(s[j+1:], ",") {
		if a != "" && !slices.Contains(sc.actions, a) {
			sc.actions = append(sc.actions, a)
		}
	}
	return sc, len(sc.actions) > 0
}

// splitScopes splits the scope parameters of a token request; each may
// itself hold several scopes separated by spaces (the OAuth2 form's
// syntax, which some clients use on GET too).
func splitScopes(params []string) []string {
	var out []string
	for _, p := range params {
		out = append(out, strings.Fields(p)...)
	}
	return out
}

// need is what a request needs: actions on a repository, the catalog, or
// (zero) only valid credentials.
type need struct {
	repo string
	acts actions
}

// needOf is what answering c takes. Uploads and manifest PUTs need pull
// and push, as in distribution (clients ask for "pull,push").
func needOf(c *call) need {
	switch c.Kind {
	case BlobGet, BlobHead, ManifestGet, ManifestHead, TagsList, ReferrersList:
		return need{c.Repo, actPull}
	case UploadStart, UploadMonolithic, UploadChunk, UploadComplete, UploadStatus, UploadCancel, BlobMount, ManifestPut:
		return need{c.Repo, actPull | actPush}
	case BlobDelete, ManifestDelete:
		if ds := c.q.Auth.DeleteScope; ds.On() && ds.Value.Needs != "" {
			c.note(ds.By)
			return need{c.Repo, actionBit(Action(ds.Value.Needs)) &^ actCatalog}
		}
		return need{c.Repo, actDelete}
	case Catalog:
		return need{acts: actCatalog}
	}
	return need{}
}

// String is the scope a client should ask for, or "" when none is needed.
func (n need) String() string {
	switch {
	case n.acts == actCatalog:
		return "registry:catalog:*"
	case n.repo == "" || n.acts == 0:
		return ""
	}
	return "repository:" + n.repo + ":" + strings.Join(n.acts.names(), ",")
}

// grantScopes works out the access a token for user gets when asking for
// scopes (already split): each scope's actions limited to what the user
// may do ("*" asks for all of them), scopes of the same resource merged.
// It returns the access claim and the granted scopes as strings.
func (au *authority) grantScopes(user string, asked []string, g quirks.ScopeGrant) ([]accessEntry, []string) {
	var parsed []scope
	for _, s := range asked {
		if sc, ok := parseScope(s); ok && (sc.typ == "repository" || sc.typ == "registry") {
			parsed = append(parsed, sc)
		}
	}
	switch {
	case len(parsed) == 0:
	case g == quirks.GrantFirstScope:
		parsed = parsed[:1]
	case g == quirks.GrantLastScope:
		parsed = parsed[len(parsed)-1:]
	case g == quirks.GrantFirstRepository:
		first := parsed[0]
		parsed = slices.DeleteFunc(parsed, func(s scope) bool { return s.typ != first.typ || s.name != first.name })
	}
	var access []accessEntry
	for _, sc := range parsed {
		var granted actions
		switch sc.typ {
		case "registry":
			if sc.name == "catalog" && slices.Contains(sc.actions, "*") {
				granted = au.allowed(user, "") & actCatalog
			}
		case "repository":
			var want actions
			for _, a := range sc.actions {
				if a == "*" {
					want |= actPull | actPush | actDelete
				} else {
					want |= actionBit(Action(a)) &^ actCatalog
				}
			}
			granted = want & au.allowed(user, sc.name)
		}
		i := slices.IndexFunc(access, func(e accessEntry) bool { return e.Type == sc.typ && e.Name == sc.name })
		if i < 0 {
			access = append(access, accessEntry{Type: sc.typ, Name: sc.name, Actions: []string{}})
			i = len(access) - 1
		}
		e := &access[i]
		if sc.typ == "registry" {
			if granted != 0 && len(e.Actions) == 0 {
				e.Actions = []string{"*"}
			}
			continue
		}
		for _, a := range granted.names() {
			if !slices.Contains(e.Actions, a) {
				e.Actions = append(e.Actions, a)
			}
		}
	}
	var out []string
	for i := range access {
		e := &access[i]
		if e.Type == "repository" {
			slices.SortFunc(e.Actions, func(a, b string) int { return actionOrder(a) - actionOrder(b) })
		}
		if len(e.Actions) > 0 {
			out = append(out, e.Type+":"+e.Name+":"+strings.Join(e.Actions, ","))
		}
	}
	return access, out
}

func actionOrder(a string) int {
	return int(actionBit(Action(a)))
}
