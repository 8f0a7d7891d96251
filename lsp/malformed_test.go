package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/faketarget"
)

// rawClient writes bytes to a session and reads what it sends back, message by message.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	msgs chan json.RawMessage
	done chan error
}

func startRaw(t *testing.T, srv *Server) *rawClient {
	t.Helper()
	a, b := net.Pipe()
	c := &rawClient{t: t, conn: b, msgs: make(chan json.RawMessage, 100), done: make(chan error, 1)}
	go func() { c.done <- srv.Serve(context.Background(), a) }()
	go func() {
		r := bufio.NewReader(b)
		for {
			body, err := readFrame(r, 64<<20)
			if err != nil {
				close(c.msgs)
				return
			}
			c.msgs <- body
		}
	}()
	t.Cleanup(func() { b.Close() })
	return c
}

func (c *rawClient) write(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("writing: %v", err)
	}
}

func frame(body string) string { return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body) }

// next returns the next message the session sends.
func (c *rawClient) next() map[string]any {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.t.Fatal("the session closed the connection")
		}
		var v map[string]any
		if err := json.Unmarshal(m, &v); err != nil {
			c.t.Fatalf("the session sent %s: %v", m, err)
		}
		return v
	case <-time.After(waitTimeout):
		c.t.Fatal("the session sent nothing")
		return nil
	}
}

func TestMalformedMessages(t *testing.T) {
	c := startRaw(t, fakeServer(faketarget.New()))
	c.write(frame(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}`))
	if m := c.next(); m["id"] != 1.0 || m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}
	for _, tc := range []struct {
		body  string
		id    any    // the id of the error response; nil for a window/showMessage
		inMsg string // what the message says
	}{
		{`{"jsonrpc":"2.0","id":2,"method":`, nil, "not a JSON object"},
		{`not json at all`, nil, "not a JSON object"},
		{`[{"jsonrpc":"2.0","id":3,"method":"shutdown"}]`, nil, "a batch"},
		{`{"jsonrpc":"2.0","id":4,"method":5}`, 4.0, "method is not a string"},
		{`{"jsonrpc":"2.0","id":"five","method":"textDocument/hover","params":7}`, "five", "params is neither"},
		{`{"jsonrpc":"2.0","id":{"x":1},"method":"shutdown"}`, nil, "invalid id"},
		{`{"jsonrpc":"2.0","id":-1,"method":"shutdown"}`, nil, "invalid id"},
		{`{"jsonrpc":"2.0","id":6}`, 6.0, "neither a request nor a response"},
		{`{"jsonrpc":"2.0","id":7,"method":"x","result":1}`, 7.0, "both a method"},
		{`{}`, nil, "neither a request nor a response"},
		{`"a string"`, nil, "not a JSON object"},
		{`null`, nil, "neither a request nor a response"},
	} {
		c.write(frame(tc.body))
		m := c.next()
		if tc.id == nil {
			p, _ := m["params"].(map[string]any)
			if m["method"] != "window/showMessage" || !strings.Contains(fmt.Sprint(p["message"]), tc.inMsg) {
				t.Errorf("%s: answered %v", tc.body, m)
			}
			continue
		}
		e, _ := m["error"].(map[string]any)
		if m["id"] != tc.id || e == nil || e["code"] != -32600.0 || !strings.Contains(fmt.Sprint(e["message"]), tc.inMsg) {
			t.Errorf("%s: answered %v", tc.body, m)
		}
	}
	// A message too large is skipped whole, and the session reads on.
	big := `{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///x","text":"` + strings.Repeat("x", 2<<20) + `"}}}`
	srvSmall := NewServer(Config{MaxMessageSize: 1 << 20})
	small := startRaw(t, srvSmall)
	small.write(frame(big))
	if m := small.next(); m["method"] != "window/showMessage" || !strings.Contains(fmt.Sprint(m["params"]), "larger than the limit") {
		t.Errorf("too large: %v", m)
	}
	small.write(frame(`{"jsonrpc":"2.0","id":9,"method":"shutdown"}`))
	if m := small.next(); m["id"] != 9.0 || m["error"] == nil {
		t.Errorf("after a message too large: %v", m)
	}
	// Headers: lower-case names, a Content-Type, and bare \n line ends are accepted.
	body := `{"jsonrpc":"2.0","id":10,"method":"nothing"}`
	c.write(fmt.Sprintf("content-length: %d\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n%s", len(body), body))
	if m := c.next(); m["id"] != 10.0 || m["error"].(map[string]any)["code"] != -32601.0 {
		t.Errorf("unknown method: %v", m)
	}
	// A header block that cannot be followed ends the connection, after saying so.
	c.write("Content-Length: twelve\r\n\r\n{}")
	if m := c.next(); m["method"] != "window/showMessage" || !strings.Contains(fmt.Sprint(m["params"]), "Content-Length \"twelve\" is not a number") {
		t.Errorf("broken framing: %v", m)
	}
	select {
	case err := <-c.done:
		var fe *FramingError
		if !errors.As(err, &fe) {
			t.Errorf("Serve returned %v, want a *FramingError", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the session did not end after broken framing")
	}
}

func TestFramingErrors(t *testing.T) {
	for _, in := range []string{
		"Content-Type: x\r\n\r\n{}",
		"no colon here\r\n\r\n",
		"Content-Length: -1\r\n\r\n",
		"Content-Length: 99999999999999999999\r\n\r\n",
		strings.Repeat("X-A: b\r\n", 40) + "\r\n",
		"Content-Length: 2\r\n" + strings.Repeat("x", 2000) + "\r\n\r\n",
	} {
		_, err := readFrame(bufio.NewReader(strings.NewReader(in)), 100)
		var fe *FramingError
		if !errors.As(err, &fe) {
			t.Errorf("%.40q: %v, want a *FramingError", in, err)
		}
	}
	for in, want := range map[string]error{
		"":                           io.EOF,
		"\r\n\r\n":                   io.EOF,
		"Content-Length: 5\r\n":      io.ErrUnexpectedEOF,
		"Content-Length: 5\r\n\r\n{": io.ErrUnexpectedEOF,
		"Content-Le":                 io.ErrUnexpectedEOF,
	} {
		if _, err := readFrame(bufio.NewReader(strings.NewReader(in)), 100); !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", in, err, want)
		}
	}
}
