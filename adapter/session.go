package adapter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/jsonenc"
	"github.com/aioscope/aioscope/internal/procfs"
)

// session is one client connection. Requests are handled one at a time on the goroutine running
// run; the refresh loop and the exit watcher run beside it and only publish snapshots and
// events.
type session struct {
	srv    *Server
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	in     *bufio.Reader
	wg     sync.WaitGroup // the refresh loop and the exit watcher

	wmu    sync.Mutex // serialises writes to the client
	out    *bufio.Writer
	seq    int
	closed bool // writing failed or the session is over: nothing more is sent

	snapMu sync.Mutex // one snapshot at a time, mapped in the order they were taken

	// graphBuf is reused for the awaitGraph bodies that publish encodes: for a large target
	// they are megabytes, encoded on every refresh, and allocating them anew each time costs
	// about as much as encoding them.
	graphMu  sync.Mutex
	graphBuf []byte

	mu          sync.Mutex // guards everything below
	initialized bool
	linesAt1    bool
	columnsAt1  bool
	uriPaths    bool
	target      Target
	args        AttachArguments
	src         *sourceResolver
	configured  bool // configurationDone came
	// exceptionBPs: a setExceptionBreakpoints came; for a client that never sends
	// configurationDone it ends the configuration (see onSetExceptionBreakpoints).
	exceptionBPs bool
	stoppedOnce  bool // the first stopped event was sent
	running      bool // continued: refresh snapshots replace the view
	exited       bool // the target has exited; exited and terminated were sent
	view         *view
	alloc        idAllocator
	nextRef      int
	selected     int // DAP thread the client last looked at; kept in a capped thread list
	// capNoticeSent records that the client was told, once per session, that the thread list
	// is capped.
	capNoticeSent bool
	refreshStop   context.CancelFunc
	refreshDone   chan struct{}

	// Only touched by the request goroutine.
	ended bool     // disconnect was answered: run returns
	after []func() // run after the current response has been sent
}

func newSession(ctx context.Context, srv *Server, rw io.ReadWriter) *session {
	ctx, cancel := context.WithCancel(ctx)
	return &session{
		srv:        srv,
		log:        srv.log,
		ctx:        ctx,
		cancel:     cancel,
		in:         bufio.NewReaderSize(rw, 64<<10),
		out:        bufio.NewWriterSize(rw, 64<<10),
		linesAt1:   true,
		columnsAt1: true,
	}
}

type readResult struct {
	body []byte
	err  error
}

func (s *session) run() error {
	msgs := make(chan readResult)
	go func() {
		for {
			body, err := readMessage(s.in, s.srv.maxMessage)
			select {
			case msgs <- readResult{body, err}:
			case <-s.ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
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
				s.output("stderr", "aioscope: "+fe.Error()+"; closing the session\n")
				return m.err
			case errors.Is(m.err, io.ErrUnexpectedEOF):
				return fmt.Errorf("client closed the connection in the middle of a message: %w", m.err)
			default:
				return fmt.Errorf("reading from the client: %w", m.err)
			}
		}
		s.handleMessage(m.body)
		if s.ended || s.isClosed() {
			return nil
		}
	}
}

// shutdown stops the background goroutines and makes sure nothing is written after Serve
// returns.
func (s *session) shutdown() {
	s.cancel()
	s.wg.Wait()
	s.wmu.Lock()
	s.closed = true
	s.wmu.Unlock()
}

// request is a decoded request envelope.
type request struct {
	seq     int
	command string
	args    json.RawMessage
}

// requestError is a failed request: message is the one line shown to the user.
type requestError struct {
	message string
}

func (e *requestError) Error() string { return e.message }

func userErrorf(format string, args ...any) error {
	return &requestError{message: fmt.Sprintf(format, args...)}
}

// handleMessage decodes one message and answers it. A body that is not a request gets an output
// event; a request that cannot be carried out gets an error response.
func (s *session) handleMessage(body []byte) {
	var env struct {
		Seq       json.RawMessage `json:"seq"`
		Type      json.RawMessage `json:"type"`
		Command   json.RawMessage `json:"command"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		s.output("stderr", fmt.Sprintf("aioscope: ignored a message that is not a JSON object (%v): %s\n", err, truncate(string(body), 120)))
		return
	}
	var typ string
	if err := json.Unmarshal(env.Type, &typ); err != nil || typ != "request" {
		if typ == "" {
			typ = string(env.Type)
		}
		s.output("stderr", fmt.Sprintf("aioscope: ignored a message of type %s from the client: only requests are expected\n", truncate(typ, 40)))
		return
	}
	req := request{args: env.Arguments}
	seqErr := json.Unmarshal(env.Seq, &req.seq)
	cmdErr := json.Unmarshal(env.Command, &req.command)
	switch {
	case cmdErr != nil:
		s.sendError(req, userErrorf("request has no command"))
		return
	case seqErr != nil:
		s.sendError(req, userErrorf("request %q has no valid seq", truncate(req.command, 60)))
		return
	}
	s.log.Debug("request", "seq", req.seq, "command", req.command)
	resp, err := s.dispatch(req)
	switch raw, isRaw := resp.(rawBody); {
	case err != nil:
		s.sendError(req, err)
	case isRaw:
		s.sendRawResponse(req, raw)
	default:
		s.sendResponse(req, resp)
	}
	// What a handler queued goes out after its response, failed or not (a failed pause still
	// reports that the target has exited).
	after := s.after
	s.after = nil
	for _, f := range after {
		s.guard(req.command, f)
	}
}

// guard runs f, turning a panic into a log record and an output event. Work done outside a
// request handler (the stop after configurationDone, a refresh, the exit watcher) reads the
// target too, and a bug met there must not take the adapter, and with it every session, down.
func (s *session) guard(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic", "while", what, "panic", r, "stack", string(debug.Stack()))
			s.output("stderr", fmt.Sprintf("aioscope: internal error (%s): %v\n", what, r))
		}
	}()
	f()
}

// rawBody is a response body already encoded as JSON.
type rawBody []byte

// dispatch runs the handler of a request and returns the response body. A panic in a handler
// is a bug, but it must not take the adapter (and with it every session) down: it becomes an
// error response.
func (s *session) dispatch(req request) (body any, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic while handling a request", "command", req.command, "panic", r, "stack", string(debug.Stack()))
			body, err = nil, userErrorf("internal error in aioscope while handling %q: %v", req.command, r)
		}
	}()
	switch req.command {
	case "initialize":
		return s.onInitialize(req)
	case "attach":
		return s.onAttach(req)
	case "launch":
		return nil, userErrorf("aioscope cannot launch programs: use an \"attach\" request with the processId of a running Python process")
	case "configurationDone":
		return s.onConfigurationDone()
	case "setExceptionBreakpoints":
		return s.onSetExceptionBreakpoints()
	case "setBreakpoints", "setFunctionBreakpoints", "setDataBreakpoints", "setInstructionBreakpoints":
		// aioscope never stops the target, so no breakpoint can be honoured; generic clients
		// send these anyway and must get an answer.
		return dap.SetBreakpointsResponseBody{Breakpoints: []dap.Breakpoint{}}, nil
	case "threads":
		return s.onThreads()
	case "stackTrace":
		return s.onStackTrace(req)
	case "scopes":
		return s.onScopes(req)
	case "variables":
		return s.onVariables(req)
	case "pause":
		return s.onPause()
	case "continue":
		return s.onContinue(req)
	case "aioscope/snapshot":
		return s.onSnapshot()
	case "disconnect":
		return s.onDisconnect(req)
	case "cancel":
		// Requests are answered in order and none can be interrupted; by the time a cancel is
		// read, the request it names has been answered.
		return nil, nil
	case "terminate", "restart":
		return nil, userErrorf("aioscope never terminates or restarts the process it reads: use disconnect")
	case "next", "stepIn", "stepOut", "stepBack", "reverseContinue", "restartFrame", "goto", "gotoTargets", "stepInTargets":
		return nil, userErrorf("aioscope cannot step: it reads the process without ever stopping it")
	case "evaluate", "setVariable", "setExpression", "completions":
		return nil, userErrorf("aioscope cannot evaluate expressions: it never runs code in the process it reads")
	default:
		return nil, userErrorf("aioscope does not support the %q request", truncate(req.command, 60))
	}
}

// decodeArgs decodes the arguments of a request into v; absent arguments leave v as it is.
func decodeArgs(req request, v any) error {
	raw := bytes.TrimSpace(req.args)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return userErrorf("invalid arguments for %q: %v", req.command, err)
	}
	return nil
}

func (s *session) onInitialize(req request) (any, error) {
	var args struct {
		LinesStartAt1   *bool  `json:"linesStartAt1"`
		ColumnsStartAt1 *bool  `json:"columnsStartAt1"`
		PathFormat      string `json:"pathFormat"`
		ClientName      string `json:"clientName"`
	}
	if err := decodeArgs(req, &args); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.initialized {
		return nil, userErrorf("the session is already initialized")
	}
	s.initialized = true
	if args.LinesStartAt1 != nil {
		s.linesAt1 = *args.LinesStartAt1
	}
	if args.ColumnsStartAt1 != nil {
		s.columnsAt1 = *args.ColumnsStartAt1
	}
	s.uriPaths = args.PathFormat == "uri"
	s.log.Info("initialize", "client", args.ClientName)
	// Honest capabilities: what a read-only snapshot viewer can do.
	return dap.Capabilities{
		SupportsConfigurationDoneRequest: true,
		SupportsDelayedStackTraceLoading: true,
	}, nil
}

func (s *session) onAttach(req request) (any, error) {
	args, err := parseAttachArguments(req.args, s.srv.maxThreads)
	if err != nil {
		return nil, &requestError{message: err.Error()}
	}
	s.mu.Lock()
	if s.target != nil {
		pid := s.target.PID()
		s.mu.Unlock()
		return nil, userErrorf("already attached to process %d: start a new session for another process", pid)
	}
	s.mu.Unlock()

	// The first snapshot is taken right away, so that a process that cannot be read (no
	// asyncio, memory not readable) fails the attach request rather than the stop after it.
	start, statErr := procfs.ReadStat("/proc", args.ProcessID)
	target, err := s.srv.attach(args.ProcessID, inspector.Options{Retries: args.Retries, MainThreadOnly: args.MainThreadOnly})
	if err != nil {
		return nil, &requestError{message: inspector.Explain(err)}
	}
	if _, err := target.Snapshot(); err != nil {
		return nil, &requestError{message: inspector.Explain(err)}
	}

	s.mu.Lock()
	s.target = target
	s.args = args
	s.src = newSourceResolver(args.ProcessID)
	configured, exceptionBPs := s.configured, s.exceptionBPs
	s.mu.Unlock()
	s.log.Info("attached", "pid", args.ProcessID, "python", target.PythonVersion(), "refresh", args.RefreshInterval)

	if statErr == nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.guard("watching for the target's exit", func() {
				if code, exited := watchExit(s.ctx, args.ProcessID, start.StartTime); exited {
					s.targetExited(code)
				}
			})
		}()
	}
	s.after = append(s.after, func() {
		s.output("console", fmt.Sprintf("aioscope: attached to process %d (Python %s), read-only: the process is never stopped; each stop is a snapshot of it.\n",
			args.ProcessID, target.PythonVersion()))
	})
	// initialized comes once there is a process to configure for: clients that wait for it
	// before configuring (DebugClient's configurationSequence) then see it whether they started
	// waiting before initialize or only after it.
	s.after = append(s.after, func() { s.sendEvent("initialized", nil) })
	switch {
	case configured:
		s.after = append(s.after, s.firstStop)
	case exceptionBPs:
		s.after = append(s.after, s.stopUnlessConfigured)
	}
	return nil, nil
}

func (s *session) onConfigurationDone() (any, error) {
	s.mu.Lock()
	s.configured = true
	attached := s.target != nil
	s.mu.Unlock()
	if attached {
		s.after = append(s.after, s.firstStop)
	}
	return nil, nil
}

// onSetExceptionBreakpoints answers with no breakpoints. A client that does not send
// configurationDone (one that predates it, or @vscode/debugadapter-testsupport's DebugClient
// unless it launches) ends its configuration with this request instead, so if configurationDone
// does not follow within configurationGrace, the configuration counts as done anyway.
func (s *session) onSetExceptionBreakpoints() (any, error) {
	s.mu.Lock()
	first := !s.exceptionBPs
	s.exceptionBPs = true
	arm := first && !s.configured && s.target != nil
	s.mu.Unlock()
	if arm {
		s.after = append(s.after, s.stopUnlessConfigured)
	}
	return dap.SetExceptionBreakpointsResponseBody{Breakpoints: []dap.Breakpoint{}}, nil
}

// configurationGrace is how long after setExceptionBreakpoints the first stop waits for a
// configurationDone that may not come. Clients that send it do so right away.
const configurationGrace = 300 * time.Millisecond

// stopUnlessConfigured makes the first stop after configurationGrace, unless configurationDone
// has made it by then.
func (s *session) stopUnlessConfigured() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(configurationGrace)
		defer t.Stop()
		select {
		case <-s.ctx.Done():
		case <-t.C:
			s.guard("the first stop", s.firstStop)
		}
	}()
}

// firstStop takes the session's first snapshot and reports it as a stop, once.
func (s *session) firstStop() {
	s.mu.Lock()
	if s.stoppedOnce || s.exited {
		s.mu.Unlock()
		return
	}
	s.stoppedOnce = true
	s.mu.Unlock()
	v, err := s.takeSnapshot()
	if err != nil {
		s.snapshotFailed(err)
		return
	}
	s.mu.Lock()
	s.view = v
	s.running = false
	s.mu.Unlock()
	s.publish(v, nil)
	s.sendStopped(v)
}

func (s *session) sendStopped(v *view) {
	s.sendEvent("stopped", dap.StoppedEventBody{
		Reason: "pause",
		Description: fmt.Sprintf("Snapshot of %d tasks at %s — the process keeps running",
			len(v.snap.Tasks), v.snap.CapturedAt.Local().Format("15:04:05.000")),
		ThreadId:          v.defaultThread(),
		AllThreadsStopped: true,
	})
}

// takeSnapshot reads the target and maps the result.
func (s *session) takeSnapshot() (*view, error) {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	s.mu.Lock()
	target, exited := s.target, s.exited
	s.mu.Unlock()
	if target == nil {
		return nil, userErrorf("not attached to a process: send an attach request with a processId first")
	}
	if exited {
		return nil, &inspector.ProcessGoneError{PID: target.PID()}
	}
	snap, err := target.Snapshot()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return newView(snap, &s.alloc), nil
}

// isGone reports whether a snapshot failed because the target no longer exists.
func isGone(err error) bool {
	var gone *inspector.ProcessGoneError
	var notFound *inspector.ProcessNotFoundError
	return errors.As(err, &gone) || errors.As(err, &notFound)
}

// snapshotFailed reports a snapshot that was not asked for by a request (the first stop, a
// refresh): as an output event, or as the end of the session when the target is gone.
func (s *session) snapshotFailed(err error) {
	if isGone(err) {
		s.targetExited(0)
		return
	}
	s.output("stderr", "aioscope: "+explain(err)+"\n")
}

func explain(err error) string {
	var re *requestError
	if errors.As(err, &re) {
		return re.message
	}
	return inspector.Explain(err)
}

// targetExited tells the client, once, that the target has exited.
func (s *session) targetExited(code int) {
	s.mu.Lock()
	if s.exited {
		s.mu.Unlock()
		return
	}
	s.exited = true
	s.running = false
	if s.refreshStop != nil {
		s.refreshStop() // the loop ends by itself; waiting here could be waiting for oneself
	}
	pid := 0
	if s.target != nil {
		pid = s.target.PID()
	}
	s.mu.Unlock()
	s.log.Info("target exited", "pid", pid, "code", code)
	s.output("console", fmt.Sprintf("aioscope: process %d has exited\n", pid))
	s.sendEvent("exited", dap.ExitedEventBody{ExitCode: code})
	s.sendEvent("terminated", nil)
}

// publish sends the awaitGraph event for v, and the cycles event when it has cycles. graph is
// the encoded awaitGraph body when the caller already has it.
func (s *session) publish(v *view, graph []byte) {
	if graph == nil {
		s.graphMu.Lock()
		defer s.graphMu.Unlock()
		s.graphBuf = appendAwaitGraph(s.graphBuf[:0], v, s.source())
		graph = s.graphBuf
	}
	s.sendRawEvent("aioscope/awaitGraph", graph)
	if len(v.snap.Cycles) > 0 {
		s.sendRawEvent("aioscope/cycles", appendCycles(nil, v))
	}
}

// graphSizeHint is the capacity to start an awaitGraph body with: the size of the last one.
func (s *session) graphSizeHint() int {
	s.graphMu.Lock()
	defer s.graphMu.Unlock()
	return max(cap(s.graphBuf), 4<<10)
}

func (s *session) source() *sourceResolver {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.src
}

func (s *session) attached() (Target, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.target == nil {
		return nil, userErrorf("not attached to a process: send an attach request with a processId first")
	}
	return s.target, nil
}

func (s *session) onPause() (any, error) {
	if _, err := s.attached(); err != nil {
		return nil, err
	}
	s.stopRefresh()
	v, err := s.takeSnapshot()
	if err != nil {
		if isGone(err) {
			s.after = append(s.after, func() { s.targetExited(0) })
		}
		return nil, &requestError{message: explain(err)}
	}
	s.mu.Lock()
	s.view = v
	s.running = false
	s.stoppedOnce = true
	s.mu.Unlock()
	s.after = append(s.after, func() {
		s.publish(v, nil)
		s.sendStopped(v)
	})
	return nil, nil
}

func (s *session) onContinue(req request) (any, error) {
	var args dap.ContinueArguments
	if err := decodeArgs(req, &args); err != nil {
		return nil, err
	}
	if _, err := s.attached(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.exited {
		pid := s.target.PID()
		s.mu.Unlock()
		return nil, userErrorf("process %d has exited", pid)
	}
	s.running = true
	interval := s.args.RefreshInterval
	threadID := args.ThreadId
	if threadID == 0 && s.view != nil {
		threadID = s.view.defaultThread()
	}
	s.mu.Unlock()
	s.after = append(s.after, func() {
		s.sendEvent("continued", dap.ContinuedEventBody{ThreadId: threadID, AllThreadsContinued: true})
		if interval > 0 {
			s.startRefresh(interval)
		}
	})
	return dap.ContinueResponseBody{AllThreadsContinued: true}, nil
}

// startRefresh starts publishing a snapshot every interval, unless that is already happening.
func (s *session) startRefresh(interval time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refreshDone != nil || s.exited || !s.running {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	s.refreshStop, s.refreshDone = cancel, done
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		s.refreshLoop(ctx, interval)
	}()
}

// stopRefresh stops the refresh loop and waits until it has published its last snapshot, so that
// nothing it sends comes after what the caller sends next.
func (s *session) stopRefresh() {
	s.mu.Lock()
	stop, done := s.refreshStop, s.refreshDone
	s.refreshStop, s.refreshDone = nil, nil
	s.mu.Unlock()
	if stop == nil {
		return
	}
	stop()
	<-done
}

func (s *session) refreshLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastErr := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stop := false
		s.guard("refreshing", func() { stop = s.refreshOnce(ctx, &lastErr) })
		if stop {
			return
		}
	}
}

// refreshOnce takes and publishes one refresh snapshot; it reports whether refreshing is over.
func (s *session) refreshOnce(ctx context.Context, lastErr *string) bool {
	v, err := s.takeSnapshot()
	if ctx.Err() != nil {
		return true
	}
	if err != nil {
		if isGone(err) {
			s.targetExited(0)
			return true
		}
		// A target that changes too fast now and then is not worth a message per tick.
		if msg := explain(err); msg != *lastErr {
			s.output("stderr", "aioscope: "+msg+"\n")
			*lastErr = msg
		}
		return false
	}
	*lastErr = ""
	s.mu.Lock()
	if s.running {
		s.view = v
	}
	s.mu.Unlock()
	s.publish(v, nil)
	return false
}

// onSnapshot takes a snapshot for the aioscope/snapshot request. While the session is stopped
// the client's stack and variables views keep referring to the stop's snapshot, so the new one
// only replaces it while the session is continued.
func (s *session) onSnapshot() (any, error) {
	if _, err := s.attached(); err != nil {
		return nil, err
	}
	v, err := s.takeSnapshot()
	if err != nil {
		if isGone(err) {
			s.after = append(s.after, func() { s.targetExited(0) })
		}
		return nil, &requestError{message: explain(err)}
	}
	s.mu.Lock()
	if s.running || s.view == nil {
		s.view = v
	}
	s.mu.Unlock()
	graph := appendAwaitGraph(make([]byte, 0, s.graphSizeHint()), v, s.source())
	s.after = append(s.after, func() { s.publish(v, graph) })
	return rawBody(graph), nil
}

func (s *session) onDisconnect(req request) (any, error) {
	var args dap.DisconnectArguments
	_ = decodeArgs(req, &args) // a disconnect is honoured whatever its arguments
	s.stopRefresh()
	if args.TerminateDebuggee {
		s.log.Info("disconnect asked to terminate the target; aioscope never does")
	}
	s.ended = true
	return nil, nil
}

// currentView returns the view requests are answered from. Callers hold s.mu.
func (s *session) currentView() (*view, error) {
	if s.target == nil {
		return nil, userErrorf("not attached to a process: send an attach request with a processId first")
	}
	if s.view == nil {
		return nil, userErrorf("no snapshot yet: send configurationDone or pause to take one")
	}
	return s.view, nil
}

// staleError is the answer to a reference from an earlier snapshot.
func staleError(what string, ref int) error {
	return userErrorf("stale reference: %s %d is not from the current snapshot; take a new snapshot (pause)", what, ref)
}

// ---- writing ----

type outResponse struct {
	dap.Response
	Body any `json:"body,omitempty"`
}

type outEvent struct {
	dap.Event
	Body any `json:"body,omitempty"`
}

func (s *session) sendResponse(req request, body any) {
	s.send(func(seq int) ([]byte, error) {
		return json.Marshal(outResponse{
			Response: dap.Response{
				ProtocolMessage: dap.ProtocolMessage{Seq: seq, Type: "response"},
				RequestSeq:      req.seq,
				Success:         true,
				Command:         req.command,
			},
			Body: body,
		})
	})
}

func (s *session) sendError(req request, err error) {
	msg := explain(err)
	s.log.Debug("request failed", "seq", req.seq, "command", req.command, "err", msg)
	s.send(func(seq int) ([]byte, error) {
		return json.Marshal(dap.ErrorResponse{
			Response: dap.Response{
				ProtocolMessage: dap.ProtocolMessage{Seq: seq, Type: "response"},
				RequestSeq:      req.seq,
				Success:         false,
				Command:         req.command,
				Message:         msg,
			},
			Body: dap.ErrorResponseBody{Error: &dap.ErrorMessage{Id: 1, Format: msg, ShowUser: true}},
		})
	})
}

func (s *session) sendRawResponse(req request, body []byte) {
	s.sendWrapped(func(b []byte, seq int) []byte {
		b = append(b, `{"seq":`...)
		b = strconv.AppendInt(b, int64(seq), 10)
		b = append(b, `,"type":"response","request_seq":`...)
		b = strconv.AppendInt(b, int64(req.seq), 10)
		b = append(b, `,"success":true,"command":`...)
		b = jsonenc.AppendString(b, req.command)
		return append(b, `,"body":`...)
	}, body)
}

func (s *session) sendRawEvent(event string, body []byte) {
	s.sendWrapped(func(b []byte, seq int) []byte {
		b = append(b, `{"seq":`...)
		b = strconv.AppendInt(b, int64(seq), 10)
		b = append(b, `,"type":"event","event":`...)
		b = jsonenc.AppendString(b, event)
		return append(b, `,"body":`...)
	}, body)
}

func (s *session) sendEvent(event string, body any) {
	s.send(func(seq int) ([]byte, error) {
		return json.Marshal(outEvent{
			Event: dap.Event{ProtocolMessage: dap.ProtocolMessage{Seq: seq, Type: "event"}, Event: event},
			Body:  body,
		})
	})
}

func (s *session) output(category, text string) {
	s.sendEvent("output", dap.OutputEventBody{Category: category, Output: text})
}

// send encodes and writes one message; encode gets the message's sequence number. A write
// failure ends the session.
func (s *session) send(encode func(seq int) ([]byte, error)) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return
	}
	s.seq++
	msg, err := encode(s.seq)
	if err != nil {
		s.log.Error("encoding a message", "err", err)
		return
	}
	s.write(msg)
}

// sendWrapped writes a message made of an envelope (prefix appends everything up to and including
// `"body":`), an already encoded body and the closing brace. The body, megabytes for a large
// await graph, is written as it is rather than copied into the message.
func (s *session) sendWrapped(prefix func(b []byte, seq int) []byte, body []byte) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed {
		return
	}
	s.seq++
	head := prefix(make([]byte, 0, 128), s.seq)
	s.write(head, body, []byte{'}'})
}

// write writes one message made of parts, with its header. Callers hold s.wmu.
func (s *session) write(parts ...[]byte) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var hdr [40]byte
	h := append(hdr[:0], "Content-Length: "...)
	h = strconv.AppendInt(h, int64(n), 10)
	h = append(h, "\r\n\r\n"...)
	_, err := s.out.Write(h)
	for _, p := range parts {
		if err == nil {
			_, err = s.out.Write(p)
		}
	}
	if err == nil {
		err = s.out.Flush()
	}
	if err != nil {
		s.log.Warn("writing to the client failed; ending the session", "err", err)
		s.closed = true
		s.cancel()
	}
}

func (s *session) isClosed() bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.closed
}
