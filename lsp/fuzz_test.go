package lsp

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/aioscope/aioscope/internal/faketarget"
	"github.com/aioscope/aioscope/internal/fuzzcheck"
	"github.com/aioscope/aioscope/snapshot"
)

// fuzzSeeds are hand-made inputs: a whole session, and the hostile cases the framing and the
// handlers must refuse.
func fuzzSeeds() []fuzzcheck.Seed {
	req := func(id int, method, params string) string {
		return frame(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%q,"params":%s}`, id, method, params))
	}
	note := func(method, params string) string {
		return frame(fmt.Sprintf(`{"jsonrpc":"2.0","method":%q,"params":%s}`, method, params))
	}
	const doc = `{"textDocument":{"uri":"file:///srv/app/main.py"}`
	session := req(1, "initialize", `{"capabilities":{"general":{"positionEncodings":["utf-8"]}},"initializationOptions":{"processId":1,"refreshInterval":0}}`) +
		note("initialized", `{}`) +
		note("textDocument/didOpen", `{"textDocument":{"uri":"file:///srv/app/main.py","text":"x"}}`) +
		req(2, "textDocument/codeLens", doc+`}`) +
		req(3, "textDocument/hover", doc+`,"position":{"line":3,"character":0}}`) +
		req(4, "textDocument/inlayHint", doc+`,"range":{"start":{"line":0,"character":0},"end":{"line":99,"character":0}}}`) +
		req(5, "workspace/symbol", `{"query":"a"}`) +
		req(6, "workspace/executeCommand", `{"command":"aioscope.refresh"}`) +
		req(7, "aioscope/snapshot", `null`) +
		note("$/cancelRequest", `{"id":7}`) +
		req(8, "workspace/executeCommand", `{"command":"aioscope.attach","arguments":[1]}`) +
		req(9, "workspace/executeCommand", `{"command":"aioscope.detach"}`) +
		note("textDocument/didClose", doc+`}`) +
		req(10, "shutdown", `null`) + note("exit", `null`)
	return []fuzzcheck.Seed{
		{Name: "session", Vals: []any{[]byte(session)}},
		{Name: "before-initialize", Vals: []any{[]byte(req(1, "textDocument/hover", `{}`) + note("initialized", `{}`))}},
		{Name: "bad-params", Vals: []any{[]byte(req(1, "initialize", `{"capabilities":{}}`) +
			req(2, "textDocument/hover", `{"textDocument":{"uri":7},"position":{"line":-5}}`) +
			req(3, "textDocument/inlayHint", doc+`,"range":{"start":{"line":1e99}}}`) +
			req(4, "workspace/executeCommand", `{"command":"aioscope.attach","arguments":["99999999999999999999"]}`))}},
		{Name: "bad-frames", Vals: []any{[]byte("Content-Length: 2\r\n\r\n{}" + frame(`[1,2]`) + frame(`{"id":{},"method":"x"}`) + "Content-Length: x\r\n\r\n")}},
		{Name: "bad-options", Vals: []any{[]byte(req(1, "initialize", `{"capabilities":{},"initializationOptions":{"processId":"-1","pathMappings":[{"localRoot":"","remoteRoot":"/"}]}}`))}},
	}
}

// FuzzSession feeds arbitrary input to a session with a made-up target: whatever it is, the
// session must end when the input ends, without a panic in any handler, within bounded memory.
func FuzzSession(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.Vals[0].([]byte))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		fuzzcheck.Bounded(t, "a session", 64<<20+64*uint64(len(input)), func() { runFuzzInput(t, input) })
	})
}

func TestFuzzCorpora(t *testing.T) {
	fuzzcheck.CheckCorpora(t, map[string]func(*testing.F){"FuzzSession": FuzzSession},
		map[string][]fuzzcheck.Seed{"FuzzSession": fuzzSeeds()})
}

// runFuzzInput serves one session whose client sends input and then closes its end.
func runFuzzInput(t *testing.T, input []byte) {
	const app = "/srv/app/main.py"
	tasks := []snapshot.Task{
		task(0x10, "root", []snapshot.Frame{fr("main", app, 3, 0, 9)}),
		task(0x20, "a", []snapshot.Frame{fr("a", app, 4, 1, -1)}, awaitedBy(0x10), awaitedBy(0x30)),
		task(0x30, "b", []snapshot.Frame{fr("b", "<string>", 1, 0, 4)}, awaitedBy(0x20), snapshot.Awaiter{ID: 0x77}),
	}
	h := &fuzzcheck.ErrorLog{}
	target := faketarget.New(fakeSnapshot(tasks...))
	srv := NewServer(Config{Logger: slog.New(h), Attach: target.Attach})
	_ = srv.Serve(context.Background(), fuzzcheck.ClientSending(input))
	h.Report(t)
}
