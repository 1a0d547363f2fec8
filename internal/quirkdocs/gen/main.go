// Command gen writes docs/quirks.md (see package quirkdocs). It runs from
// go generate in package quirks.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ocifixture/ocifixture/internal/quirkdocs"
)

func main() {
	out := flag.String("o", "docs/quirks.md", "file to write")
	flag.Parse()
	if err := os.WriteFile(*out, quirkdocs.Render(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "quirkdocs:", err)
		os.Exit(1)
	}
}
