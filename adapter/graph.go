package adapter

import (
	"time"

	"github.com/aioscope/aioscope/internal/jsonenc"
	"github.com/aioscope/aioscope/snapshot"
)

// The bodies of the custom event aioscope/awaitGraph (also the body of the aioscope/snapshot
// response) and of aioscope/cycles. Their shapes are defined by schema/awaitgraph.schema.json
// and schema/cycles.schema.json (README.md describes them); fields are only ever added.
//
// They are written with jsonenc.Writer: for tens of thousands of tasks the body is megabytes,
// produced on every refresh, and reflection-based encoding would cost more than reading the
// process.

// appendAwaitGraph appends the awaitGraph body for v.
func appendAwaitGraph(b []byte, v *view, src *sourceResolver) []byte {
	j := jsonenc.NewBuffer(b)
	s := v.snap
	j.Raw(`{"pid":`)
	j.Int(int64(s.PID))
	j.Raw(`,"pythonVersion":`)
	j.Str(s.PythonVersion)
	j.Raw(`,"capturedAt":`)
	j.Str(formatCapturedAt(v))
	j.Raw(`,"tasks":`)
	writeEntries(j, v, taskEntry, v.groupOfTask(), src)
	j.Raw(`,"cycles":`)
	writeCycles(j, v, false)
	j.Raw(`,"threads":`)
	writeEntries(j, v, osThreadEntry, nil, src)
	if v.loops != nil {
		writeLoops(j, v, src)
	}
	j.Raw("}")
	return j.Bytes()
}

// writeEntries writes the array of v's tasks or of its OS threads (kind), in the order of the
// thread list. groupOf is each task's group, by index.
func writeEntries(j *jsonenc.Writer, v *view, kind entryKind, groupOf []int, src *sourceResolver) {
	j.Raw("[")
	n := 0
	for _, e := range v.entries {
		if e.kind != kind {
			continue
		}
		j.Comma(n)
		n++
		j.Raw(`{"threadId":`)
		j.Int(int64(e.id))
		if kind == taskEntry {
			writeGraphTask(j, v, e.index, groupOf[e.index], src)
		} else {
			writeGraphThread(j, v, &v.snap.Threads[e.index])
		}
		j.Raw("}")
	}
	j.Raw("]")
}

// writeGraphTask writes the fields of task ti after its threadId.
func writeGraphTask(j *jsonenc.Writer, v *view, ti, group int, src *sourceResolver) {
	t := &v.snap.Tasks[ti]
	j.Raw(`,"taskId":`)
	j.HexID(t.ID)
	j.Raw(`,"name":`)
	j.Str(t.Name)
	j.Raw(`,"tid":`)
	j.Uint(t.TID)
	j.Raw(`,"awaitedBy":[`)
	n := 0
	for k := range t.AwaitedBy {
		a := &t.AwaitedBy[k]
		i, ok := v.taskIndex[a.ID]
		if !a.IsTask || !ok {
			continue
		}
		j.Comma(n)
		n++
		j.Int(int64(v.taskDAP[i]))
	}
	j.Raw(`],"frames":`)
	if !j.ReuseFrames(t.Frames) {
		start := j.Len()
		writeGraphFrames(j, t.Frames, src)
		j.RememberFrames(t.Frames, start)
	}
	j.Raw(`,"group":`)
	j.Int(int64(group))
	if w := v.waitOf(ti); w.known {
		j.Raw(`,"waitedMs":`)
		j.Int(w.age.Milliseconds())
		if w.atLeast {
			j.Raw(`,"waitAtLeast":true`)
		}
		if w.stuck {
			j.Raw(`,"stuck":true`)
		}
	}
}

// writeGraphThread writes the fields of OS thread t after its threadId.
func writeGraphThread(j *jsonenc.Writer, v *view, t *snapshot.Thread) {
	j.Raw(`,"tid":`)
	j.Uint(t.TID)
	j.Raw(`,"name":`)
	j.Str(osThreadName(t))
	j.Raw(`,"main":`)
	j.Bool(t.Main)
	j.Raw(`,"runningThreadId":`)
	j.Int(int64(v.taskThreadID(t.RunningTask)))
}

// writeLoops writes the event loops' states from the samples taken while the session refreshes.
func writeLoops(j *jsonenc.Writer, v *view, src *sourceResolver) {
	j.Raw(`,"loops":[`)
	for i, l := range v.loops {
		j.Comma(i)
		j.Raw(`{"tid":`)
		j.Uint(l.TID)
		j.Raw(`,"threadId":`)
		j.Int(int64(v.osThreadID(l.TID)))
		j.Raw(`,"state":`)
		j.Str(l.State.String())
		j.Raw(`,"lagMs":`)
		j.Int(l.Lag.Round(time.Millisecond).Milliseconds())
		if b := l.Blocked; b != nil {
			j.Raw(`,"blockedMs":`)
			j.Int(b.Duration.Round(time.Millisecond).Milliseconds())
			if b.Site != (snapshot.Frame{}) {
				j.Raw(`,"blockedSite":`)
				writeGraphFrame(j, &b.Site, src)
			}
		}
		j.Raw("}")
	}
	j.Raw("]")
}

// formatCapturedAt is when v's snapshot was taken, as the bodies that name a snapshot say it.
func formatCapturedAt(v *view) string {
	return v.snap.CapturedAt.UTC().Format(time.RFC3339Nano)
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

// writeGraphFrames writes a task's frames as the awaitGraph shows them.
func writeGraphFrames(j *jsonenc.Writer, frames []snapshot.Frame, src *sourceResolver) {
	j.Raw("[")
	for i := range frames {
		j.Comma(i)
		writeGraphFrame(j, &frames[i], src)
	}
	j.Raw("]")
}

// writeGraphFrame writes one frame as the awaitGraph shows it.
func writeGraphFrame(j *jsonenc.Writer, f *snapshot.Frame, src *sourceResolver) {
	j.Raw(`{"name":`)
	j.Str(f.Function)
	info := src.resolve(f.File)
	j.Raw(`,"path":`)
	j.RawBytes(info.graphPath)
	j.Raw(`,"line":`)
	line := 0
	if f.HasLine && f.Line > 0 {
		line = f.Line
	}
	j.Int(int64(line))
	if info.stdlibAsyncio {
		// Present only when true: most frames are the program's.
		j.Raw(`,"internal":true`)
	}
	j.Raw("}")
}

// appendCycles appends the aioscope/cycles body for v.
func appendCycles(b []byte, v *view) []byte {
	j := jsonenc.NewBuffer(b)
	j.Raw(`{"cycles":`)
	writeCycles(j, v, true)
	j.Raw("}")
	return j.Bytes()
}

// writeCycles writes v's await cycles as arrays of their tasks' thread ids, or with named, of
// objects {"threadId", "name"}.
func writeCycles(j *jsonenc.Writer, v *view, named bool) {
	j.Raw("[")
	for i, c := range v.snap.Cycles {
		j.Comma(i)
		j.Raw("[")
		for k, id := range c {
			j.Comma(k)
			if !named {
				j.Int(int64(v.taskThreadID(id)))
				continue
			}
			j.Raw(`{"threadId":`)
			j.Int(int64(v.taskThreadID(id)))
			j.Raw(`,"name":`)
			name := hexID(id)
			if i, ok := v.taskIndex[id]; ok {
				name = taskName(&v.snap.Tasks[i])
			}
			j.Str(name)
			j.Raw("}")
		}
		j.Raw("]")
	}
	j.Raw("]")
}
