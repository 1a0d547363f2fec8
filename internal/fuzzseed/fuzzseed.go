// Package fuzzseed writes seed corpus files for the module's fuzz targets,
// in the format go test -fuzz reads from testdata/fuzz/<Target>/.
package fuzzseed

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Write writes the corpus file testdata/fuzz/<target>/seed-<name> (a name
// already starting with "seed-" keeps just the one) holding args, one
// fuzz argument each: string, []byte, uint or int64.
func Write(t testing.TB, target, name string, args ...any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case uint:
			fmt.Fprintf(&b, "uint(%d)\n", v)
		case int64:
			fmt.Fprintf(&b, "int64(%d)\n", v)
		default:
			t.Fatalf("fuzzseed: no corpus encoding for %s", reflect.TypeOf(a))
		}
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "seed-"+strings.TrimPrefix(name, "seed-"))
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
