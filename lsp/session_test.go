package lsp

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/faketarget"
)

func TestLifecycle(t *testing.T) {
	c := startClient(t, fakeServer(faketarget.New()))
	if e := c.CallError("textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": "file:///x.py"}}); e.Code != codeServerNotInitialized {
		t.Errorf("a request before initialize: %v", e)
	}
	res := c.initialize(nil, nil)
	caps := res.Capabilities
	if caps.PositionEncoding != "utf-16" || !caps.HoverProvider || caps.CodeLensProvider == nil || !caps.WorkspaceSymbolProvider ||
		caps.InlayHintProvider || caps.ExecuteCommandProvider == nil || len(caps.ExecuteCommandProvider.Commands) != 3 ||
		!caps.TextDocumentSync.OpenClose || res.ServerInfo.Name != "aioscope" {
		t.Errorf("capabilities: %+v", res)
	}
	if e := c.CallError("initialize", map[string]any{"capabilities": map[string]any{}}); e.Code != jsonrpc2.CodeInvalidRequest {
		t.Errorf("a second initialize: %v", e)
	}
	if e := c.CallError("textDocument/definition", map[string]any{}); e.Code != jsonrpc2.CodeMethodNotFound || !strings.Contains(e.Message, "textDocument/definition") {
		t.Errorf("an unknown method: %v", e)
	}
	// Before attach: empty answers to what editors ask on their own, errors to what needs a target.
	uri := c.open("/nonexistent/app.py")
	if ls := c.lenses(uri); len(ls) != 0 {
		t.Errorf("lenses before attach: %v", ls)
	}
	if h := c.hover(uri, 3); h != nil {
		t.Errorf("hover before attach: %v", h)
	}
	var syms []SymbolInformation
	c.MustCall("workspace/symbol", map[string]any{"query": ""}, &syms)
	if syms == nil || len(syms) != 0 {
		t.Errorf("symbols before attach: %#v", syms)
	}
	for _, req := range []struct {
		method string
		params any
	}{
		{"aioscope/snapshot", nil},
		{"workspace/executeCommand", map[string]any{"command": "aioscope.refresh"}},
		{"workspace/executeCommand", map[string]any{"command": "aioscope.detach"}},
	} {
		if e := c.CallError(req.method, req.params); e.Code != codeRequestFailed || !strings.Contains(e.Message, "not attached") {
			t.Errorf("%s %v before attach: %v", req.method, req.params, e)
		}
	}
	for _, params := range []any{
		map[string]any{"command": "aioscope.attach"},
		map[string]any{"command": "aioscope.attach", "arguments": []any{"x"}},
		map[string]any{"command": "aioscope.attach", "arguments": []any{-4}},
		map[string]any{"command": "aioscope.attach", "arguments": []any{1.5}},
		map[string]any{"command": "aioscope.nothing"},
		map[string]any{"command": 7},
		nil,
	} {
		if e := c.CallError("workspace/executeCommand", params); e.Code != jsonrpc2.CodeInvalidParams {
			t.Errorf("executeCommand %v: %v", params, e)
		}
	}
	if e := c.CallError("textDocument/hover", []int{1}); e.Code != jsonrpc2.CodeInvalidParams {
		t.Errorf("hover with an array: %v", e)
	}
	c.MustCall("shutdown", nil, nil)
	if e := c.CallError("textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": uri}}); e.Code != jsonrpc2.CodeInvalidRequest {
		t.Errorf("a request after shutdown: %v", e)
	}
	c.Notify("exit", nil)
	select {
	case err := <-c.done:
		if err != nil {
			t.Errorf("Serve after exit: %v", err)
		}
		c.done <- err // for the cleanup
	case <-time.After(waitTimeout):
		t.Fatal("the session did not end after exit")
	}
}

func TestBadInitializationOptions(t *testing.T) {
	for _, opts := range []map[string]any{
		{"processId": "abc"},
		{"processId": map[string]any{}},
		{"refreshInterval": -1},
		{"refreshInterval": "fast"},
		{"pathMappings": []any{map[string]any{"localRoot": "/a", "remoteRoot": "app"}}},
		{"retries": 100000},
		{"stuckThreshold": 0},
		{"stuckThreshold": "30s"},
		{"blockedThreshold": -1},
		{"blockedThreshold": 1e12},
	} {
		c := startClient(t, fakeServer(faketarget.New()))
		var res any
		err := c.Call("initialize", map[string]any{"capabilities": map[string]any{}, "initializationOptions": opts}, &res)
		if e, ok := err.(*jsonrpc2.Error); !ok || e.Code != jsonrpc2.CodeInvalidParams || !strings.Contains(e.Message, "initializationOptions") {
			t.Errorf("initializationOptions %v: %v", opts, err)
		}
	}
}

// TestAttachRealProcesses attaches to processes that cannot be read: the test itself (not
// Python) and a PID that does not exist; the message is the CLI's.
func TestAttachRealProcesses(t *testing.T) {
	c := startClient(t, NewServer(Config{}))
	c.initialize(nil, nil)
	e := c.CallError("workspace/executeCommand", map[string]any{"command": "aioscope.attach", "arguments": []any{os.Getpid()}})
	if e.Code != codeRequestFailed || !strings.Contains(e.Message, "is this the right PID?") {
		t.Errorf("attaching to a Go program: %v", e)
	}
	e = c.CallError("workspace/executeCommand", map[string]any{"command": "aioscope.attach", "arguments": []any{"4194303"}})
	if e.Code != codeRequestFailed || !strings.Contains(e.Message, "no process with PID 4194303") {
		t.Errorf("attaching to a PID that does not exist: %v", e)
	}
	// Through the initialization options, the same message comes as a window/showMessage.
	c2 := startClient(t, NewServer(Config{}))
	c2.initialize(map[string]any{"processId": os.Getpid()}, nil)
	c2.WaitNote("window/showMessage", func(raw json.RawMessage) bool {
		return strings.Contains(string(raw), "is this the right PID?") && strings.Contains(string(raw), `"type":1`)
	})
	if ls := c2.lenses("file:///x.py"); len(ls) != 0 {
		t.Errorf("lenses: %v", ls)
	}
}

func TestLensesHoverSymbols(t *testing.T) {
	file := sourceFile(t)
	f := faketarget.New(workers(file, 4))
	c := startClient(t, fakeServer(f))
	c.initialize(map[string]any{"processId": "1", "refreshInterval": 0}, nil)
	uri := c.open(file)
	ls := c.waitLenses(uri, func(ls []CodeLens) bool { return len(ls) == 2 })
	if got := lensTitles(ls); got != "⏸ 4 tasks · worker-00, worker-01, worker-02, … | ⏸ 1 task · main" {
		t.Errorf("lenses: %s", got)
	}
	if r := ls[0].Range; r != (Range{Start: Position{2, 4}, End: Position{2, 26}}) {
		t.Errorf("range of the first lens: %+v", r)
	}
	h := c.hover(uri, 2)
	if h == nil || h.Contents.Kind != "markdown" || !strings.Contains(h.Contents.Value, "**⏸ 4 tasks are suspended here** in `worker`") ||
		!strings.Contains(h.Contents.Value, "- `worker-03` — waits in `sleep` — awaited by main") {
		t.Errorf("hover: %+v", h)
	}
	if h := c.hover(uri, 0); h != nil {
		t.Errorf("hover where nothing waits: %+v", h)
	}
	var syms []SymbolInformation
	c.MustCall("workspace/symbol", map[string]any{"query": "WORKER-0"}, &syms)
	if len(syms) != 4 || syms[0].Name != "worker-00" || syms[0].Location.URI != uri || syms[0].Location.Range.Start.Line != 2 || syms[0].ContainerName != "worker" {
		t.Errorf("symbols: %+v", syms)
	}
	// A refresh on request updates the lenses, and clients that support it are told to ask again.
	f.Set(nil, workers(file, 7))
	var res attachResult
	c.MustCall("workspace/executeCommand", map[string]any{"command": "aioscope.refresh"}, &res)
	if res.Tasks == nil || *res.Tasks != 8 || res.PID != os.Getpid() {
		t.Errorf("refresh: %+v", res)
	}
	if got := lensTitles(c.lenses(uri)); !strings.HasPrefix(got, "⏸ 7 tasks") {
		t.Errorf("lenses after refresh: %s", got)
	}
	refreshes := c.Requests("workspace/codeLens/refresh")
	if refreshes < 2 {
		t.Errorf("%d workspace/codeLens/refresh requests, want one per change", refreshes)
	}
	// The snapshot request answers with the ps --json document.
	var doc struct {
		PID   int `json:"pid"`
		Tasks []struct {
			Name string `json:"name"`
		} `json:"tasks"`
		Cycles [][]string `json:"cycles"`
	}
	c.MustCall("aioscope/snapshot", nil, &doc)
	if doc.PID != os.Getpid() || len(doc.Tasks) != 8 || doc.Tasks[1].Name != "worker-00" || doc.Cycles == nil {
		t.Errorf("aioscope/snapshot: %+v", doc)
	}
	// Detached, nothing is shown.
	c.MustCall("workspace/executeCommand", map[string]any{"command": "aioscope.detach"}, nil)
	if ls := c.lenses(uri); len(ls) != 0 {
		t.Errorf("lenses after detach: %v", ls)
	}
}

func TestInlayHintsAndUTF8(t *testing.T) {
	file := sourceFile(t)
	f := faketarget.New(cycleSnapshot(file))
	c := startClient(t, fakeServer(f))
	// A client without code lenses that counts in bytes, like Helix.
	res := c.initialize(map[string]any{"processId": 5, "refreshInterval": 0}, map[string]any{
		"general": map[string]any{"positionEncodings": []string{"utf-8", "utf-16"}},
	})
	if !res.Capabilities.InlayHintProvider || res.Capabilities.PositionEncoding != "utf-8" {
		t.Fatalf("capabilities: %+v", res.Capabilities)
	}
	uri := c.open(file)
	var hints []InlayHint
	deadline := time.Now().Add(waitTimeout)
	for len(hints) < 2 && time.Now().Before(deadline) {
		c.MustCall("textDocument/inlayHint", map[string]any{"textDocument": map[string]any{"uri": uri},
			"range": Range{End: Position{Line: 100}}}, &hints)
		time.Sleep(10 * time.Millisecond)
	}
	if len(hints) != 2 || hints[0].Label != "⏸ w" || hints[0].Position != (Position{2, 26}) ||
		hints[1].Label != "⏸ 2 tasks" || hints[1].Position != (Position{4, 23}) {
		t.Errorf("inlay hints: %+v", hints)
	}
	c.MustCall("textDocument/inlayHint", map[string]any{"textDocument": map[string]any{"uri": uri},
		"range": Range{Start: Position{Line: 3}, End: Position{Line: 4}}}, &hints)
	if len(hints) != 1 {
		t.Errorf("inlay hints of lines 4-5: %+v", hints)
	}
	// Plain text hovers for a client that did not ask for Markdown.
	if h := c.hover(uri, 4); h == nil || h.Contents.Kind != "plaintext" || !strings.Contains(h.Contents.Value, "• A — awaited by B") {
		t.Errorf("hover: %+v", h)
	}
}

func TestCycleDiagnostics(t *testing.T) {
	file := sourceFile(t)
	f, c := fakeSession(t, cycleSnapshot(file), 0)
	uri := fileURI(file)
	ds := c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return len(ds) > 0 })
	if len(ds) != 2 {
		t.Fatalf("diagnostics: %+v", ds)
	}
	for _, d := range ds {
		// Line 5 is "    ż = 'ż'; await fut": byte column 14 is UTF-16 column 12.
		if d.Severity != severityError || d.Source != "aioscope" || d.Code != "await-cycle" ||
			d.Range != (Range{Start: Position{4, 12}, End: Position{4, 21}}) || len(d.RelatedInformation) != 1 ||
			d.RelatedInformation[0].Location.URI != uri {
			t.Errorf("diagnostic: %+v", d)
		}
	}
	for _, d := range ds {
		a := strings.HasPrefix(d.Message, "await cycle: task A waits for B, which waits for A: none of them can finish (cycle ")
		b := strings.HasPrefix(d.Message, "await cycle: task B waits for A, which waits for B: none of them can finish (cycle ")
		if !a && !b || a && d.RelatedInformation[0].Message != "task B waits here" || b && d.RelatedInformation[0].Message != "task A waits here" {
			t.Errorf("diagnostic: %+v", d)
		}
	}
	if ds[0].Message == ds[1].Message {
		t.Errorf("both members have the same message: %s", ds[0].Message)
	}
	// The cycle goes away: the diagnostics are taken back.
	f.Set(nil, workers(file, 1))
	c.MustCall("workspace/executeCommand", map[string]any{"command": "aioscope.refresh"}, nil)
	c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return ds != nil && len(ds) == 0 })
}

// TestTargetExits: a snapshot that finds the process gone ends the attachment, tells the user
// once, and takes back the diagnostics.
func TestTargetExits(t *testing.T) {
	file := sourceFile(t)
	f, c := fakeSession(t, cycleSnapshot(file), 100)
	uri := c.open(file)
	c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return len(ds) > 0 })
	c.waitLenses(uri, func(ls []CodeLens) bool { return len(ls) > 0 })
	f.Set(&inspector.ProcessGoneError{PID: 5})
	c.WaitNote("window/showMessage", func(raw json.RawMessage) bool { return strings.Contains(string(raw), "has exited") })
	c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return ds != nil && len(ds) == 0 })
	if ls := c.lenses(uri); len(ls) != 0 {
		t.Errorf("lenses after the exit: %v", ls)
	}
	if e := c.CallError("aioscope/snapshot", nil); !strings.Contains(e.Message, "not attached") {
		t.Errorf("snapshot after the exit: %v", e)
	}
	time.Sleep(300 * time.Millisecond) // refreshes would have come by now
	n := 0
	for _, m := range c.ShowMessages() {
		if strings.Contains(m, "has exited") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("told %d times that the process exited", n)
	}
}

// TestRefreshFailures: a target that changes too fast is reported once, not at every refresh.
func TestRefreshFailures(t *testing.T) {
	file := sourceFile(t)
	f, c := fakeSession(t, workers(file, 1), 100)
	uri := c.open(file)
	c.waitLenses(uri, func(ls []CodeLens) bool { return len(ls) > 0 })
	f.Set(&inspector.TargetChangedError{Attempts: 4})
	time.Sleep(600 * time.Millisecond)
	msgs := c.ShowMessages()
	if len(msgs) != 1 || !strings.Contains(msgs[0], "changed too fast") {
		t.Errorf("messages: %q", msgs)
	}
	// The lenses of the last good snapshot stay.
	if ls := c.lenses(uri); len(ls) != 2 {
		t.Errorf("lenses: %v", ls)
	}
}

// TestCancelRequest cancels a snapshot request while the target is being read.
func TestCancelRequest(t *testing.T) {
	file := sourceFile(t)
	f, c := fakeSession(t, workers(file, 1), 0)
	c.WaitNote("window/logMessage", nil) // attached
	block := make(chan struct{})
	f.Block(block)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	w, err := c.Conn.DispatchCall(ctx, "aioscope/snapshot", nil, jsonrpc2.PickID(jsonrpc2.ID{Num: 4242}))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	c.Notify("$/cancelRequest", map[string]any{"id": 4242})
	time.Sleep(50 * time.Millisecond)
	close(block)
	err = w.Wait(ctx, nil)
	if e, ok := err.(*jsonrpc2.Error); !ok || e.Code != codeRequestCancelled {
		t.Errorf("cancelled request: %v", err)
	}
	// The session goes on.
	if ls := c.lenses(fileURI(file)); len(ls) != 2 {
		t.Errorf("lenses after a cancelled request: %v", ls)
	}
}
