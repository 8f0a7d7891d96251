package adapter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/aioscope/aioscope/tracking/live"
)

// session is one client connection. Requests are handled one at a time on the goroutine running
// run; the refresh loop, the exit watcher and the grace period before a first stop run beside it
// and only take and publish snapshots and send events.
//
// Three locks: snapMu, held for a whole snapshot; mu, for the session's state; and the writer's,
// conn.mu. snapMu is taken before mu, and conn.mu is taken with neither held.
type session struct {
	srv    *Server
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	conn   *conn
	wg     sync.WaitGroup // the goroutines beside the requests

	// snapMu makes snapshots one at a time, so that they are mapped to thread ids in the order
	// they were taken. It is held while the target is read, which mu must not be.
	snapMu sync.Mutex

	mu     sync.Mutex // guards everything below
	state  lifecycle
	format clientFormat
	target Target
	args   AttachArguments
	src    *sourceResolver
	view   *view // the snapshot requests are answered from
	// published is the snapshot last published as an awaitGraph event, which a client's await
	// tree shows; the same as view but for a moment, as every new snapshot is shown everywhere.
	published *view
	alloc     idAllocator
	nextRef   int
	selected  int // DAP thread the client last looked at; kept in a capped thread list
	frames    frameRefs
	// shown is the thread ids the client was last given (in a threads response, or since then
	// by thread events); nil until it asks for them.
	shown  map[int]struct{}
	moreID int // the row that ends a capped thread list; 0 until one is needed
	stops  int // stops reported so far
	// clientInvalidates: the client understands the invalidated event (initialize's
	// supportsInvalidatedEvent).
	clientInvalidates bool
	graphHint         int // the size of the last awaitGraph body, to start the next one with
	// capNoticeSent records that the client was told, once per session, that the thread list
	// is capped.
	capNoticeSent bool
	refreshStop   context.CancelFunc
	refreshDone   chan struct{}
	// watch follows the target over time, from attach on; sampler is the second reader of the
	// target that samples its threads while a refresh runs, attached on first use.
	watch   *watch
	sampler live.ThreadSampler

	// Only touched by the request goroutine.
	after []func() // run after the current response has been sent
}

// clientFormat is how the client wants lines, columns and paths (initialize's arguments).
type clientFormat struct {
	linesAt1, columnsAt1, uriPaths bool
}

func newSession(ctx context.Context, srv *Server, rw io.ReadWriter) *session {
	ctx, cancel := context.WithCancel(ctx)
	return &session{
		srv:    srv,
		log:    srv.log,
		ctx:    ctx,
		cancel: cancel,
		conn:   newConn(rw, srv.maxMessage, srv.log, cancel),
		format: clientFormat{linesAt1: true, columnsAt1: true},
	}
}

// run reads and answers requests until the client disconnects or closes its end, the input stops
// following the protocol, writing fails or the session's context is done.
func (s *session) run() error {
	msgs := s.conn.readMessages(s.ctx)
	for {
		var m readResult
		select {
		case <-s.ctx.Done():
			return nil
		case m = <-msgs:
		}
		if m.err != nil {
			var fe *FramingError
			switch {
			case errors.Is(m.err, io.EOF):
				return nil
			case errors.As(m.err, &fe):
				s.conn.output("stderr", "aioscope: "+fe.Error()+"; closing the session\n")
				return m.err
			case errors.Is(m.err, io.ErrUnexpectedEOF):
				return fmt.Errorf("client closed the connection in the middle of a message: %w", m.err)
			default:
				return fmt.Errorf("reading from the client: %w", m.err)
			}
		}
		s.handleMessage(m.body)
		if s.phase() == ended || s.conn.isClosed() {
			return nil
		}
	}
}

// shutdown stops the goroutines beside the requests and makes sure nothing is written after
// Serve returns.
func (s *session) shutdown() {
	s.cancel()
	s.wg.Wait()
	s.conn.close()
}

// goBeside runs f on a goroutine beside the requests, which shutdown waits for. A panic in f
// becomes an output event (see guard).
func (s *session) goBeside(what string, f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.guard(what, f)
	}()
}

// guard runs f, turning a panic into a log record and an output event. Work done outside a
// request handler (the stop after configurationDone, a refresh, the exit watcher) reads the
// target too, and a bug met there must not take the adapter, and with it every session, down.
func (s *session) guard(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic", "while", what, "panic", r, "stack", string(debug.Stack()))
			s.conn.output("stderr", fmt.Sprintf("aioscope: internal error (%s): %v\n", what, r))
		}
	}()
	f()
}

// transition moves the session's lifecycle on t (see lifecycle.next).
func (s *session) transition(t trigger) (effect, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transitionLocked(t)
}

// transitionLocked is transition for callers that hold s.mu.
func (s *session) transitionLocked(t trigger) (effect, error) {
	next, eff, err := s.state.next(t)
	if err != nil {
		return noEffect, err
	}
	s.state = next
	return eff, nil
}

func (s *session) phase() phase {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.phase
}

// pid is the target's PID, 0 before attach. Callers hold s.mu.
func (s *session) pid() int {
	if s.target == nil {
		return 0
	}
	return s.target.PID()
}

// afterResponse queues f to run after the current request's response has been sent.
func (s *session) afterResponse(f func()) {
	s.after = append(s.after, f)
}

// advance moves the session's lifecycle on t, and queues what has to follow after the response.
func (s *session) advance(t trigger) error {
	eff, err := s.transition(t)
	if err == nil {
		s.carryOut(eff)
	}
	return err
}

// carryOut queues what a transition asks a request's handler to do after its response.
func (s *session) carryOut(eff effect) {
	switch eff {
	case takeFirstStop:
		s.afterResponse(s.firstStop)
	case startGrace:
		s.afterResponse(s.stopUnlessConfigured)
	}
}
