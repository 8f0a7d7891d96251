package daptest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-dap"
)

// fakeAdapter answers the requests of a test over an in-memory connection. Each request's
// command says what to send: "ok" (and "threads") a successful response with a body, "fail" an error response,
// "chatty" an output event and an event before its response, "wrongCommand" a response naming
// another command, "staleSeq" a response whose seq does not increase, "badHeader" a message
// framed with bare line feeds, "badJSON" a body that is not JSON, "bye" a response and then the
// end of the connection, "silent" nothing.
func fakeAdapter(t *testing.T) *Client {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close() })
	go func() {
		r := bufio.NewReader(a)
		seq := 0
		send := func(m any) {
			seq++
			body, _ := json.Marshal(m)
			body = []byte(strings.Replace(string(body), `"seq":0`, fmt.Sprintf(`"seq":%d`, seq), 1))
			_, _ = a.Write(Frame(body))
		}
		for {
			body, err := dap.ReadBaseMessage(r)
			if err != nil {
				return
			}
			var req dap.Request
			if err := json.Unmarshal(body, &req); err != nil {
				return
			}
			resp := dap.Response{ProtocolMessage: dap.ProtocolMessage{Type: "response"}, RequestSeq: req.Seq, Success: true, Command: req.Command}
			switch req.Command {
			case "ok", "threads":
				send(dap.ThreadsResponse{Response: resp, Body: dap.ThreadsResponseBody{Threads: []dap.Thread{{Id: 1, Name: "main"}}}})
			case "fail":
				resp.Success, resp.Message = false, "no such thing"
				send(dap.ErrorResponse{Response: resp, Body: dap.ErrorResponseBody{Error: &dap.ErrorMessage{Id: 1, Format: "no such thing"}}})
			case "chatty":
				send(dap.OutputEvent{Event: dap.Event{ProtocolMessage: dap.ProtocolMessage{Type: "event"}, Event: "output"},
					Body: dap.OutputEventBody{Category: "stderr", Output: "something to say\n"}})
				send(dap.StoppedEvent{Event: dap.Event{ProtocolMessage: dap.ProtocolMessage{Type: "event"}, Event: "stopped"},
					Body: dap.StoppedEventBody{Reason: "pause", ThreadId: 1}})
				send(resp)
			case "wrongCommand":
				resp.Command = "other"
				send(resp)
			case "staleSeq":
				seq = -1
				send(resp)
			case "badHeader":
				_, _ = a.Write([]byte("Content-Length: 2\n\n{}"))
			case "badJSON":
				_, _ = a.Write(Frame([]byte("{nope")))
			case "bye":
				send(resp)
				a.Close()
				return
			case "silent":
			}
		}
	}()
	return New(t, b)
}

// recorder is a testing.TB that records failures; Fatalf ends the goroutine, as the real one
// does.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// failures runs f against c, reporting to a recorder, and returns what failed.
func failures(c *Client, f func()) []string {
	r := &recorder{TB: c.t}
	defer c.ReportTo(r)()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
	return r.failures
}

func TestRequestsAndEvents(t *testing.T) {
	c := fakeAdapter(t)
	if threads := c.Threads(); len(threads) != 1 || threads[0].Name != "main" {
		t.Errorf("threads %+v", threads)
	}
	if msg := c.Fail("fail", map[string]any{"x": 1}); msg != "no such thing" {
		t.Errorf("Fail: %q", msg)
	}
	// The events before a response wait for a later wait, in order.
	c.OK("chatty", nil, nil)
	if m := c.Event("stopped"); m.Seq == 0 {
		t.Errorf("stopped event %s", m.Raw)
	}
	if out := c.WaitOutput("to say"); out != "something to say\n" {
		t.Errorf("WaitOutput: %q", out)
	}
	seq := c.Send("chatty", nil)
	m := c.Response(seq)
	if !m.Success || m.Command != "chatty" {
		t.Errorf("response %s", m.Raw)
	}
	if len(c.Events()) != 4 || fmt.Sprint(c.Output()) != "[something to say\n something to say\n]" {
		t.Errorf("events %d, output %q", len(c.Events()), c.Output())
	}
	if got := c.Drain(50 * time.Millisecond); len(got) != 2 {
		t.Errorf("drained %d messages, want the 2 events kept from the last chatty request", len(got))
	}
	c.OK("bye", nil, nil)
	if got := c.ExpectClosed(); len(got) != 0 {
		t.Errorf("messages before the end: %d", len(got))
	}
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(c *Client)
		want string
	}{
		{"timeout", func(c *Client) { c.Request("silent", nil) }, "waiting for the response to request 1: timed out"},
		{"error response", func(c *Client) { c.OK("fail", nil, nil) }, "fail failed: no such thing"},
		{"success", func(c *Client) { c.Fail("ok", nil) }, "ok succeeded, want an error"},
		{"error body", func(c *Client) { c.Fail("wrongCommand", nil) }, `names the command "other"`},
		{"body", func(c *Client) { c.OK("ok", nil, new(int)) }, "decoding"},
		{"seq", func(c *Client) { c.OK("ok", nil, nil); c.OK("staleSeq", nil, nil) }, "seq went from 1 to 0"},
		{"framing", func(c *Client) { c.Request("badHeader", nil) }, `want "Content-Length: N\r\n"`},
		{"JSON", func(c *Client) { c.Request("badJSON", nil) }, "invalid JSON"},
		{"closed", func(c *Client) { c.OK("bye", nil, nil); c.Event("stopped") }, "EOF"},
		{"not closed", func(c *Client) { c.ExpectClosed() }, "did not close the connection"},
		{"output", func(c *Client) { c.OK("chatty", nil, nil); c.Event("terminated") }, "something to say"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeAdapter(t)
			c.Timeout = 200 * time.Millisecond
			c.Diagnose = func() string { return "(diagnosis)" }
			got := failures(c, func() { tc.do(c) })
			if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), tc.want) {
				t.Errorf("failures %q, want one mentioning %q", got, tc.want)
			}
			if tc.name == "timeout" && !strings.Contains(got[0], "(diagnosis)") {
				t.Errorf("failure %q does not have Diagnose's report", got[0])
			}
		})
	}
}
