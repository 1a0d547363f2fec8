package quirks

// docs/quirks.md is rendered from this package; a test fails when it is stale.
//go:generate go run ../internal/quirkdocs/gen -o ../docs/quirks.md
