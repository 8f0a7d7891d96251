package lsp

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/lsptest"
)

// testClient is a language client on the other end of a pipe from a session.
type testClient struct {
	*lsptest.Client
	t    testing.TB
	done chan error // what Serve returned
}

// waitTimeout bounds how long a test waits for something the server is to send.
const waitTimeout = lsptest.DefaultTimeout

func startClient(t testing.TB, srv *Server) *testClient {
	t.Helper()
	a, b := net.Pipe()
	c := &testClient{Client: lsptest.New(t, b), t: t, done: make(chan error, 1)}
	go func() { c.done <- srv.Serve(context.Background(), a) }()
	t.Cleanup(func() {
		c.Conn.Close()
		select {
		case <-c.done:
		case <-time.After(waitTimeout):
			t.Error("the session did not end after the client closed its end")
		}
	})
	return c
}

// initialize runs the handshake with the given initialization options and client capabilities.
func (c *testClient) initialize(opts map[string]any, caps map[string]any) initializeResult {
	c.t.Helper()
	if caps == nil {
		caps = fullCaps()
	}
	var res initializeResult
	c.MustCall("initialize", map[string]any{"processId": nil, "rootUri": nil, "capabilities": caps, "initializationOptions": opts}, &res)
	c.Notify("initialized", map[string]any{})
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
	c.Notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": uri, "languageId": "python", "version": 1, "text": ""}})
	return uri
}

func (c *testClient) lenses(uri string) []CodeLens {
	c.t.Helper()
	var out []CodeLens
	c.MustCall("textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": uri}}, &out)
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
	c.MustCall("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": Position{Line: line}}, &h)
	return h
}

// diagnosticsFor waits for a publication of diagnostics for uri that ok accepts.
func (c *testClient) diagnosticsFor(uri string, ok func([]Diagnostic) bool) []Diagnostic {
	c.t.Helper()
	var got []Diagnostic
	c.WaitNote("textDocument/publishDiagnostics", func(raw json.RawMessage) bool {
		var p publishDiagnosticsParams
		if json.Unmarshal(raw, &p) != nil || p.URI != uri {
			return false
		}
		got = p.Diagnostics
		return ok(p.Diagnostics)
	})
	return got
}

// waitless drops the waiting time from a lens title: it depends on when the lens was asked for.
func waitless(title string) string {
	if i := strings.Index(title, " · waiting"); i >= 0 {
		return title[:i]
	}
	return title
}
