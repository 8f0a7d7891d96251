package adapter

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-dap"
)

// msgTimeout bounds every wait for a message from the adapter: a hung adapter fails the test
// instead of hanging it.
const msgTimeout = 20 * time.Second

// message is any message from the adapter, decoded loosely.
type message struct {
	Seq        int             `json:"seq"`
	Type       string          `json:"type"`
	Command    string          `json:"command"`
	Event      string          `json:"event"`
	RequestSeq int             `json:"request_seq"`
	Success    bool            `json:"success"`
	Message    string          `json:"message"`
	Body       json.RawMessage `json:"body"`
	raw        []byte
}

// client is a minimal DAP client for tests. A goroutine reads everything the adapter sends, so
// the adapter is never blocked writing; responses and events are handed out in order.
type client struct {
	t       testing.TB
	conn    io.ReadWriteCloser
	mu      sync.Mutex
	seq     int
	msgs    chan *message
	readErr chan error
	backlog []*message // messages read while waiting for something else
	lastSeq int        // adapter's last seq, to check that they increase
	served  chan error // Serve's result, for in-process sessions
}

func newClient(t testing.TB, conn io.ReadWriteCloser) *client {
	c := &client{t: t, conn: conn, msgs: make(chan *message, 1<<16), readErr: make(chan error, 1)}
	go func() {
		r := bufio.NewReader(conn)
		for {
			body, err := dap.ReadBaseMessage(r)
			if err != nil {
				c.readErr <- err
				close(c.msgs)
				return
			}
			var m message
			if err := json.Unmarshal(body, &m); err != nil {
				c.readErr <- fmt.Errorf("adapter sent invalid JSON: %v: %s", err, truncate(string(body), 200))
				close(c.msgs)
				return
			}
			m.raw = body
			c.msgs <- &m
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

// startSession serves one in-process session with srv and returns a client connected to it.
func startSession(t testing.TB, srv *Server) *client {
	t.Helper()
	a, b := net.Pipe()
	c := newClient(t, b)
	c.served = make(chan error, 1)
	go func() {
		err := srv.Serve(context.Background(), a)
		a.Close()
		c.served <- err
	}()
	return c
}

// waitServed waits for an in-process session to end and returns Serve's error.
func (c *client) waitServed() error {
	c.t.Helper()
	select {
	case err := <-c.served:
		return err
	case <-time.After(msgTimeout):
		c.t.Fatalf("the session did not end within %v", msgTimeout)
		return nil
	}
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("writing to the adapter: %v", err)
	}
}

// send sends a request and returns its seq.
func (c *client) send(command string, args any) int {
	c.t.Helper()
	c.mu.Lock()
	c.seq++
	seq := c.seq
	c.mu.Unlock()
	req := map[string]any{"seq": seq, "type": "request", "command": command}
	if args != nil {
		req["arguments"] = args
	}
	body, err := json.Marshal(req)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw([]byte("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)))
	return seq
}

// next returns the next message, from the backlog first.
func (c *client) next(deadline time.Time) (*message, error) {
	if len(c.backlog) > 0 {
		m := c.backlog[0]
		c.backlog = c.backlog[1:]
		return m, nil
	}
	return c.read(deadline)
}

func (c *client) read(deadline time.Time) (*message, error) {
	select {
	case m, ok := <-c.msgs:
		if !ok {
			select {
			case err := <-c.readErr:
				c.readErr <- err
				return nil, err
			default:
				return nil, io.EOF
			}
		}
		if m.Seq <= c.lastSeq {
			c.t.Errorf("adapter's seq went from %d to %d", c.lastSeq, m.Seq)
		}
		c.lastSeq = m.Seq
		return m, nil
	case <-time.After(time.Until(deadline)):
		return nil, errTimeout
	}
}

var errTimeout = errors.New("timed out")

// waitFor returns the first message matching match, keeping the others in the backlog.
func (c *client) waitFor(what string, timeout time.Duration, match func(*message) bool) *message {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for i := 0; i < len(c.backlog); i++ {
		if match(c.backlog[i]) {
			m := c.backlog[i]
			c.backlog = append(c.backlog[:i:i], c.backlog[i+1:]...)
			return m
		}
	}
	for {
		m, err := c.read(deadline)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(m) {
			return m
		}
		c.backlog = append(c.backlog, m)
	}
}

func (c *client) response(seq int) *message {
	c.t.Helper()
	return c.waitFor(fmt.Sprintf("the response to request %d", seq), msgTimeout, func(m *message) bool {
		return m.Type == "response" && m.RequestSeq == seq
	})
}

func (c *client) event(name string) *message {
	c.t.Helper()
	return c.waitFor("a "+name+" event", msgTimeout, func(m *message) bool {
		return m.Type == "event" && m.Event == name
	})
}

// request sends a request and returns its response, whatever its outcome.
func (c *client) request(command string, args any) *message {
	c.t.Helper()
	return c.response(c.send(command, args))
}

// ok sends a request, fails the test unless it succeeds, and decodes the body into body.
func (c *client) ok(command string, args any, body any) *message {
	c.t.Helper()
	m := c.request(command, args)
	if !m.Success {
		c.t.Fatalf("%s failed: %s", command, m.Message)
	}
	if m.Command != command {
		c.t.Errorf("response to %s names command %q", command, m.Command)
	}
	if body != nil {
		if err := json.Unmarshal(m.Body, body); err != nil {
			c.t.Fatalf("decoding the %s response body: %v: %s", command, err, truncate(string(m.Body), 300))
		}
	}
	return m
}

// fail sends a request, fails the test if it succeeds, and returns the error message.
func (c *client) fail(command string, args any) string {
	c.t.Helper()
	m := c.request(command, args)
	if m.Success {
		c.t.Fatalf("%s succeeded, want an error: %s", command, truncate(string(m.raw), 300))
	}
	var body dap.ErrorResponseBody
	if err := json.Unmarshal(m.Body, &body); err != nil || body.Error == nil {
		c.t.Errorf("%s error response has no error body: %s", command, truncate(string(m.raw), 300))
	} else if body.Error.Format != m.Message {
		c.t.Errorf("%s error: message %q but body.error.format %q", command, m.Message, body.Error.Format)
	}
	return m.Message
}

// drain returns everything the adapter sends within d.
func (c *client) drain(d time.Duration) []*message {
	out := c.backlog
	c.backlog = nil
	deadline := time.Now().Add(d)
	for {
		m, err := c.read(deadline)
		if err != nil {
			return out
		}
		out = append(out, m)
	}
}

// expectClosed waits until the adapter closes the connection, failing on anything but output
// events before that.
func (c *client) expectClosed() []*message {
	c.t.Helper()
	var got []*message
	deadline := time.Now().Add(msgTimeout)
	for {
		m, err := c.next(deadline)
		if errors.Is(err, errTimeout) {
			c.t.Fatalf("the adapter did not close the connection within %v", msgTimeout)
		}
		if err != nil {
			return got
		}
		got = append(got, m)
	}
}

// initialize runs initialize.
func (c *client) initialize() dap.Capabilities {
	c.t.Helper()
	var caps dap.Capabilities
	c.ok("initialize", map[string]any{"clientID": "aioscope-test", "adapterID": "aioscope",
		"linesStartAt1": true, "columnsStartAt1": true, "pathFormat": "path"}, &caps)
	return caps
}

// attachAndStop runs the usual start of a session: initialize, attach, configurationDone, and
// returns the stopped event's body together with the awaitGraph sent with it.
func (c *client) attachAndStop(args map[string]any) (dap.StoppedEventBody, awaitGraph) {
	c.t.Helper()
	c.initialize()
	c.ok("attach", args, nil)
	c.event("initialized")
	c.ok("configurationDone", nil, nil)
	g := c.awaitGraphEvent()
	var stopped dap.StoppedEventBody
	decode(c.t, c.event("stopped").Body, &stopped)
	return stopped, g
}

func (c *client) awaitGraphEvent() awaitGraph {
	c.t.Helper()
	var g awaitGraph
	decode(c.t, c.event("aioscope/awaitGraph").Body, &g)
	return g
}

func decode(t testing.TB, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decoding %s: %v", truncate(string(raw), 300), err)
	}
}

func (c *client) threads() []dap.Thread {
	c.t.Helper()
	var body dap.ThreadsResponseBody
	c.ok("threads", nil, &body)
	return body.Threads
}

func (c *client) stackTrace(threadID, start, levels int) dap.StackTraceResponseBody {
	c.t.Helper()
	var body dap.StackTraceResponseBody
	c.ok("stackTrace", map[string]any{"threadId": threadID, "startFrame": start, "levels": levels}, &body)
	return body
}

func (c *client) scopes(frameID int) []dap.Scope {
	c.t.Helper()
	var body dap.ScopesResponseBody
	c.ok("scopes", map[string]any{"frameId": frameID}, &body)
	return body.Scopes
}

func (c *client) variables(ref int) []dap.Variable {
	c.t.Helper()
	var body dap.VariablesResponseBody
	c.ok("variables", map[string]any{"variablesReference": ref}, &body)
	return body.Variables
}

// awaitGraph is the body of the aioscope/awaitGraph event and the aioscope/snapshot response.
type awaitGraph struct {
	PID           int    `json:"pid"`
	PythonVersion string `json:"pythonVersion"`
	CapturedAt    string `json:"capturedAt"`
	Tasks         []struct {
		ThreadID  int    `json:"threadId"`
		TaskID    string `json:"taskId"`
		Name      string `json:"name"`
		TID       uint64 `json:"tid"`
		AwaitedBy []int  `json:"awaitedBy"`
		Frames    []struct {
			Name string `json:"name"`
			Path string `json:"path"`
			Line int    `json:"line"`
		} `json:"frames"`
	} `json:"tasks"`
	Cycles  [][]int `json:"cycles"`
	Threads []struct {
		ThreadID        int    `json:"threadId"`
		TID             uint64 `json:"tid"`
		Name            string `json:"name"`
		Main            bool   `json:"main"`
		RunningThreadID int    `json:"runningThreadId"`
	} `json:"threads"`
}
