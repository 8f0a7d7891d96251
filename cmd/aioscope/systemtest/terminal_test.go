package systemtest

import (
	"bytes"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// TestNoTerminalQuery: on a terminal that answers nothing, the commands that draw no terminal UI
// write their output and nothing else, at once. A library's initialisation used to query the
// terminal's background colour before main ran, for every command, and wait up to five seconds
// for an answer.
func TestNoTerminalQuery(t *testing.T) {
	bin := testtarget.Binary(t)
	tg := testtarget.Start(t, "3.15", "tree.py")
	for _, args := range [][]string{{"version"}, {"ps", strconv.Itoa(tg.PID)}} {
		cmd := exec.Command(bin, args...)
		// As on a user's terminal: the terminal libraries take a CI variable to mean no
		// terminal, and would not show the query.
		cmd.Env = append(slices.DeleteFunc(cmd.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "CI=") }),
			"TERM=xterm-256color")
		ptmx, err := pty.Start(cmd)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		copied := make(chan struct{})
		go func() { _, _ = io.Copy(&out, ptmx); close(copied) }()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("aioscope %v: %v", args, err)
			}
		case <-time.After(4 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("aioscope %v did not end within 4 s on a terminal that does not answer", args)
		}
		select {
		case <-copied:
		case <-time.After(2 * time.Second):
		}
		ptmx.Close()
		<-copied
		if bytes.IndexByte(out.Bytes(), 0x1b) >= 0 {
			t.Errorf("aioscope %v wrote an escape sequence to the terminal: %q", args, out.Bytes())
		}
		if out.Len() == 0 {
			t.Errorf("aioscope %v wrote nothing", args)
		}
	}
}
