package main

import (
	"io"
	"strconv"
	"time"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/internal/jsonenc"
	"github.com/aioscope/aioscope/snapshot"
)

// The JSON documents of `ps --json` and `pstree --json`. Their shape is part of aioscope's
// interface (README.md documents it): fields are only ever added, never renamed or removed.
// Object ids are strings in Python's hex() form ("0x7f3a2c0e1b40"), as in the text output.
//
// They are written by hand rather than with encoding/json: a snapshot of 100,000 tasks makes a
// document of tens of megabytes, and reflection-based encoding would cost more than reading the
// process.

// jsonWriter appends JSON to a buffer and hands it to w in large pieces.
type jsonWriter struct {
	w   io.Writer
	b   []byte
	err error
	// Frame lists already written, by the list: a snapshot shares one list among all the
	// tasks waiting at the same places, and copying its text is cheaper than writing it again.
	written map[snapshot.FramesKey]string
}

func (j *jsonWriter) raw(s string) { j.b = append(j.b, s...) }

func (j *jsonWriter) str(s string) {
	j.b = jsonenc.AppendString(j.b, s)
}

func (j *jsonWriter) uint(v uint64) { j.b = strconv.AppendUint(j.b, v, 10) }

func (j *jsonWriter) id(v uint64) {
	j.b = append(j.b, `"0x`...)
	j.b = strconv.AppendUint(j.b, v, 16)
	j.b = append(j.b, '"')
}

func (j *jsonWriter) optInt(v int, ok bool) {
	if !ok {
		j.raw("null")
		return
	}
	j.b = strconv.AppendInt(j.b, int64(v), 10)
}

// flush writes out the buffer once it is large; force writes it out regardless.
func (j *jsonWriter) flush(force bool) {
	if j.err != nil || (!force && len(j.b) < 256<<10) {
		return
	}
	_, j.err = j.w.Write(j.b)
	j.b = j.b[:0]
}

func (j *jsonWriter) frames(fs []snapshot.Frame) {
	if len(fs) == 0 {
		j.raw("[]")
		return
	}
	key := snapshot.KeyOf(fs)
	if text, ok := j.written[key]; ok {
		j.raw(text)
		return
	}
	start := len(j.b)
	j.writeFrames(fs)
	if j.written == nil {
		j.written = map[snapshot.FramesKey]string{}
	}
	j.written[key] = string(j.b[start:])
}

func (j *jsonWriter) writeFrames(fs []snapshot.Frame) {
	j.raw("[")
	for i, f := range fs {
		if i > 0 {
			j.raw(",")
		}
		j.raw("{")
		j.frameFields(f)
		j.raw("}")
	}
	j.raw("]")
}

// frameFields writes the fields of a frame object, without braces.
func (j *jsonWriter) frameFields(f snapshot.Frame) {
	known := f.HasLine && f.Line >= 0
	j.raw(`"function":`)
	j.str(f.Function)
	j.raw(`,"file":`)
	j.str(f.File)
	j.raw(`,"line":`)
	j.optInt(f.Line, known)
	j.raw(`,"end_line":`)
	j.optInt(f.EndLine, known && f.EndLine >= 0)
	j.raw(`,"column":`)
	j.optInt(f.Column, known && f.Column >= 0)
	j.raw(`,"end_column":`)
	j.optInt(f.EndColumn, known && f.EndColumn >= 0)
}

// header writes the fields both documents start with.
func (j *jsonWriter) header(s *snapshot.Snapshot) {
	j.raw(`{"pid":`)
	j.uint(uint64(s.PID))
	j.raw(`,"python_version":`)
	j.str(s.PythonVersion)
	j.raw(`,"captured_at":`)
	j.str(s.CapturedAt.UTC().Format(time.RFC3339Nano))
}

func (j *jsonWriter) cycles(s *snapshot.Snapshot) {
	j.raw(`,"cycles":[`)
	for i, c := range s.Cycles {
		if i > 0 {
			j.raw(",")
		}
		j.raw("[")
		for k, id := range c {
			if k > 0 {
				j.raw(",")
			}
			j.id(id)
		}
		j.raw("]")
	}
	j.raw("]")
}

// writePSJSON writes the `ps --json` document: threads with their current frames, tasks with
// their coroutine frames and awaiters, and await cycles.
func writePSJSON(w io.Writer, s *snapshot.Snapshot) error {
	awaiters := snapshot.AwaiterIndex(s.Tasks)
	j := &jsonWriter{w: w, b: make([]byte, 0, 512<<10)}
	j.header(s)
	j.raw(`,"threads":[`)
	for i, t := range s.Threads {
		if i > 0 {
			j.raw(",")
		}
		j.raw(`{"tid":`)
		j.uint(t.TID)
		j.raw(`,"thread_id":`)
		j.uint(t.ThreadID)
		j.raw(`,"main":`)
		j.raw(strconv.FormatBool(t.Main))
		j.raw(`,"running_task":`)
		if t.RunningTask != 0 {
			j.id(t.RunningTask)
		} else {
			j.raw("null")
		}
		j.raw(`,"frames":`)
		j.frames(t.Frames)
		j.raw("}")
	}
	j.raw(`],"tasks":[`)
	for i, t := range s.Tasks {
		if i > 0 {
			j.raw(",")
		}
		j.raw("\n")
		j.raw(`{"id":`)
		j.id(t.ID)
		j.raw(`,"name":`)
		j.str(t.Name)
		j.raw(`,"tid":`)
		j.uint(t.TID)
		j.raw(`,"frames":`)
		j.frames(t.Frames)
		j.raw(`,"awaited_by":[`)
		for k, a := range t.AwaitedBy {
			if k > 0 {
				j.raw(",")
			}
			j.raw(`{"id":`)
			j.id(a.ID)
			j.raw(`,"name":`)
			if k, ok := awaiters[a.ID]; ok && k >= 0 {
				j.str(s.Tasks[k].Name)
			} else {
				j.raw("null")
			}
			j.raw(`,"is_task":`)
			j.raw(strconv.FormatBool(a.IsTask))
			j.raw("}")
		}
		j.raw("]}")
		j.flush(false)
	}
	j.raw("]")
	j.cycles(s)
	j.raw("}\n")
	j.flush(true)
	return j.err
}

// writePSTreeJSON writes the `pstree --json` document: the forest pstree prints, as nested
// nodes. A task awaited from several places appears below each of them, as in the text tree.
// roots is nil when the snapshot has await cycles.
func writePSTreeJSON(w io.Writer, s *snapshot.Snapshot, roots []*awaittree.Node) error {
	j := &jsonWriter{w: w, b: make([]byte, 0, 512<<10)}
	j.header(s)
	j.raw(`,"roots":[`)
	// An explicit stack: await chains can be far deeper than the goroutine stack should go.
	type item struct {
		n    *awaittree.Node
		next int // index of the next child to write; -1 before the node itself is opened
	}
	for i, r := range roots {
		if i > 0 {
			j.raw(",")
		}
		stack := []item{{n: r, next: -1}}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next < 0 {
				n := top.n
				if n.Kind == awaittree.Task {
					j.raw(`{"kind":"task","id":`)
					j.id(n.TaskID)
					j.raw(`,"name":`)
					j.str(n.Label)
				} else {
					j.raw(`{"kind":"frame",`)
					j.frameFields(*n.Frame)
					j.raw(`,"label":`)
					j.str(n.Label)
				}
				j.raw(`,"children":[`)
				top.next = 0
				continue
			}
			if top.next < len(top.n.Children) {
				if top.next > 0 {
					j.raw(",")
				}
				child := top.n.Children[top.next]
				top.next++
				stack = append(stack, item{n: child, next: -1})
				continue
			}
			j.raw("]}")
			stack = stack[:len(stack)-1]
			j.flush(false)
		}
	}
	j.raw("]")
	j.cycles(s)
	j.raw("}\n")
	j.flush(true)
	return j.err
}
