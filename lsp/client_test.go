package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"
)

// testClient is a language client on the other end of a pipe from a session, built on the same
// JSON-RPC library: it records the server's notifications and answers its requests.
type testClient struct {
	t    testing.TB
	conn *jsonrpc2.Conn
	done chan error // what Serve returned

	mu       sync.Mutex
	notes    []message
	requests []string // methods of the requests the server sent
	changed  chan struct{}
}

type message struct {
	Method string
	Params json.RawMessage
}

// waitTimeout bounds how long a test waits for something the server is to send.
const waitTimeout = 20 * time.Second

func startClient(t testing.TB, srv *Server) *testClient {
	t.Helper()
	a, b := net.Pipe()
	c := &testClient{t: t, done: make(chan error, 1), changed: make(chan struct{}, 1)}
	go func() { c.done <- srv.Serve(context.Background(), a) }()
	c.conn = jsonrpc2.NewConn(context.Background(), jsonrpc2.NewBufferedStream(b, jsonrpc2.VSCodeObjectCodec{}),
		jsonrpc2.AsyncHandler(jsonrpc2.HandlerWithError(c.handle)), jsonrpc2.SetLogger(nopLogger{}))
	t.Cleanup(func() {
		c.conn.Close()
		select {
		case <-c.done:
		case <-time.After(waitTimeout):
			t.Error("the session did not end after the client closed its end")
		}
	})
	return c
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func (c *testClient) handle(_ context.Context, _ *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
	c.mu.Lock()
	if req.Notif {
		var p json.RawMessage
		if req.Params != nil {
			p = *req.Params
		}
		c.notes = append(c.notes, message{req.Method, p})
	} else {
		c.requests = append(c.requests, req.Method)
	}
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return nil, nil
}

// call sends a request and decodes its result into result (which may be nil).
func (c *testClient) call(method string, params, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return c.conn.Call(ctx, method, params, result)
}

// mustCall is call for requests that must succeed.
func (c *testClient) mustCall(method string, params, result any) {
	c.t.Helper()
	if err := c.call(method, params, result); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

// callError sends a request that must fail and returns its error.
func (c *testClient) callError(method string, params any) *jsonrpc2.Error {
	c.t.Helper()
	err := c.call(method, params, nil)
	var e *jsonrpc2.Error
	if !errors.As(err, &e) {
		c.t.Fatalf("%s: got %v, want an error response", method, err)
	}
	return e
}

func (c *testClient) notify(method string, params any) {
	c.t.Helper()
	if err := c.conn.Notify(context.Background(), method, params); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

// initialize runs the handshake with the given initialization options and client capabilities.
func (c *testClient) initialize(opts map[string]any, caps map[string]any) initializeResult {
	c.t.Helper()
	if caps == nil {
		caps = fullCaps()
	}
	var res initializeResult
	c.mustCall("initialize", map[string]any{"processId": nil, "rootUri": nil, "capabilities": caps, "initializationOptions": opts}, &res)
	c.notify("initialized", map[string]any{})
	return res
}

// fullCaps are the capabilities of a client like VS Code's.
func fullCaps() map[string]any {
	return map[string]any{
		"workspace": map[string]any{"codeLens": map[string]any{"refreshSupport": true}},
		"textDocument": map[string]any{
			"codeLens":           map[string]any{},
			"hover":              map[string]any{"contentFormat": []string{"markdown", "plaintext"}},
			"publishDiagnostics": map[string]any{"relatedInformation": true},
		},
	}
}

func (c *testClient) open(path string) string {
	uri := fileURI(path)
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "python", "version": 1, "text": ""}})
	return uri
}

func (c *testClient) lenses(uri string) []CodeLens {
	c.t.Helper()
	var out []CodeLens
	c.mustCall("textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": uri}}, &out)
	return out
}

// waitLenses asks for the lenses of uri until ok accepts them.
func (c *testClient) waitLenses(uri string, ok func([]CodeLens) bool) []CodeLens {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ls := c.lenses(uri)
		if ok(ls) {
			return ls
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("lenses of %s never came right; last: %s", uri, lensTitles(ls))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lensTitles(ls []CodeLens) string {
	var s []string
	for _, l := range ls {
		title := "<no command>"
		if l.Command != nil {
			title = l.Command.Title
		}
		s = append(s, title)
	}
	return strings.Join(s, " | ")
}

func (c *testClient) hover(uri string, line int) *Hover {
	c.t.Helper()
	var h *Hover
	c.mustCall("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": Position{Line: line}}, &h)
	return h
}

// waitNote waits for a notification of method whose params ok accepts, and returns its params.
// Notifications already received count.
func (c *testClient) waitNote(method string, ok func(json.RawMessage) bool) json.RawMessage {
	c.t.Helper()
	deadline := time.After(waitTimeout)
	seen := 0
	for {
		c.mu.Lock()
		notes := c.notes[seen:]
		seen = len(c.notes)
		c.mu.Unlock()
		for _, n := range notes {
			if n.Method == method && (ok == nil || ok(n.Params)) {
				return n.Params
			}
		}
		select {
		case <-c.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			c.t.Fatalf("no %s notification came; got: %v", method, c.noteMethods())
			return nil
		}
	}
}

// diagnosticsFor waits for a publication of diagnostics for uri that ok accepts.
func (c *testClient) diagnosticsFor(uri string, ok func([]Diagnostic) bool) []Diagnostic {
	c.t.Helper()
	var got []Diagnostic
	c.waitNote("textDocument/publishDiagnostics", func(raw json.RawMessage) bool {
		var p publishDiagnosticsParams
		if json.Unmarshal(raw, &p) != nil || p.URI != uri {
			return false
		}
		got = p.Diagnostics
		return ok(p.Diagnostics)
	})
	return got
}

func (c *testClient) noteMethods() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range c.notes {
		out = append(out, n.Method+" "+clip(string(n.Params)))
	}
	return out
}

func (c *testClient) showMessages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range c.notes {
		if n.Method == "window/showMessage" {
			var p showMessageParams
			_ = json.Unmarshal(n.Params, &p)
			out = append(out, p.Message)
		}
	}
	return out
}

// waitless drops the waiting time from a lens title: it depends on when the lens was asked for.
func waitless(title string) string {
	if i := strings.Index(title, " · waiting"); i >= 0 {
		return title[:i]
	}
	return title
}
