package adapter

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/go-dap"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// The live tests attach the adapter to real CPython processes running the scenarios of
// testdata/scenarios and check what a DAP client sees against CPython's own tools run on the
// same process (see oracle_test.go). This file has what they share.

var versions = []string{"3.14", "3.15"}

// liveSession starts a scenario and an in-process adapter session, and watches the target's
// state for the whole test.
func liveSession(t *testing.T, version, scenario string, args ...string) (*testtarget.Target, *client) {
	t.Helper()
	tg := testtarget.Start(t, version, scenario, args...)
	testtarget.WatchState(t, tg.PID)
	return tg, startSession(t, NewServer(Config{}))
}

// liveTest runs test on every CPython version in parallel, each with its own target running
// scenario with args and its own session (see liveSession).
func liveTest(t *testing.T, scenario string, args []string, test func(t *testing.T, tg *testtarget.Target, c *client)) {
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			tg, c := liveSession(t, version, scenario, args...)
			test(t, tg, c)
		})
	}
}

// threadsByName maps thread names to ids, failing on a name listed twice. A task's row is also
// found by the task's name alone (see rowName), an OS thread's by "Thread TID".
func threadsByName(t *testing.T, threads []dap.Thread) map[string]int {
	t.Helper()
	m := make(map[string]int, 2*len(threads))
	for _, th := range threads {
		if _, dup := m[th.Name]; dup {
			t.Fatalf("two threads are named %q", th.Name)
		}
		m[th.Name] = th.Id
	}
	for _, th := range threads {
		if short := rowName(th.Name); short != th.Name {
			if _, dup := m[short]; dup {
				t.Fatalf("two threads are named %q", short)
			}
			m[short] = th.Id
		}
	}
	return m
}

// shortNames keeps the entries of a threadsByName map that are names alone (rowName).
func shortNames(byName map[string]int) map[string]int {
	m := map[string]int{}
	for name, id := range byName {
		if rowName(name) == name {
			m[name] = id
		}
	}
	return m
}

// rowName is the name a thread row starts with: a task's name without its marks, where it waits
// and for how long ("⚠ A · a cycle.py:8 · waiting 3 s" is "A"), "Thread TID" for an OS thread.
func rowName(row string) string {
	row = strings.TrimPrefix(row, cycleMark)
	row = strings.TrimPrefix(row, runningMark)
	row = strings.TrimPrefix(row, stuckMark)
	if m := waitSuffix.FindStringIndex(row); m != nil {
		row = row[:m[0]]
	}
	if strings.HasPrefix(row, "Thread ") {
		if i := strings.IndexAny(row[len("Thread "):], " "); i >= 0 {
			return row[:len("Thread ")+i]
		}
		return row
	}
	if i := strings.LastIndex(row, " · "); i >= 0 {
		return row[:i]
	}
	return row
}

// waitSuffix is the end of a task's row that says how long it has waited.
var waitSuffix = regexp.MustCompile(` · (waiting|stuck) (≥ )?[0-9]+ (s|min [0-9]+ s|h [0-9]+ min)$`)

// mainThreadRow is the name of the main thread's row in a scenario.
func mainThreadRow(pid int) string {
	return fmt.Sprintf("Thread %d \"MainThread\" · event loop", pid)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func frameNames(frames []dap.StackFrame) string {
	var b strings.Builder
	for i, f := range frames {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(f.Name)
	}
	return b.String()
}

// frameKeys identifies frames by id, name and location, for comparing pages of a stack.
func frameKeys(frames []dap.StackFrame) string {
	var b strings.Builder
	for _, f := range frames {
		path := ""
		if f.Source != nil {
			path = f.Source.Path
		}
		fmt.Fprintf(&b, "%d %s %s:%d:%d|", f.Id, f.Name, path, f.Line, f.Column)
	}
	return b.String()
}

func varsByName(vars []dap.Variable) map[string]dap.Variable {
	m := map[string]dap.Variable{}
	for _, v := range vars {
		m[v.Name] = v
	}
	return m
}

func sources(frames []dap.StackFrame) []string {
	var out []string
	for _, f := range frames {
		if f.Source != nil {
			out = append(out, f.Source.Path)
		}
	}
	return out
}

func capturedAt(t *testing.T, g awaitGraph) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, g.CapturedAt)
	if err != nil {
		t.Fatalf("awaitGraph capturedAt %q: %v", g.CapturedAt, err)
	}
	return at
}

// utf16Column converts a 0-based byte offset into a line of a file into a 0-based offset in
// UTF-16 code units, the protocol's measure.
func utf16Column(t *testing.T, file string, line, byteCol int) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) || byteCol > len(lines[line-1]) {
		t.Fatalf("%s has no line %d with %d bytes", file, line, byteCol)
	}
	return len(utf16.Encode([]rune(lines[line-1][:byteCol])))
}

// linesMatching returns the 1-based number of the only line of file containing text.
func linesMatching(t *testing.T, file, text string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, text) {
			if found != 0 {
				t.Fatalf("%s has %q on lines %d and %d", file, text, found, i+1)
			}
			found = i + 1
		}
	}
	if found == 0 {
		t.Fatalf("%s has no line with %q", file, text)
	}
	return found
}
