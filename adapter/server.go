// Package adapter is aioscope's Debug Adapter Protocol server: an editor attaches it to a live
// CPython 3.14 or 3.15 process and sees the process's asyncio tasks as threads, their coroutine
// chains (and those of the tasks awaiting them) as stacks, and a snapshot of the whole await
// graph as custom events.
//
// The target is only ever read (see package inspector): a "stop" is a snapshot while the process
// keeps running, nothing is written to it and nothing runs in it. Accordingly the adapter offers
// no breakpoints, stepping or termination; values (a frame's arguments and locals, and the
// expressions of package pyexpr) are read from memory by a target that is a ValueReader.
//
// Protocol summary, beyond the standard requests:
//   - attach takes processId (required), refreshInterval (ms; 0: off), retries, maxThreads
//     (0: no cap) and mainThreadOnly; see AttachArguments. The initialized event follows a
//     successful attach.
//   - configurationDone takes the first snapshot and sends stopped with reason "snapshot"; pause
//     takes another one. For clients that never send configurationDone, the first
//     setExceptionBreakpoints ends the configuration if configurationDone does not follow it
//     within configurationGrace.
//   - continue sends continued and, when refreshInterval > 0, publishes a new snapshot on that
//     interval as events, without stopped events.
//   - every snapshot is followed by the custom event aioscope/awaitGraph, and by aioscope/cycles
//     when the await graph has cycles; the custom request aioscope/snapshot takes a snapshot and
//     answers with the awaitGraph body (see graph.go for both shapes).
//   - scopes gives a Python frame Arguments and Locals, read when the client asks for them (see
//     values.go); evaluate reads names, attributes, subscripts and len() in a frame, and its
//     errors do not ask the client for a notification; the custom request
//     aioscope/frameArguments answers the arguments of a task's frames (see evaluate.go).
package adapter

import (
	"context"
	"io"
	"log/slog"
	"net"

	"github.com/aioscope/aioscope/internal/serve"
)

// Target is a process the adapter reads. *inspector.Process is the real one.
type Target = serve.Target

// AttachFunc opens a target, as inspector.Attach does.
type AttachFunc = serve.AttachFunc

// DefaultMaxThreads is how many threads a threads response lists unless the attach request or
// Config says otherwise: enough for any program a person reads task by task, few enough for an
// editor's thread list to stay responsive with 100,000 tasks.
const DefaultMaxThreads = 1000

// Config configures a Server. The zero value is ready to use.
type Config struct {
	// Attach opens the target of an attach request; nil means inspector.Attach.
	Attach AttachFunc
	// Logger receives diagnostics (never the protocol itself); nil discards them.
	Logger *slog.Logger
	// MaxThreads is the default cap on the threads listed; 0 means DefaultMaxThreads and a
	// negative value means no cap. An attach request's maxThreads overrides it.
	MaxThreads int
	// MaxMessageSize bounds the body of a message from the client; 0 means
	// DefaultMaxMessageSize.
	MaxMessageSize int
}

// Server serves DAP sessions. It holds only configuration, so one Server may serve any number
// of sessions, one after another or at the same time.
type Server struct {
	attach     AttachFunc
	log        *slog.Logger
	maxThreads int
	maxMessage int
}

// NewServer returns a server with the given configuration.
func NewServer(cfg Config) *Server {
	c := serve.Common{Attach: cfg.Attach, Logger: cfg.Logger, MaxMessageSize: cfg.MaxMessageSize}.Filled(serve.AttachProcess, DefaultMaxMessageSize)
	s := &Server{attach: c.Attach, log: c.Logger, maxThreads: cfg.MaxThreads, maxMessage: c.MaxMessageSize}
	switch {
	case s.maxThreads == 0:
		s.maxThreads = DefaultMaxThreads
	case s.maxThreads < 0:
		s.maxThreads = 0
	}
	return s
}

// Serve runs one session over rw: it returns when the client disconnects or closes its end,
// when the input stops following the protocol (a *FramingError, after telling the client in an
// output event), when writing to the client fails, or when ctx is done. If rw is an io.Closer it
// is closed when ctx is done, so that a pending read ends; otherwise closing rw is up to the
// caller.
func (s *Server) Serve(ctx context.Context, rw io.ReadWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c, ok := rw.(io.Closer); ok {
		stop := context.AfterFunc(ctx, func() { _ = c.Close() })
		defer stop()
	}
	sess := newSession(ctx, s, rw)
	defer sess.shutdown()
	return sess.run()
}

// MaxConcurrentSessions bounds the sessions ServeListener serves at the same time; further
// connections wait in the listen queue until one ends.
const MaxConcurrentSessions = serve.MaxConcurrent

// ServeListener accepts connections on ln and serves one session per connection, each on its
// own, so that a client that connects and then says nothing does not keep others out. It
// returns when ctx is done (then it closes ln, ends the sessions and waits for them, and returns
// nil) or when accepting fails.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	return serve.Listener(ctx, ln, s.log, func(ctx context.Context, conn net.Conn) error { return s.Serve(ctx, conn) })
}
