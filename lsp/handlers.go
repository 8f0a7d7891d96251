package lsp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/aioscope/aioscope/internal/taskjson"
)

// Commands of workspace/executeCommand.
const (
	cmdAttach  = "aioscope.attach"
	cmdDetach  = "aioscope.detach"
	cmdRefresh = "aioscope.refresh"
)

// errNotAttached is what requests that need a target fail with before one is attached.
var errNotAttached = &jsonrpc2.Error{Code: codeRequestFailed,
	Message: "aioscope: not attached to a process: set initializationOptions.processId, or run the command aioscope.attach with a PID"}

func invalidParams(format string, args ...any) error {
	return &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: "aioscope: " + fmt.Sprintf(format, args...)}
}

// decode reads a request's params into v.
func decode(params *json.RawMessage, v any) error {
	if params == nil || len(bytes.TrimSpace(*params)) == 0 || string(bytes.TrimSpace(*params)) == "null" {
		return invalidParams("missing params")
	}
	if err := json.Unmarshal(*params, v); err != nil {
		return invalidParams("invalid params: %v", err)
	}
	return nil
}

// notification handles a notification, on the reading goroutine.
func (s *session) notification(req *jsonrpc2.Request) {
	s.mu.Lock()
	ph := s.phase
	s.mu.Unlock()
	if req.Method == "exit" {
		_ = s.conn.Close()
		return
	}
	if req.Method == "$/cancelRequest" {
		s.cancelRequest(req.Params)
		return
	}
	if ph != running {
		return // before initialize and after shutdown, notifications are dropped
	}
	switch req.Method {
	case "initialized":
		s.mu.Lock()
		pid := s.opts.pid
		s.mu.Unlock()
		if pid > 0 {
			s.goBeside("attaching", func() {
				if _, err := s.attach(pid); err != nil {
					s.showMessage(messageError, err.Error())
				}
			})
		}
	case "textDocument/didOpen":
		var p didOpenParams
		if decode(req.Params, &p) == nil && p.TextDocument.URI != "" {
			s.mu.Lock()
			if len(s.docs) < maxOpenDocuments {
				s.docs[p.TextDocument.URI] = uriPath(p.TextDocument.URI)
			}
			s.mu.Unlock()
		}
	case "textDocument/didClose":
		var p didCloseParams
		if decode(req.Params, &p) == nil {
			s.mu.Lock()
			delete(s.docs, p.TextDocument.URI)
			s.mu.Unlock()
		}
	default:
		// didChange, didSave, configuration changes, $/ notifications: nothing to do.
		s.log.Debug("notification ignored", "method", req.Method)
	}
}

// maxOpenDocuments bounds the documents a session keeps track of.
const maxOpenDocuments = 10000

// request answers a request.
func (s *session) request(ctx ctxLike, req *jsonrpc2.Request) (any, error) {
	s.mu.Lock()
	ph := s.phase
	s.mu.Unlock()
	switch {
	case req.Method == "initialize":
		if ph != uninitialized {
			return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidRequest, Message: "aioscope: initialize was already received"}
		}
		return s.initialize(req.Params)
	case ph == uninitialized:
		return nil, &jsonrpc2.Error{Code: codeServerNotInitialized, Message: "aioscope: the first request must be initialize"}
	case ph == shutDown:
		return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidRequest, Message: "aioscope: the server is shutting down: only exit is accepted"}
	}
	switch req.Method {
	case "shutdown":
		s.attachMu.Lock()
		s.mu.Lock()
		s.phase = shutDown
		s.mu.Unlock()
		s.stopAttachment()
		s.attachMu.Unlock()
		return nil, nil
	case "textDocument/codeLens":
		var p codeLensParams
		if err := decode(req.Params, &p); err != nil {
			return nil, err
		}
		v, r, path := s.viewFor(p.TextDocument.URI)
		if v == nil {
			return []CodeLens{}, nil
		}
		return r.codeLenses(v, path), nil
	case "codeLens/resolve":
		var lens CodeLens
		if err := decode(req.Params, &lens); err != nil {
			return nil, err
		}
		return lens, nil
	case "textDocument/inlayHint":
		var p inlayHintParams
		if err := decode(req.Params, &p); err != nil {
			return nil, err
		}
		v, r, path := s.viewFor(p.TextDocument.URI)
		if v == nil {
			return []InlayHint{}, nil
		}
		return r.inlayHints(v, path, p.Range.Start.Line, p.Range.End.Line), nil
	case "textDocument/hover":
		var p textDocumentPositionParams
		if err := decode(req.Params, &p); err != nil {
			return nil, err
		}
		v, r, path := s.viewFor(p.TextDocument.URI)
		if v == nil {
			return nil, nil
		}
		return r.hover(v, path, p.Position.Line, s.argumentReader(ctx, v)), nil
	case "workspace/symbol":
		var p workspaceSymbolParams
		if err := decode(req.Params, &p); err != nil {
			return nil, err
		}
		s.mu.Lock()
		v, r := s.view, s.rend
		s.mu.Unlock()
		return r.symbols(v, p.Query), nil
	case "workspace/executeCommand":
		var p executeCommandParams
		if err := decode(req.Params, &p); err != nil {
			return nil, err
		}
		return s.executeCommand(p)
	case "aioscope/snapshot":
		v, err := s.refreshNow()
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := taskjson.WritePS(&b, v.snap); err != nil {
			return nil, err
		}
		return json.RawMessage(b.Bytes()), nil
	}
	return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: fmt.Sprintf("aioscope: unknown method %q", clip(req.Method))}
}

// ctxLike is the part of a context the handlers use.
type ctxLike interface{ Err() error }

// viewFor returns what a request about the document at uri is answered from.
func (s *session) viewFor(uri string) (*view, renderer, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path, ok := s.docs[uri]
	if !ok {
		path = uriPath(uri)
	}
	return s.view, s.rend, path
}

// argumentReader returns what reads the arguments of v's tasks for a hover, if the target can,
// and v is its latest snapshot.
func (s *session) argumentReader(ctx ctxLike, v *view) ArgumentReader {
	s.mu.Lock()
	att := s.att
	current := s.view == v
	s.mu.Unlock()
	if att == nil || !current || ctx.Err() != nil {
		return nil
	}
	if r, ok := att.target.(ArgumentReader); ok {
		return r
	}
	return nil
}

// initialize answers the initialize request.
func (s *session) initialize(params *json.RawMessage) (any, error) {
	var p initializeParams
	if err := decode(params, &p); err != nil {
		return nil, err
	}
	root := uriPath(p.RootURI)
	opts, err := parseOptions(p.InitializationOptions, root)
	if err != nil {
		return nil, invalidParams("%v", err)
	}
	c := p.Capabilities
	rend := renderer{
		utf8:     slices.Contains(c.General.PositionEncodings, encodingUTF8),
		markdown: slices.Contains(c.TextDocument.Hover.ContentFormat, "markdown"),
	}
	hints := c.TextDocument.CodeLens == nil
	if opts.inlayHints != nil {
		hints = *opts.inlayHints
	}
	s.mu.Lock()
	s.phase = running
	s.opts = opts
	s.rend = rend
	s.root = root
	s.caps = sessionCaps{
		lensRefresh: c.Workspace.CodeLens.RefreshSupport,
		hintRefresh: c.Workspace.InlayHint.RefreshSupport,
		related:     c.TextDocument.PublishDiagnostics.RelatedInformation,
		hints:       hints,
	}
	s.mu.Unlock()

	enc := encodingUTF16
	if rend.utf8 {
		enc = encodingUTF8
	}
	res := initializeResult{
		Capabilities: serverCapabilities{
			PositionEncoding:        enc,
			TextDocumentSync:        textDocumentSync{OpenClose: true},
			CodeLensProvider:        &codeLensOptions{},
			HoverProvider:           true,
			InlayHintProvider:       hints,
			WorkspaceSymbolProvider: true,
		},
		ServerInfo: serverInfo{Name: "aioscope", Version: s.srv.version},
	}
	if opts.advertiseCommands {
		res.Capabilities.ExecuteCommandProvider = &executeCommandOptions{Commands: []string{cmdAttach, cmdDetach, cmdRefresh}}
	}
	return res, nil
}

// attachResult answers aioscope.attach and aioscope.refresh.
type attachResult struct {
	PID           int    `json:"pid"`
	PythonVersion string `json:"pythonVersion"`
	// Tasks is how many tasks the snapshot found; absent when it could not be taken.
	Tasks      *int   `json:"tasks,omitempty"`
	CapturedAt string `json:"capturedAt,omitempty"`
}

// executeCommand runs one of the server's commands.
func (s *session) executeCommand(p executeCommandParams) (any, error) {
	switch p.Command {
	case cmdAttach:
		if len(p.Arguments) != 1 {
			return nil, invalidParams("%s takes one argument, the PID of the process to read", cmdAttach)
		}
		pid, err := parsePID(p.Arguments[0])
		if err != nil {
			return nil, invalidParams("%s: %v", cmdAttach, err)
		}
		return s.attach(pid)
	case cmdDetach:
		if !s.detach() {
			return nil, errNotAttached
		}
		return nil, nil
	case cmdRefresh:
		v, err := s.refreshNow()
		if err != nil {
			return nil, err
		}
		n := len(v.snap.Tasks)
		return attachResult{PID: v.snap.PID, PythonVersion: v.snap.PythonVersion, Tasks: &n,
			CapturedAt: v.snap.CapturedAt.UTC().Format(time.RFC3339Nano)}, nil
	}
	return nil, invalidParams("unknown command %q (the commands are %s)", clip(p.Command), strings.Join([]string{cmdAttach, cmdDetach, cmdRefresh}, ", "))
}
