package adapter

import (
	"strconv"
	"time"

	"github.com/aioscope/aioscope/internal/jsonenc"
	"github.com/aioscope/aioscope/snapshot"
)

// The bodies of the custom event aioscope/awaitGraph (also the body of the aioscope/snapshot
// response) and of aioscope/cycles:
//
//	awaitGraph: {pid, pythonVersion, capturedAt, tasks: [{threadId, taskId, name, tid,
//	             awaitedBy: [threadId...], frames: [{name, path, line}]}], cycles: [[threadId...]],
//	             threads: [{threadId, tid, name, main, runningThreadId}]}
//	cycles:     {cycles: [[{threadId, name}...]]}
//
// taskId is the task's address in Python's hex() form ("0x7f3a2c0e1b40"), a string because
// JavaScript numbers cannot hold every 64-bit address. awaitedBy lists the DAP thread ids of the
// awaiting tasks (awaiters that are plain futures have none and are left out). A frame's path is
// the path a client can open (see sourceResolver), or the name the target uses when it is not a
// file; line is 0 when unknown. A cycle lists the thread ids around it and repeats the first at
// the end, as Snapshot.Cycles does. threads, the OS threads, is an addition to the documented
// shape; runningThreadId is the DAP thread id of the task the thread is running, 0 for none.
//
// They are written by hand: for tens of thousands of tasks the body is megabytes, produced on
// every refresh, and reflection-based encoding would cost more than reading the process.

// appendAwaitGraph appends the awaitGraph body for v.
func appendAwaitGraph(b []byte, v *view, src *sourceResolver) []byte {
	s := v.snap
	b = append(b, `{"pid":`...)
	b = strconv.AppendInt(b, int64(s.PID), 10)
	b = append(b, `,"pythonVersion":`...)
	b = jsonenc.AppendString(b, s.PythonVersion)
	b = append(b, `,"capturedAt":`...)
	b = jsonenc.AppendString(b, s.CapturedAt.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"tasks":[`...)
	first := true
	for _, e := range v.entries {
		if e.kind != taskEntry {
			continue
		}
		t := &s.Tasks[e.index]
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"threadId":`...)
		b = strconv.AppendInt(b, int64(e.id), 10)
		b = append(b, `,"taskId":"0x`...)
		b = strconv.AppendUint(b, t.ID, 16)
		b = append(b, `","name":`...)
		b = jsonenc.AppendString(b, t.Name)
		b = append(b, `,"tid":`...)
		b = strconv.AppendUint(b, t.TID, 10)
		b = append(b, `,"awaitedBy":[`...)
		n := 0
		for k := range t.AwaitedBy {
			a := &t.AwaitedBy[k]
			j, ok := v.taskIndex[a.ID]
			if !a.IsTask || !ok {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = strconv.AppendInt(b, int64(v.taskDAP[j]), 10)
		}
		b = append(b, `],"frames":`...)
		b = appendGraphFrames(b, t.Frames, src)
		b = append(b, '}')
	}
	b = append(b, `],"cycles":[`...)
	for i, c := range s.Cycles {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for k, id := range c {
			if k > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(v.taskThreadID(id)), 10)
		}
		b = append(b, ']')
	}
	b = append(b, `],"threads":[`...)
	first = true
	for _, e := range v.entries {
		if e.kind != osThreadEntry {
			continue
		}
		t := &s.Threads[e.index]
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"threadId":`...)
		b = strconv.AppendInt(b, int64(e.id), 10)
		b = append(b, `,"tid":`...)
		b = strconv.AppendUint(b, t.TID, 10)
		b = append(b, `,"name":`...)
		b = jsonenc.AppendString(b, osThreadName(t))
		b = append(b, `,"main":`...)
		b = strconv.AppendBool(b, t.Main)
		b = append(b, `,"runningThreadId":`...)
		b = strconv.AppendInt(b, int64(v.taskThreadID(t.RunningTask)), 10)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// taskThreadID returns the DAP thread id of a task of the view, 0 if there is none.
func (v *view) taskThreadID(taskID uint64) int {
	if taskID == 0 {
		return 0
	}
	if j, ok := v.taskIndex[taskID]; ok {
		return v.taskDAP[j]
	}
	return 0
}

func appendGraphFrames(b []byte, frames []snapshot.Frame, src *sourceResolver) []byte {
	b = append(b, '[')
	for i := range frames {
		f := &frames[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = jsonenc.AppendString(b, f.Function)
		b = append(b, `,"path":`...)
		b = append(b, src.resolve(f.File).graphPath...)
		b = append(b, `,"line":`...)
		line := 0
		if f.HasLine && f.Line > 0 {
			line = f.Line
		}
		b = strconv.AppendInt(b, int64(line), 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendCycles appends the aioscope/cycles body for v.
func appendCycles(b []byte, v *view) []byte {
	b = append(b, `{"cycles":[`...)
	for i, c := range v.snap.Cycles {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		for k, id := range c {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"threadId":`...)
			b = strconv.AppendInt(b, int64(v.taskThreadID(id)), 10)
			b = append(b, `,"name":`...)
			name := hexID(id)
			if j, ok := v.taskIndex[id]; ok {
				name = taskName(&v.snap.Tasks[j])
			}
			b = jsonenc.AppendString(b, name)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, "]}"...)
}
