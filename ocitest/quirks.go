package ocitest

import (
	"slices"
	"sync/atomic"
	"testing"

	"github.com/ocifixture/ocifixture/quirks"
)

// WithQuirks makes the registry behave like a real one from the start:
// ocitest.WithQuirks(quirks.ECR()...). Later quirks override earlier ones
// that change the same behaviour.
func WithQuirks(q ...quirks.Quirk) Option {
	return func(c *config) { c.quirks = append(c.quirks, q...) }
}

// quirkSet holds the active quirks; requests read it once on arrival.
type quirkSet struct {
	p atomic.Pointer[[]quirks.Quirk]
}

func (s *quirkSet) load() []quirks.Quirk {
	if p := s.p.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *quirkSet) store(q []quirks.Quirk) {
	q = slices.Clone(q)
	s.p.Store(&q)
}

// Quirks returns the active quirks.
func (reg *Registry) Quirks() []quirks.Quirk { return slices.Clone(reg.quirks.load()) }

// SetQuirks replaces the active quirks; requests already in flight keep
// the set they started with. SetQuirks() with none restores the spec's
// behaviour.
func (reg *Registry) SetQuirks(q ...quirks.Quirk) { reg.quirks.store(q) }

// EnableQuirks adds quirks to the active set for the rest of the test t,
// restoring the previous set when t ends.
func (reg *Registry) EnableQuirks(t testing.TB, q ...quirks.Quirk) {
	t.Helper()
	before := reg.quirks.load()
	reg.quirks.store(append(slices.Clone(before), q...))
	t.Cleanup(func() { reg.quirks.store(before) })
}
