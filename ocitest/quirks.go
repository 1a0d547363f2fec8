package ocitest

import (
	"slices"
	"sync"
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

// quirkSet holds the active quirks; requests read it once on arrival,
// without locking. Updates are serialised by mu.
type quirkSet struct {
	mu sync.Mutex
	p  atomic.Pointer[[]quirks.Quirk]
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
func (reg *Registry) SetQuirks(q ...quirks.Quirk) {
	reg.quirks.mu.Lock()
	defer reg.quirks.mu.Unlock()
	reg.quirks.store(q)
}

// EnableQuirks adds quirks to the active set for the rest of the test t.
// When t ends exactly those quirks are taken out again, so parallel
// subtests that enable quirks on one registry do not undo each other.
func (reg *Registry) EnableQuirks(t testing.TB, q ...quirks.Quirk) {
	t.Helper()
	reg.quirks.mu.Lock()
	reg.quirks.store(append(slices.Clone(reg.quirks.load()), q...))
	reg.quirks.mu.Unlock()
	t.Cleanup(func() {
		reg.quirks.mu.Lock()
		defer reg.quirks.mu.Unlock()
		cur := slices.Clone(reg.quirks.load())
		// Quirks hold functions and cannot be compared, so each added quirk
		// is matched by its String, latest occurrence first.
		for _, x := range q {
			for i := len(cur) - 1; i >= 0; i-- {
				if cur[i].String() == x.String() {
					cur = slices.Delete(cur, i, i+1)
					break
				}
			}
		}
		reg.quirks.store(cur)
	})
}
