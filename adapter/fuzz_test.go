package adapter

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/faketarget"
	"github.com/aioscope/aioscope/internal/fuzzcheck"
	"github.com/aioscope/aioscope/snapshot"
)

// FuzzSession feeds arbitrary input to a session with a made-up target: whatever it is, the
// session must end when the input ends, without a panic in any handler.
func FuzzSession(f *testing.F) {
	req := func(seq int, command string, args string) string {
		body := fmt.Sprintf(`{"seq":%d,"type":"request","command":%q,"arguments":%s}`, seq, command, args)
		return string(daptest.Frame([]byte(body)))
	}
	session := req(1, "initialize", `{"adapterID":"x"}`) + req(2, "attach", `{"processId":1}`) +
		req(3, "configurationDone", `{}`) + req(4, "threads", `{}`) +
		req(5, "stackTrace", `{"threadId":2,"startFrame":1,"levels":2}`) + req(6, "scopes", `{"frameId":1}`) +
		req(7, "variables", `{"variablesReference":3,"start":-5,"count":-1}`) + req(8, "aioscope/snapshot", `{}`) +
		req(9, "continue", `{}`) + req(10, "pause", `{}`)
	f.Add([]byte(session))
	f.Add([]byte(req(1, "attach", `{"processId":"1"}`) + req(2, "stackTrace", `{"threadId":-1,"startFrame":99999999999}`)))
	f.Add([]byte(req(1, "variables", `{"variablesReference":1e99}`) + "Content-Length: 3\r\n\r\n{}}"))
	f.Add([]byte("Content-Length: 2\r\n\r\n{}Content-Length: x\r\n\r\n"))
	f.Add([]byte(session + req(11, "scopes", `{"frameId":4}`) + req(12, "variables", `{"variablesReference":9}`)))
	f.Add([]byte(session + req(11, "evaluate", `{"expression":"a.b['c'][-1]","frameId":1,"context":"hover"}`) +
		req(12, "evaluate", `{"expression":"len(x","frameId":1}`) + req(13, "aioscope/frameArguments", `{"threadId":2}`)))

	// What a session keeps is bounded by what it is sent (one message at most of the size
	// limit) and by the snapshot it shows: never by numbers found in the input.
	f.Fuzz(func(t *testing.T, input []byte) {
		fuzzcheck.Bounded(t, "a session", 64<<20+64*uint64(len(input)), func() { runFuzzInput(t, input) })
	})
}

// runFuzzInput serves one session whose client sends input and then closes its end.
func runFuzzInput(t *testing.T, input []byte) {
	tasks := []snapshot.Task{
		task(0x10, "root", []snapshot.Frame{fr("main", appMain, 3, 0)}),
		task(0x20, "a", []snapshot.Frame{fr("a", appMain, 4, 1)}, awaiter(0x10, true, fr("main", appMain, 3, 0)), awaiter(0x30, true)),
		task(0x30, "b", []snapshot.Frame{fr("b", "<string>", 1, 0)}, awaiter(0x20, true), awaiter(0x77, false)),
	}
	h := &fuzzcheck.ErrorLog{}
	srv := fakeServer(faketarget.New(fakeSnapshot(tasks...)), Config{Logger: slog.New(h)})
	conn := fuzzcheck.ClientSending(input)
	_ = srv.Serve(context.Background(), conn)
	conn.Close()
	h.Report(t)
}
