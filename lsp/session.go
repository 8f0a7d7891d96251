package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/sourcegraph/jsonrpc2"
)

// session is one client connection.
//
// Locks, in the order they are taken: attachMu, held through an attach or a detach; snapMu, held
// for a snapshot and its publication, so that what is published follows the order snapshots were
// taken in; mu, for the session's state, never held while the target is read or the client is
// written to.
type session struct {
	srv    *Server
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	rwc    io.ReadWriteCloser
	conn   *jsonrpc2.Conn
	ready  chan struct{} // closed once conn is set
	async  jsonrpc2.Handler
	slots  chan struct{} // bounds the requests handled at once
	wg     sync.WaitGroup

	endMu  sync.Mutex
	endErr error // the *FramingError that ended the input, if one did

	reqMu    sync.Mutex
	inflight map[jsonrpc2.ID]context.CancelFunc

	attachMu sync.Mutex
	snapMu   sync.Mutex

	mu    sync.Mutex // guards everything below
	phase phase
	opts  options
	rend  renderer
	caps  sessionCaps
	root  string            // the workspace's root directory, "" when unknown
	docs  map[string]string // open documents: URI → path ("" for URIs that are not files)
	att   *attachment       // nil when not attached
	view  *view             // the last snapshot of att, nil before the first
	shown map[string]string // URI → the diagnostics last published for it, encoded
	lens  uint64            // a hash of the lenses the client was last told about
}

type phase int

const (
	uninitialized phase = iota
	running
	shutDown
)

// sessionCaps is what the client supports, as far as the server cares.
type sessionCaps struct {
	lensRefresh, hintRefresh bool
	related                  bool
	hints                    bool // inlay hints are offered
}

// maxConcurrentRequests bounds the requests handled at once; further ones wait to be read.
const maxConcurrentRequests = 64

func newSession(ctx context.Context, srv *Server, rwc io.ReadWriteCloser) *session {
	ctx, cancel := context.WithCancel(ctx)
	s := &session{
		srv:      srv,
		log:      srv.log,
		ctx:      ctx,
		cancel:   cancel,
		rwc:      rwc,
		ready:    make(chan struct{}),
		slots:    make(chan struct{}, maxConcurrentRequests),
		inflight: map[jsonrpc2.ID]context.CancelFunc{},
		docs:     map[string]string{},
		shown:    map[string]string{},
	}
	s.async = jsonrpc2.AsyncHandler(requestHandler{s})
	return s
}

// run serves the connection until it ends, and returns the framing error that ended it, if any.
func (s *session) run() error {
	c := codec{maxBody: s.srv.maxBody, bad: s.badMessage, ended: s.inputEnded}
	s.conn = jsonrpc2.NewConn(s.ctx, jsonrpc2.NewBufferedStream(s.rwc, c), s, jsonrpc2.SetLogger(libLogger{s.log}))
	close(s.ready)
	select {
	case <-s.conn.DisconnectNotify():
	case <-s.ctx.Done():
	}
	s.end()
	s.endMu.Lock()
	defer s.endMu.Unlock()
	return s.endErr
}

// end stops everything the session started and closes the connection.
func (s *session) end() {
	s.cancel()
	s.attachMu.Lock()
	s.stopAttachment()
	s.attachMu.Unlock()
	_ = s.conn.Close()
	s.wg.Wait()
}

// inputEnded is told why reading ended; a broken framing is reported to the client before the
// connection closes.
func (s *session) inputEnded(err error) {
	var fe *FramingError
	if !errors.As(err, &fe) {
		return
	}
	s.endMu.Lock()
	s.endErr = err
	s.endMu.Unlock()
	<-s.ready
	s.notify("window/showMessage", showMessageParams{Type: messageError, Message: "aioscope: " + fe.Error() + "; closing the connection"})
}

// badMessage answers a message the codec skipped: an error response when it had an id, else a
// message to the user.
func (s *session) badMessage(id *jsonrpc2.ID, reason string) {
	<-s.ready
	s.log.Warn("skipped a message", "reason", reason)
	if id != nil {
		_ = s.conn.ReplyWithError(s.ctx, *id, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidRequest, Message: "aioscope: invalid message: " + reason})
		return
	}
	s.notify("window/showMessage", showMessageParams{Type: messageError, Message: "aioscope: skipped an invalid message: " + reason})
}

// notify sends a notification; a connection that is gone makes it a no-op.
func (s *session) notify(method string, params any) {
	if err := s.conn.Notify(s.ctx, method, params); err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
		s.log.Debug("sending a notification", "method", method, "err", err)
	}
}

// showMessage tells the user something in the editor.
func (s *session) showMessage(typ int, msg string) {
	s.notify("window/showMessage", showMessageParams{Type: typ, Message: msg})
}

// logMessage writes to the client's log of this server.
func (s *session) logMessage(msg string) {
	s.notify("window/logMessage", showMessageParams{Type: messageInfo, Message: msg})
}

// callClient sends a request to the client without waiting for its answer: the refresh requests
// the server sends after a snapshot need none, and a client slow to answer must not hold up the
// next snapshot.
func (s *session) callClient(method string) {
	if _, err := s.conn.DispatchCall(s.ctx, method, nil); err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
		s.log.Debug("sending a request", "method", method, "err", err)
	}
}

// Handle implements jsonrpc2.Handler. It runs on the connection's reading goroutine: notifications
// are handled here, in order (a didClose must not overtake its didOpen); initialize and shutdown
// too, as everything after them depends on them; other requests each on a goroutine of their own.
func (s *session) Handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	<-s.ready // the connection starts reading before NewConn returns it
	if req.Notif {
		s.guard("handling "+req.Method, func() { s.notification(req) })
		return
	}
	if req.Method == "initialize" || req.Method == "shutdown" {
		s.serveRequest(ctx, conn, req)
		return
	}
	rctx, cancel := context.WithCancel(ctx)
	s.reqMu.Lock()
	s.inflight[req.ID] = cancel
	s.reqMu.Unlock()
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		cancel()
		return
	}
	s.wg.Add(1)
	s.async.Handle(rctx, conn, req)
}

// requestHandler handles one request on its own goroutine (see Handle).
type requestHandler struct{ s *session }

func (h requestHandler) Handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	s := h.s
	defer s.wg.Done()
	defer func() { <-s.slots }()
	defer func() {
		s.reqMu.Lock()
		if cancel, ok := s.inflight[req.ID]; ok {
			cancel()
			delete(s.inflight, req.ID)
		}
		s.reqMu.Unlock()
	}()
	s.serveRequest(ctx, conn, req)
}

// serveRequest answers one request.
func (s *session) serveRequest(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	var result any
	err := error(errInternal) // unless the handler returns
	s.guard("handling "+req.Method, func() {
		result, err = s.request(ctx, req)
	})
	if ctx.Err() != nil && s.ctx.Err() == nil {
		err = &jsonrpc2.Error{Code: codeRequestCancelled, Message: "request cancelled"}
	}
	if s.ctx.Err() != nil {
		return // the connection is ending
	}
	if err == nil {
		if err = conn.Reply(ctx, req.ID, result); err == nil || errors.Is(err, jsonrpc2.ErrClosed) {
			return
		}
		// A result that does not encode is a bug; the client still gets an answer.
		err = fmt.Errorf("aioscope: internal error encoding the result: %v", err)
	}
	var rerr *jsonrpc2.Error
	if !errors.As(err, &rerr) {
		rerr = &jsonrpc2.Error{Code: codeRequestFailed, Message: err.Error()}
	}
	if werr := conn.ReplyWithError(ctx, req.ID, rerr); werr != nil && !errors.Is(werr, jsonrpc2.ErrClosed) {
		s.log.Debug("sending an error response", "method", req.Method, "err", werr)
	}
}

// errInternal is what a request that met a bug in the server fails with.
var errInternal = &jsonrpc2.Error{Code: jsonrpc2.CodeInternalError, Message: "aioscope: internal error; the server log has the details"}

// guard runs f, turning a panic into a log record, so that a bug met while handling one message
// ends neither the session nor, with --listen, every other one.
func (s *session) guard(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic", "while", what, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	f()
}

// goBeside runs f on a goroutine that the end of the session waits for.
func (s *session) goBeside(what string, f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.guard(what, f)
	}()
}

// cancelRequest handles $/cancelRequest: the request's context is cancelled, and it answers
// with RequestCancelled unless it has already answered.
func (s *session) cancelRequest(params *json.RawMessage) {
	var p cancelParams
	if params == nil || json.Unmarshal(*params, &p) != nil || len(p.ID) == 0 {
		return
	}
	var id jsonrpc2.ID
	if json.Unmarshal(p.ID, &id) != nil {
		return
	}
	s.reqMu.Lock()
	cancel := s.inflight[id]
	s.reqMu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// libLogger passes the JSON-RPC library's own messages (protocol errors, responses to nothing)
// to the session's log.
type libLogger struct{ log *slog.Logger }

func (l libLogger) Printf(format string, args ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, args...)))
}
