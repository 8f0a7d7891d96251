// Package lsp is aioscope's language server: it attaches read-only to a live CPython 3.14 or
// 3.15 process and shows, in any editor with a Language Server Protocol client, where the
// process's asyncio tasks are suspended — in the source files open in the editor.
//
// It serves, for files of the workspace (target paths mapped to files here as package srcpath
// does, plus the pathMappings option):
//   - a code lens on each line where tasks are suspended ("⏸ 182 tasks · Task-12, Task-19, … ·
//     waiting up to 41 s"), and inlay hints for clients without code lenses;
//   - a hover on such a line: the tasks there, what they wait in, who awaits them, how long they
//     have waited, and the arguments of the first few;
//   - diagnostics: an await cycle as an error at each member's line, pointing at the others; a
//     stuck task (a leaf task waiting at one place for stuckThreshold) as a warning where it
//     waits; an event loop blocked in one callback for blockedThreshold as a warning where it
//     blocks, found by sampling the threads while snapshots are taken on a timer; each cleared
//     when it goes away;
//   - workspace/symbol: tasks by name, each where it waits;
//   - the request aioscope/snapshot, answered with the `aioscope ps --json` document of a new
//     snapshot.
//
// The target is chosen by initializationOptions.processId, or later by workspace/executeCommand
// aioscope.attach (argument: a PID); aioscope.detach lets go of it and aioscope.refresh takes a
// snapshot now. Snapshots are taken every refreshInterval milliseconds (default 2000; 0: only on
// request). See options.go for every initialization option.
//
// The protocol runs on github.com/sourcegraph/jsonrpc2. Notifications are handled in the order
// they come; requests each on their own goroutine (jsonrpc2.AsyncHandler), so that one that takes
// a snapshot or calls back into the client does not hold up the others, and so that
// $/cancelRequest can reach them.
package lsp

import (
	"context"
	"io"
	"log/slog"
	"net"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/serve"
	"github.com/aioscope/aioscope/snapshot"
)

// Target is a process the server reads. *inspector.Process is the real one.
type Target = serve.Target

// ArgumentReader is what a Target offers when it can read the arguments of a task's frame as
// they are now: hovers then show them. frame indexes the task's Frames, innermost first.
type ArgumentReader interface {
	Arguments(task *snapshot.Task, frame int) ([]snapshot.Variable, error)
}

// AttachFunc opens a target, as inspector.Attach does.
type AttachFunc = serve.AttachFunc

// Config configures a Server. The zero value is ready to use.
type Config struct {
	// Attach opens the target; nil means inspector.Attach.
	Attach AttachFunc
	// Logger receives diagnostics (never the protocol itself); nil discards them.
	Logger *slog.Logger
	// MaxMessageSize bounds the body of a message from the client; 0 means DefaultMaxMessageSize.
	MaxMessageSize int
	// Version is the server's version, as initialize reports it.
	Version string
}

// Server serves language server sessions. It holds only configuration, so one Server may serve
// any number of sessions, one after another or at the same time.
type Server struct {
	attach  AttachFunc
	log     *slog.Logger
	maxBody int
	version string
}

// NewServer returns a server with the given configuration.
func NewServer(cfg Config) *Server {
	c := serve.Common{Attach: cfg.Attach, Logger: cfg.Logger, MaxMessageSize: cfg.MaxMessageSize}.Filled(attachProcess, DefaultMaxMessageSize)
	return &Server{attach: c.Attach, log: c.Logger, maxBody: c.MaxMessageSize, version: cfg.Version}
}

// Serve runs one session over rwc: it returns when the client sends exit or closes its end, when
// the input stops following the protocol's framing (a *FramingError, after telling the client in
// a window/showMessage), when writing to the client fails, or when ctx is done. rwc is closed
// when Serve returns.
func (s *Server) Serve(ctx context.Context, rwc io.ReadWriteCloser) error {
	sess := newSession(ctx, s, rwc)
	return sess.run()
}

// MaxConcurrentSessions bounds the sessions ServeListener serves at the same time; further
// connections wait in the listen queue until one ends.
const MaxConcurrentSessions = serve.MaxConcurrent

// ServeListener accepts connections on ln and serves one session per connection, each on its
// own. It returns when ctx is done (then it closes ln, ends the sessions and waits for them, and
// returns nil) or when accepting fails.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	return serve.Listener(ctx, ln, s.log, func(ctx context.Context, conn net.Conn) error { return s.Serve(ctx, conn) })
}

// attachProcess opens a live process, and offers the arguments of its tasks' frames to hovers.
func attachProcess(pid int, opts inspector.Options) (Target, error) {
	p, err := inspector.Attach(pid, opts)
	if err != nil {
		return nil, err // a nil *Process must not become a non-nil Target
	}
	return liveProcess{p, opts}, nil
}
