package inspector

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/aioscope/aioscope/cpython"
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
// frames are copied again, and each frame still where the walk saw it — at the same instruction
// of the same code — has its values read from copies no older than that refresh (classes, code
// and other objects that live as long as the program from any copy). A frame that has moved on
// meanwhile says so instead. threads say where the frames of s.Threads are, and w.locals where
// the tasks' frames are and where the walk saw them. Each task's Wake is found with its
// variables.
//
// The tasks of a big snapshot are read in chunks: helper goroutines, one for each processor but
// the walk's, take each chunk as soon as the walk has read its tasks, while the walk goes on
// with the next batch; after the walk, this goroutine takes the chunks left, each goroutine in
// copies of its own (readChunk). On a busy machine where the helpers get no processor, this
// goroutine reads them all.
func (w *walker) readLocals(s *snapshot.Snapshot, threads []threadState) error {
	f := w.locals
	// Where each thread's frame was when the walk read it, from the walk's copies, before they
	// are copied again.
	threadMarks := make([][]frameMark, len(threads))
	for i, th := range threads {
		threadMarks[i] = w.frameMarks(th.frameAddrs)
	}
	threadFrames := make([][]uint64, 0, len(threads))
	for _, th := range threads {
		threadFrames = append(threadFrames, th.frameAddrs)
	}
	floor, err := w.refreshFrames(w.mem, threadFrames)
	if err != nil {
		return err
	}
	// One moment: the classes the values belong to are read once for the whole pass.
	moment := w.vals.Moment()
	l := &localsReader{w: w, any: w.any, vals: moment.On(floor, w.any), clock: f.clock}
	for i := range s.Threads {
		s.Threads[i].Locals, _ = l.frames(s.Threads[i].Frames, threads[i].frameAddrs, threadMarks[i], false)
	}
	f.close()
	for r := range f.chunks {
		if err := w.readChunk(w.mem, l, moment, f, r); err != nil {
			return err
		}
	}
	for ; f.helpers > 0; f.helpers-- {
		for _, r := range <-f.failed {
			if err := w.readChunk(w.mem, l, moment, f, r); err != nil {
				return err
			}
		}
	}
	if len(f.kept) != len(s.Tasks) {
		return fmt.Errorf("values of %d tasks for %d tasks", len(f.kept), len(s.Tasks))
	}
	for k, i := range f.kept {
		s.Tasks[k].Values = &f.values[i]
	}
	return nil
}

// localsFeed is what the walk and the goroutines of readLocals share: the listed tasks' frames,
// where they are and were, their Values (in one allocation), and the chunks of tasks the walk has
// read and no goroutine has taken yet. Everything of a chunk is written before the chunk is
// sent, and each task's Values by the one goroutine that took its chunk.
type localsFeed struct {
	w      *walker
	clock  localsClock
	frames [][]snapshot.Frame // each listed task's frames, as the walk read them
	addrs  [][]uint64         // where they are
	marks  [][]frameMark      // where the walk saw them
	values []snapshot.TaskValues
	kept   []int // the listed tasks the snapshot keeps, in its order
	chunks chan taskRange
	closed bool
	// helpers is how many helper goroutines have not returned yet, each on failed the chunks
	// it took but could not read.
	helpers int
	failed  chan []taskRange
	// abandoned: the walk failed, and the helpers stop taking chunks.
	abandoned atomic.Bool
}

// taskRange is the listed tasks lo to hi (not included).
type taskRange struct{ lo, hi int }

// newLocalsFeed returns the feed of a snapshot s that reads values.
func (w *walker) newLocalsFeed(s *snapshot.Snapshot) *localsFeed {
	f := &localsFeed{w: w}
	if now, err := w.vals.LoopTime(); err == nil {
		// The target's event-loop clock when the snapshot started: deadlines count from there.
		f.clock = localsClock{atCapture: now - time.Since(s.CapturedAt).Seconds(), known: true}
	}
	return f
}

// begin readies f for n listed tasks, whose frames' addresses and marks the walk writes to addrs
// and marks, and starts the helpers when there are enough of them.
func (f *localsFeed) begin(n int, addrs [][]uint64, marks [][]frameMark) {
	f.frames = make([][]snapshot.Frame, n)
	f.addrs, f.marks = addrs, marks
	f.values = make([]snapshot.TaskValues, n)
	f.kept = make([]int, 0, n)
	// Every batch may end with a shorter chunk: room for them all, so publish never waits.
	batches := (n + max(f.w.p.batchSize, 1) - 1) / max(f.w.p.batchSize, 1)
	f.chunks = make(chan taskRange, (n+localsChunk-1)/localsChunk+batches+1)
	if n >= parallelTasks {
		f.helpers = min(runtime.GOMAXPROCS(0)-1, n/parallelTasks, maxLocalsHelpers)
	}
	if f.helpers > 0 {
		f.failed = make(chan []taskRange, f.helpers)
		for range f.helpers {
			go func() { f.failed <- f.w.helperLocals(f) }()
		}
	}
}

// publish hands the tasks the walk has just read, listed from lo on, to the goroutines that read
// values.
func (f *localsFeed) publish(lo int, tasks []snapshot.Task) {
	for i := range tasks {
		f.frames[lo+i] = tasks[i].Frames
	}
	for c := lo; c < lo+len(tasks); c += localsChunk {
		f.chunks <- taskRange{c, min(c+localsChunk, lo+len(tasks))}
	}
}

// close says that no more chunks come.
func (f *localsFeed) close() {
	if f.chunks != nil && !f.closed {
		close(f.chunks)
		f.closed = true
	}
}

// stop ends the helpers that still run and waits for them: the walk is over, failed or not.
func (f *localsFeed) stop() {
	f.abandoned.Store(true)
	f.close()
	for ; f.helpers > 0; f.helpers-- {
		<-f.failed
	}
}

// readChunk reads the variables of the tasks of r, with l, in mem: it copies their frames again
// and reads the values from copies no older than that. What the values lead to is copied for the
// chunk alone: every copy made for it is dropped afterwards, and the next chunk's go into the
// same memory. moment is the reader of values l's are made from.
func (w *walker) readChunk(mem *snapmem.Cache, l *localsReader, moment *values.Reader, f *localsFeed, r taskRange) error {
	mem.BeginBatch()
	defer mem.EndBatch()
	floor, err := w.refreshFrames(mem, f.addrs[r.lo:r.hi])
	if err != nil {
		return err
	}
	// What the frames' variables and value stacks hold, in one vectored read: the values read
	// those objects first, each from a fetch of its own otherwise.
	if err := mem.Prefetch(l.slotObjects(f.addrs[r.lo:r.hi]), leavesOnly); err != nil {
		return err
	}
	l.vals = moment.On(floor, l.any)
	for i := r.lo; i < r.hi; i++ {
		f.values[i].Locals, f.values[i].Wake = l.frames(f.frames[i], f.addrs[i], f.marks[i], true)
	}
	return nil
}

// localsChunk is how many tasks a goroutine of readLocals takes at once, parallelTasks how many
// a snapshot has at least for each helper to take some, and maxLocalsHelpers how many helpers
// there are at most: each has copies of its own, read anew.
const (
	localsChunk      = 256
	parallelTasks    = 2 * localsChunk
	maxLocalsHelpers = 7
)

// localsClock is the target's event-loop clock at the snapshot's CapturedAt, which Wake.In
// counts from; known is false when the clock cannot be read.
type localsClock struct {
	atCapture float64
	known     bool
}

// refreshFrames copies again, in mem, the frames at frameAddrs, and returns a Reader of its
// copies no older than the refresh. The objects the frames' values lead to are copied as the
// values are read, in blocks around each: those of the tasks of a chunk lie mostly together.
// (Copying again every page the walk read, with the frames, cost more than it spared.)
func (w *walker) refreshFrames(mem *snapmem.Cache, frameAddrs [][]uint64) (snapmem.Reader, error) {
	frames := 0
	for _, addrs := range frameAddrs {
		frames += len(addrs)
	}
	spans := make([]snapmem.Span, 0, frames)
	lowest := ^uint64(0)
	for _, addrs := range frameAddrs {
		for _, a := range addrs {
			spans = append(spans, snapmem.Span{Addr: a, N: int(w.o.InterpreterFrame.Size)})
			lowest = min(lowest, a&^(snapmem.PageSize-1))
		}
	}
	// The values lead to objects the walk did not read (the futures and timers of sleeping
	// tasks, the callbacks they hold): their copies take about this much fresh memory, which
	// is made ready meanwhile.
	mem.Expect(copiedPerFrame * frames)
	if err := mem.RefreshAll(spans); err != nil {
		return snapmem.Reader{}, err
	}
	// The refresh is one moment, though its reads may be several: values are read from copies
	// no older than its first read (its lowest page), whichever of its reads copied the frame.
	return mem.Reader().Through(lowest), nil
}

// helperLocals reads the variables of the tasks of the chunks it takes from f, from copies of
// its own, and returns the chunks it took but could not read.
func (w *walker) helperLocals(f *localsFeed) []taskRange {
	mem := snapmem.New(w.p.mem)
	defer mem.Release()
	l := &localsReader{w: w, any: mem.Reader(), helper: true, clock: f.clock}
	moment := w.vals.Moment()
	var failed []taskRange
	for r := range f.chunks {
		if f.abandoned.Load() {
			continue
		}
		if err := w.readChunk(mem, l, moment, f, r); err != nil {
			failed = append(failed, r)
		}
	}
	return failed
}

// slotObjects returns, as prefetch roots, the objects the fast locals and value stacks of the
// frames at frameAddrs refer to, as l's copies have the frames: up to maxPrefetchSlots slots a
// frame, the head of each object (what the values read first of it). The slice is l's, used
// again for every chunk.
func (l *localsReader) slotObjects(frameAddrs [][]uint64) []snapmem.Object {
	o, tags := &l.w.o.InterpreterFrame, l.w.l.TagBits
	l.roots = l.roots[:0]
	for _, addrs := range frameAddrs {
		for _, addr := range addrs {
			fb, err := l.any.Read(addr, int(o.Size))
			if err != nil {
				continue
			}
			first, sp := addr+o.LocalsPlus, le64(fb, o.StackPointer)&^tags
			if sp <= first {
				continue
			}
			n := min((sp-first)/8, maxPrefetchSlots)
			slots, err := l.any.Read(first, int(8*n))
			if err != nil {
				continue
			}
			for i := range n {
				kind, obj, _ := cpython.DecodeStackRef(le64(slots, 8*i))
				if kind == cpython.StackRefObject && obj != 0 && obj%8 == 0 {
					l.roots = append(l.roots, snapmem.Object{Addr: obj, Size: slotObjectSpan, Kind: snapmem.Leaf})
				}
			}
		}
	}
	return l.roots
}

// leavesOnly is the Referents of a prefetch whose roots are all leaves: it is never asked.
func leavesOnly(refs []snapmem.Object, _ snapmem.Object, _ []byte) []snapmem.Object { return refs }

// maxPrefetchSlots bounds the slots of one frame slotObjects looks at, and slotObjectSpan is
// how much of each object it prefetches: a header, and the whole of most small objects.
const (
	maxPrefetchSlots = 64
	slotObjectSpan   = 128
)

// copiedPerFrame is about how much a frame's values make the locals pass copy that the walk
// did not: a sleeping task's Future, TimerHandle and the float and method they hold, on the
// blocks of pages fetched around them.
const copiedPerFrame = 512

// localsReader reads the variables of a snapshot's frames.
type localsReader struct {
	w    *walker
	any  snapmem.Reader // the frames' copies
	vals *values.Reader // one moment's, on copies no older than the frames'
	// helper: l runs on another goroutine than the walk's, and must not use its caches.
	helper  bool
	clock   localsClock
	vars    []snapshot.Variable // the rest of a block that frames' variables are cut from
	scratch []values.Variable   // what FrameWithDeadline returned last, for the next
	roots   []snapmem.Object    // slotObjects's, for the next
}

// frameMark is where a frame was when the walk read it: the code it ran and the instruction it
// was at, which make the snapshot's Frame; or why it could not be read.
type frameMark struct {
	executable, instr uint64
	err               error
}

// frameMarks reads where the frames at addrs are, from the walk's copies.
func (w *walker) frameMarks(addrs []uint64) []frameMark {
	return w.appendFrameMarks(make([]frameMark, 0, len(addrs)), addrs)
}

// appendFrameMarks is frameMarks appending to dst.
func (w *walker) appendFrameMarks(dst []frameMark, addrs []uint64) []frameMark {
	o := &w.o.InterpreterFrame
	for _, addr := range addrs {
		fb, err := w.any.Read(addr, int(o.Size))
		if err != nil {
			dst = append(dst, frameMark{err: err})
			continue
		}
		dst = append(dst, frameMark{executable: le64(fb, o.Executable), instr: le64(fb, o.InstrPtr)})
	}
	return dst
}

// check returns why the frame at addr, as l's copies have it, is not where mark says the walk
// saw frame.
func (l *localsReader) check(frame snapshot.Frame, addr uint64, mark frameMark) error {
	if mark.err != nil {
		return mark.err
	}
	o := &l.w.o.InterpreterFrame
	fb, err := l.any.Read(addr, int(o.Size))
	if err != nil {
		return err
	}
	if le64(fb, o.Executable) == mark.executable && le64(fb, o.InstrPtr) == mark.instr {
		return nil
	}
	if !l.helper {
		// Where the walk's code objects are at hand: a frame at another instruction of the same
		// location is still the frame the snapshot shows; one elsewhere says where it is now.
		now, _, err := l.w.frame(fb)
		if err == nil && now == frame {
			return nil
		}
		if err == nil && now.Function == frame.Function {
			return fmt.Errorf("the frame moved on to line %d while the snapshot was taken", now.Line)
		}
	}
	return errors.New("the frame moved on while the snapshot was taken")
}

// frames reads the variables of the frames at addrs, which the walk read as frames (marks), and
// with wake, the earliest deadline they wait for.
func (l *localsReader) frames(frames []snapshot.Frame, addrs []uint64, marks []frameMark, wake bool) ([]snapshot.FrameLocals, snapshot.Wake) {
	var soonest snapshot.Wake
	if len(addrs) != len(frames) || len(marks) != len(addrs) {
		return nil, soonest
	}
	out := make([]snapshot.FrameLocals, len(addrs))
	for i, addr := range addrs {
		if err := l.check(frames[i], addr, marks[i]); err != nil {
			out[i].Err = err.Error()
			continue
		}
		if !wake || !l.clock.known {
			vars, err := l.vals.Frame(addr)
			out[i] = l.plainLocals(vars, err)
			continue
		}
		vars, d, err := l.vals.FrameWithDeadline(addr, l.scratch[:0])
		l.scratch = vars
		out[i] = l.plainLocals(vars, err)
		if err != nil || d.Kind == "" {
			continue
		}
		in := d.When - l.clock.atCapture
		if !soonest.Known || in < soonest.In {
			soonest = snapshot.Wake{Known: true, In: in, By: WakeBy(d.Kind)}
		}
	}
	return out, soonest
}

// WakeBy names a kind of values.Deadline as the snapshot does (snapshot.Wake.By).
func WakeBy(kind string) string {
	switch kind {
	case values.DeadlineSleep:
		return snapshot.WakeSleep
	case values.DeadlineTimeout:
		return snapshot.WakeTimeout
	case values.DeadlineWaitFor:
		return snapshot.WakeWaitFor
	}
	return ""
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
