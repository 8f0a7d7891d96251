// Package lsptest is a Language Server Protocol client for tests, on the JSON-RPC library the
// language server is built on: it sends requests and notifications, each wait bounded by a
// timeout, and records what the server sends it (its notifications, and its requests, which it
// answers with null), for a test to look at or wait for.
package lsptest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"
)

// DefaultTimeout bounds each call and each wait unless Client.Timeout says otherwise: a hung
// server fails the test instead of hanging it.
const DefaultTimeout = 20 * time.Second

// Message is a notification the server sent.
type Message struct {
	Method string
	Params json.RawMessage
}

// Client is the client end of a session.
type Client struct {
	Conn *jsonrpc2.Conn
	// Timeout bounds each call and each wait; DefaultTimeout unless changed.
	Timeout time.Duration

	t        testing.TB
	mu       sync.Mutex
	notes    []Message
	requests []string      // methods of the requests the server sent
	changed  chan struct{} // ready when something was recorded since the last wait
}

// New returns a client talking to a server over stream, which the client's Conn closes.
func New(t testing.TB, stream io.ReadWriteCloser) *Client {
	c := &Client{Timeout: DefaultTimeout, t: t, changed: make(chan struct{}, 1)}
	c.Conn = jsonrpc2.NewConn(context.Background(), jsonrpc2.NewBufferedStream(stream, jsonrpc2.VSCodeObjectCodec{}),
		jsonrpc2.AsyncHandler(jsonrpc2.HandlerWithError(c.handle)), jsonrpc2.SetLogger(quietLogger{}))
	return c
}

// quietLogger keeps the library's complaints (a connection closed under it) out of test output.
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

func (c *Client) handle(_ context.Context, _ *jsonrpc2.Conn, req *jsonrpc2.Request) (any, error) {
	c.mu.Lock()
	if req.Notif {
		var p json.RawMessage
		if req.Params != nil {
			p = *req.Params
		}
		c.notes = append(c.notes, Message{req.Method, p})
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

// Call sends a request and decodes its result into result (which may be nil).
func (c *Client) Call(method string, params, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	return c.Conn.Call(ctx, method, params, result)
}

// MustCall is Call for requests that must succeed.
func (c *Client) MustCall(method string, params, result any) {
	c.t.Helper()
	if err := c.Call(method, params, result); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

// CallError sends a request that must fail and returns its error.
func (c *Client) CallError(method string, params any) *jsonrpc2.Error {
	c.t.Helper()
	err := c.Call(method, params, nil)
	e, ok := errors.AsType[*jsonrpc2.Error](err)
	if !ok {
		c.t.Fatalf("%s: got %v, want an error response", method, err)
	}
	return e
}

// Notify sends a notification.
func (c *Client) Notify(method string, params any) {
	c.t.Helper()
	if err := c.Conn.Notify(context.Background(), method, params); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

// WaitNote waits for a notification of method whose params ok (when not nil) accepts, and
// returns its params. Notifications already received count.
func (c *Client) WaitNote(method string, ok func(json.RawMessage) bool) json.RawMessage {
	c.t.Helper()
	deadline := time.After(c.Timeout)
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
			c.t.Fatalf("no %s notification came; got: %v", method, c.NoteMethods())
			return nil
		}
	}
}

// NoteMethods lists the notifications received so far, each as its method and the start of its
// params, for failure messages.
func (c *Client) NoteMethods() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range c.notes {
		p := string(n.Params)
		if len(p) > 40 {
			p = p[:40] + "…"
		}
		out = append(out, n.Method+" "+p)
	}
	return out
}

// ShowMessages returns the texts of the window/showMessage notifications received so far.
func (c *Client) ShowMessages() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range c.notes {
		if n.Method == "window/showMessage" {
			var p struct {
				Message string `json:"message"`
			}
			_ = json.Unmarshal(n.Params, &p)
			out = append(out, p.Message)
		}
	}
	return out
}

// Requests returns how many requests of method the server has sent.
func (c *Client) Requests(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.requests {
		if m == method {
			n++
		}
	}
	return n
}
