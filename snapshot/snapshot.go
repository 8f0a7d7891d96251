// Package snapshot is the plain data model of what aioscope reads from a Python process.
package snapshot

import "time"

// Snapshot is what one read of a live Python process found: its threads with their current
// Python frames and its pending asyncio tasks with who awaits whom. It is plain data: it holds no
// reference to the process and may be kept, compared or serialised freely.
type Snapshot struct {
	PID           int
	PythonVersion string    // e.g. "3.14.10"
	CapturedAt    time.Time // when the read started
	Threads       []Thread  // threads of the main interpreter, newest first (the interpreter's own order)
	// Tasks in the order CPython reports them: thread by thread in Threads order, each thread's
	// tasks in creation order, then the tasks left behind by threads that have exited (TID 0).
	Tasks []Task
	// Cycles are the await cycles, each a list of task ids that starts and ends with the same id,
	// found the way CPython's asyncio tools find them (so the first one matches their error text).
	Cycles [][]uint64
}

// Thread is an OS thread running Python code in the main interpreter.
type Thread struct {
	TID      uint64 // kernel thread id (threading.get_native_id()); equals the PID for the main thread
	ThreadID uint64 // pthread id (threading.get_ident())
	Main     bool   // the interpreter's main thread
	// Name is the thread's threading.Thread name ("MainThread", "db-worker"), when the snapshot
	// was asked to read it and the thread has one.
	Name   string
	Frames []Frame // current Python frames, innermost first
	// RunningTask is the id of the asyncio task this thread is executing right now, 0 if none.
	RunningTask uint64
	// HasLoop is true when the thread has a running asyncio event loop.
	HasLoop bool
	// Locals holds, when the snapshot was asked to read them, each frame's variables, in the
	// order of Frames; nil otherwise.
	Locals []FrameLocals
}

// Task is one pending asyncio task (a C-implemented asyncio.Task or subclass).
type Task struct {
	ID     uint64 // the task object's address, as CPython reports it
	Name   string
	TID    uint64  // thread whose task list holds it (the creating thread); 0 if that thread has exited
	Frames []Frame // the coroutine chain, innermost first
	// AwaitedBy lists the tasks and futures waiting for this task, in CPython's order (for a set
	// of awaiters, hash-table slot order).
	AwaitedBy []Awaiter
	// Values holds, when the snapshot was asked to read them, what the task's frames' variables
	// tell; nil otherwise. (Behind a pointer: most snapshots have none, and a snapshot holds
	// as many Tasks as the target has.)
	Values *TaskValues
}

// TaskValues is what a task's frames' variables tell.
type TaskValues struct {
	// Locals holds each frame's variables, in the order of the task's Frames.
	Locals []FrameLocals
	// Wake is when the task is due to wake up by itself.
	Wake Wake
}

// LocalsOf returns the variables of t's frames, in the order of Frames; nil when they were not
// read.
func (t *Task) LocalsOf() []FrameLocals {
	if t.Values == nil {
		return nil
	}
	return t.Values.Locals
}

// WakeOf returns when t is due to wake up by itself, as far as its variables were read.
func (t *Task) WakeOf() Wake {
	if t.Values == nil {
		return Wake{}
	}
	return t.Values.Wake
}

// Wake is the deadline a task waits for: the timer of the asyncio.sleep it is in, or the expiry
// of an asyncio.timeout (or asyncio.wait_for) around what it awaits — the earliest of them when
// its frames hold several. A task waiting for anything else (a future, a lock, a queue) with no
// deadline has none.
type Wake struct {
	// Known is true when a deadline was found; the other fields are zero otherwise.
	Known bool
	// In is the number of seconds from the snapshot's CapturedAt until the deadline, measured
	// on the target's own event-loop clock (CLOCK_MONOTONIC in its time namespace). It is
	// negative when the deadline had passed: the event loop is late, or blocked. Someone
	// showing it later subtracts the time since CapturedAt.
	In float64
	// By says what the deadline belongs to: WakeSleep, WakeTimeout or WakeWaitFor.
	By string
}

// What a Wake belongs to.
const (
	WakeSleep   = "asyncio.sleep"    // the task sleeps: the sleep's TimerHandle
	WakeTimeout = "asyncio.timeout"  // an active asyncio.timeout() or timeout_at() expires: cancellation
	WakeWaitFor = "asyncio.wait_for" // the timeout of an asyncio.wait_for() expires: cancellation
)

// FrameLocals is what was read of one frame's arguments, locals, cells and free variables.
type FrameLocals struct {
	Vars []Variable
	Err  string // why the frame's variables could not be read; "" when they were
}

// Variable is one variable of a frame, with its value as Python's repr() shows it.
type Variable struct {
	Name string
	Kind string // "argument", "local", "cell" or "free"
	Type string // the name of the value's type
	Repr string
	Err  string // why the value could not be read; Type and Repr are then empty
}

// Awaiter is a task or plain future that awaits a task.
type Awaiter struct {
	ID     uint64
	IsTask bool    // false for a plain asyncio.Future
	Frames []Frame // the awaiter's coroutine chain, innermost first (empty for a future)
}

// Frame is one Python frame.
type Frame struct {
	Function string // co_qualname, e.g. "TaskGroup._aexit"
	File     string // co_filename as the target stores it
	// Line is the line being executed. HasLine is false when the line is unknown (the code
	// object's line table is unreadable or larger than CPython's readers accept); Line is -1 when
	// the table has no entry for the instruction.
	Line    int
	HasLine bool
	// EndLine, Column and EndColumn come from the same location entry; -1 when not recorded.
	// Columns are 0-based byte offsets, as in CPython's code.co_positions().
	EndLine, Column, EndColumn int
}

// FramesKey identifies a list of frames by its elements. The inspector gives every chain with the
// same frames one shared slice (thousands of tasks usually wait at the same few places), so work
// that depends only on a chain's frames can be done once per key. Slices that merely hold equal
// frames have different keys.
type FramesKey struct {
	first *Frame
	n     int
}

// KeyOf returns the key of frames; every empty list has the zero key.
func KeyOf(frames []Frame) FramesKey {
	if len(frames) == 0 {
		return FramesKey{}
	}
	return FramesKey{&frames[0], len(frames)}
}

// AwaiterIndex maps the id of every awaiter in tasks to the index of the task with that id, or
// -1 when it is not one of the tasks. Awaiters are few — thousands of tasks are often awaited by
// the same one — so the map holds only them, rather than every task.
func AwaiterIndex(tasks []Task) map[uint64]int {
	index := map[uint64]int{}
	last, seen := uint64(0), false
	for i := range tasks {
		for _, a := range tasks[i].AwaitedBy {
			if !seen || a.ID != last { // runs of one awaiter are common: look it up once
				index[a.ID] = -1
				last, seen = a.ID, true
			}
		}
	}
	left := len(index)
	for i := 0; i < len(tasks) && left > 0; i++ {
		if k, ok := index[tasks[i].ID]; ok && k < 0 {
			index[tasks[i].ID] = i
			left--
		}
	}
	return index
}
