package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
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
	// Some clients add --stdio to every language server they start.
	_ = fs.Bool("stdio", false, "")
	cl := commandLine{name: "lsp", usage: lspUsage, help: lspUsage + "\n", stdout: stdout, stderr: stderr}
	return runProtocol[*lsp.FramingError](cl, fs, args, "the process is chosen by the client (initializationOptions.processId or the aioscope.attach command)",
		func() error { return nil },
		func(logger *slog.Logger) protocolServer {
			return lspServer{lsp.NewServer(lsp.Config{Logger: logger, Version: version})}
		})
}

// lspServer serves the Language Server Protocol.
type lspServer struct{ *lsp.Server }

func (s lspServer) ServeStdio(ctx context.Context) error {
	return s.Serve(ctx, stdio{os.Stdin, os.Stdout})
}
