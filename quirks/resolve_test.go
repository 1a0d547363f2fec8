package quirks

import (
	"reflect"
	"testing"
)

// TestResolveWithoutQuirksAllocatesNothing: a request no quirk applies to
// gets the spec's Behavior without an allocation, and that shared value
// stays the zero Behavior.
func TestResolveWithoutQuirksAllocatesNothing(t *testing.T) {
	scoped := ForRepos("legacy/*", MaxPageSize(1000))
	for _, tt := range []struct {
		name string
		qs   []Quirk
		repo string
	}{
		{"no quirks", nil, "team/app"},
		{"no repository", nil, ""},
		{"quirks for other repositories", scoped, "team/app"},
		{"a zero Quirk", []Quirk{{}}, "team/app"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b *Behavior
			if n := testing.AllocsPerRun(100, func() { b = Resolve(tt.qs, tt.repo) }); n != 0 {
				t.Errorf("Resolve allocated %v times, want 0", n)
			}
			if !reflect.ValueOf(*b).IsZero() {
				t.Errorf("Resolve returned a Behavior with settings: %+v", *b)
			}
		})
	}
	// A quirk that applies gets a Behavior of its own, and leaves the
	// shared one alone.
	b := Resolve(scoped, "legacy/app")
	if !b.List.MaxPageSize.On() || b == Resolve(nil, "") {
		t.Errorf("Resolve with an applying quirk: MaxPageSize on %v, shared %v", b.List.MaxPageSize.On(), b == Resolve(nil, ""))
	}
	if !reflect.ValueOf(*Resolve(nil, "")).IsZero() {
		t.Error("the shared spec Behavior changed")
	}
}
