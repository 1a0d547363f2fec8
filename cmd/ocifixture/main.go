// Command ocifixture runs the ocifixture registry as a standalone process,
// for clients that are not Go tests: crane, oras, regctl, skopeo, docker.
//
//	go run ./cmd/ocifixture              # listens on 127.0.0.1:5000
//	go run ./cmd/ocifixture -addr 127.0.0.1:0 -v
//	go run ./cmd/ocifixture -quirks ecr          # behave like AWS ECR
//	go run ./cmd/ocifixture -list-quirks         # presets and quirk ids
//
// It prints the address it listens on and stops cleanly on SIGINT or
// SIGTERM. Content lives in memory and is gone when it stops.
//
// # Authentication
//
// -auth basic protects the registry with HTTP Basic authentication, -auth
// token with the Docker/OCI bearer-token flow (the token endpoint is
// /token on the registry's own address; see ocitest.WithTokenAuth):
//
//	go run ./cmd/ocifixture -auth token -users alice:s3cret,bob:hunter2 \
//	    -grant 'alice=team/**:pull,push,delete' -grant 'alice=:catalog' \
//	    -grant 'bob=team/*:pull' -grant '<anonymous>=public/*:pull'
//
// Users come from -users (comma-separated user:password pairs) and
// -users-file (one user:password a line, the password being the rest of the
// line, so it may hold commas, colons and #; lines starting with # are
// comments). Each -grant user=pattern:actions allows user (a name,
// <anonymous> for requests without credentials, or * for every user) the
// actions (pull, push, delete, catalog, or * for all) on the repositories
// the pattern matches: a path.Match pattern ("team/*"), "team/**" for
// everything below team/, "**" or empty for every repository. -grants-file
// reads grants one a line. Without grants every user may do everything and
// anonymous nothing. Uploads and manifest PUTs need pull and push. With
// -auth token, -token-ttl sets how long tokens last (default 5m) and
// -token-service the service name (default ocifixture).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ocifixture/ocifixture/ocitest"
	"github.com/ocifixture/ocifixture/quirks"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ocifixture:", err)
		os.Exit(1)
	}
}

// run parses flags, serves until ctx ends or a stop signal arrives, and
// shuts down.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ocifixture", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:5000", "address to listen on (host:port)")
	useTLS := fs.Bool("tls", false, "serve HTTPS with a self-signed certificate")
	verbose := fs.Bool("v", false, "log every request to stderr")
	chunkMin := fs.Int64("chunk-min-length", 0, "announce this OCI-Chunk-Min-Length on upload POSTs (0: none)")
	quirkNames := fs.String("quirks", "", "comma-separated presets and quirk ids to behave like a real registry, e.g. ecr or no-referrers-api,ecr-page-limit")
	listQuirks := fs.Bool("list-quirks", false, "list the presets and quirk ids -quirks accepts, and exit")
	var auth authFlags
	auth.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *listQuirks {
		printQuirks(stdout)
		return nil
	}
	qs, err := parseQuirks(*quirkNames)
	if err != nil {
		return err
	}
	authOpts, authDesc, err := auth.options()
	if err != nil {
		return err
	}
	opts := []ocitest.Option{
		ocitest.WithAddr(*addr),
		ocitest.WithChunkMinLength(*chunkMin),
		ocitest.WithQuirks(qs...),
		// A long-running process keeps only the recent request log: each
		// record may hold up to 64 KiB of request body.
		ocitest.WithMaxRecorded(1000),
	}
	opts = append(opts, authOpts...)
	if *useTLS {
		opts = append(opts, ocitest.WithTLS())
	}
	if *verbose {
		logger := log.New(stderr, "", log.LstdFlags|log.Lmicroseconds)
		opts = append(opts, ocitest.WithLogf(logger.Printf))
	}
	reg, err := ocitest.Start(opts...)
	if err != nil {
		return err
	}
	defer reg.Close()
	fmt.Fprintf(stdout, "ocifixture: serving the OCI distribution API at %s\n", reg.URL())
	if len(qs) > 0 {
		fmt.Fprintf(stdout, "ocifixture: quirks: %s\n", strings.Join(quirks.Names(qs), ", "))
	}
	if authDesc != "" {
		fmt.Fprintf(stdout, "ocifixture: auth: %s\n", authDesc)
	}
	if u := reg.TokenURL(); u != "" {
		fmt.Fprintf(stdout, "ocifixture: token endpoint at %s\n", u)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(stdout, "ocifixture: stopping")
	return nil
}

// parseQuirks turns "ecr,no-referrers-api" into quirks: each name is a
// preset (case-insensitive) or a quirk id with its typical parameters.
func parseQuirks(list string) ([]quirks.Quirk, error) {
	var out []quirks.Quirk
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		qs, ok := quirks.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("unknown preset or quirk %q (see -list-quirks)", name)
		}
		out = append(out, qs...)
	}
	return out, nil
}

// printQuirks lists what -quirks accepts.
func printQuirks(w io.Writer) {
	fmt.Fprintln(w, "presets:")
	for _, name := range quirks.PresetNames() {
		qs, _ := quirks.Lookup(name)
		fmt.Fprintf(w, "  %-16s %s\n", name, strings.Join(quirks.Names(qs), ", "))
	}
	fmt.Fprintln(w, "quirks (typical parameters):")
	for _, info := range quirks.All() {
		q, _ := quirks.Example(info.ID)
		fmt.Fprintf(w, "  %-40s %s\n", q.String(), info.Summary)
	}
}
