package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

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
	var p protocolFlags
	p.add(fs)
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
	if err := p.check(); err != nil {
		fmt.Fprintf(stderr, "aioscope lsp: %v\n", err)
		return exitUsage
	}
	logger, closeLog, err := p.logger()
	if err != nil {
		fmt.Fprintf(stderr, "aioscope lsp: %v\n", err)
		return exitError
	}
	defer closeLog()
	srv := lspServer{lsp.NewServer(lsp.Config{Logger: logger, Version: version})}
	return serveProtocol("lsp", p, srv, logger, stdout, stderr, func(err error) bool {
		var fe *lsp.FramingError
		return errors.As(err, &fe)
	})
}

// lspServer serves the Language Server Protocol.
type lspServer struct{ *lsp.Server }

func (s lspServer) ServeStdio(ctx context.Context) error {
	return s.Serve(ctx, stdio{os.Stdin, os.Stdout})
}
