package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aioscope/aioscope/adapter"
)

const dapUsage = "usage: aioscope dap [--listen 127.0.0.1:PORT [--allow-remote]] [--max-threads N] [--log FILE]"

// runDAP implements `aioscope dap`: a Debug Adapter Protocol server on stdin/stdout (one
// session), or on a TCP address (one session per connection, each served on its own). In stdio
// mode stdout carries the protocol, so nothing else is ever written to it.
func runDAP(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dap", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var p protocolFlags
	p.add(fs)
	maxThreads := fs.Int("max-threads", adapter.DefaultMaxThreads, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, dapUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "aioscope dap: %v (%s)\n", err, dapUsage)
		return exitUsage
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "aioscope dap: unexpected argument %q: the process is chosen by the client's attach request (%s)\n", fs.Arg(0), dapUsage)
		return exitUsage
	}
	if *maxThreads < 0 {
		fmt.Fprintln(stderr, "aioscope dap: --max-threads must be 0 (no limit) or more")
		return exitUsage
	}
	if err := p.check(); err != nil {
		fmt.Fprintf(stderr, "aioscope dap: %v\n", err)
		return exitUsage
	}
	logger, closeLog, err := p.logger()
	if err != nil {
		fmt.Fprintf(stderr, "aioscope dap: %v\n", err)
		return exitError
	}
	defer closeLog()
	cfg := adapter.Config{Logger: logger, MaxThreads: *maxThreads}
	if *maxThreads == 0 {
		cfg.MaxThreads = -1 // no cap
	}
	srv := dapServer{adapter.NewServer(cfg)}
	return serveProtocol("dap", p, srv, logger, stdout, stderr, func(err error) bool {
		var fe *adapter.FramingError
		return errors.As(err, &fe)
	})
}

// dapServer serves the Debug Adapter Protocol.
type dapServer struct{ *adapter.Server }

func (s dapServer) ServeStdio(ctx context.Context) error {
	return s.Serve(ctx, stdio{os.Stdin, os.Stdout})
}
