// Package daptest is a Debug Adapter Protocol client for tests: it sends requests, reads
// everything the adapter sends on a goroutine of its own (so that the adapter is never blocked
// writing), and hands out responses and events in order, each wait bounded by a timeout.
//
// Messages that arrive while a test waits for another one are kept, in order, for a later wait;
// every event is also recorded, and the output events' text goes into failure messages, since an
// adapter often says there why it did not answer.
package daptest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-dap"
)

// DefaultTimeout bounds each wait for a message unless Client.Timeout says otherwise: a hung
// adapter fails the test instead of hanging it.
const DefaultTimeout = 20 * time.Second

// ErrTimeout is returned by Next when nothing came by the deadline.
var ErrTimeout = errors.New("timed out")

// Message is any message from the adapter, decoded loosely.
type Message struct {
	Seq        int             `json:"seq"`
	Type       string          `json:"type"`
	Command    string          `json:"command"`
	Event      string          `json:"event"`
	RequestSeq int             `json:"request_seq"`
	Success    bool            `json:"success"`
	Message    string          `json:"message"`
	Body       json.RawMessage `json:"body"`
	Raw        []byte          `json:"-"` // the whole message as it came
}

// IsEvent reports whether m is the event name.
func (m *Message) IsEvent(name string) bool { return m.Type == "event" && m.Event == name }

// Client is a DAP client. Its methods are called from the test's goroutine, except WriteRaw and
// Close, which may be called from any.
type Client struct {
	// Timeout bounds each wait for a message; DefaultTimeout when zero.
	Timeout time.Duration
	// Diagnose, when set, adds what else the test knows about the adapter (its stderr, say) to
	// the failure messages.
	Diagnose func() string

	t    testing.TB
	conn io.ReadWriteCloser

	wmu      sync.Mutex // serialises writes; guards seq and commands
	seq      int
	commands map[int]string // the command of each request sent, to check its response

	msgs    chan *Message // closed when reading ends; readErr says why
	readErr error

	backlog []*Message // messages read while waiting for another
	events  []*Message // every event read, in order
	output  []string   // the text of every output event read
	lastSeq int        // the adapter's last seq, to check that they increase
}

// New returns a client talking to an adapter over conn, which is closed when the test ends.
func New(t testing.TB, conn io.ReadWriteCloser) *Client {
	c := &Client{t: t, conn: conn, commands: map[int]string{}, msgs: make(chan *Message, 1<<16)}
	go c.readLoop()
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

// Stdio joins an adapter process's stdin and stdout into one connection.
func Stdio(stdin io.WriteCloser, stdout io.Reader) io.ReadWriteCloser {
	return stdio{stdout, stdin}
}

type stdio struct {
	io.Reader
	io.WriteCloser
}

// Frame wraps body in the base protocol's header.
func Frame(body []byte) []byte {
	return append([]byte("Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"), body...)
}

func (c *Client) readLoop() {
	defer close(c.msgs)
	r := bufio.NewReaderSize(c.conn, 1<<20)
	for {
		body, err := readFrame(r)
		if err != nil {
			c.readErr = err
			return
		}
		m := &Message{Raw: body}
		if err := json.Unmarshal(body, m); err != nil {
			c.readErr = fmt.Errorf("the adapter sent invalid JSON: %v: %s", err, truncate(body, 200))
			return
		}
		c.msgs <- m
	}
}

// readFrame reads one message as the adapter must frame it: exactly one header field,
// "Content-Length: N", then CRLF CRLF.
func readFrame(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && line != "" {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(line, "Content-Length: "), "\r\n"))
	if err != nil || n < 0 || !strings.HasPrefix(line, "Content-Length: ") || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("the adapter sent the header line %q, want \"Content-Length: N\\r\\n\"", truncate([]byte(line), 80))
	}
	if blank, err := r.ReadString('\n'); err != nil || blank != "\r\n" {
		return nil, fmt.Errorf("the adapter's header goes on with %q (%v), want a blank line", truncate([]byte(blank), 80), err)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("reading a %d-byte message: %w", n, err)
	}
	return body, nil
}

// ReportTo makes the client report failures to t (a subtest) until restore is called.
func (c *Client) ReportTo(t testing.TB) (restore func()) {
	parent := c.t
	c.t = t
	return func() { c.t = parent }
}

// T returns the test the client reports to.
func (c *Client) T() testing.TB { return c.t }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// WriteRaw writes b to the adapter as it is: for deliberately malformed input.
func (c *Client) WriteRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(b)
	return err
}

// SendRaw writes b to the adapter as it is, failing the test if that fails.
func (c *Client) SendRaw(b []byte) {
	c.t.Helper()
	if err := c.WriteRaw(b); err != nil {
		c.t.Fatalf("writing to the adapter: %v%s", err, c.diagnosis())
	}
}

// Send sends a request and returns its seq. args are omitted when nil.
func (c *Client) Send(command string, args any) int {
	c.t.Helper()
	c.wmu.Lock()
	c.seq++
	seq := c.seq
	c.commands[seq] = command
	c.wmu.Unlock()
	body, err := json.Marshal(struct {
		dap.Request
		Arguments any `json:"arguments,omitempty"`
	}{dap.Request{ProtocolMessage: dap.ProtocolMessage{Seq: seq, Type: "request"}, Command: command}, args})
	if err != nil {
		c.t.Fatalf("encoding a %s request: %v", command, err)
	}
	c.SendRaw(Frame(body))
	return seq
}

// Next returns the next message, from the backlog first.
func (c *Client) Next(deadline time.Time) (*Message, error) {
	if len(c.backlog) > 0 {
		m := c.backlog[0]
		c.backlog = c.backlog[1:]
		return m, nil
	}
	return c.read(deadline)
}

// read returns the next message from the adapter.
func (c *Client) read(deadline time.Time) (*Message, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			return nil, c.readErr
		}
		if m.Seq <= c.lastSeq {
			c.t.Errorf("the adapter's seq went from %d to %d", c.lastSeq, m.Seq)
		}
		c.lastSeq = m.Seq
		if m.Type == "event" {
			c.events = append(c.events, m)
			if m.Event == "output" {
				var out dap.OutputEventBody
				_ = json.Unmarshal(m.Body, &out)
				c.output = append(c.output, out.Output)
			}
		}
		return m, nil
	case <-timer.C:
		return nil, ErrTimeout
	}
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// WaitFor returns the first message matching match, keeping the others in the backlog.
func (c *Client) WaitFor(what string, match func(*Message) bool) *Message {
	c.t.Helper()
	for i, m := range c.backlog {
		if match(m) {
			c.backlog = append(c.backlog[:i:i], c.backlog[i+1:]...)
			return m
		}
	}
	deadline := time.Now().Add(c.timeout())
	for {
		m, err := c.read(deadline)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v%s", what, err, c.diagnosis())
		}
		if match(m) {
			return m
		}
		c.backlog = append(c.backlog, m)
	}
}

// Response waits for the response to request seq.
func (c *Client) Response(seq int) *Message {
	c.t.Helper()
	m := c.WaitFor(fmt.Sprintf("the response to request %d", seq), func(m *Message) bool {
		return m.Type == "response" && m.RequestSeq == seq
	})
	c.wmu.Lock()
	command, sent := c.commands[seq]
	delete(c.commands, seq) // a test may send a seq of its own again, raw
	c.wmu.Unlock()
	if sent && m.Command != command {
		c.t.Errorf("the response to %s (request %d) names the command %q", command, seq, m.Command)
	}
	return m
}

// Event waits for the event name.
func (c *Client) Event(name string) *Message {
	c.t.Helper()
	return c.WaitFor("a "+name+" event", func(m *Message) bool { return m.IsEvent(name) })
}

// WaitOutput waits for an output event whose text contains text, and returns that text.
func (c *Client) WaitOutput(text string) string {
	c.t.Helper()
	var out dap.OutputEventBody
	c.WaitFor(fmt.Sprintf("an output event about %q", text), func(m *Message) bool {
		return m.IsEvent("output") && json.Unmarshal(m.Body, &out) == nil && strings.Contains(out.Output, text)
	})
	return out.Output
}

// Request sends a request and returns its response, whatever its outcome.
func (c *Client) Request(command string, args any) *Message {
	c.t.Helper()
	return c.Response(c.Send(command, args))
}

// OK sends a request, fails the test unless it succeeds, and decodes the response's body into
// body unless that is nil.
func (c *Client) OK(command string, args any, body any) *Message {
	c.t.Helper()
	m := c.Request(command, args)
	if !m.Success {
		c.t.Fatalf("%s failed: %s", command, m.Message)
	}
	if body != nil {
		Decode(c.t, m.Body, body)
	}
	return m
}

// Fail sends a request, fails the test if it succeeds or its error response is not well formed,
// and returns the error message.
func (c *Client) Fail(command string, args any) string {
	c.t.Helper()
	m := c.Request(command, args)
	if m.Success {
		c.t.Fatalf("%s succeeded, want an error: %s", command, truncate(m.Raw, 300))
	}
	var body dap.ErrorResponseBody
	if err := json.Unmarshal(m.Body, &body); err != nil || body.Error == nil {
		c.t.Errorf("%s error response has no error body: %s", command, truncate(m.Raw, 300))
	} else if body.Error.Format != m.Message {
		c.t.Errorf("%s error: message %q but body.error.format %q", command, m.Message, body.Error.Format)
	}
	return m.Message
}

// Drain returns the backlog and everything the adapter sends within d.
func (c *Client) Drain(d time.Duration) []*Message {
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

// DiscardBacklog forgets the messages kept for later waits.
func (c *Client) DiscardBacklog() { c.backlog = nil }

// ExpectClosed waits until the adapter closes the connection and returns the messages it sent
// before that.
func (c *Client) ExpectClosed() []*Message {
	c.t.Helper()
	var got []*Message
	deadline := time.Now().Add(c.timeout())
	for {
		m, err := c.Next(deadline)
		switch {
		case err == nil:
			got = append(got, m)
		case errors.Is(err, ErrTimeout):
			c.t.Fatalf("the adapter did not close the connection within %v%s", c.timeout(), c.diagnosis())
		case closed(err):
			return got
		default:
			c.t.Fatalf("reading until the adapter closes the connection: %v", err)
		}
	}
}

// closed reports whether a read error means that the connection was closed.
func closed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.ErrClosedPipe) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET)
}

// Events returns every event read so far, in order, whether or not a wait has taken it.
func (c *Client) Events() []*Message { return c.events }

// Output returns the text of every output event read so far, in order.
func (c *Client) Output() []string { return c.output }

// diagnosis is what a failure message adds: the adapter's output events, and Diagnose's report.
func (c *Client) diagnosis() string {
	var b strings.Builder
	if n := len(c.output); n > 0 {
		b.WriteString("\nthe adapter's output events:\n")
		for _, o := range c.output[max(n-10, 0):] {
			b.WriteString("  " + strings.TrimRight(o, "\n") + "\n")
		}
	}
	if c.Diagnose != nil {
		b.WriteString("\n" + c.Diagnose())
	}
	return b.String()
}

// Initialize sends the initialize request as an editor does.
func (c *Client) Initialize() dap.Capabilities {
	c.t.Helper()
	var caps dap.Capabilities
	c.OK("initialize", map[string]any{"clientID": "aioscope-test", "adapterID": "aioscope",
		"linesStartAt1": true, "columnsStartAt1": true, "pathFormat": "path"}, &caps)
	return caps
}

// Threads returns the threads response's threads.
func (c *Client) Threads() []dap.Thread {
	c.t.Helper()
	var body dap.ThreadsResponseBody
	c.OK("threads", nil, &body)
	return body.Threads
}

// StackTrace returns up to levels frames (0: all) of a thread's stack, from frame start.
func (c *Client) StackTrace(threadID, start, levels int) dap.StackTraceResponseBody {
	c.t.Helper()
	var body dap.StackTraceResponseBody
	c.OK("stackTrace", map[string]any{"threadId": threadID, "startFrame": start, "levels": levels}, &body)
	return body
}

// Scopes returns the scopes of a frame.
func (c *Client) Scopes(frameID int) []dap.Scope {
	c.t.Helper()
	var body dap.ScopesResponseBody
	c.OK("scopes", map[string]any{"frameId": frameID}, &body)
	return body.Scopes
}

// Variables returns the variables of a reference.
func (c *Client) Variables(ref int) []dap.Variable {
	c.t.Helper()
	var body dap.VariablesResponseBody
	c.OK("variables", map[string]any{"variablesReference": ref}, &body)
	return body.Variables
}

// Decode decodes raw into v, failing the test if it cannot.
func Decode(t testing.TB, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decoding %s: %v", truncate(raw, 300), err)
	}
}

// truncate shortens b to at most n bytes for a message.
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(bytes.ToValidUTF8(b[:n], nil)) + "…"
}

// Evaluate sends an evaluate request and returns its response, whatever its outcome.
func (c *Client) Evaluate(expression string, frameID int, context string) *Message {
	c.t.Helper()
	return c.Request("evaluate", map[string]any{"expression": expression, "frameId": frameID, "context": context})
}

// ShowUser reports whether an error response asks the client to show its message as a
// notification (body.error.showUser).
func ShowUser(t testing.TB, m *Message) bool {
	t.Helper()
	var body dap.ErrorResponseBody
	if err := json.Unmarshal(m.Body, &body); err != nil || body.Error == nil {
		t.Fatalf("%s error response has no error body: %s", m.Command, truncate(m.Raw, 300))
	}
	return body.Error.ShowUser
}
