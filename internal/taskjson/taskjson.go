// Package taskjson writes the JSON documents of `aioscope ps --json` and `pstree --json`, which
// the language server's aioscope/snapshot request answers with too.
package taskjson

import (
	"io"
	"math"
	"strconv"
	"time"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/internal/jsonenc"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/groups"
)

// The JSON documents of `ps --json` and `pstree --json`. Their shapes are part of aioscope's
// interface, defined by schema/ps.schema.json and schema/pstree.schema.json (README.md describes
// them): fields are only ever added, never renamed or removed. Object ids are strings in
// Python's hex() form ("0x7f3a2c0e1b40"), as in the text output.
//
// They are written with jsonenc.Writer rather than encoding/json: a snapshot of 100,000 tasks
// makes a document of tens of megabytes, and reflection-based encoding would cost more than
// reading the process.

// writeFrames writes a list of frame objects, or the same text again for a list already written.
func writeFrames(j *jsonenc.Writer, fs []snapshot.Frame) {
	if !j.ReuseFrames(fs) {
		start := j.Len()
		writeFrameList(j, fs)
		j.RememberFrames(fs, start)
	}
}

func writeFrameList(j *jsonenc.Writer, fs []snapshot.Frame) {
	j.Raw("[")
	for i, f := range fs {
		j.Comma(i)
		j.Raw("{")
		writeFrameFields(j, f)
		j.Raw("}")
	}
	j.Raw("]")
}

// writeFrameFields writes the fields of a frame object, without braces.
func writeFrameFields(j *jsonenc.Writer, f snapshot.Frame) {
	known := f.HasLine && f.Line >= 0
	j.Raw(`"function":`)
	j.Str(f.Function)
	j.Raw(`,"file":`)
	j.Str(f.File)
	j.Raw(`,"line":`)
	j.OptInt(f.Line, known)
	j.Raw(`,"end_line":`)
	j.OptInt(f.EndLine, known && f.EndLine >= 0)
	j.Raw(`,"column":`)
	j.OptInt(f.Column, known && f.Column >= 0)
	j.Raw(`,"end_column":`)
	j.OptInt(f.EndColumn, known && f.EndColumn >= 0)
}

// frameTexts holds the JSON text of the fields of frames written before, by frame: the tasks of a
// snapshot share their frames, each with values of its own.
type frameTexts struct {
	text  []byte
	spans map[*snapshot.Frame]span
}

type span struct{ start, end int }

// write writes the fields of the frame at f, without braces, as writeFrameFields does.
func (c *frameTexts) write(j *jsonenc.Writer, f *snapshot.Frame) {
	s, ok := c.spans[f]
	if !ok {
		t := jsonenc.NewBuffer(c.text)
		writeFrameFields(t, *f)
		s = span{len(c.text), len(t.Bytes())}
		c.text = t.Bytes()
		if c.spans == nil {
			c.spans = map[*snapshot.Frame]span{}
		}
		c.spans[f] = s
	}
	j.RawBytes(c.text[s.start:s.end])
}

// writeFramesLocals writes a list of frame objects, each with its variables (ps --json
// --locals). Without locals for every frame it is writeFrames.
func writeFramesLocals(j *jsonenc.Writer, fs []snapshot.Frame, locals []snapshot.FrameLocals, texts *frameTexts) {
	if len(locals) != len(fs) {
		writeFrames(j, fs)
		return
	}
	j.Raw("[")
	for i := range fs {
		j.Comma(i)
		j.Raw("{")
		texts.write(j, &fs[i])
		if locals[i].Err != "" {
			j.Raw(`,"locals_error":`)
			j.Str(locals[i].Err)
		} else {
			j.Raw(`,"locals":`)
			writeVariables(j, locals[i].Vars, "")
		}
		j.Raw("}")
	}
	j.Raw("]")
}

// writeVariables writes the variables of a frame as an array of variable objects, only those
// of the given kind when kind is not "".
func writeVariables(j *jsonenc.Writer, vars []snapshot.Variable, kind string) {
	j.Raw("[")
	n := 0
	for _, v := range vars {
		if kind != "" && v.Kind != kind {
			continue
		}
		j.Comma(n)
		n++
		j.Raw(`{"name":`)
		j.Str(v.Name)
		switch v.Kind {
		case "argument":
			j.Raw(`,"kind":"argument"`)
		case "local":
			j.Raw(`,"kind":"local"`)
		default:
			j.Raw(`,"kind":`)
			j.Str(v.Kind)
		}
		if v.Err != "" {
			j.Raw(`,"error":`)
			j.Str(v.Err)
		} else {
			j.Raw(`,"type":`)
			j.Str(v.Type)
			j.Raw(`,"repr":`)
			j.Str(v.Repr)
		}
		j.Raw("}")
	}
	j.Raw("]")
}

// writeWake writes a task's wakes_in and wakes_by fields: seconds from captured_at to its
// deadline (to the millisecond), and what the deadline is; null when it has none.
func writeWake(j *jsonenc.Writer, w snapshot.Wake, scratch []byte) []byte {
	j.Raw(`,"wakes_in":`)
	if !w.Known || math.IsNaN(w.In) || math.IsInf(w.In, 0) {
		j.Raw(`null,"wakes_by":null`)
		return scratch
	}
	scratch = strconv.AppendFloat(scratch[:0], math.Round(w.In*1000)/1000, 'f', -1, 64)
	j.RawBytes(scratch)
	j.Raw(`,"wakes_by":`)
	j.Str(w.By)
	return scratch
}

// writeHeader writes the fields both documents start with.
func writeHeader(j *jsonenc.Writer, s *snapshot.Snapshot) {
	j.Raw(`{"pid":`)
	j.Uint(uint64(s.PID))
	j.Raw(`,"python_version":`)
	j.Str(s.PythonVersion)
	j.Raw(`,"captured_at":`)
	j.Str(s.CapturedAt.UTC().Format(time.RFC3339Nano))
}

func writeCycles(j *jsonenc.Writer, s *snapshot.Snapshot) {
	j.Raw(`,"cycles":[`)
	for i, c := range s.Cycles {
		j.Comma(i)
		j.Raw("[")
		for k, id := range c {
			j.Comma(k)
			j.HexID(id)
		}
		j.Raw("]")
	}
	j.Raw("]")
}

// WritePS writes the `ps --json` document: threads with their current frames, tasks with
// their coroutine frames and awaiters, and await cycles.
func WritePS(w io.Writer, s *snapshot.Snapshot) error { return WritePSWith(w, s, PSOptions{}) }

// WritePSLocals writes the `ps --json --locals` document: WritePS's, with every frame's
// variables and every task's deadline.
func WritePSLocals(w io.Writer, s *snapshot.Snapshot) error {
	return WritePSWith(w, s, PSOptions{Locals: true})
}

// PSOptions shape the `ps --json` document as --locals, --filter, --depth and --group ask.
type PSOptions struct {
	// Locals adds every frame's variables and every task's deadline (--locals).
	Locals bool
	// Keep, when not nil, lists only the tasks it accepts (by index in Snapshot.Tasks).
	Keep []bool
	// Groups, when not nil, adds the "groups" field: the groups of the tasks listed.
	Groups []groups.Group
}

// WritePSWith writes the `ps --json` document shaped by opts.
func WritePSWith(w io.Writer, s *snapshot.Snapshot, opts PSOptions) error {
	locals := opts.Locals
	tw := &taskWriter{j: jsonenc.NewWriter(w), s: s, awaiters: snapshot.AwaiterIndex(s.Tasks), locals: locals}
	j := tw.j
	writeHeader(j, s)
	j.Raw(`,"threads":[`)
	for i, t := range s.Threads {
		j.Comma(i)
		j.Raw(`{"tid":`)
		j.Uint(t.TID)
		j.Raw(`,"thread_id":`)
		j.Uint(t.ThreadID)
		j.Raw(`,"main":`)
		j.Bool(t.Main)
		j.Raw(`,"running_task":`)
		if t.RunningTask != 0 {
			j.HexID(t.RunningTask)
		} else {
			j.Null()
		}
		j.Raw(`,"frames":`)
		if locals {
			writeFramesLocals(j, t.Frames, t.Locals, &tw.texts)
		} else {
			writeFrames(j, t.Frames)
		}
		j.Raw("}")
	}
	j.Raw(`],"tasks":[`)
	for i := range s.Tasks {
		if opts.Keep != nil && !opts.Keep[i] {
			continue
		}
		tw.task(i)
		if j.Flush() != nil {
			break
		}
	}
	j.Raw("]")
	writeCycles(j, s)
	if opts.Groups != nil {
		writeGroups(j, s, opts)
	}
	j.Raw("}\n")
	return j.Close()
}

// writeGroups writes the "groups" field: for each group of tasks waiting at one place (largest
// first), how many of the listed tasks it has, their ids, the frames they wait in, and the groups
// of the tasks awaiting them. Groups without a listed task are left out.
func writeGroups(j *jsonenc.Writer, s *snapshot.Snapshot, opts PSOptions) {
	// Indexes of the groups written, for awaited_by_groups.
	index := make([]int, len(opts.Groups))
	n := 0
	for gi, g := range opts.Groups {
		index[gi] = -1
		for _, ti := range g.Tasks {
			if opts.Keep == nil || opts.Keep[ti] {
				index[gi] = n
				n++
				break
			}
		}
	}
	j.Raw(`,"groups":[`)
	first := true
	for gi, g := range opts.Groups {
		if index[gi] < 0 {
			continue
		}
		if !first {
			j.Raw(",")
		}
		first = false
		j.Raw("\n")
		count := 0
		for _, ti := range g.Tasks {
			if opts.Keep == nil || opts.Keep[ti] {
				count++
			}
		}
		j.Raw(`{"count":`)
		j.Int(int64(count))
		j.Raw(`,"tasks":[`)
		k := 0
		for _, ti := range g.Tasks {
			if opts.Keep != nil && !opts.Keep[ti] {
				continue
			}
			j.Comma(k)
			k++
			j.HexID(s.Tasks[ti].ID)
		}
		j.Raw(`],"frames":`)
		writeFrames(j, g.Frames)
		j.Raw(`,"awaited_by_groups":[`)
		k = 0
		for _, a := range g.Awaiters {
			if index[a] < 0 {
				continue
			}
			j.Comma(k)
			k++
			j.Int(int64(index[a]))
		}
		j.Raw("]}")
		if j.Flush() != nil {
			return
		}
	}
	j.Raw("]")
}

// taskWriter writes the task objects of a ps document.
type taskWriter struct {
	j        *jsonenc.Writer
	s        *snapshot.Snapshot
	awaiters map[uint64]int // snapshot.AwaiterIndex
	locals   bool
	texts    frameTexts
	scratch  []byte
	written  int    // tasks written so far
	tid      uint64 // the thread whose tid field tidText holds
	tidText  []byte
	// The awaited_by array written last, and the awaiters it was written for: thousands of
	// tasks are often awaited by the same, one after the other.
	lastAwaiters []snapshot.Awaiter
	awaitedText  []byte
	haveAwaited  bool
}

// task writes task i, after a comma unless it is the first written.
func (tw *taskWriter) task(i int) {
	j, t := tw.j, &tw.s.Tasks[i]
	if tw.written > 0 {
		j.Raw(",")
	}
	tw.written++
	j.Raw("\n")
	j.Raw(`{"id":`)
	j.HexID(t.ID)
	j.Raw(`,"name":`)
	j.Str(t.Name)
	if len(tw.tidText) == 0 || t.TID != tw.tid {
		// Tasks come thread by thread: the field's text is made once a thread.
		tw.tid, tw.tidText = t.TID, strconv.AppendUint(append(tw.tidText[:0], `,"tid":`...), t.TID, 10)
	}
	j.RawBytes(tw.tidText)
	if tw.locals {
		tw.scratch = writeWake(j, t.WakeOf(), tw.scratch)
	}
	j.Raw(`,"frames":`)
	if tw.locals {
		writeFramesLocals(j, t.Frames, t.LocalsOf(), &tw.texts)
	} else {
		writeFrames(j, t.Frames)
	}
	j.Raw(`,"awaited_by":`)
	if tw.haveAwaited && sameAwaiters(t.AwaitedBy, tw.lastAwaiters) {
		j.RawBytes(tw.awaitedText)
	} else {
		start := j.Len()
		tw.awaitedBy(t.AwaitedBy)
		tw.awaitedText = append(tw.awaitedText[:0], j.Bytes()[start:]...)
		tw.lastAwaiters, tw.haveAwaited = t.AwaitedBy, true
	}
	j.Raw("}")
}

// awaitedBy writes a task's awaited_by array: each awaiter's id, name (null for a future or
// a task the snapshot does not have) and whether it is a task.
func (tw *taskWriter) awaitedBy(awaiters []snapshot.Awaiter) {
	j := tw.j
	j.Raw("[")
	for k, a := range awaiters {
		j.Comma(k)
		j.Raw(`{"id":`)
		j.HexID(a.ID)
		j.Raw(`,"name":`)
		if k, ok := tw.awaiters[a.ID]; ok && k >= 0 {
			j.Str(tw.s.Tasks[k].Name)
		} else {
			j.Null()
		}
		j.Raw(`,"is_task":`)
		j.Bool(a.IsTask)
		j.Raw("}")
	}
	j.Raw("]")
}

// sameAwaiters reports whether a and b list the same awaiters, which awaitedBy writes alike.
func sameAwaiters(a, b []snapshot.Awaiter) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID || a[i].IsTask != b[i].IsTask {
			return false
		}
	}
	return true
}

// writeShaped writes the fields of a task node that --group and --depth add: "count" and
// "tasks" for a node that stands for several identical tasks, "tasks_below" for a node whose
// awaited tasks a depth limit left out.
func writeShaped(j *jsonenc.Writer, n *awaittree.Node) {
	if len(n.Members) > 1 {
		j.Raw(`,"count":`)
		j.Int(int64(len(n.Members)))
		j.Raw(`,"tasks":[`)
		for i, m := range n.Members {
			j.Comma(i)
			j.Raw(`{"id":`)
			j.HexID(m.ID)
			j.Raw(`,"name":`)
			j.Str(m.Name)
			j.Raw("}")
		}
		j.Raw("]")
	}
	if n.Below > 0 {
		j.Raw(`,"tasks_below":`)
		j.Int(int64(n.Below))
	}
}

// WritePSTree writes the `pstree --json` document: the forest pstree prints, as nested
// nodes. A task awaited from several places appears below each of them, as in the text tree.
// roots is nil when the snapshot has await cycles.
func WritePSTree(w io.Writer, s *snapshot.Snapshot, roots []*awaittree.Node) error {
	return writePSTree(w, s, roots, false)
}

// WritePSTreeArgs writes the `pstree --json --args` document: WritePSTree's, with the
// arguments of the calls of frame nodes whose variables are known (awaittree.BuildArgs).
func WritePSTreeArgs(w io.Writer, s *snapshot.Snapshot, roots []*awaittree.Node) error {
	return writePSTree(w, s, roots, true)
}

func writePSTree(w io.Writer, s *snapshot.Snapshot, roots []*awaittree.Node, args bool) error {
	j := jsonenc.NewWriter(w)
	writeHeader(j, s)
	j.Raw(`,"roots":[`)
	// An explicit stack: await chains can be far deeper than the goroutine stack should go.
	type item struct {
		n    *awaittree.Node
		next int // index of the next child to write; -1 before the node itself is opened
	}
	for i, r := range roots {
		j.Comma(i)
		stack := []item{{n: r, next: -1}}
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next < 0 {
				n := top.n
				if n.Kind == awaittree.Task {
					j.Raw(`{"kind":"task","id":`)
					j.HexID(n.TaskID)
					j.Raw(`,"name":`)
					j.Str(n.Label)
					writeShaped(j, n)
				} else {
					j.Raw(`{"kind":"frame",`)
					writeFrameFields(j, *n.Frame)
					j.Raw(`,"label":`)
					j.Str(n.Label)
					if args && n.Locals != nil {
						if n.Locals.Err != "" {
							j.Raw(`,"args_error":`)
							j.Str(n.Locals.Err)
						} else {
							j.Raw(`,"args":`)
							writeVariables(j, n.Locals.Vars, "argument")
						}
					}
				}
				j.Raw(`,"children":[`)
				top.next = 0
				continue
			}
			if top.next < len(top.n.Children) {
				if top.next > 0 {
					j.Raw(",")
				}
				child := top.n.Children[top.next]
				top.next++
				stack = append(stack, item{n: child, next: -1})
				continue
			}
			j.Raw("]}")
			stack = stack[:len(stack)-1]
			if j.Flush() != nil {
				return j.Close()
			}
		}
	}
	j.Raw("]")
	writeCycles(j, s)
	j.Raw("}\n")
	return j.Close()
}
