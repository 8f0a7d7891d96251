package adapter

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/procfs"
)

// The handlers of the requests that move a session through its lifecycle (see phase.go).

func (s *session) onInitialize(req request) (any, error) {
	var args struct {
		LinesStartAt1   *bool  `json:"linesStartAt1"`
		ColumnsStartAt1 *bool  `json:"columnsStartAt1"`
		PathFormat      string `json:"pathFormat"`
		ClientName      string `json:"clientName"`
		Invalidated     bool   `json:"supportsInvalidatedEvent"`
	}
	if err := decodeArgs(req, &args); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.transitionLocked(initializeRequest); err != nil {
		return nil, err
	}
	if args.LinesStartAt1 != nil {
		s.format.linesAt1 = *args.LinesStartAt1
	}
	if args.ColumnsStartAt1 != nil {
		s.format.columnsAt1 = *args.ColumnsStartAt1
	}
	s.format.uriPaths = args.PathFormat == "uri"
	s.clientInvalidates = args.Invalidated
	s.log.Info("initialize", "client", args.ClientName)
	// Honest capabilities: what a read-only snapshot viewer can do.
	return dap.Capabilities{
		SupportsConfigurationDoneRequest: true,
		SupportsDelayedStackTraceLoading: true,
		SupportsEvaluateForHovers:        true,
		SupportsClipboardContext:         true,
	}, nil
}

func (s *session) onAttach(req request) (any, error) {
	args, err := parseAttachArguments(req.args, s.srv.maxThreads)
	if err != nil {
		return nil, &requestError{message: err.Error()}
	}
	// Only this goroutine attaches, so what is checked here still holds when the attach is
	// made below.
	s.mu.Lock()
	_, _, err = s.state.next(attachRequest)
	pid := s.pid()
	s.mu.Unlock()
	if err != nil {
		return nil, userErrorf("already attached to process %d: start a new session for another process", pid)
	}

	// The first snapshot is taken right away, so that a process that cannot be read (no
	// asyncio, memory not readable) fails the attach request rather than the stop after it.
	start, statErr := procfs.ReadStat("/proc", args.ProcessID)
	target, err := s.srv.attach(args.ProcessID, inspector.Options{Retries: args.Retries, MainThreadOnly: args.MainThreadOnly, ThreadNames: true})
	if err != nil {
		return nil, &requestError{message: inspector.Explain(err)}
	}
	if _, err := target.Snapshot(); err != nil {
		return nil, &requestError{message: inspector.Explain(err)}
	}

	s.mu.Lock()
	eff, err := s.transitionLocked(attachRequest) // allowed: checked above
	s.target = target
	s.args = args
	s.src = newSourceResolver(args.ProcessID)
	s.watch = newWatch(args.StuckThreshold, args.BlockedThreshold)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	s.log.Info("attached", "pid", args.ProcessID, "python", target.PythonVersion(), "refresh", args.RefreshInterval)

	if statErr == nil {
		s.watchForExit(args.ProcessID, start.StartTime)
	}
	s.afterResponse(func() {
		s.conn.output("console", fmt.Sprintf("aioscope: attached to process %d (Python %s), read-only: the process is never stopped; each stop is a snapshot of it.\n",
			args.ProcessID, target.PythonVersion()))
	})
	// initialized comes once there is a process to configure for: clients that wait for it
	// before configuring (DebugClient's configurationSequence) then see it whether they started
	// waiting before initialize or only after it.
	s.afterResponse(func() { s.conn.event("initialized", nil) })
	s.carryOut(eff)
	return nil, nil
}

func (s *session) onConfigurationDone() (any, error) {
	return nil, s.advance(configurationDoneRequest)
}

// onSetExceptionBreakpoints answers with no breakpoints. A client that does not send
// configurationDone (one that predates it, or @vscode/debugadapter-testsupport's DebugClient
// unless it launches) ends its configuration with this request instead, so if configurationDone
// does not follow within configurationGrace, the configuration counts as done anyway.
func (s *session) onSetExceptionBreakpoints() (any, error) {
	if err := s.advance(setExceptionBreakpointsRequest); err != nil {
		return nil, err
	}
	return dap.SetExceptionBreakpointsResponseBody{Breakpoints: []dap.Breakpoint{}}, nil
}

// configurationGrace is how long after setExceptionBreakpoints the first stop waits for a
// configurationDone that may not come. Clients that send it do so right away.
const configurationGrace = 300 * time.Millisecond

// stopUnlessConfigured makes the first stop after configurationGrace, unless configurationDone
// has made it by then.
func (s *session) stopUnlessConfigured() {
	s.goBeside("the first stop", func() {
		t := time.NewTimer(configurationGrace)
		defer t.Stop()
		select {
		case <-s.ctx.Done():
		case <-t.C:
			s.firstStop()
		}
	})
}

// firstStop takes the session's first snapshot and reports it as a stop, once.
func (s *session) firstStop() {
	if _, err := s.transition(firstStopDue); err != nil {
		return
	}
	v, err := s.takeSnapshot()
	if err != nil {
		s.snapshotFailed(err)
		return
	}
	if r, ok := s.showStop(v); ok {
		s.reportStop(v, r)
	}
}

func (s *session) onPause() (any, error) {
	if s.phase() == detached {
		return nil, errNotAttached
	}
	s.stopRefresh()
	v, err := s.requestedSnapshot()
	if err != nil {
		return nil, err
	}
	if r, ok := s.showStop(v); ok {
		s.afterResponse(func() { s.reportStop(v, r) })
	}
	return nil, nil
}

// requestedSnapshot takes the snapshot a request asks for. When the target has gone, the error
// response is followed by the news that it has exited.
func (s *session) requestedSnapshot() (*view, error) {
	v, err := s.takeSnapshot()
	if err != nil {
		if isGone(err) {
			s.afterResponse(func() { s.targetExited(0) })
		}
		return nil, &requestError{message: explain(err)}
	}
	return v, nil
}

func (s *session) onContinue(req request) (any, error) {
	var args dap.ContinueArguments
	if err := decodeArgs(req, &args); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if _, err := s.transitionLocked(continueRequest); err != nil {
		pid := s.pid()
		s.mu.Unlock()
		if errors.Is(err, errNotAttached) {
			return nil, err
		}
		return nil, userErrorf("process %d has exited", pid)
	}
	interval := s.args.RefreshInterval
	threadID := args.ThreadId
	if threadID == 0 && s.view != nil {
		threadID = s.view.tellingThread()
	}
	s.mu.Unlock()
	s.afterResponse(func() {
		s.conn.event("continued", dap.ContinuedEventBody{ThreadId: threadID, AllThreadsContinued: true})
		if interval > 0 {
			s.startRefresh(interval)
		}
	})
	return dap.ContinueResponseBody{AllThreadsContinued: true}, nil
}

// onSnapshot takes a snapshot for the aioscope/snapshot request and shows it in every view: while
// the session is stopped as a new stop that keeps what the user looks at, otherwise with thread
// events for the tasks that have finished or started.
func (s *session) onSnapshot() (any, error) {
	v, err := s.requestedSnapshot()
	if err != nil {
		return nil, err
	}
	graph := s.encodeGraph(v, nil)
	if s.phase() == stopped {
		if r, ok := s.showStop(v); ok {
			s.afterResponse(func() { s.reportStopGraph(v, graph, r) })
		}
		return json.RawMessage(graph), nil
	}
	s.mu.Lock()
	events := s.replace(v)
	s.mu.Unlock()
	s.afterResponse(func() {
		s.publish(v, graph)
		s.sendThreadEvents(events)
	})
	return json.RawMessage(graph), nil
}

func (s *session) onDisconnect(req request) (any, error) {
	var args dap.DisconnectArguments
	_ = decodeArgs(req, &args) // a disconnect is honoured whatever its arguments
	s.stopRefresh()
	if args.TerminateDebuggee {
		s.log.Info("disconnect asked to terminate the target; aioscope never does")
	}
	_, err := s.transition(disconnectRequest)
	return nil, err
}
