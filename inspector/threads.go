package inspector

import (
	"github.com/aioscope/aioscope/snapshot"
)

// maxStackReads bounds how often one thread's stack is read again after it was found cut short:
// the thread runs while it is read, and a frame that returns or suspends meanwhile ends the chain
// early. Reading just that thread again is enough; most second reads are whole.
const maxStackReads = 8

// threadState is one thread of the interpreter as the walk found it.
type threadState struct {
	snapshot.Thread
	tasksHead  uint64   // the head of the thread's task list
	frameAddrs []uint64 // the addresses of Frames, in the same order
}

// threads reads the thread states of the interpreter at interp, newest first, each with its
// current Python frames.
func (w *walker) threads(interp uint64) ([]threadState, error) {
	o, a := w.o, w.a
	mainTS, err := w.ptr(w.any, interp+o.InterpreterState.ThreadsMain)
	if err != nil {
		return nil, err
	}
	tsAddr, err := w.ptr(w.any, interp+o.InterpreterState.ThreadsHead)
	if err != nil {
		return nil, err
	}
	var threads []threadState
	seen := map[uint64]bool{}
	for tsAddr != 0 {
		if len(threads) >= w.l.MaxThreads {
			return nil, inconsistent("more than %d threads: thread list appears corrupted", w.l.MaxThreads)
		}
		if seen[tsAddr] {
			return nil, inconsistent("thread list loops at 0x%x", tsAddr)
		}
		seen[tsAddr] = true
		ts, err := w.any.Read(tsAddr, w.threadStateSize())
		if err != nil {
			return nil, err
		}
		t := threadState{Thread: snapshot.Thread{
			TID:         le64(ts, o.ThreadState.NativeThreadID),
			ThreadID:    le64(ts, o.ThreadState.ThreadID),
			Main:        tsAddr == mainTS,
			RunningTask: le64(ts, a.ThreadState.AsyncioRunningTask) &^ w.l.TagBits,
			HasLoop:     le64(ts, a.ThreadState.AsyncioRunningLoop) != 0,
		}, tasksHead: tsAddr + a.ThreadState.AsyncioTasksHead}
		next := le64(ts, o.ThreadState.Next)
		if t.Frames, t.frameAddrs, err = w.threadStack(tsAddr); err != nil {
			return nil, err
		}
		threads = append(threads, t)
		tsAddr = next
	}
	return threads, nil
}

// threadStateSize is how much of a thread state the walk reads: PyThreadState and the asyncio
// fields beyond it, in _PyThreadStateImpl.
func (w *walker) threadStateSize() int {
	return int(max(w.o.ThreadState.Size, w.a.ThreadState.Size))
}

// threadStack reads the current frames of the thread whose state is at tsAddr, innermost first.
// A stack that did not reach the thread's first frame was cut short by the running thread: its
// pages are copied again, together, and it is read again.
// The frames' addresses come with them, in the same order.
func (w *walker) threadStack(tsAddr uint64) ([]snapshot.Frame, []uint64, error) {
	for try := 1; ; try++ {
		w.mem.Record()
		frames, addrs, whole, err := w.readStack(tsAddr)
		if err == nil && !whole {
			err = inconsistent("the stack of thread state 0x%x changed while it was read", tsAddr)
		}
		if err == nil || !retryable(err) || try == maxStackReads {
			w.mem.StopRecording()
			return frames, addrs, err
		}
		if err := w.mem.RefreshRecorded(); err != nil {
			return nil, nil, err
		}
	}
}

// readStack walks a thread's frame chain from its current frame outwards and reports whether it
// reached the thread's first frame.
func (w *walker) readStack(tsAddr uint64) (frames []snapshot.Frame, addrs []uint64, whole bool, err error) {
	o := &w.o.InterpreterFrame
	ts, r, err := w.any.Object(tsAddr, w.threadStateSize())
	if err != nil {
		return nil, nil, false, err
	}
	frame := le64(ts, w.o.ThreadState.CurrentFrame)
	var base uint64
	if w.o.ThreadState.BaseFrame != 0 {
		base = le64(ts, w.o.ThreadState.BaseFrame)
	}
	last, lastOwner := uint64(0), -1
	for n := 0; frame != 0; n++ {
		if n >= maxThreadFrames {
			return nil, nil, false, inconsistent("more than %d frames in one thread: frame chain appears corrupted", maxThreadFrames)
		}
		var fb []byte
		if fb, r, err = r.Object(frame, int(o.Size)); err != nil {
			return nil, nil, false, err
		}
		f, ok, err := w.frame(fb)
		if err != nil {
			return nil, nil, false, err
		}
		if ok {
			frames = append(frames, f)
			addrs = append(addrs, frame)
		}
		last, lastOwner = frame, int(fb[o.Owner])
		frame = le64(fb, o.Previous)
	}
	return frames, addrs, w.l.StackComplete(last, lastOwner, base), nil
}
