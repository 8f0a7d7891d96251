package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/aioscope/aioscope/adapter"
)

const dapUsage = "usage: aioscope dap [--listen 127.0.0.1:PORT [--allow-remote]] [--max-threads N] [--log FILE]"

// runDAP implements `aioscope dap`: a Debug Adapter Protocol server on stdin/stdout (one
// session), or on a TCP address (one session per connection, each served on its own). In stdio
// mode stdout carries the protocol, so nothing else is ever written to it.
func runDAP(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dap", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "", "")
	allowRemote := fs.Bool("allow-remote", false, "")
	logFile := fs.String("log", "", "")
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
	if *allowRemote && *listen == "" {
		fmt.Fprintln(stderr, "aioscope dap: --allow-remote needs --listen")
		return exitUsage
	}
	if *listen != "" && !*allowRemote {
		if err := checkLoopback(*listen); err != nil {
			fmt.Fprintf(stderr, "aioscope dap: %v\n", err)
			return exitUsage
		}
	}

	logger := slog.New(slog.DiscardHandler)
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "aioscope dap: opening the log file: %v\n", err)
			return exitError
		}
		defer f.Close()
		logger = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := adapter.Config{Logger: logger, MaxThreads: *maxThreads}
	if *maxThreads == 0 {
		cfg.MaxThreads = -1 // no cap
	}
	srv := adapter.NewServer(cfg)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *listen == "" {
		return serveStdio(ctx, srv, logger, stderr)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "aioscope dap: %v\n", err)
		return exitError
	}
	// Clients and scripts started with port 0 learn the real port from this line.
	fmt.Fprintf(stdout, "aioscope dap: listening on %s\n", ln.Addr())
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	if err := srv.ServeListener(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "aioscope dap: %v\n", err)
		return exitError
	}
	return exitOK
}

// serveStdio serves one session on stdin/stdout. A pending read of stdin cannot be interrupted,
// so on a signal the session is abandoned rather than waited for.
func serveStdio(ctx context.Context, srv *adapter.Server, logger *slog.Logger, stderr io.Writer) int {
	rw := struct {
		io.Reader
		io.Writer
	}{os.Stdin, os.Stdout}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, rw) }()
	select {
	case err := <-done:
		if err != nil {
			logger.Warn("session ended with an error", "err", err)
			var fe *adapter.FramingError
			if errors.As(err, &fe) {
				fmt.Fprintf(stderr, "aioscope dap: %v\n", err)
				return exitError
			}
		}
		return exitOK
	case <-ctx.Done():
		return exitOK
	}
}

// checkLoopback refuses addresses other machines could connect to: the adapter reads the
// memory of any process its user may read.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid --listen address %q: %v (expected HOST:PORT, e.g. 127.0.0.1:4711)", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	shown := host
	if shown == "" {
		shown = "all interfaces"
	}
	return fmt.Errorf("refusing to listen on %s (%s): not a loopback address, and anyone who can connect can read this machine's Python processes; use 127.0.0.1, or pass --allow-remote", addr, shown)
}
