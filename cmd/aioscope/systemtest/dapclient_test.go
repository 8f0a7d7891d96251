package systemtest

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// dapRequestDeadline bounds each wait for `aioscope dap`; like runDeadline it only catches
// hangs.
const dapRequestDeadline = 30 * time.Second

// dapClient drives `aioscope dap` over its stdin and stdout, as an editor does.
type dapClient struct {
	*daptest.Client
	t      *testing.T
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr *bytes.Buffer
	events []*daptest.Message // the events received so far
}

// startDAP starts argv (aioscope dap, possibly under a tracer) as a DAP server on stdio. It is
// killed, if still running, when the test ends.
func startDAP(t *testing.T, argv ...string) *dapClient {
	t.Helper()
	stderr := &bytes.Buffer{}
	cmd, in, out := testtarget.StartServer(t, stderr, argv...)
	c := &dapClient{t: t, cmd: cmd, in: in, stderr: stderr}
	c.Client = daptest.New(t, daptest.Stdio(in, out))
	c.Timeout = dapRequestDeadline
	c.Diagnose = func() string { return "stderr: " + c.stderr.String() }
	return c
}

// request sends a request and returns its response, keeping the events that come before it.
func (c *dapClient) request(command string, args any) *daptest.Message {
	c.t.Helper()
	return c.response(c.send(command, args), command)
}

// send sends a request and returns its seq.
func (c *dapClient) send(command string, args any) int {
	c.t.Helper()
	return c.Send(command, args)
}

// response waits for the response to request seq.
func (c *dapClient) response(seq int, command string) *daptest.Message {
	c.t.Helper()
	m := c.Response(seq)
	c.events = c.Events()
	if m.Command != command {
		c.t.Fatalf("response to %s is for %q", command, m.Command)
	}
	return m
}

// mustSucceed sends a request that must succeed.
func (c *dapClient) mustSucceed(command string, args any) *daptest.Message {
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
	c.Initialize()
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
