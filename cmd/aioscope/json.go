package main

import (
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/snapshot"
)

// The JSON documents of `ps --json` and `pstree --json`. Their shape is part of aioscope's
// interface (README.md documents it): fields are only ever added, never renamed or removed.
// Object ids are strings in Python's hex() form ("0x7f3a2c0e1b40"), as in the text output.

type jsonFrame struct {
	Function  string `json:"function"`
	File      string `json:"file"`
	Line      *int   `json:"line"`       // null when unknown
	EndLine   *int   `json:"end_line"`   // null when unknown
	Column    *int   `json:"column"`     // 0-based; null when unknown
	EndColumn *int   `json:"end_column"` // null when unknown
}

type jsonThread struct {
	TID         uint64      `json:"tid"`
	ThreadID    uint64      `json:"thread_id"`
	Main        bool        `json:"main"`
	RunningTask *string     `json:"running_task"`
	Frames      []jsonFrame `json:"frames"`
}

type jsonAwaiter struct {
	ID     string  `json:"id"`
	Name   *string `json:"name"` // null when the awaiter is not a pending task of the snapshot
	IsTask bool    `json:"is_task"`
}

type jsonTask struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	TID       uint64        `json:"tid"`
	Frames    []jsonFrame   `json:"frames"`
	AwaitedBy []jsonAwaiter `json:"awaited_by"`
}

type psDoc struct {
	PID           int          `json:"pid"`
	PythonVersion string       `json:"python_version"`
	CapturedAt    string       `json:"captured_at"`
	Threads       []jsonThread `json:"threads"`
	Tasks         []jsonTask   `json:"tasks"`
	Cycles        [][]string   `json:"cycles"`
}

type jsonNode struct {
	Kind     string      `json:"kind"` // "task" or "frame"
	ID       string      `json:"id,omitempty"`
	Name     string      `json:"name,omitempty"`
	Label    string      `json:"label,omitempty"` // frames: the text pstree prints
	Children []*jsonNode `json:"children"`
}

type pstreeDoc struct {
	PID           int         `json:"pid"`
	PythonVersion string      `json:"python_version"`
	CapturedAt    string      `json:"captured_at"`
	Roots         []*jsonNode `json:"roots"`
	Cycles        [][]string  `json:"cycles"`
}

func hexID(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

func optInt(v int, ok bool) *int {
	if !ok {
		return nil
	}
	return &v
}

func frames(fs []snapshot.Frame) []jsonFrame {
	out := make([]jsonFrame, 0, len(fs))
	for _, f := range fs {
		known := f.HasLine && f.Line >= 0
		out = append(out, jsonFrame{
			Function:  f.Function,
			File:      f.File,
			Line:      optInt(f.Line, known),
			EndLine:   optInt(f.EndLine, known && f.EndLine >= 0),
			Column:    optInt(f.Column, known && f.Column >= 0),
			EndColumn: optInt(f.EndColumn, known && f.EndColumn >= 0),
		})
	}
	return out
}

func cycleIDs(s *snapshot.Snapshot) [][]string {
	out := make([][]string, 0, len(s.Cycles))
	for _, c := range s.Cycles {
		ids := make([]string, len(c))
		for i, id := range c {
			ids[i] = hexID(id)
		}
		out = append(out, ids)
	}
	return out
}

func capturedAt(s *snapshot.Snapshot) string { return s.CapturedAt.UTC().Format(time.RFC3339Nano) }

func psDocument(s *snapshot.Snapshot) *psDoc {
	names := make(map[uint64]string, len(s.Tasks))
	for _, t := range s.Tasks {
		names[t.ID] = t.Name
	}
	doc := &psDoc{
		PID: s.PID, PythonVersion: s.PythonVersion, CapturedAt: capturedAt(s),
		Threads: make([]jsonThread, 0, len(s.Threads)),
		Tasks:   make([]jsonTask, 0, len(s.Tasks)),
		Cycles:  cycleIDs(s),
	}
	for _, t := range s.Threads {
		jt := jsonThread{TID: t.TID, ThreadID: t.ThreadID, Main: t.Main, Frames: frames(t.Frames)}
		if t.RunningTask != 0 {
			id := hexID(t.RunningTask)
			jt.RunningTask = &id
		}
		doc.Threads = append(doc.Threads, jt)
	}
	for _, t := range s.Tasks {
		jt := jsonTask{ID: hexID(t.ID), Name: t.Name, TID: t.TID, Frames: frames(t.Frames), AwaitedBy: []jsonAwaiter{}}
		for _, a := range t.AwaitedBy {
			ja := jsonAwaiter{ID: hexID(a.ID), IsTask: a.IsTask}
			if n, ok := names[a.ID]; ok {
				ja.Name = &n
			}
			jt.AwaitedBy = append(jt.AwaitedBy, ja)
		}
		doc.Tasks = append(doc.Tasks, jt)
	}
	return doc
}

// pstreeDocument converts the pstree forest. A task awaited from several places appears below
// each of them, as in the text tree.
func pstreeDocument(s *snapshot.Snapshot, roots []*awaittree.Node) *pstreeDoc {
	doc := &pstreeDoc{
		PID: s.PID, PythonVersion: s.PythonVersion, CapturedAt: capturedAt(s),
		Roots: make([]*jsonNode, 0, len(roots)), Cycles: cycleIDs(s),
	}
	// Converted nodes are shared like the tree's own nodes, so the document's size stays
	// proportional to the tree's, however often a subtree is repeated.
	done := map[*awaittree.Node]*jsonNode{}
	var convert func(n *awaittree.Node) *jsonNode
	convert = func(n *awaittree.Node) *jsonNode {
		if j, ok := done[n]; ok {
			return j
		}
		j := &jsonNode{Children: make([]*jsonNode, 0, len(n.Children))}
		if n.Kind == awaittree.Task {
			j.Kind, j.ID, j.Name = "task", hexID(n.TaskID), n.Label
		} else {
			j.Kind, j.Label = "frame", n.Label
		}
		done[n] = j
		for _, c := range n.Children {
			j.Children = append(j.Children, convert(c))
		}
		return j
	}
	for _, r := range roots {
		doc.Roots = append(doc.Roots, convert(r))
	}
	return doc
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
