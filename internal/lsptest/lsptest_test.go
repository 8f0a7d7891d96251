package lsptest

import (
	"context"
	"encoding/json"
	"net"
	"testing"

	"github.com/sourcegraph/jsonrpc2"
)

// TestRecordsWhatTheServerSends runs the client against a server that, asked "go", sends a
// request and two notifications before answering, and refuses anything else.
func TestRecordsWhatTheServerSends(t *testing.T) {
	a, b := net.Pipe()
	handler := jsonrpc2.HandlerWithError(func(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
		if req.Method != "go" {
			return nil, &jsonrpc2.Error{Code: jsonrpc2.CodeMethodNotFound, Message: "no " + req.Method}
		}
		if err := conn.Call(ctx, "workspace/codeLens/refresh", nil, nil); err != nil {
			return nil, err
		}
		_ = conn.Notify(ctx, "window/showMessage", map[string]any{"type": 1, "message": "hello"})
		_ = conn.Notify(ctx, "custom/note", map[string]any{"n": 7})
		return "went", nil
	})
	server := jsonrpc2.NewConn(context.Background(), jsonrpc2.NewBufferedStream(a, jsonrpc2.VSCodeObjectCodec{}),
		jsonrpc2.AsyncHandler(handler))
	defer server.Close()
	c := New(t, b)
	defer c.Conn.Close()

	var got string
	c.MustCall("go", nil, &got)
	if got != "went" {
		t.Errorf("result %q", got)
	}
	raw := c.WaitNote("custom/note", func(p json.RawMessage) bool { return string(p) == `{"n":7}` })
	if string(raw) != `{"n":7}` {
		t.Errorf("note %s", raw)
	}
	if msgs := c.ShowMessages(); len(msgs) != 1 || msgs[0] != "hello" {
		t.Errorf("show messages %q", msgs)
	}
	if n := c.Requests("workspace/codeLens/refresh"); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}
	if e := c.CallError("stop", nil); e.Code != jsonrpc2.CodeMethodNotFound {
		t.Errorf("error %+v", e)
	}
}
