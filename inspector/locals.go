package inspector

import (
	"errors"
	"fmt"

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
// frames are copied again, together, and each frame still where the walk saw it has its values
// read from copies no older than its own (classes, code and other objects that live as long as
// the program from any copy). A frame that has moved on meanwhile says so instead. threads and
// taskFrames say where the frames of s.Threads and s.Tasks are.
func (w *walker) readLocals(s *snapshot.Snapshot, threads []threadState, taskFrames [][]uint64) error {
	var spans []snapmem.Span
	for _, th := range threads {
		for _, a := range th.frameAddrs {
			spans = append(spans, snapmem.Span{Addr: a, N: int(w.o.InterpreterFrame.Size)})
		}
	}
	for _, addrs := range taskFrames {
		for _, a := range addrs {
			spans = append(spans, snapmem.Span{Addr: a, N: int(w.o.InterpreterFrame.Size)})
		}
	}
	if err := w.mem.RefreshAll(spans); err != nil {
		return err
	}
	for i := range s.Threads {
		s.Threads[i].Locals = w.frameLocals(s.Threads[i].Frames, threads[i].frameAddrs)
	}
	for i := range s.Tasks {
		s.Tasks[i].Locals = w.frameLocals(s.Tasks[i].Frames, taskFrames[i])
	}
	return nil
}

// frameLocals reads the variables of the frames at addrs, which the walk read as frames.
func (w *walker) frameLocals(frames []snapshot.Frame, addrs []uint64) []snapshot.FrameLocals {
	if len(addrs) != len(frames) {
		return nil
	}
	out := make([]snapshot.FrameLocals, len(addrs))
	for i, addr := range addrs {
		fb, r, err := w.any.Object(addr, int(w.o.InterpreterFrame.Size))
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
		out[i] = localsOf(w.vals.On(r, w.any), addr)
	}
	return out
}

// localsOf reads the variables of the frame at addr with r.
func localsOf(r *values.Reader, addr uint64) snapshot.FrameLocals {
	vars, err := r.Frame(addr)
	if err != nil {
		return snapshot.FrameLocals{Err: err.Error()}
	}
	out := snapshot.FrameLocals{Vars: make([]snapshot.Variable, len(vars))}
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
	// What is read on demand is a task's chain and some values: a light cache, used again.
	if p.onDemand == nil {
		p.onDemand = snapmem.NewLight(p.mem)
	} else {
		p.onDemand.Reset()
	}
	mem := p.onDemand
	w := &walker{p: p, mem: mem, any: mem.Reader(), o: p.offsets, a: p.asyncio, l: p.layout, vals: vals, keepFrames: true}
	return f(w)
}
