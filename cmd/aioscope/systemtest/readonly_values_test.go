package systemtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/daptest"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// TestReadOnlyDAPValues runs a DAP session that reads values — every scope of every frame of
// every thread and task, each value in them expanded, pages of a dict of 100,000 items, watch
// and hover expressions of every form and some that are refused, the arguments of every task's
// frames — with `aioscope dap` under strace, while polling the target's state. Reading values
// must read the target like everything else: the trace must show only reads.
func TestReadOnlyDAPValues(t *testing.T) {
	readOnlyServerSession(t, "dapvalues.py", "dap", func(t *testing.T, tg *testtarget.Target, cmdline []string) string {
		c := startDAP(t, cmdline...)
		c.attach(tg.PID, nil)
		var threads dap.ThreadsResponseBody
		decode(t, c.mustSucceed("threads", nil), &threads)
		read, handle, left := 0, 0, 0
		for _, th := range threads.Threads {
			var st dap.StackTraceResponseBody
			decode(t, c.mustSucceed("stackTrace", map[string]any{"threadId": th.Id}), &st)
			for _, f := range st.StackFrames {
				if f.Name == "handle" {
					handle = f.Id
				}
				if f.PresentationHint == "label" {
					continue
				}
				var scopes dap.ScopesResponseBody
				m := c.request("scopes", map[string]any{"frameId": f.Id})
				if !m.Success && frameLeft(m.Message) {
					left++
					continue
				} else if !m.Success {
					t.Fatalf("scopes failed: %s", m.Message)
				}
				decode(t, m, &scopes)
				// A frame is where its thread or task was at the snapshot: once it has moved on
				// (OS threads, and the task "mover", which does so on purpose), reading it says so,
				// and there are no values to read.
				for _, s := range scopes.Scopes {
					vars, ok := pageOf(t, c, s.VariablesReference, 0, 0)
					for _, v := range vars {
						read++
						if v.VariablesReference == 0 || !ok {
							continue
						}
						// One level down, and for a long container its last page.
						_, ok = pageOf(t, c, v.VariablesReference, 0, 20)
						if ok && v.IndexedVariables > 100 {
							_, ok = pageOf(t, c, v.VariablesReference, v.IndexedVariables-10, 10)
						}
					}
					if !ok {
						left++
					}
				}
			}
			c.mustSucceed("aioscope/frameArguments", map[string]any{"threadId": th.Id})
		}
		if handle == 0 || read < 30 {
			t.Fatalf("the session found no frame handle (%d) or read only %d variables (%d scopes of frames left since the snapshot)", handle, read, left)
		}
		ok := 0
		for _, e := range []string{"request", "point.tags[-1]", "nested['list'][1][0]", "nested[7]", "len(big)", "big[99999]",
			"LIMIT", "no_such_name", "point.norm", "len(sized)", "items[5]", "point.x + 1", "__import__('os').getpid()"} {
			if m := c.request("evaluate", map[string]any{"expression": e, "frameId": handle, "context": "hover"}); m.Success {
				ok++
			} else {
				t.Logf("%s: %s", e, m.Message)
			}
		}
		if ok != 7 {
			t.Errorf("%d of the expressions were read, want 7", ok)
		}
		c.close()
		return fmt.Sprintf("a DAP session reading %d variables and their values", read)
	})
}

// pageOf reads a page of variables; ok is false when the frame's thread or task has moved on
// since the snapshot, the one error a frame of a live process may answer. Any other error fails
// the test.
func pageOf(t *testing.T, c *dapClient, ref, start, count int) (vars []dap.Variable, ok bool) {
	t.Helper()
	m := c.request("variables", map[string]any{"variablesReference": ref, "start": start, "count": count})
	if !m.Success {
		if frameLeft(m.Message) {
			return nil, false
		}
		t.Fatalf("variables failed: %s", m.Message)
	}
	var body dap.VariablesResponseBody
	decode(t, m, &body)
	return body.Variables, true
}

// frameLeft reports whether msg says that a frame's task or thread has left it since the
// snapshot, in either form: it left the function, or it is at another line of it.
func frameLeft(msg string) bool {
	return strings.Contains(msg, " since the snapshot") && strings.HasSuffix(msg, "; take a new snapshot")
}

func decode(t *testing.T, m *daptest.Message, v any) {
	t.Helper()
	if err := json.Unmarshal(m.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", m.Body, err)
	}
}
