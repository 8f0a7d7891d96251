package adapter

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/daptest"
)

func TestMalformedMessagesKeepTheSession(t *testing.T) {
	c := startSession(t, NewServer(Config{}))
	outputAbout := func(what string, want string) {
		t.Helper()
		m := c.WaitFor("an output event about "+what, func(m *daptest.Message) bool { return m.IsEvent("output") })
		if !strings.Contains(string(m.Body), want) {
			t.Errorf("%s: output event %s, want it to mention %q", what, m.Body, want)
		}
	}
	c.SendRaw(daptest.Frame([]byte(`{"seq":1,"type":"request","command":"initialize"`)))
	outputAbout("a truncated JSON body", "not a JSON object")
	c.SendRaw(daptest.Frame([]byte(`[1,2,3]`)))
	outputAbout("a JSON array", "not a JSON object")
	c.SendRaw(daptest.Frame([]byte(`"initialize"`)))
	outputAbout("a JSON string", "not a JSON object")
	c.SendRaw(daptest.Frame([]byte(`{"seq":2,"type":"event","event":"stopped"}`)))
	outputAbout("an event from the client", "only requests")
	c.SendRaw(daptest.Frame([]byte(`{"seq":3,"type":"response","request_seq":1,"success":true,"command":"runInTerminal"}`)))
	outputAbout("a response from the client", "only requests")
	c.SendRaw(daptest.Frame([]byte(`{"seq":4}`)))
	outputAbout("a message without a type", "only requests")

	errorFor := func(seq int, want string) {
		t.Helper()
		m := c.Response(seq)
		if m.Success || !strings.Contains(m.Message, want) {
			t.Errorf("response to request %d: success %v message %q, want an error mentioning %q", seq, m.Success, m.Message, want)
		}
	}
	c.SendRaw(daptest.Frame([]byte(`{"seq":5,"type":"request"}`)))
	errorFor(5, "no command")
	c.SendRaw(daptest.Frame([]byte(`{"seq":6,"type":"request","command":42}`)))
	errorFor(6, "no command")
	c.SendRaw(daptest.Frame([]byte(`{"seq":7,"type":"request","command":"frobnicate","arguments":{}}`)))
	errorFor(7, `does not support the "frobnicate" request`)
	c.SendRaw(daptest.Frame([]byte(`{"seq":8,"type":"request","command":"initialize","arguments":5}`)))
	errorFor(8, "invalid arguments")
	c.SendRaw(daptest.Frame([]byte(`{"seq":9,"type":"request","command":"stackTrace","arguments":{"threadId":"one"}}`)))
	errorFor(9, "invalid arguments")
	for _, cmd := range []string{"launch", "terminate", "restart", "next", "stepIn", "evaluate", "setVariable", "source", "modules"} {
		if msg := c.Fail(cmd, map[string]any{}); msg == "" {
			t.Errorf("%s: empty error message", cmd)
		}
	}
	// An error message is one line that says why.
	if msg := c.Fail("evaluate", map[string]any{"expression": "1+1"}); msg != refusal {
		t.Errorf("evaluate: %q", msg)
	}

	// Header variations the protocol allows, and a stray line break between messages.
	body := `{"seq":10,"type":"request","command":"initialize","arguments":{"adapterID":"x"}}`
	c.SendRaw([]byte("Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body))
	if m := c.Response(10); !m.Success {
		t.Errorf("initialize with a Content-Type header: %s", m.Message)
	}
	body = `{"seq":11,"type":"request","command":"threads"}`
	c.SendRaw([]byte("\r\nContent-Length: " + strconv.Itoa(len(body)) + "\n\n" + body))
	errorFor(11, "not attached")
	if msg := c.Fail("initialize", nil); !strings.Contains(msg, "already initialized") {
		t.Errorf("second initialize: %q", msg)
	}
	c.OK("cancel", map[string]any{"requestId": 11}, nil)
	c.OK("setExceptionBreakpoints", map[string]any{"filters": []string{"all"}}, nil)
	c.OK("configurationDone", nil, nil)
	c.OK("disconnect", nil, nil)
	if err := c.waitServed(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// Input whose framing is broken ends the session with an output event saying why; nothing the
// client sends may crash the adapter or leave it hanging.
func TestBrokenFramingEndsTheSession(t *testing.T) {
	cases := []struct {
		name, input, want string
	}{
		{"huge Content-Length", "Content-Length: 99999999999\r\n\r\n{}", "larger than"},
		{"overflowing Content-Length", "Content-Length: 999999999999999999999999999999\r\n\r\n", "larger than"},
		{"Content-Length over the limit", "Content-Length: " + strconv.Itoa(DefaultMaxMessageSize+1) + "\r\n\r\n", "larger than"},
		{"negative Content-Length", "Content-Length: -5\r\n\r\n", "not a number"},
		{"garbage header", "hello world\r\n\r\n", "is not a"},
		{"no Content-Length", "Content-Type: application/json\r\n\r\n{}", "no Content-Length"},
		{"endless header line", strings.Repeat("x", 5000), "longer than"},
		{"too many header fields", strings.Repeat("X-A: b\r\n", 40), "header fields"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startSession(t, NewServer(Config{}))
			c.Initialize()
			go func() { _ = c.WriteRaw([]byte(tc.input)) }()
			msgs := c.ExpectClosed()
			if len(msgs) != 1 || msgs[0].Event != "output" || !strings.Contains(string(msgs[0].Body), tc.want) {
				var got []string
				for _, m := range msgs {
					got = append(got, string(m.Raw))
				}
				t.Errorf("got %v, want one output event mentioning %q", got, tc.want)
			}
			var fe *FramingError
			if err := c.waitServed(); !errors.As(err, &fe) {
				t.Errorf("Serve returned %v, want a *FramingError", err)
			}
		})
	}
}

func TestInputEndsMidMessage(t *testing.T) {
	for _, input := range []string{"Content-Length: 100\r\n\r\n{\"seq\":1", "Content-Len", "Content-Length: 5\r\n"} {
		c := startSession(t, NewServer(Config{}))
		c.SendRaw([]byte(input))
		c.Close()
		if err := c.waitServed(); err == nil || errors.As(err, new(*FramingError)) {
			t.Errorf("input %q then EOF: Serve returned %v, want an unexpected-EOF error", input, err)
		}
	}
	// A clean EOF between messages is a normal end.
	c := startSession(t, NewServer(Config{}))
	c.Initialize()
	c.Close()
	if err := c.waitServed(); err != nil {
		t.Errorf("EOF between messages: Serve returned %v", err)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- NewServer(Config{}).Serve(ctx, struct {
			io.Reader
			io.Writer
		}{pr, io.Discard})
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(msgTimeout):
		t.Fatal("Serve did not return after its context was cancelled")
	}
}
