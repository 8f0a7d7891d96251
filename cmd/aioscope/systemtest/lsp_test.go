package systemtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/lsptest"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// startLSP starts argv (aioscope lsp, possibly under a tracer) as a language server on stdio,
// and returns a client of it and the server's process.
func startLSP(t *testing.T, argv ...string) (*lsptest.Client, *exec.Cmd) {
	t.Helper()
	cmd, in, out := testtarget.StartServer(t, nil, argv...)
	c := lsptest.New(t, struct {
		io.Reader
		io.WriteCloser
	}{out, in})
	c.Timeout = dapRequestDeadline
	return c, cmd
}

// TestReadOnlyLSPSession runs a language server session against a busy target — attach, lenses,
// hovers (which read the arguments of tasks' frames), symbols, refreshes every 100 ms, 200
// snapshot requests — with `aioscope lsp` under strace, while polling the target's state. The
// trace must show only reads, and the target must never be stopped or traced.
func TestReadOnlyLSPSession(t *testing.T) {
	readOnlyServerSession(t, "churn.py", "lsp", func(t *testing.T, tg *testtarget.Target, cmdline []string) string {
		c, cmd := startLSP(t, cmdline...)
		c.MustCall("initialize", map[string]any{
			"capabilities": map[string]any{
				"workspace":    map[string]any{"codeLens": map[string]any{"refreshSupport": true}},
				"textDocument": map[string]any{"codeLens": map[string]any{}, "hover": map[string]any{"contentFormat": []string{"markdown"}}},
			},
			"initializationOptions": map[string]any{"processId": tg.PID, "refreshInterval": 100},
		}, nil)
		c.Notify("initialized", map[string]any{})
		file := testtarget.ScenarioPath("churn.py")
		uri := "file://" + file
		c.Notify("textDocument/didOpen", map[string]any{
			"textDocument": map[string]any{"uri": uri, "languageId": "python", "version": 1, "text": ""}})
		// Lenses come once a snapshot has succeeded (strace slows the reads down, and this
		// target changes fast).
		var lenses []struct {
			Range struct {
				Start struct{ Line int } `json:"start"`
			} `json:"range"`
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(lenses) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no code lenses for churn.py; messages: %v", c.ShowMessages())
			}
			time.Sleep(50 * time.Millisecond)
			c.MustCall("textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": uri}}, &lenses)
		}
		for _, l := range lenses {
			c.MustCall("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri},
				"position": map[string]any{"line": l.Range.Start.Line, "character": 0}}, nil)
		}
		c.MustCall("workspace/symbol", map[string]any{"query": ""}, nil)
		time.Sleep(time.Second) // refreshes every 100 ms
		ok := 0
		for i := 0; i < 200; i++ {
			if err := c.Call("aioscope/snapshot", nil, nil); err == nil {
				ok++
			} else if !strings.Contains(err.Error(), "changed too fast") {
				t.Fatalf("snapshot %d: %v", i, err)
			}
		}
		refreshes := c.Requests("workspace/codeLens/refresh")
		t.Logf("%d lenses, %d/200 snapshots, %d lens refreshes", len(lenses), ok, refreshes)
		if refreshes < 5 {
			t.Errorf("only %d workspace/codeLens/refresh requests: the refreshes did not run", refreshes)
		}
		c.MustCall("shutdown", nil, nil)
		_ = c.Conn.Notify(context.Background(), "exit", nil)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(dapRequestDeadline):
			t.Fatal("aioscope lsp did not exit after exit")
		}
		return fmt.Sprintf("an LSP session with %d/200 snapshots", ok)
	})
}

// TestLSPCommandLine: usage errors, and a session over --listen.
func TestLSPCommandLine(t *testing.T) {
	bin := testtarget.Binary(t)
	for _, args := range [][]string{{"lsp", "123"}, {"lsp", "--allow-remote"}, {"lsp", "--listen", "0.0.0.0:0"}, {"lsp", "--bogus"}} {
		_, stderr, code := runBounded(t, bin, args...)
		if code != exitUsage || !strings.HasPrefix(string(stderr), "aioscope lsp: ") || strings.Count(string(stderr), "\n") != 1 {
			t.Errorf("aioscope %v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if stdout, _, code := runBounded(t, bin, "lsp", "--help"); code != exitOK || !strings.HasPrefix(string(stdout), "usage: aioscope lsp") {
		t.Errorf("aioscope lsp --help: exit %d, %q", code, stdout)
	}

	cmd := exec.Command(bin, "lsp", "--listen", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	startForTest(t, cmd)
	addr := testtarget.ListenAddress(t, out, "lsp", nil)
	for i := 0; i < 2; i++ { // one session after another
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c := lsptest.New(t, nc)
		c.Timeout = dapRequestDeadline
		var res struct {
			ServerInfo struct{ Name string } `json:"serverInfo"`
		}
		if err := c.Call("initialize", map[string]any{"capabilities": map[string]any{}}, &res); err != nil || res.ServerInfo.Name != "aioscope" {
			t.Errorf("initialize over TCP: %v, %+v", err, res)
		}
		err = c.Call("workspace/executeCommand", map[string]any{"command": "aioscope.attach", "arguments": []any{cmd.Process.Pid}}, nil)
		if err == nil || !strings.Contains(err.Error(), "is this the right PID?") {
			t.Errorf("attaching to aioscope itself: %v", err)
		}
		c.Conn.Close()
	}
}
