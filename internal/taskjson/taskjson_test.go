package taskjson

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/schema"
	"github.com/aioscope/aioscope/snapshot"
)

func sampleSnapshot() *snapshot.Snapshot {
	sleep := snapshot.Frame{Function: "sleep", File: "/usr/lib/python3.15/asyncio/tasks.py", Line: 725, HasLine: true, EndLine: 725, Column: 15, EndColumn: 27}
	main := snapshot.Frame{Function: "main", File: "app.py", Line: 9, HasLine: true, EndLine: -1, Column: -1, EndColumn: -1}
	noLine := snapshot.Frame{Function: "big", File: "big.py"}
	return &snapshot.Snapshot{
		PID: 42, PythonVersion: "3.15.2", CapturedAt: time.Date(2026, 11, 21, 14, 9, 55, 123456789, time.UTC),
		Threads: []snapshot.Thread{{TID: 42, ThreadID: 7, Main: true, RunningTask: 0x10, Frames: []snapshot.Frame{main}}},
		Tasks: []snapshot.Task{
			{ID: 0x10, Name: "Task-1", TID: 42, Frames: []snapshot.Frame{main}},
			{ID: 0x20, Name: "q\"uote\\ \x01\n tâche 😀 \xff", TID: 42, Frames: []snapshot.Frame{sleep, noLine},
				AwaitedBy: []snapshot.Awaiter{{ID: 0x10, IsTask: true, Frames: []snapshot.Frame{main}}, {ID: 0x30}}},
		},
		Cycles: [][]uint64{{0x10, 0x20, 0x10}},
	}
}

func TestPSJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePS(&buf, sampleSnapshot()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, buf.Bytes())
	}
	want := map[string]any{
		"pid": 42.0, "python_version": "3.15.2", "captured_at": "2026-11-21T14:09:55.123456789Z",
		"threads": []any{map[string]any{"tid": 42.0, "thread_id": 7.0, "main": true, "running_task": "0x10",
			"frames": []any{frameJSON("main", "app.py", 9.0, nil, nil, nil)}}},
		"tasks": []any{
			map[string]any{"id": "0x10", "name": "Task-1", "tid": 42.0,
				"frames": []any{frameJSON("main", "app.py", 9.0, nil, nil, nil)}, "awaited_by": []any{}},
			map[string]any{"id": "0x20", "name": "q\"uote\\ \x01\n tâche 😀 \ufffd", "tid": 42.0,
				"frames": []any{
					frameJSON("sleep", "/usr/lib/python3.15/asyncio/tasks.py", 725.0, 725.0, 15.0, 27.0),
					frameJSON("big", "big.py", nil, nil, nil, nil),
				},
				"awaited_by": []any{
					map[string]any{"id": "0x10", "name": "Task-1", "is_task": true},
					map[string]any{"id": "0x30", "name": nil, "is_task": false},
				}},
		},
		"cycles": []any{[]any{"0x10", "0x20", "0x10"}},
	}
	if !reflect.DeepEqual(doc, want) {
		got, _ := json.MarshalIndent(doc, "", " ")
		t.Errorf("document:\n%s", got)
	}
}

func frameJSON(fn, file string, line, endLine, col, endCol any) map[string]any {
	return map[string]any{"function": fn, "file": file, "line": line, "end_line": endLine, "column": col, "end_column": endCol}
}

func TestPSTreeJSON(t *testing.T) {
	s := sampleSnapshot()
	s.Cycles = nil
	s.Tasks[1].AwaitedBy = s.Tasks[1].AwaitedBy[:1]
	roots, err := awaittree.Build(s.Tasks)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePSTree(&buf, s, roots); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		PID    int        `json:"pid"`
		Roots  []treeNode `json:"roots"`
		Cycles [][]string `json:"cycles"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, buf.Bytes())
	}
	// Task-1 -> main app.py:9 -> (T) the other task -> big big.py -> sleep tasks.py:725
	if len(doc.Roots) != 1 {
		t.Fatalf("roots = %+v", doc.Roots)
	}
	r := doc.Roots[0]
	if r.Kind != "task" || r.ID != "0x10" || r.Name != "Task-1" || len(r.Children) != 1 {
		t.Fatalf("root = %+v", r)
	}
	main := r.Children[0]
	if main.Kind != "frame" || main.Function != "main" || main.File != "app.py" || main.Line == nil || *main.Line != 9 || main.Label != "main app.py:9" {
		t.Fatalf("frame node = %+v", main)
	}
	child := main.Children[0]
	if child.Kind != "task" || child.ID != "0x20" || len(child.Children) != 1 || child.Children[0].Label != "big big.py" || child.Children[0].Line != nil {
		t.Fatalf("task node = %+v", child)
	}
	if doc.Cycles == nil || len(doc.Cycles) != 0 {
		t.Errorf("cycles = %#v, want []", doc.Cycles)
	}
}

type treeNode struct {
	Kind     string     `json:"kind"`
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Label    string     `json:"label"`
	Function string     `json:"function"`
	File     string     `json:"file"`
	Line     *int       `json:"line"`
	Children []treeNode `json:"children"`
}

// TestJSONSchema: the documents of sample snapshots match schema/ps.schema.json and
// schema/pstree.schema.json, edge cases included: await cycles, unknown locations, non-ASCII and
// invalid UTF-8 names, control characters, an empty snapshot.
func TestJSONSchema(t *testing.T) {
	schemas, err := schema.Load()
	if err != nil {
		t.Fatal(err)
	}
	cyclic := sampleSnapshot() // Task-1 and the other task await each other
	cyclic.Tasks[0].AwaitedBy = []snapshot.Awaiter{{ID: 0x20, IsTask: true, Frames: cyclic.Tasks[1].Frames}}
	acyclic := sampleSnapshot()
	acyclic.Cycles = nil
	acyclic.Tasks[1].AwaitedBy = acyclic.Tasks[1].AwaitedBy[:1]
	empty := &snapshot.Snapshot{PID: 1, PythonVersion: "3.14.0", CapturedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	for _, tc := range []struct {
		name string
		s    *snapshot.Snapshot
		want []string // text the document must contain, so that the edge case is really there
	}{
		{"cycle", cyclic, []string{`"line":null,"end_line":null,"column":null,"end_column":null`, `"name":null`,
			`tâche 😀 \ufffd`, `"cycles":[["0x10","0x20","0x10"]]`}},
		{"acyclic", acyclic, []string{`"end_line":null`}},
		{"empty", empty, []string{`"captured_at":"2026-01-02T03:04:05Z"`, `"tasks":[]`}},
		{"many", benchSnapshot(3000), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ps bytes.Buffer
			if err := WritePS(&ps, tc.s); err != nil {
				t.Fatal(err)
			}
			if err := schemas.Validate(schema.PS, ps.Bytes()); err != nil {
				t.Errorf("ps --json: %v", err)
			}
			roots, err := awaittree.Build(tc.s.Tasks)
			if err != nil {
				roots = nil // cycles: no tree, as pstree --json writes it
			}
			var tree bytes.Buffer
			if err := WritePSTree(&tree, tc.s, roots); err != nil {
				t.Fatal(err)
			}
			if err := schemas.Validate(schema.PSTree, tree.Bytes()); err != nil {
				t.Errorf("pstree --json: %v", err)
			}
			for _, w := range tc.want {
				if !bytes.Contains(ps.Bytes(), []byte(w)) && !bytes.Contains(tree.Bytes(), []byte(w)) {
					t.Errorf("neither document contains %s", w)
				}
			}
		})
	}
}

// benchSnapshot is a snapshot like that of testdata/scenarios/many.py with n sleepers: one main
// task gathering n tasks that sleep at the same place, sharing one frames slice as the inspector
// makes them.
func benchSnapshot(n int) *snapshot.Snapshot {
	const file = "/srv/app/testdata/scenarios/many.py"
	mainChain := []snapshot.Frame{{Function: "main", File: file, Line: 13, HasLine: true, EndLine: 13, Column: 10, EndColumn: 33}}
	sleeper := []snapshot.Frame{
		{Function: "sleep", File: "/usr/lib/python3.15/asyncio/tasks.py", Line: 725, HasLine: true, EndLine: 725, Column: 15, EndColumn: 27},
		{Function: "sleeper", File: file, Line: 7, HasLine: true, EndLine: 7, Column: 10, EndColumn: 28},
	}
	tasks := make([]snapshot.Task, 0, n+1)
	tasks = append(tasks, snapshot.Task{ID: 0x7f0000000000, Name: "Task-1", TID: 4242, Frames: mainChain})
	for i := range n {
		tasks = append(tasks, snapshot.Task{
			ID: 0x7f0000001000 + uint64(i)*0x200, Name: "Task-" + strconv.Itoa(i+2), TID: 4242, Frames: sleeper,
			AwaitedBy: []snapshot.Awaiter{{ID: 0x7f0000000000, IsTask: true, Frames: mainChain}},
		})
	}
	return &snapshot.Snapshot{
		PID: 4242, PythonVersion: "3.15.2", CapturedAt: time.Date(2026, 11, 21, 14, 9, 55, 123456789, time.UTC),
		Threads: []snapshot.Thread{{TID: 4242, ThreadID: 7, Main: true, Frames: mainChain}},
		Tasks:   tasks,
	}
}

// BenchmarkPSJSON measures what `aioscope ps --json` does after the snapshot.
func BenchmarkPSJSON(b *testing.B) {
	s := benchSnapshot(10_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := WritePS(io.Discard, s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPSTreeJSON measures the writing of the `pstree --json` document, once the tree is built.
func BenchmarkPSTreeJSON(b *testing.B) {
	s := benchSnapshot(10_000)
	roots, err := awaittree.Build(s.Tasks)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := WritePSTree(io.Discard, s, roots); err != nil {
			b.Fatal(err)
		}
	}
}
