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
)

// protocolFlags are the flags of the commands that serve a protocol to editors: dap and lsp.
type protocolFlags struct {
	listen      string
	allowRemote bool
	logFile     string
}

func (p *protocolFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&p.listen, "listen", "", "")
	fs.BoolVar(&p.allowRemote, "allow-remote", false, "")
	fs.StringVar(&p.logFile, "log", "", "")
}

// check reports flags that do not go together, as a usage error.
func (p *protocolFlags) check() error {
	if p.allowRemote && p.listen == "" {
		return errors.New("--allow-remote needs --listen")
	}
	if p.listen != "" && !p.allowRemote {
		return checkLoopback(p.listen)
	}
	return nil
}

// logger returns where the server's diagnostics go (--log FILE, or nowhere) and what closes it.
func (p *protocolFlags) logger() (*slog.Logger, func(), error) {
	if p.logFile == "" {
		return slog.New(slog.DiscardHandler), func() {}, nil
	}
	f, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the log file: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})), func() { f.Close() }, nil
}

// runProtocol runs a command that serves a protocol: it parses args into fs (which holds the
// command's own flags, checked by check, besides those of protocolFlags), opens the log, and
// serves what serve makes of it. chosen says how the client chooses the process, for a stray
// operand's usage error. An error of type Fatal (the server's framing error) ends a stdio session
// with a message on stderr.
func runProtocol[Fatal error](cl commandLine, fs *flag.FlagSet, args []string, chosen string, check func() error,
	serve func(*slog.Logger) protocolServer) int {
	var p protocolFlags
	p.add(fs)
	if code, ok := cl.parse(fs, args); !ok {
		return code
	}
	if fs.NArg() != 0 {
		return cl.usageError("unexpected argument %q: %s", fs.Arg(0), chosen)
	}
	err := check()
	if err == nil {
		err = p.check()
	}
	if err != nil {
		fmt.Fprintf(cl.stderr, "aioscope %s: %v\n", cl.name, err)
		return exitUsage
	}
	logger, closeLog, err := p.logger()
	if err != nil {
		fmt.Fprintf(cl.stderr, "aioscope %s: %v\n", cl.name, err)
		return exitError
	}
	defer closeLog()
	fatal := func(err error) bool {
		_, ok := errors.AsType[Fatal](err)
		return ok
	}
	return serveProtocol(cl.name, p, serve(logger), logger, cl.stdout, cl.stderr, fatal)
}

// protocolServer is a server of one of the protocols: a session over stdio, or a session per
// connection of a listener.
type protocolServer interface {
	ServeStdio(ctx context.Context) error
	ServeListener(ctx context.Context, ln net.Listener) error
}

// serveProtocol runs srv until the session ends (stdio) or a signal stops it (--listen), and
// returns the exit status. In stdio mode stdout carries the protocol, so nothing else is ever
// written to it. fatal tells the errors that end a stdio session with a message on stderr.
func serveProtocol(cmd string, p protocolFlags, srv protocolServer, logger *slog.Logger, stdout, stderr io.Writer, fatal func(error) bool) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if p.listen == "" {
		// A pending read of stdin cannot be interrupted: on a signal the session is abandoned
		// rather than waited for.
		done := make(chan error, 1)
		go func() { done <- srv.ServeStdio(ctx) }()
		select {
		case err := <-done:
			if err != nil {
				logger.Warn("session ended with an error", "err", err)
				if fatal(err) {
					fmt.Fprintf(stderr, "aioscope %s: %v\n", cmd, err)
					return exitError
				}
			}
			return exitOK
		case <-ctx.Done():
			return exitOK
		}
	}
	ln, err := net.Listen("tcp", p.listen)
	if err != nil {
		fmt.Fprintf(stderr, "aioscope %s: %v\n", cmd, err)
		return exitError
	}
	// Clients and scripts started with port 0 learn the real port from this line.
	fmt.Fprintf(stdout, "aioscope %s: listening on %s\n", cmd, ln.Addr())
	if f, ok := stdout.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	if err := srv.ServeListener(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "aioscope %s: %v\n", cmd, err)
		return exitError
	}
	return exitOK
}

// stdio is a session's connection in stdio mode; closing it closes stdin, which ends a pending
// read of it.
type stdio struct {
	io.Reader
	io.Writer
}

func (stdio) Close() error { return os.Stdin.Close() }

// checkLoopback refuses addresses other machines could connect to: the servers read the memory
// of any process their user may read.
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
