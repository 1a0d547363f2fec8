package quirks

import (
	"slices"
	"strings"
)

// Spec is the baseline: no quirks, the spec's behaviour.
func Spec() []Quirk { return nil }

// presets maps lower-case preset names to their constructors.
var presets = map[string]func() []Quirk{
	"spec": Spec,
}

// PresetNames lists the presets Lookup knows, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func presetByName(name string) ([]Quirk, bool) {
	p, ok := presets[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return p(), true
}
