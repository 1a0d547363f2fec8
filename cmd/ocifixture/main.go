// Command ocifixture runs the ocifixture registry as a standalone process,
// for clients that are not Go tests: crane, oras, regctl, skopeo, docker.
//
//	go run ./cmd/ocifixture              # listens on 127.0.0.1:5000
//	go run ./cmd/ocifixture -addr 127.0.0.1:0 -v
//
// It prints the address it listens on and stops cleanly on SIGINT or
// SIGTERM. Content lives in memory and is gone when it stops.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/ocifixture/ocifixture/ocitest"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	opts := []ocitest.Option{ocitest.WithAddr(*addr), ocitest.WithChunkMinLength(*chunkMin)}
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

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(stdout, "ocifixture: stopping")
	return nil
}
