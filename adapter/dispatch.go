package adapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/baseproto"
)

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

// explain is the one line shown to the user for err.
func explain(err error) string {
	var re *requestError
	if errors.As(err, &re) {
		return re.message
	}
	return inspector.Explain(err)
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
		s.conn.output("stderr", fmt.Sprintf("aioscope: ignored a message that is not a JSON object (%v): %s\n", err, baseproto.Truncate(string(body), 120)))
		return
	}
	var typ string
	if err := json.Unmarshal(env.Type, &typ); err != nil || typ != "request" {
		if typ == "" {
			typ = string(env.Type)
		}
		s.conn.output("stderr", fmt.Sprintf("aioscope: ignored a message of type %s from the client: only requests are expected\n", baseproto.Truncate(typ, 40)))
		return
	}
	req := request{args: env.Arguments}
	seqErr := json.Unmarshal(env.Seq, &req.seq)
	cmdErr := json.Unmarshal(env.Command, &req.command)
	switch {
	case cmdErr != nil:
		s.fail(req, userErrorf("request has no command"))
		return
	case seqErr != nil:
		s.fail(req, userErrorf("request %q has no valid seq", baseproto.Truncate(req.command, 60)))
		return
	}
	s.log.Debug("request", "seq", req.seq, "command", req.command)
	if body, err := s.dispatch(req); err != nil {
		s.fail(req, err)
	} else {
		s.conn.respond(req, body)
	}
	// What a handler queued goes out after its response, failed or not (a failed pause still
	// reports that the target has exited).
	after := s.after
	s.after = nil
	for _, f := range after {
		s.guard(req.command, f)
	}
}

// fail sends the error response to req. Only a failed attach is left for the client to show
// as it sees fit, with the link the attach arguments asked for (errorLink); the other requests'
// errors are shown where they were made.
func (s *session) fail(req request, err error) {
	msg := errorMessage{ID: 1, Format: explain(err)}
	if req.command == "attach" {
		var link struct {
			ErrorLink struct {
				URL   string `json:"url"`
				Label string `json:"label"`
			} `json:"errorLink"`
		}
		if json.Unmarshal(req.args, &link) == nil && link.ErrorLink.URL != "" {
			msg.URL, msg.URLLabel = link.ErrorLink.URL, link.ErrorLink.Label
		}
	} else {
		msg.ShowUser = new(bool)
	}
	s.log.Debug("request failed", "seq", req.seq, "command", req.command, "err", msg.Format)
	s.conn.respondError(req, msg)
}

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
		return nil, userErrorf("aioscope cannot start programs: attach to a running Python process instead (\"request\": \"attach\" with its \"processId\")")
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
		return nil, userErrorf("aioscope never terminates or restarts the process it reads: stop the session instead, which leaves the process running")
	case "next", "stepIn", "stepOut", "stepBack", "reverseContinue", "restartFrame", "goto", "gotoTargets", "stepInTargets":
		return nil, userErrorf("aioscope cannot step: it reads the process without ever stopping it")
	case "evaluate":
		return s.onEvaluate(req)
	case "aioscope/frameArguments":
		return s.onFrameArguments(req)
	case "aioscope/wakes":
		return s.onWakes(req)
	case "setVariable", "setExpression":
		return nil, userErrorf("aioscope never changes the process it reads: values are shown, not set")
	case "completions":
		return nil, userErrorf("aioscope does not complete expressions")
	default:
		return nil, userErrorf("aioscope does not support the %q request", baseproto.Truncate(req.command, 60))
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
