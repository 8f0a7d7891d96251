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
	"syscall"

	"github.com/aioscope/aioscope/lsp"
)

const lspUsage = "usage: aioscope lsp [--listen 127.0.0.1:PORT [--allow-remote]] [--log FILE]"

// runLSP implements `aioscope lsp`: a language server on stdin/stdout (one session), or on a TCP
// address (one session per connection). The process to read is chosen by the client, in the
// initialization options or with the aioscope.attach command. In stdio mode stdout carries the
// protocol, so nothing else is ever written to it.
func runLSP(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lsp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "", "")
	allowRemote := fs.Bool("allow-remote", false, "")
	logFile := fs.String("log", "", "")
	// Some clients add --stdio to every language server they start.
	_ = fs.Bool("stdio", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, lspUsage)
			return exitOK
		}
		fmt.Fprintf(stderr, "aioscope lsp: %v (%s)\n", err, lspUsage)
		return exitUsage
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "aioscope lsp: unexpected argument %q: the process is chosen by the client (initializationOptions.processId or the aioscope.attach command) (%s)\n", fs.Arg(0), lspUsage)
		return exitUsage
	}
	if *allowRemote && *listen == "" {
		fmt.Fprintln(stderr, "aioscope lsp: --allow-remote needs --listen")
		return exitUsage
	}
	if *listen != "" && !*allowRemote {
		if err := checkLoopback(*listen); err != nil {
			fmt.Fprintf(stderr, "aioscope lsp: %v\n", err)
			return exitUsage
		}
	}
	logger := slog.New(slog.DiscardHandler)
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "aioscope lsp: opening the log file: %v\n", err)
			return exitError
		}
		defer f.Close()
		logger = slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := lsp.NewServer(lsp.Config{Logger: logger, Version: version})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *listen == "" {
		return serveLSPStdio(ctx, srv, logger, stderr)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "aioscope lsp: %v\n", err)
		return exitError
	}
	// Clients and scripts started with port 0 learn the real port from this line.
	fmt.Fprintf(stdout, "aioscope lsp: listening on %s\n", ln.Addr())
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	if err := srv.ServeListener(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "aioscope lsp: %v\n", err)
		return exitError
	}
	return exitOK
}

// stdio is the client's connection in stdio mode; closing it closes stdin, which ends a pending
// read of it.
type stdio struct {
	io.Reader
	io.Writer
}

func (stdio) Close() error { return os.Stdin.Close() }

// serveLSPStdio serves one session on stdin/stdout.
func serveLSPStdio(ctx context.Context, srv *lsp.Server, logger *slog.Logger, stderr io.Writer) int {
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, stdio{os.Stdin, os.Stdout}) }()
	select {
	case err := <-done:
		var fe *lsp.FramingError
		if errors.As(err, &fe) {
			logger.Warn("session ended with an error", "err", err)
			fmt.Fprintf(stderr, "aioscope lsp: %v\n", err)
			return exitError
		}
		return exitOK
	case <-ctx.Done():
		return exitOK
	}
}
