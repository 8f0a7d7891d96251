package lsp

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/aioscope/aioscope/internal/testtarget"
	"github.com/aioscope/aioscope/schema"
)

var versions = []string{"3.14", "3.15"}

// TestLiveTree attaches to tree.py and checks every answer about it against what the program
// does, and the snapshot document against the schema and CPython's own ps.
func TestLiveTree(t *testing.T) {
	schemas, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "tree.py")
			c := startClient(t, NewServer(Config{}))
			c.initialize(map[string]any{"processId": fmt.Sprint(tg.PID), "refreshInterval": 200}, nil)
			uri := c.open(testtarget.ScenarioPath("tree.py"))
			ls := c.waitLenses(uri, func(ls []CodeLens) bool { return len(ls) == 5 })
			want := []struct {
				line  int
				title string
			}{
				{6, "⏸ 9 tasks · tâche-ünïcode, emoji-😀, Task-2, …"},
				{9, "⏸ 6 tasks · A-leaf-1, A-leaf-2, B-leaf-1, …"},
				{12, "⏸ 2 tasks · Task-A, Task-B"},
				{17, "⏸ 1 task · gatherer"},
				{20, "⏸ 1 task · Task-1"},
			}
			for i, w := range want {
				if got := ls[i]; got.Range.Start.Line != w.line || waitless(got.Command.Title) != w.title {
					t.Errorf("lens %d: line %d %q, want line %d %q", i, got.Range.Start.Line, got.Command.Title, w.line, w.title)
				}
			}
			// "    await asyncio.sleep(10_000)": the await expression, in UTF-16 columns.
			if r := ls[0].Range; r.Start.Character != 4 || r.End.Character != 31 {
				t.Errorf("range of the lens on line 7: %+v", r)
			}
			h := c.hover(uri, 12)
			for _, part := range []string{"**⏸ 2 tasks are suspended here** in `c2`",
				"- `Task-A` `c2(tg_name='A')` — waits in `TaskGroup._aexit` — awaited by Task-1",
				"- `Task-B` `c2(tg_name='B')` — waits in `TaskGroup._aexit` — awaited by Task-1"} {
				if h == nil || !strings.Contains(h.Contents.Value, part) {
					t.Errorf("hover on line 13 lacks %q: %+v", part, h)
				}
			}
			var syms []SymbolInformation
			c.MustCall("workspace/symbol", map[string]any{"query": "leaf"}, &syms)
			if len(syms) != 4 {
				t.Errorf("symbols: %+v", syms)
			}
			for _, s := range syms {
				if s.Location.URI != uri || s.Location.Range.Start.Line != 6 || s.ContainerName != "deep" {
					t.Errorf("symbol %+v", s)
				}
			}
			var doc json.RawMessage
			c.MustCall("aioscope/snapshot", nil, &doc)
			if err := schemas.Validate(schema.PS, doc); err != nil {
				t.Errorf("aioscope/snapshot: %v", err)
			}
			var ps struct {
				Tasks []struct {
					Name string `json:"name"`
				} `json:"tasks"`
			}
			if err := json.Unmarshal(doc, &ps); err != nil {
				t.Fatal(err)
			}
			oracle, _, code := tg.AsyncioTool(t, "ps")
			if code != 0 {
				t.Fatalf("python -m asyncio ps: exit %d", code)
			}
			rows := strings.Count(strings.TrimSpace(string(oracle)), "\n") - 1 // less the header and its rule
			if len(ps.Tasks) != rows || len(ps.Tasks) != 13 {
				t.Errorf("%d tasks in aioscope/snapshot, CPython's ps lists %d", len(ps.Tasks), rows)
			}
			for _, task := range ps.Tasks {
				// (CPython 3.14's own tool shows names with non-ASCII characters as empty.)
				if isASCII(task.Name) && !strings.Contains(string(oracle), task.Name) {
					t.Errorf("task %q is not in CPython's ps", task.Name)
				}
			}
		})
	}
}

// TestLiveCycle: cycle.py's two tasks await each other; each gets an error where it waits.
func TestLiveCycle(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "cycle.py")
			c := startClient(t, NewServer(Config{}))
			c.initialize(map[string]any{"processId": tg.PID}, nil)
			// Not opened: diagnostics are published for any file of the workspace.
			uri := fileURI(testtarget.ScenarioPath("cycle.py"))
			ds := c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return len(ds) > 0 })
			lines := map[int]string{}
			for _, d := range ds {
				lines[d.Range.Start.Line] = d.Message
				if d.Severity != severityError || len(d.RelatedInformation) != 1 || d.RelatedInformation[0].Location.URI != uri {
					t.Errorf("diagnostic %+v", d)
				}
			}
			if !strings.HasPrefix(lines[8], "await cycle: task A waits for B, which waits for A") ||
				!strings.HasPrefix(lines[10], "await cycle: task B waits for A, which waits for B") || len(ds) != 2 {
				t.Errorf("diagnostics: %+v", ds)
			}
		})
	}
}

// TestLiveExit kills the target while attached: the user is told, and nothing stays shown.
func TestLiveExit(t *testing.T) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "cycle.py")
			c := startClient(t, NewServer(Config{}))
			c.initialize(map[string]any{"processId": tg.PID, "refreshInterval": 100}, nil)
			uri := c.open(testtarget.ScenarioPath("cycle.py"))
			c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return len(ds) == 2 })
			c.waitLenses(uri, func(ls []CodeLens) bool { return len(ls) > 0 })
			if err := syscall.Kill(tg.PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			c.WaitNote("window/showMessage", func(raw json.RawMessage) bool {
				return strings.Contains(string(raw), fmt.Sprintf("process %d has exited", tg.PID))
			})
			c.diagnosticsFor(uri, func(ds []Diagnostic) bool { return ds != nil && len(ds) == 0 })
			if ls := c.lenses(uri); len(ls) != 0 {
				t.Errorf("lenses after the exit: %v", ls)
			}
		})
	}
}

// TestLiveNoAsyncio attaches to a Python 3.14 that has not imported asyncio (3.15 has it built
// in): a warning, and the server stays attached for when it does.
func TestLiveNoAsyncio(t *testing.T) {
	tg := testtarget.Start(t, "3.14", "noasyncio.py")
	c := startClient(t, NewServer(Config{}))
	c.initialize(nil, nil)
	var res attachResult
	c.MustCall("workspace/executeCommand", map[string]any{"command": "aioscope.attach", "arguments": []any{tg.PID}}, &res)
	if res.PID != tg.PID || res.Tasks != nil || !strings.HasPrefix(res.PythonVersion, "3.14") {
		t.Errorf("attach: %+v", res)
	}
	c.WaitNote("window/showMessage", func(raw json.RawMessage) bool { return strings.Contains(string(raw), "asyncio") })
	if e := c.CallError("aioscope/snapshot", nil); !strings.Contains(e.Message, "asyncio") {
		t.Errorf("snapshot: %v", e)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// TestLiveCycleDirection: in cycle2.py, D awaits C, E awaits D and C awaits E.
func TestLiveCycleDirection(t *testing.T) {
	tg := testtarget.Start(t, "3.15", "cycle2.py")
	c := startClient(t, NewServer(Config{}))
	c.initialize(map[string]any{"processId": tg.PID}, nil)
	ds := c.diagnosticsFor(fileURI(testtarget.ScenarioPath("cycle2.py")), func(ds []Diagnostic) bool { return len(ds) > 0 })
	want := map[string]bool{
		"await cycle: task D waits for C, which waits for E, which waits for D": false,
		"await cycle: task A waits for B, which waits for A":                    false,
		"await cycle: task S waits for S":                                       false,
	}
	for _, d := range ds {
		for w := range want {
			if strings.HasPrefix(d.Message, w) {
				want[w] = true
			}
		}
	}
	for w, found := range want {
		if !found {
			t.Errorf("no diagnostic says %q; got %d: %+v", w, len(ds), ds)
		}
	}
	if len(ds) != 6 {
		t.Errorf("%d diagnostics, want one per member of the cycles (A, B, C, D, E, S)", len(ds))
	}
}
