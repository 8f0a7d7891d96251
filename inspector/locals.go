package inspector

import (
	"errors"
	"fmt"
	"time"

	"github.com/aioscope/aioscope/inspector/internal/snapmem"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/snapshot"
)

// The values of frames: read with a snapshot (Options.Locals), from the same copies as its frames,
// or later on demand (InTaskFrame, InThreadFrame, ReadValues), from fresh copies after checking
// that the frame is still the one the snapshot showed.

// valueReader returns the Process's reader of values, made on first use. Its Memory is never
// used: every read goes through a reader made with On for the copies at hand.
func (p *Process) valueReader() (*values.Reader, error) {
	if p.vals != nil {
		return p.vals, nil
	}
	cfg := values.Config{Offsets: p.offsets, RuntimeAddr: p.runtimeAddr}
	if clock, err := values.TargetClock(p.proc.root, p.pid); err == nil {
		cfg.Clock = clock
	}
	r, err := values.New(noMemory{}, cfg)
	if err != nil {
		return nil, fmt.Errorf("process %d: reading values: %w", p.pid, err)
	}
	p.vals = r
	return r, nil
}

// noMemory is the Memory of the Process's value reader, which only ever reads through others.
type noMemory struct{}

func (noMemory) Read(addr uint64, n int) ([]byte, error) {
	return nil, &ReadError{Addr: addr, Len: n, Err: errors.New("no memory to read values from")}
}

// readLocals reads the variables of every frame of s, in a pass of its own after the walk: the
// frames are copied again, together with everything the walk read, and each frame still where
// the walk saw it has its values read from copies no older than that refresh (classes, code and
// other objects that live as long as the program from any copy). A frame that has moved on
// meanwhile says so instead. threads and taskFrames say where the frames of s.Threads and
// s.Tasks are. Each task's Wake is found with its variables.
func (w *walker) readLocals(s *snapshot.Snapshot, threads []threadState, taskFrames [][]uint64) error {
	// The values of frames are mostly objects the walk has read too (tasks, the futures they
	// wait for): copying those pages again with the frames, in a few big reads, spares copying
	// them again one at a time when a frame's value leads there.
	var spans []snapmem.Span
	for _, p := range w.mem.Footprint() {
		spans = append(spans, snapmem.Span{Addr: p, N: snapmem.PageSize})
	}
	lowest := ^uint64(0)
	addFrame := func(a uint64) {
		spans = append(spans, snapmem.Span{Addr: a, N: int(w.o.InterpreterFrame.Size)})
		lowest = min(lowest, a&^(snapmem.PageSize-1))
	}
	for _, th := range threads {
		for _, a := range th.frameAddrs {
			addFrame(a)
		}
	}
	for _, addrs := range taskFrames {
		for _, a := range addrs {
			addFrame(a)
		}
	}
	if len(spans) > 0 {
		lowest = min(lowest, spans[0].Addr)
	}
	if err := w.mem.RefreshAll(spans); err != nil {
		return err
	}
	// The refresh is one moment, though its reads may be several: values are read from copies
	// no older than its first read (its lowest page), whichever of its reads copied the frame.
	floor := w.any.Through(lowest)
	// One moment: the classes the values belong to are read once for the whole pass.
	l := &localsReader{w: w, vals: w.vals.Moment(), floor: floor}
	if now, err := l.vals.LoopTime(); err == nil {
		// The target's event-loop clock when the snapshot started: deadlines count from there.
		l.clockAtCapture, l.hasClock = now-time.Since(s.CapturedAt).Seconds(), true
	}
	for i := range s.Threads {
		s.Threads[i].Locals, _ = l.frames(s.Threads[i].Frames, threads[i].frameAddrs, false)
	}
	for i := range s.Tasks {
		s.Tasks[i].Locals, s.Tasks[i].Wake = l.frames(s.Tasks[i].Frames, taskFrames[i], true)
	}
	return nil
}

// localsReader reads the variables of a snapshot's frames.
type localsReader struct {
	w     *walker
	vals  *values.Reader
	floor snapmem.Reader // reads values no older than the refresh of the frames
	// clockAtCapture is the target's event-loop clock at the snapshot's CapturedAt, which
	// Wake.In counts from; hasClock is false when the clock cannot be read.
	clockAtCapture float64
	hasClock       bool
	vars           []snapshot.Variable // the rest of a block that frames' variables are cut from
	reader         *values.Reader      // vals on floor, made once
	scratch        []values.Variable   // what FrameWithDeadline returned last, for the next
}

// frames reads the variables of the frames at addrs, which the walk read as frames, and with
// wake, the earliest deadline they wait for.
func (l *localsReader) frames(frames []snapshot.Frame, addrs []uint64, wake bool) ([]snapshot.FrameLocals, snapshot.Wake) {
	w := l.w
	var soonest snapshot.Wake
	if len(addrs) != len(frames) {
		return nil, soonest
	}
	out := make([]snapshot.FrameLocals, len(addrs))
	for i, addr := range addrs {
		fb, err := w.any.Read(addr, int(w.o.InterpreterFrame.Size))
		if err == nil {
			var now snapshot.Frame
			if now, _, err = w.frame(fb); err == nil && now != frames[i] {
				err = fmt.Errorf("the frame moved on to line %d while the snapshot was taken", now.Line)
			}
		}
		if err != nil {
			out[i].Err = err.Error()
			continue
		}
		if l.reader == nil {
			l.reader = l.vals.On(l.floor, w.any)
		}
		vr := l.reader
		if !wake || !l.hasClock {
			vars, err := vr.Frame(addr)
			out[i] = l.plainLocals(vars, err)
			continue
		}
		vars, d, err := vr.FrameWithDeadline(addr, l.scratch[:0])
		l.scratch = vars
		out[i] = l.plainLocals(vars, err)
		if err != nil || d.Kind == "" {
			continue
		}
		in := d.When - l.clockAtCapture
		if !soonest.Known || in < soonest.In {
			soonest = snapshot.Wake{Known: true, In: in, By: wakeKinds[d.Kind]}
		}
	}
	return out, soonest
}

// wakeKinds names the kinds of values.Deadline as the snapshot does.
var wakeKinds = map[string]string{
	values.DeadlineSleep:   snapshot.WakeSleep,
	values.DeadlineTimeout: snapshot.WakeTimeout,
	values.DeadlineWaitFor: snapshot.WakeWaitFor,
}

// plainLocals turns the values of a frame's variables, or the error reading them, into the
// snapshot's plain data. The variables of all frames are cut from blocks: a snapshot of
// thousands of tasks has tens of thousands of them.
func (l *localsReader) plainLocals(vars []values.Variable, err error) snapshot.FrameLocals {
	if err != nil {
		return snapshot.FrameLocals{Err: err.Error()}
	}
	if len(l.vars) < len(vars) {
		l.vars = make([]snapshot.Variable, max(len(vars), 1024))
	}
	out := snapshot.FrameLocals{Vars: l.vars[:len(vars):len(vars)]}
	l.vars = l.vars[len(vars):]
	for i, v := range vars {
		sv := snapshot.Variable{Name: v.Name, Kind: v.Kind, Type: v.Type, Repr: v.Repr}
		if v.Err != nil {
			sv = snapshot.Variable{Name: v.Name, Kind: v.Kind, Err: v.Err.Error()}
		}
		out.Vars[i] = sv
	}
	return out
}

// FrameLeftError reports a frame of a snapshot that its task or thread has left since: its values
// are not the ones the snapshot's frame had.
type FrameLeftError struct {
	Owner string // "task NAME" or "thread TID"
	Frame snapshot.Frame
	// Now is the frame in the same place of the chain as it is now (the same function moved on
	// to another line), or nil when the chain no longer reaches that far.
	Now *snapshot.Frame
}

func (e *FrameLeftError) Error() string {
	if e.Now != nil && e.Now.Function == e.Frame.Function {
		return fmt.Sprintf("%s has moved on since the snapshot: %s is at line %d now, not %d; take a new snapshot",
			e.Owner, e.Frame.Function, e.Now.Line, e.Frame.Line)
	}
	return fmt.Sprintf("%s has left %s (line %d) since the snapshot; take a new snapshot", e.Owner, e.Frame.Function, e.Frame.Line)
}

// InTaskFrame reads task's coroutine chain as it is now — task being one of a snapshot of p —
// and, if frame i of the snapshot (innermost first) and the frames outside it are still where the
// snapshot saw them, calls f with a reader of values at this moment and that frame's address.
// A task that has left the frame fails with a *FrameLeftError; one that has finished fails as
// "task has finished".
func (p *Process) InTaskFrame(task *snapshot.Task, i int, f func(r *values.Reader, frame uint64) error) error {
	if i < 0 || i >= len(task.Frames) {
		return fmt.Errorf("task %s has no frame %d", task.Name, i)
	}
	return p.withWalker(func(w *walker) error {
		c := &chain{}
		if err := w.readChain(w.any, task.ID, c); err != nil {
			return err
		}
		if !c.isTask || c.coro == 0 {
			return fmt.Errorf("task %s has finished since the snapshot", task.Name)
		}
		addr, err := sameOuterFrames(fmt.Sprintf("task %s", task.Name), task.Frames, c.frames, c.frameAddrs, i)
		if err != nil {
			return err
		}
		return f(w.vals.On(w.any.Through(addr), w.any), addr)
	})
}

// InThreadFrame is InTaskFrame for frame i of a thread of a snapshot of p.
func (p *Process) InThreadFrame(thread *snapshot.Thread, i int, f func(r *values.Reader, frame uint64) error) error {
	if i < 0 || i >= len(thread.Frames) {
		return fmt.Errorf("thread %d has no frame %d", thread.TID, i)
	}
	return p.withWalker(func(w *walker) error {
		interp, err := w.interp()
		if err != nil {
			return err
		}
		threads, err := w.threads(interp)
		if err != nil {
			return err
		}
		for _, th := range threads {
			if th.TID != thread.TID {
				continue
			}
			addr, err := sameOuterFrames(fmt.Sprintf("thread %d", thread.TID), thread.Frames, th.Frames, th.frameAddrs, i)
			if err != nil {
				return err
			}
			return f(w.vals.On(w.any.Through(addr), w.any), addr)
		}
		return fmt.Errorf("thread %d has exited since the snapshot", thread.TID)
	})
}

// ReadValues calls f with a reader of values at this moment: for values found by address, such
// as the children of a variable shown before.
func (p *Process) ReadValues(f func(r *values.Reader) error) error {
	return p.withWalker(func(w *walker) error { return f(w.vals.On(w.any, nil)) })
}

// sameOuterFrames returns the address of frame i of then (innermost first) in now, if frame i and
// the frames outside it are where they were: the frames inside it may have changed, as a task
// moves on in what it awaits while the frame waits for it.
func sameOuterFrames(owner string, then, now []snapshot.Frame, addrs []uint64, i int) (uint64, error) {
	outer := len(then) - i
	if len(now) >= outer && len(addrs) == len(now) {
		k := len(now) - outer
		same := true
		for j := 0; j < outer && same; j++ {
			a, b := then[i+j], now[k+j]
			same = a.Function == b.Function && a.File == b.File && a.Line == b.Line
		}
		if same {
			return addrs[k], nil
		}
	}
	e := &FrameLeftError{Owner: owner, Frame: then[i]}
	if k := len(now) - outer; k >= 0 {
		e.Now = &now[k]
	}
	return 0, e
}

// withWalker runs f with a walker over fresh copies of the target, which reads values, and
// releases the copies afterwards. It holds the Process's lock, as Snapshot does.
func (p *Process) withWalker(f func(w *walker) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensureAsyncio(); err != nil {
		return err
	}
	vals, err := p.valueReader()
	if err != nil {
		return err
	}
	mem := snapmem.New(p.mem)
	defer mem.Release()
	w := &walker{p: p, mem: mem, any: mem.Reader(), o: p.offsets, a: p.asyncio, l: p.layout, vals: vals, keepFrames: true}
	return f(w)
}
