package inspector

import (
	"encoding/binary"
	"runtime"
	"time"

	"github.com/aioscope/aioscope/cpython"
	"github.com/aioscope/aioscope/inspector/internal/snapmem"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/cycles"
)

// A snapshot is read top to bottom: the interpreter state, its threads (threads.go), their task
// lists (tasklist.go), each task (tasks.go), its coroutine chain (coroutines.go) and the frames
// in it (frames.go); objects of every kind are decoded in one place each (objects.go). All reads
// go through one snapmem.Cache, which keeps what is read from a target that changes under the
// read true to one moment; tasks.go says how the walk uses it.

// Bounds that are aioscope's own rather than CPython's. CPython's tools give up at 65,536 tasks
// per list and 1,024 (3.14) or 1,536 (3.15) coroutine frames; aioscope reads further, because a
// service with 100,000 tasks or very deep await chains is exactly when one needs to look. The
// bounds still exist so that a corrupt or changing target cannot make a walk run forever.
const (
	maxTasksPerList    = 1 << 22
	maxCoroutineFrames = 1 << 16
	maxThreadFrames    = 1 << 14
)

// walker takes one snapshot.
type walker struct {
	p   *Process
	mem *snapmem.Cache
	// any reads objects that live as long as the program (types) or are checked otherwise
	// (code objects), whatever the age of their copy.
	any snapmem.Reader
	o   *cpython.DebugOffsets
	a   *cpython.AsyncioOffsets
	l   cpython.Layout

	types  typeCache        // type objects met, by address
	codes  recentCodes      // code objects met, ahead of the Process's cache of them
	chains chainCache       // coroutine chains read, by task or future
	frames frameInterner    // one shared slice per distinct chain of frames
	blocks blocks           // small slices carved from blocks
	roots  []snapmem.Object // a batch's prefetch roots (taskRoots)
	vals   *values.Reader   // reads the values of frames and threads' names
	// keepFrames: the walk records where each task's frames are, to read their values.
	keepFrames bool
	// locals, when the snapshot reads values, takes each batch of tasks the walk has read, for
	// a helper goroutine to read their values meanwhile (see readLocals).
	locals *localsFeed
	// trustCodes: a code object the Process read before is taken as it was without reading its
	// fields again. The interpreter's code-object generation, which changes whenever a code
	// object goes away, has been checked, as CPython's own reader checks it; a snapshot reads the
	// fields anyway, the thread samples repeated many times a second do not.
	trustCodes bool
}

// walk takes one snapshot. prefetch lists pages to copy before walking (see Cache.Load); the
// pages the walk read are returned, whether or not it succeeded, to be prefetched next time.
func (p *Process) walk(prefetch []uint64) (*snapshot.Snapshot, []uint64, error) {
	mem := p.snapshotMemory()
	if err := mem.Load(prefetch); err != nil {
		return nil, nil, err
	}
	s, err := p.walkCache(mem)
	return s, mem.Footprint(), err
}

// snapshotMemory returns the cache a snapshot reads through, empty. One cache serves every
// snapshot of the Process: nothing in a snapshot refers to its copies, and the memory the first
// snapshot's copies were made into, faulted in by then, takes the next one's (see snapmem's
// slabs). It is unmapped when the Process is no longer used.
func (p *Process) snapshotMemory() *snapmem.Cache {
	if p.snapshots == nil {
		p.snapshots = snapmem.New(p.mem)
		runtime.AddCleanup(p, (*snapmem.Cache).Release, p.snapshots)
	} else {
		p.snapshots.Reset()
	}
	return p.snapshots
}

func (p *Process) walkCache(mem *snapmem.Cache) (*snapshot.Snapshot, error) {
	w := &walker{p: p, mem: mem, any: mem.Reader(), o: p.offsets, a: p.asyncio, l: p.layout}
	if p.opts.Locals || p.opts.ThreadNames {
		vals, err := p.valueReader()
		if err != nil {
			return nil, err
		}
		w.vals, w.keepFrames = vals, p.opts.Locals
	}
	s := &snapshot.Snapshot{
		PID:           p.pid,
		PythonVersion: p.offsets.Version.String(),
		CapturedAt:    time.Now(),
	}
	if err := w.run(s); err != nil {
		return nil, err
	}
	s.Cycles = cycles.Find(s.Tasks)
	return s, nil
}

// run reads the main interpreter: its threads, then the tasks of their lists and of the
// interpreter's list of tasks left behind by exited threads.
func (w *walker) run(s *snapshot.Snapshot) error {
	o, a := w.o, w.a
	interp, err := w.interp()
	if err != nil {
		return err
	}
	gen, err := w.any.Uint64(interp + o.InterpreterState.CodeObjectGeneration)
	if err != nil {
		return err
	}
	w.p.codes.reset(gen)
	threads, err := w.threads(interp)
	if err != nil {
		return err
	}
	var lists []taskList
	var names map[uint64]string
	if w.p.opts.ThreadNames {
		// Names are a nicety: a thread whose name cannot be read is shown without one.
		names, _ = w.vals.On(w.any, w.any).ThreadNames()
	}
	for _, th := range threads {
		th.Name = names[th.ThreadID]
		s.Threads = append(s.Threads, th.Thread)
		if w.p.opts.MainThreadOnly && !th.Main {
			continue
		}
		lists = append(lists, taskList{head: th.tasksHead, tid: th.TID})
	}
	// Tasks of threads that have exited are moved to the interpreter's list; CPython reports
	// them with thread id 0.
	lists = append(lists, taskList{head: interp + a.InterpreterState.AsyncioTasksHead})
	running := make(map[uint64]bool, len(s.Threads))
	for _, t := range s.Threads {
		running[t.RunningTask] = true
	}
	if w.p.opts.Locals {
		w.locals = w.newLocalsFeed(s)
		defer w.locals.stop()
	}
	if s.Tasks, err = w.readTasks(lists, running); err != nil {
		return err
	}
	forgetFinishedRunning(s)
	if w.p.opts.Locals {
		return w.readLocals(s, threads)
	}
	return nil
}

// interp returns the address of the main interpreter's state.
func (w *walker) interp() (uint64, error) {
	interp, err := w.ptr(w.any, w.p.runtimeAddr+w.o.RuntimeState.InterpretersHead)
	if err == nil && interp == 0 {
		err = inconsistent("no interpreter state (the interpreter is starting or shutting down)")
	}
	return interp, err
}

// forgetFinishedRunning clears a thread's running task when it is not one of the snapshot's
// tasks: it finished while the snapshot was taken (and was left out), or belongs to a list that
// was not read.
func forgetFinishedRunning(s *snapshot.Snapshot) {
	listed := make(map[uint64]bool, len(s.Threads))
	for _, t := range s.Threads {
		if t.RunningTask != 0 {
			listed[t.RunningTask] = false
		}
	}
	if len(listed) == 0 {
		return
	}
	for i := range s.Tasks {
		if _, ok := listed[s.Tasks[i].ID]; ok {
			listed[s.Tasks[i].ID] = true
		}
	}
	for i := range s.Threads {
		if t := &s.Threads[i]; t.RunningTask != 0 && !listed[t.RunningTask] {
			t.RunningTask = 0
		}
	}
}

// ptr reads a pointer-sized field and drops the tag bits CPython may keep in object references.
func (w *walker) ptr(r snapmem.Reader, addr uint64) (uint64, error) {
	v, err := r.Uint64(addr)
	return v &^ w.l.TagBits, err
}

// le64 decodes a little-endian field of copied target memory. Offsets come from validated
// tables, so they lie within the copied struct.
func le64(b []byte, off uint64) uint64 { return binary.LittleEndian.Uint64(b[off : off+8]) }

// blocks hands out small slices carved from larger blocks: a snapshot of a large target needs
// one of each per task, and one allocation per task costs more than the walk itself.
type blocks struct {
	chains   []chain
	awaiters []snapshot.Awaiter
}

// chain returns a zero chain.
func (b *blocks) chain() *chain {
	if len(b.chains) == 0 {
		b.chains = make([]chain, 256)
	}
	c := &b.chains[0]
	b.chains = b.chains[1:]
	return c
}

// awaiterList returns an empty list of awaiters with room for n. Its capacity is n, so that
// appending to it cannot run into the next one.
func (b *blocks) awaiterList(n int) []snapshot.Awaiter {
	if n > 64 {
		return make([]snapshot.Awaiter, 0, n)
	}
	if len(b.awaiters) < n {
		b.awaiters = make([]snapshot.Awaiter, 1024)
	}
	a := b.awaiters[:0:n]
	b.awaiters = b.awaiters[n:]
	return a
}
