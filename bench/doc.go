// Package bench compares ocifixture's registry with go-containerregistry's
// pkg/registry, cue-labs' ociserver over ocimem, and a floor handler that
// does only what any HTTP server must do for each request shape.
//
// The benchmarks live in the package's tests; run.sh runs them and writes
// the table of BENCHMARKS.md (see that file for the command and the
// latest numbers).
package bench
