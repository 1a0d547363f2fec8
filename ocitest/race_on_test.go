//go:build race

package ocitest

// raceEnabled: the race detector changes what allocates (and sync.Pool
// drops items at random), so allocation checks are skipped under it.
const raceEnabled = true
