package awaittree

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/cycles"
)

// runPython runs testdata/cpython_tools.py with the given command, feeding it stdin as JSON and
// decoding its JSON output into out.
func runPython(t *testing.T, python, command string, stdin, out any) {
	t.Helper()
	in, err := json.Marshal(stdin)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "cpython_tools.py"), command)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s cpython_tools.py %s: %v\n%s", python, command, err, stderr.String())
	}
	if err := json.Unmarshal(res, out); err != nil {
		t.Fatalf("decoding the output of cpython_tools.py %s: %v", command, err)
	}
}

// The task JSON of testdata/cpython_tools.py.
type jsonFrame struct {
	Func string `json:"func"`
	File string `json:"file"`
	Line *int   `json:"line"`
}

type jsonAwaiter struct {
	ID     uint64      `json:"id"`
	Frames []jsonFrame `json:"frames"`
}

type jsonTask struct {
	ID        uint64        `json:"id"`
	Name      string        `json:"name"`
	TID       uint64        `json:"tid"`
	Frames    []jsonFrame   `json:"frames"`
	AwaitedBy []jsonAwaiter `json:"awaited_by"`
}

func framesFromJSON(in []jsonFrame) []snapshot.Frame {
	var out []snapshot.Frame
	for _, f := range in {
		fr := snapshot.Frame{Function: f.Func, File: f.File, EndLine: -1, Column: -1, EndColumn: -1}
		if f.Line != nil {
			fr.Line, fr.HasLine = *f.Line, true
		}
		out = append(out, fr)
	}
	return out
}

func framesToJSON(in []snapshot.Frame) []jsonFrame {
	out := []jsonFrame{}
	for _, f := range in {
		jf := jsonFrame{Func: f.Function, File: f.File}
		if f.HasLine {
			line := f.Line
			jf.Line = &line
		}
		out = append(out, jf)
	}
	return out
}

func tasksFromJSON(in []jsonTask) []snapshot.Task {
	ids := make(map[uint64]bool)
	for _, t := range in {
		ids[t.ID] = true
	}
	var out []snapshot.Task
	for _, t := range in {
		st := snapshot.Task{ID: t.ID, Name: t.Name, TID: t.TID, Frames: framesFromJSON(t.Frames)}
		for _, a := range t.AwaitedBy {
			st.AwaitedBy = append(st.AwaitedBy, snapshot.Awaiter{ID: a.ID, IsTask: ids[a.ID], Frames: framesFromJSON(a.Frames)})
		}
		out = append(out, st)
	}
	return out
}

func tasksToJSON(in []snapshot.Task) []jsonTask {
	out := []jsonTask{}
	for _, t := range in {
		jt := jsonTask{ID: t.ID, Name: t.Name, TID: t.TID, Frames: framesToJSON(t.Frames), AwaitedBy: []jsonAwaiter{}}
		for _, a := range t.AwaitedBy {
			jt.AwaitedBy = append(jt.AwaitedBy, jsonAwaiter{ID: a.ID, Frames: framesToJSON(a.Frames)})
		}
		out = append(out, jt)
	}
	return out
}

// toolsResult is what cpython_tools.py reports for one task list (see run_tools there).
type toolsResult struct {
	RecursionError bool       `json:"recursion_error"`
	Cycles         [][]uint64 `json:"cycles"`
	Tree           [][]string `json:"tree"` // nil when there are cycles
	Table          [][]string `json:"table"`
	PsStdout       string     `json:"ps_stdout"`
	PsStderr       string     `json:"ps_stderr"`
	PsExit         *int       `json:"ps_exit"`
	PsError        *string    `json:"ps_error"`
	PstreeStdout   string     `json:"pstree_stdout"`
	PstreeStderr   string     `json:"pstree_stderr"`
	PstreeExit     *int       `json:"pstree_exit"`
	PstreeError    *string    `json:"pstree_error"`
}

// compareWithTools checks every output of this package against what CPython's tools produced for
// the same tasks, and reports differences under name.
func compareWithTools(t *testing.T, name string, tasks []snapshot.Task, want *toolsResult) {
	t.Helper()

	rows := Table(tasks)
	var got [][]string
	for _, r := range rows {
		got = append(got, []string{r.TID, r.TaskID, r.TaskName, r.CoroutineStack, r.AwaiterChain, r.AwaiterName, r.AwaiterID})
	}
	if !equalJSON(got, want.Table) {
		t.Errorf("%s: Table\n got %q\nwant %q", name, got, want.Table)
	}
	if want.PsError == nil {
		if want.PsExit == nil || *want.PsExit != 0 || want.PsStderr != "" {
			t.Errorf("%s: unexpected ps outcome: exit %v stderr %q", name, want.PsExit, want.PsStderr)
		}
		if g := FormatTable(rows); g != want.PsStdout {
			t.Errorf("%s: FormatTable\n got %q\nwant %q", name, g, want.PsStdout)
		}
	}

	if g := cycles.Find(tasks); !equalJSON(g, want.Cycles) {
		t.Errorf("%s: FindCycles\n got %v\nwant %v", name, g, want.Cycles)
	}

	if want.PstreeError != nil {
		t.Fatalf("%s: pstree raised %s", name, *want.PstreeError)
	}
	roots, err := Build(tasks)
	if len(want.Cycles) > 0 {
		ce, ok := err.(*CycleError)
		if !ok {
			t.Errorf("%s: Build returned %v, want a *CycleError", name, err)
			return
		}
		if roots != nil {
			t.Errorf("%s: Build returned roots with a cycle error", name)
		}
		if want.PstreeExit == nil || *want.PstreeExit != 1 || want.PstreeStdout != "" {
			t.Errorf("%s: unexpected pstree outcome: exit %v stdout %q", name, want.PstreeExit, want.PstreeStdout)
		}
		if ce.Error() != want.PstreeStderr || ce.Format() != want.PstreeStderr {
			t.Errorf("%s: CycleError text\n got %q\nwant %q", name, ce.Error(), want.PstreeStderr)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: Build: %v", name, err)
		return
	}
	if want.PstreeExit == nil || *want.PstreeExit != 0 || want.PstreeStderr != "" {
		t.Errorf("%s: unexpected pstree outcome: exit %v stderr %q", name, want.PstreeExit, want.PstreeStderr)
	}
	if g := Render(roots); g != want.PstreeStdout {
		t.Errorf("%s: Render\n got %q\nwant %q", name, g, want.PstreeStdout)
	}
	if len(roots) != len(want.Tree) {
		t.Errorf("%s: %d roots, want %d trees", name, len(roots), len(want.Tree))
		return
	}
	for i, root := range roots {
		if g, w := Render([]*Node{root}), strings.Join(want.Tree[i], "\n")+"\n"; g != w {
			t.Errorf("%s: tree %d\n got %q\nwant %q", name, i, g, w)
		}
	}
}

// equalJSON compares two values by their JSON encoding, so that nil and empty slices are equal.
func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	norm := func(s []byte) string {
		if string(s) == "null" {
			return "[]"
		}
		return string(s)
	}
	return err1 == nil && err2 == nil && norm(ja) == norm(jb)
}
