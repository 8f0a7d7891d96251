package tracking

import (
	"strings"

	"github.com/aioscope/aioscope/snapshot"
)

// What a thread running asyncio's event loop is doing, read from its current Python frames.
//
// Every iteration of the loop is one call of BaseEventLoop._run_once (asyncio/base_events.py),
// on CPython 3.14 and 3.15 alike. Below it the stack shows one of:
//
//	EpollSelector.select (selectors.py)    waiting for I/O or the next timer: the loop is idle
//	Handle._run (asyncio/events.py)        running a callback; a task's step is a callback too,
//	                                       and its coroutine frames sit right above Handle._run
//	                                       (the C task's step has no Python frame of its own)
//	anything else, or _run_once on top     the loop's own bookkeeping between callbacks
//
// Event loops that run no Python code of their own (uvloop) show none of this, and are not read.

// LoopState is what a loop thread was doing when it was sampled.
type LoopState uint8

const (
	// NoLoop: no iteration of asyncio's event loop is on the thread's stack.
	NoLoop LoopState = iota
	// InSelector: the loop waits in its selector for I/O or a timer — idle.
	InSelector
	// InLoop: the loop's own work between callbacks (timers, I/O events, scheduling).
	InLoop
	// InCallback: the loop runs a callback or a task's step.
	InCallback
)

func (s LoopState) String() string {
	switch s {
	case InSelector:
		return "idle"
	case InLoop:
		return "loop"
	case InCallback:
		return "callback"
	default:
		return "no loop"
	}
}

// LoopStack is a thread's stack as seen from its event loop.
type LoopStack struct {
	State LoopState
	// RunOnce is the index (innermost first) of the innermost BaseEventLoop._run_once frame, -1
	// when there is none.
	RunOnce int
	// Callback is the frames of the running callback, innermost first, when State is
	// InCallback: everything inside Handle._run. It is empty while a callback implemented in C
	// runs, or a task's step before its coroutine resumes.
	Callback []snapshot.Frame
}

// ReadLoopStack reads a thread's current frames (innermost first).
func ReadLoopStack(frames []snapshot.Frame) LoopStack {
	for k, f := range frames {
		if f.Function != "BaseEventLoop._run_once" || !isAsyncioModule(f.File, "base_events.py") {
			continue
		}
		ls := LoopStack{State: InLoop, RunOnce: k}
		if k == 0 {
			return ls
		}
		inner := frames[k-1]
		switch {
		case inner.Function == "Handle._run" && isAsyncioModule(inner.File, "events.py"):
			ls.State, ls.Callback = InCallback, frames[:k-1]
		case strings.HasSuffix(inner.Function, ".select") && strings.HasSuffix(inner.File, "/selectors.py") && snapshot.IsStdlib(inner.File):
			ls.State = InSelector
		}
		return ls
	}
	return LoopStack{State: NoLoop, RunOnce: -1}
}

// isAsyncioModule reports whether file is the standard library's asyncio/<name>.
func isAsyncioModule(file, name string) bool {
	return strings.HasSuffix(file, "/asyncio/"+name) && snapshot.IsStdlibAsyncio(file)
}
