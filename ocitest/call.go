package ocitest

import (
	"slices"

	"github.com/ocifixture/ocifixture/quirks"
)

// call is one request on its way through the handlers: the route it
// addresses, how the active quirks make it behave, and which of them
// actually changed the answer.
type call struct {
	route
	q       *quirks.Behavior
	applied []string
	// auth is who sent the request and what they may do, when the
	// registry has authentication on and let the request in.
	auth *callAuth
}

// note records that the quirk named by (a Setting's By) changed the answer.
func (c *call) note(by string) {
	if by != "" && !slices.Contains(c.applied, by) {
		c.applied = append(c.applied, by)
	}
}
