package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"

	"github.com/aioscope/aioscope/adapter"
)

const dapUsage = "usage: aioscope dap [--listen 127.0.0.1:PORT [--allow-remote]] [--max-threads N] [--log FILE]"

// runDAP implements `aioscope dap`: a Debug Adapter Protocol server on stdin/stdout (one
// session), or on a TCP address (one session per connection, each served on its own). In stdio
// mode stdout carries the protocol, so nothing else is ever written to it.
func runDAP(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dap", flag.ContinueOnError)
	maxThreads := fs.Int("max-threads", adapter.DefaultMaxThreads, "")
	cl := commandLine{name: "dap", usage: dapUsage, help: dapUsage + "\n", stdout: stdout, stderr: stderr}
	check := func() error {
		if *maxThreads < 0 {
			return errors.New("--max-threads must be 0 (no limit) or more")
		}
		return nil
	}
	return runProtocol[*adapter.FramingError](cl, fs, args, "the process is chosen by the client's attach request", check,
		func(logger *slog.Logger) protocolServer {
			cfg := adapter.Config{Logger: logger, MaxThreads: *maxThreads}
			if *maxThreads == 0 {
				cfg.MaxThreads = -1 // no cap
			}
			return dapServer{adapter.NewServer(cfg)}
		})
}

// dapServer serves the Debug Adapter Protocol.
type dapServer struct{ *adapter.Server }

func (s dapServer) ServeStdio(ctx context.Context) error {
	return s.Serve(ctx, stdio{os.Stdin, os.Stdout})
}
