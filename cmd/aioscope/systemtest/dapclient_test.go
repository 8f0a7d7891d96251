package systemtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dapRequestDeadline bounds one request to `aioscope dap`; like runDeadline it only catches
// hangs.
const dapRequestDeadline = 30 * time.Second

// dapMessage is a message from the debug adapter.
type dapMessage struct {
	Seq        int             `json:"seq"`
	Type       string          `json:"type"`
	RequestSeq int             `json:"request_seq"`
	Success    bool            `json:"success"`
	Command    string          `json:"command"`
	Message    string          `json:"message"`
	Event      string          `json:"event"`
	Body       json.RawMessage `json:"body"`
}

// dapClient drives `aioscope dap` over its stdin and stdout, as an editor does.
type dapClient struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	msgs   chan dapMessage
	stderr *bytes.Buffer
	seq    int
	events []dapMessage // events received while waiting for responses
}

// startDAP starts argv (aioscope dap, possibly under a tracer) as a DAP server on stdio. It is
// killed, if still running, when the test ends.
func startDAP(t *testing.T, argv ...string) *dapClient {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &dapClient{t: t, cmd: cmd, in: in, msgs: make(chan dapMessage, 1024), stderr: &bytes.Buffer{}}
	cmd.Stderr = c.stderr
	// Its own process group, so that cleanup also kills what a tracer started; and a bounded
	// wait for the output pipes, which a surviving child would otherwise hold open for ever.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	go func() {
		defer close(c.msgs)
		r := bufio.NewReaderSize(out, 1<<20)
		for {
			length := -1
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				line = strings.TrimRight(line, "\r\n")
				if line == "" {
					break
				}
				if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
					length, _ = strconv.Atoi(v)
				}
			}
			if length < 0 {
				return
			}
			body := make([]byte, length)
			if _, err := io.ReadFull(r, body); err != nil {
				return
			}
			var m dapMessage
			if err := json.Unmarshal(body, &m); err != nil {
				m = dapMessage{Type: "unparsable", Message: err.Error()}
			}
			c.msgs <- m
		}
	}()
	return c
}

// request sends a request and returns its response, keeping the events that come before it.
func (c *dapClient) request(command string, args any) dapMessage {
	c.t.Helper()
	return c.response(c.send(command, args), command)
}

// send sends a request and returns its seq.
func (c *dapClient) send(command string, args any) int {
	c.t.Helper()
	c.seq++
	req := map[string]any{"seq": c.seq, "type": "request", "command": command}
	if args != nil {
		req["arguments"] = args
	}
	body, err := json.Marshal(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c.in, "Content-Length: %d\r\n\r\n%s", len(body), body); err != nil {
		c.t.Fatalf("sending %s: %v (stderr: %s)", command, err, c.stderr)
	}
	return c.seq
}

// response waits for the response to request seq.
func (c *dapClient) response(seq int, command string) dapMessage {
	c.t.Helper()
	timeout := time.After(dapRequestDeadline)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatalf("aioscope dap closed its output while %s was pending; stderr: %s", command, c.stderr)
			}
			if m.Type == "unparsable" {
				c.t.Fatalf("aioscope dap sent a message that does not parse: %s", m.Message)
			}
			if m.Type == "response" && m.RequestSeq == seq {
				if m.Command != command {
					c.t.Fatalf("response to %s is for %q", command, m.Command)
				}
				return m
			}
			if m.Type == "event" {
				c.events = append(c.events, m)
			}
		case <-timeout:
			c.t.Fatalf("no response to %s within %v", command, dapRequestDeadline)
		}
	}
}

// mustSucceed sends a request that must succeed.
func (c *dapClient) mustSucceed(command string, args any) dapMessage {
	c.t.Helper()
	m := c.request(command, args)
	if !m.Success {
		c.t.Fatalf("%s failed: %s", command, m.Message)
	}
	return m
}

// attach initializes the session and attaches it to pid. The attach takes a first snapshot, so
// against a target that changes very fast it can fail like any snapshot; it is tried a few times.
func (c *dapClient) attach(pid int, extra map[string]any) {
	c.t.Helper()
	c.mustSucceed("initialize", map[string]any{"adapterID": "aioscope", "linesStartAt1": true, "columnsStartAt1": true})
	args := map[string]any{"processId": pid}
	for k, v := range extra {
		args[k] = v
	}
	for i := 0; ; i++ {
		m := c.request("attach", args)
		if m.Success {
			break
		}
		if i == 4 || !strings.Contains(m.Message, "changed too fast") {
			c.t.Fatalf("attach: %s", m.Message)
		}
	}
	c.mustSucceed("configurationDone", nil)
}

// close disconnects and checks that the server ends cleanly, without a crash on stderr.
func (c *dapClient) close() {
	c.t.Helper()
	c.mustSucceed("disconnect", nil)
	_ = c.in.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			c.t.Errorf("aioscope dap ended with %v; stderr: %s", err, c.stderr)
		}
	case <-time.After(dapRequestDeadline):
		c.t.Fatalf("aioscope dap did not exit after disconnect")
	}
	if s := c.stderr.String(); strings.Contains(s, "goroutine ") || strings.Contains(s, "panic") {
		c.t.Errorf("aioscope dap crashed: %s", s)
	}
}
