package inspector

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aioscope/aioscope/cpython"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/cycles"
)

// Bounds that are aioscope's own rather than CPython's. CPython's tools give up at 65,536 tasks
// per list and 1,024 (3.14) or 1,536 (3.15) coroutine frames; aioscope reads further, because a
// service with 100,000 tasks or very deep await chains is exactly when one needs to look. The
// bounds still exist so that a corrupt or changing target cannot make a walk run forever.
const (
	maxTasksPerList    = 1 << 22
	maxCoroutineFrames = 1 << 16
	maxThreadFrames    = 1 << 14
)

// walker takes one snapshot. All reads go through one page cache: every object is read from one
// copy of its pages, and pages are copied again only where the target was seen to change under
// the read (see tasks.go).
type walker struct {
	p     *Process
	mem   *pageCache
	o     *cpython.DebugOffsets
	a     *cpython.AsyncioOffsets
	l     cpython.Layout
	types map[uint64]*typeInfo
	// recentTypes keeps types ahead of the map: a walk meets the same few types (coroutine,
	// int, str, future) again and again.
	recentTypes addrCache[typeInfo]
	recentCodes addrCache[codeMeta] // see code
	// coros holds the chains of the objects tasks are awaited by, which many tasks can share.
	// A task's own chain is kept there only if the task is known to await another (awaiters);
	// a chain kept for one reader alone would cost a table entry, and a cache miss, per task.
	coros       map[uint64]*coroInfo
	awaiters    map[uint64]bool // see knownAwaiters
	lastCoroObj uint64          // see coro
	lastCoro    *coroInfo       // the chain of lastCoroObj; nil when there is none
	// coroLog lists the keys of coros in the order they were added, so that the chains read by
	// a task that is then read again can be forgotten.
	coroLog []uint64
	// reread: a chain may have been read more than once — a task read again, or an awaiter
	// that was not known to be one when its own task was read — so an awaiter's chain may
	// differ from the one its task is reported with.
	reread       bool
	coroBlock    []coroInfo                    // see newCoroInfo
	lastOwn      *coroInfo                     // the chain of the task task() read last
	own          coroInfo                      // a task's own chain when not kept (see ownCoro)
	awaiterBlock []snapshot.Awaiter            // see newAwaiters
	chains       map[uint64][][]snapshot.Frame // see internFrames
	prefetcher   *prefetcher                   // see prefetchReferents
}

// addrCache keeps a few objects by address, ahead of a map that holds them all: one compare
// instead of a hash lookup for the objects a walk meets over and over.
type addrCache[T any] [16]struct {
	addr uint64
	v    *T
}

func (c *addrCache[T]) get(addr uint64) *T {
	if e := &c[(addr>>4)%uint64(len(c))]; e.addr == addr {
		return e.v
	}
	return nil
}

func (c *addrCache[T]) put(addr uint64, v *T) {
	e := &c[(addr>>4)%uint64(len(c))]
	e.addr, e.v = addr, v
}

// typeInfo is what the walker needs of a Python type object.
type typeInfo struct {
	flags uint64
	name  string // tp_name, at most 31 bytes, as CPython's reader compares it
}

// coroInfo is one task's or future's coroutine chain (CPython's parse_task()).
type coroInfo struct {
	isTask bool
	coro   uint64 // a task's coroutine object, as read
	frames []snapshot.Frame
	// finished: a task whose coroutine has returned (its frame is cleared), or that no longer
	// holds one (asyncio lets it go as the task completes). Such a task is being completed
	// right now and leaves the task list in the same step.
	finished bool
	// notCoroutine names the type of a task's coroutine object when no coroutine can be of
	// that type (see mayBeCoroutine).
	notCoroutine string
}

// walk takes one snapshot. prefetch lists pages to copy before walking (see pageCache.prefetch);
// the pages the walk read are returned, whether or not it succeeded, to be prefetched next time.
func (p *Process) walk(prefetch []uint64) (*snapshot.Snapshot, []uint64, error) {
	mem := newPageCache(p.mem)
	defer mem.release()
	if err := mem.prefetch(prefetch); err != nil {
		return nil, nil, err
	}
	s, err := p.walkCache(mem)
	return s, mem.usedPages(), err
}

func (p *Process) walkCache(mem *pageCache) (*snapshot.Snapshot, error) {
	w := &walker{
		p:     p,
		mem:   mem,
		o:     p.offsets,
		a:     p.asyncio,
		l:     p.layout,
		types: map[uint64]*typeInfo{},
		coros: map[uint64]*coroInfo{},
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

func (w *walker) run(s *snapshot.Snapshot) error {
	o, a := w.o, w.a
	interp, err := w.ptr(w.p.runtimeAddr + o.RuntimeState.InterpretersHead)
	if err != nil {
		return err
	}
	if interp == 0 {
		return inconsistent("no interpreter state (the interpreter is starting or shutting down)")
	}
	gen, err := w.u64(interp + o.InterpreterState.CodeObjectGeneration)
	if err != nil {
		return err
	}
	w.p.codes.reset(gen)
	mainTS, err := w.ptr(interp + o.InterpreterState.ThreadsMain)
	if err != nil {
		return err
	}
	tsAddr, err := w.ptr(interp + o.InterpreterState.ThreadsHead)
	if err != nil {
		return err
	}
	// The asyncio part of a thread state lies beyond PyThreadState, in _PyThreadStateImpl.
	tsSize := max(o.ThreadState.Size, a.ThreadState.Size)
	var heads []uint64
	seen := map[uint64]bool{}
	for tsAddr != 0 {
		if len(s.Threads) >= w.l.MaxThreads {
			return inconsistent("more than %d threads: thread list appears corrupted", w.l.MaxThreads)
		}
		if seen[tsAddr] {
			return inconsistent("thread list loops at 0x%x", tsAddr)
		}
		seen[tsAddr] = true
		ts, err := w.mem.view(tsAddr, int(tsSize))
		if err != nil {
			return err
		}
		t := snapshot.Thread{
			TID:         le64(ts, o.ThreadState.NativeThreadID),
			ThreadID:    le64(ts, o.ThreadState.ThreadID),
			Main:        tsAddr == mainTS,
			RunningTask: le64(ts, a.ThreadState.AsyncioRunningTask) &^ w.l.TagBits,
			HasLoop:     le64(ts, a.ThreadState.AsyncioRunningLoop) != 0,
		}
		next := le64(ts, o.ThreadState.Next)
		if t.Frames, err = w.threadFrames(le64(ts, o.ThreadState.CurrentFrame)); err != nil {
			return err
		}
		s.Threads = append(s.Threads, t)
		heads = append(heads, tsAddr+a.ThreadState.AsyncioTasksHead)
		tsAddr = next
	}
	var tids []uint64
	var listHeads []uint64
	for i, head := range heads {
		if w.p.opts.MainThreadOnly && !s.Threads[i].Main {
			continue
		}
		listHeads, tids = append(listHeads, head), append(tids, s.Threads[i].TID)
	}
	// Tasks of threads that have exited are moved to the interpreter's list; CPython reports
	// them with thread id 0.
	listHeads, tids = append(listHeads, interp+a.InterpreterState.AsyncioTasksHead), append(tids, 0)
	running := make(map[uint64]bool, len(s.Threads))
	for _, t := range s.Threads {
		running[t.RunningTask] = true
	}
	s.Tasks, err = w.readTasks(listHeads, tids, running)
	return err
}

// threadFrames walks a thread's frame chain from its current frame outwards.
func (w *walker) threadFrames(frame uint64) ([]snapshot.Frame, error) {
	var frames []snapshot.Frame
	for n := 0; frame != 0; n++ {
		if n >= maxThreadFrames {
			return nil, inconsistent("more than %d frames in one thread: frame chain appears corrupted", maxThreadFrames)
		}
		fb, err := w.mem.view(frame, int(w.o.InterpreterFrame.Size))
		if err != nil {
			return nil, err
		}
		f, ok, err := w.frame(fb)
		if err != nil {
			return nil, err
		}
		if ok {
			frames = append(frames, f)
		}
		frame = le64(fb, w.o.InterpreterFrame.Previous)
	}
	return frames, nil
}

// frame decodes one _PyInterpreterFrame. ok is false for frames that are not Python code
// (entry frames owned by the interpreter or the C stack, or a frame being torn down).
func (w *walker) frame(fb []byte) (snapshot.Frame, bool, error) {
	o := &w.o.InterpreterFrame
	code := le64(fb, o.Executable) &^ w.l.TagBits
	owner := int(fb[o.Owner])
	if code == 0 || w.l.IsFrameOwnerSkipped(owner) {
		return snapshot.Frame{}, false, nil
	}
	// Live frames belong to a thread (0) or a generator; a frame handed to a frame object has
	// left the stack and cannot be on a live chain.
	if owner > w.l.FrameOwnerGenerator {
		return snapshot.Frame{}, false, inconsistent("unhandled frame owner %d", owner)
	}
	meta, err := w.code(code)
	if err != nil {
		return snapshot.Frame{}, false, err
	}
	f := snapshot.Frame{Function: meta.qualname, File: meta.filename, EndLine: -1, Column: -1, EndColumn: -1}
	if meta.linetable == nil {
		return f, true, nil
	}
	f.HasLine, f.Line = true, -1
	if addrq, ok := cpython.CodeUnitIndex(le64(fb, o.InstrPtr), code+w.o.CodeObject.CoCodeAdaptive); ok {
		if loc, ok := meta.location(addrq); ok {
			f.Line, f.EndLine, f.Column, f.EndColumn = loc.Line, loc.EndLine, loc.Column, loc.EndColumn
		}
	}
	return f, true, nil
}

// task reads one listed task: its name, coroutine chain and awaiters.
// It also returns the task's fields that the rest was read through.
func (w *walker) task(addr uint64, tid uint64) (snapshot.Task, taskHeader, error) {
	t := snapshot.Task{ID: addr, TID: tid}
	var h taskHeader
	w.lastOwn = nil
	to := &w.a.TaskObject
	tb, err := w.mem.view(addr, int(to.Size))
	if err != nil {
		return t, h, err
	}
	if tb[to.TaskIsTask] == 0 {
		return t, h, inconsistent("object 0x%x in a task list is not a task", addr)
	}
	defer w.restoreFloor(w.noOlderThan(addr))
	h.name = le64(tb, to.TaskName) &^ w.l.TagBits
	h.awaitedBy, h.awaitedBySet = le64(tb, to.TaskAwaitedBy)&^w.l.TagBits, tb[to.TaskAwaitedByIsSet]
	if t.Name, err = w.taskName(h.name); err != nil {
		return t, h, err
	}
	c, err := w.ownCoro(addr)
	if err != nil {
		return t, h, err
	}
	w.lastOwn = c
	t.Frames = c.frames
	h.coro = c.coro
	if h.awaitedBy == 0 {
		return t, h, nil
	}
	var one [1]uint64
	awaiters := one[:]
	if h.awaitedBySet == 0 {
		one[0] = h.awaitedBy
	} else if awaiters, err = w.setMembers(h.awaitedBy); err != nil {
		return t, h, err
	}
	t.AwaitedBy = w.newAwaiters(len(awaiters))
	for _, id := range awaiters {
		c, err := w.coro(id)
		if err != nil {
			return t, h, err
		}
		t.AwaitedBy = append(t.AwaitedBy, snapshot.Awaiter{ID: id, IsTask: c.isTask, Frames: c.frames})
	}
	return t, h, nil
}

// setMembers returns the keys of a Python set in hash-table slot order, skipping empty slots
// and the dummy entries deleted keys leave behind (hash -1).
func (w *walker) setMembers(set uint64) ([]uint64, error) {
	so := &w.o.SetObject
	sb, err := w.mem.view(set, int(so.Size))
	if err != nil {
		return nil, err
	}
	defer w.restoreFloor(w.noOlderThan(set))
	used := int64(le64(sb, so.Used))
	mask := le64(sb, so.Mask)
	table := le64(sb, so.Table)
	if mask >= w.l.MaxSetMask || used < 0 || uint64(used) > mask+1 || table == 0 {
		return nil, inconsistent("invalid set object at 0x%x (used=%d mask=%d)", set, used, mask)
	}
	entries, err := w.mem.view(table, int(16*(mask+1)))
	if err != nil {
		return nil, err
	}
	var keys []uint64
	for i := uint64(0); i <= mask && int64(len(keys)) < used; i++ {
		key := le64(entries, 16*i) &^ w.l.TagBits
		hash := int64(le64(entries, 16*i+8))
		if key != 0 && hash != -1 {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// taskName decodes a task's name: a str, or the int counter of an auto-named task ("Task-N"),
// which CPython stores unformatted to save work at task creation.
func (w *walker) taskName(obj uint64) (string, error) {
	if obj == 0 {
		return "", inconsistent("task without a name object")
	}
	t, err := w.typeOf(obj)
	if err != nil {
		return "", err
	}
	switch {
	case t.flags&cpython.TPFlagsLongSubclass != 0:
		lo := &w.o.LongObject
		tag, err := w.u64(obj + lo.LvTag)
		if err != nil {
			return "", err
		}
		nd := int(min(tag>>3, uint64(w.l.MaxLongDigits)+1))
		digits, err := w.mem.view(obj+lo.ObDigit, 4*nd)
		if err != nil {
			return "", err
		}
		v, err := cpython.DecodeLong(tag, digits, w.l.MaxLongDigits)
		if err != nil {
			return "", inconsistent("task name: %v", err)
		}
		var buf [32]byte
		return string(strconv.AppendInt(append(buf[:0], "Task-"...), v, 10)), nil
	case t.flags&cpython.TPFlagsUnicodeSubclass != 0:
		return w.str(obj, w.l.MaxTaskNameLen)
	}
	return "", inconsistent("invalid task name object at 0x%x", obj)
}

// str decodes a compact str object, truncated to maxLen code points as CPython's reader does.
// Unlike CPython 3.14's reader it decodes every string kind, so non-ASCII names come out right.
func (w *walker) str(obj uint64, maxLen int) (string, error) {
	uo := &w.o.UnicodeObject
	// asciiobject_size is a plain value in the table, not checked against the fields read from
	// the header (which are checked against the object's size): a corrupt table giving a small
	// one must make a short read, not an out-of-range index.
	hdr, err := w.mem.view(obj, int(max(uo.ASCIIObjectSize, uo.Length+8, uo.State+4)))
	if err != nil {
		return "", err
	}
	length := int64(le64(hdr, uo.Length))
	st := cpython.ParseUnicodeState(binary.LittleEndian.Uint32(hdr[uo.State:]))
	if length < 0 {
		return "", inconsistent("invalid string length %d at 0x%x", length, obj)
	}
	if !st.Compact {
		return "", inconsistent("cannot read non-compact string at 0x%x", obj)
	}
	if st.Kind != 1 && st.Kind != 2 && st.Kind != 4 {
		return "", inconsistent("invalid string kind %d at 0x%x", st.Kind, obj)
	}
	n := int(min(length, int64(maxLen)))
	data, err := w.mem.view(obj+w.o.UnicodeDataOffset(st.ASCII), n*st.Kind)
	if err != nil {
		return "", err
	}
	s, err := cpython.DecodeUnicode(st.Kind, data)
	if err != nil {
		return "", inconsistent("string at 0x%x: %v", obj, err)
	}
	return s, nil
}

// typeOf returns the type of a Python object, cached per snapshot.
func (w *walker) typeOf(obj uint64) (*typeInfo, error) {
	tp, err := w.ptr(obj + w.o.PyObject.ObType)
	if err != nil {
		return nil, err
	}
	if t := w.recentTypes.get(tp); t != nil {
		return t, nil
	}
	if t, ok := w.types[tp]; ok {
		w.recentTypes.put(tp, t)
		return t, nil
	}
	if tp == 0 {
		return nil, inconsistent("object 0x%x has no type", obj)
	}
	defer w.restoreFloor(w.anyAge())
	to := &w.o.TypeObject
	flags, err := w.u64(tp + to.TpFlags)
	if err != nil {
		return nil, err
	}
	namePtr, err := w.u64(tp + to.TpName)
	if err != nil {
		return nil, err
	}
	if flags&cpython.TPFlagsReady == 0 || namePtr == 0 {
		// Not a type object: the object's memory was freed and reused while it was read.
		return nil, inconsistent("object 0x%x has no valid type", obj)
	}
	t := &typeInfo{flags: flags}
	// tp_name is a C string; CPython's reader looks at its first 31 bytes.
	var buf [31]byte
	if err := w.mem.ReadAt(buf[:], namePtr); err != nil {
		// The name may end just before unmapped memory: read what is there, byte by byte.
		for i := range buf {
			if w.mem.ReadAt(buf[i:i+1], namePtr+uint64(i)) != nil || buf[i] == 0 {
				buf[i] = 0
				break
			}
		}
	}
	if i := slices.Index(buf[:], 0); i >= 0 {
		t.name = string(buf[:i])
	} else {
		t.name = string(buf[:])
	}
	if t.name == "" {
		return nil, inconsistent("object 0x%x has no valid type", obj)
	}
	w.types[tp] = t
	w.recentTypes.put(tp, t)
	return t, nil
}

// coro returns the coroutine chain of a task or future, innermost frame first (CPython's
// parse_task()), computed once per object per snapshot: a task awaited by many is read once.
func (w *walker) coro(obj uint64) (*coroInfo, error) {
	// Thousands of tasks are often awaited by the same one: the chain asked for last is at
	// hand ahead of the map.
	if w.lastCoro != nil && w.lastCoroObj == obj {
		return w.lastCoro, nil
	}
	if c, ok := w.coros[obj]; ok {
		w.lastCoroObj, w.lastCoro = obj, c
		return c, nil
	}
	if !w.awaiters[obj] {
		// Its task, if it is one, may have been read already, without keeping its chain.
		w.reread = true
	}
	c, err := w.readCoro(obj)
	if err != nil {
		return nil, err
	}
	w.coros[obj] = c
	w.coroLog = append(w.coroLog, obj)
	return c, nil
}

// ownCoro returns a task's own chain, keeping it for later readers only if the task is known to
// await another task (see walker.coros).
func (w *walker) ownCoro(task uint64) (*coroInfo, error) {
	if w.awaiters[task] {
		return w.coro(task)
	}
	if c, ok := w.coros[task]; ok {
		return c, nil
	}
	// Not kept: read into the walker's own, which serves until the next task is read.
	w.own = coroInfo{}
	if err := w.readCoroInto(task, &w.own); err != nil {
		return nil, err
	}
	return &w.own, nil
}

// readCoro reads the coroutine chain of a task or future.
func (w *walker) readCoro(obj uint64) (*coroInfo, error) {
	c := w.newCoroInfo()
	if err := w.readCoroInto(obj, c); err != nil {
		return nil, err
	}
	return c, nil
}

// readCoroInto reads the coroutine chain of a task or future into c, which must be zero.
func (w *walker) readCoroInto(obj uint64, c *coroInfo) error {
	to := &w.a.TaskObject
	tb, err := w.mem.view(obj, int(to.Size))
	if err != nil {
		return err
	}
	defer w.restoreFloor(w.noOlderThan(obj))
	c.isTask = tb[to.TaskIsTask] != 0
	if c.isTask {
		coro := le64(tb, to.TaskCoro) &^ w.l.TagBits
		c.coro, c.finished = coro, coro == 0
		if coro != 0 {
			if c.frames, err = w.coroChain(coro); err != nil {
				return err
			}
			if len(c.frames) == 0 {
				t, err := w.typeOf(coro)
				if err != nil {
					return err
				}
				if !mayBeCoroutine(t) {
					c.notCoroutine = t.name
				}
				if c.finished, err = w.coroFinished(coro, t); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// forgetCoro drops the chain read for obj, so that it is read again when next asked for.
func (w *walker) forgetCoro(obj uint64) {
	delete(w.coros, obj)
	if w.lastCoroObj == obj {
		w.lastCoro = nil
	}
}

// mayBeCoroutine reports whether an object of type t can be what a task runs: asyncio accepts
// coroutines — CPython's own, those of compilers such as Cython or Nuitka (built-in types named
// "…coroutine") — and instances of classes implementing the Coroutine protocol (heap types).
// Anything else (a frame, a dict, a str) is memory that was freed and reused while it was read.
func mayBeCoroutine(t *typeInfo) bool {
	return t.flags&cpython.TPFlagsHeapType != 0 || strings.HasSuffix(t.name, "coroutine")
}

// newCoroInfo returns a zero coroInfo, allocated with others in blocks: a snapshot of a large
// target can need one per task.
func (w *walker) newCoroInfo() *coroInfo {
	if len(w.coroBlock) == 0 {
		w.coroBlock = make([]coroInfo, 256)
	}
	c := &w.coroBlock[0]
	w.coroBlock = w.coroBlock[1:]
	return c
}

// newAwaiters returns an empty list of awaiters with room for n, carved with others from blocks:
// a snapshot of a large target has one per task. Its capacity is n, so that appending to it
// cannot run into the next one.
func (w *walker) newAwaiters(n int) []snapshot.Awaiter {
	if n > 64 {
		return make([]snapshot.Awaiter, 0, n)
	}
	if len(w.awaiterBlock) < n {
		w.awaiterBlock = make([]snapshot.Awaiter, 1024)
	}
	a := w.awaiterBlock[:0:n]
	w.awaiterBlock = w.awaiterBlock[n:]
	return a
}

// coroFinished reports whether coro, of type t, is a coroutine that has returned (its frame is
// cleared).
func (w *walker) coroFinished(coro uint64, t *typeInfo) (bool, error) {
	if t.flags&cpython.TPFlagsHeapType != 0 || t.name != "coroutine" {
		return false, nil
	}
	gb, err := w.mem.view(coro, int(w.o.GenObject.Size))
	if err != nil {
		return false, err
	}
	return int8(gb[w.o.GenObject.GiFrameState]) == w.l.FrameStateCleared, nil
}

// coroLike returns the coroutine object to walk for an awaited object, or 0 where the chain
// ends. Only the interpreter's own coroutine type is walked, and the asend/athrow wrappers of
// async generators are resolved to the generator they drive; user classes with the same names
// (heap types) and everything else (futures, plain generators) end the chain, as in CPython.
func (w *walker) coroLike(obj uint64) (uint64, error) {
	t, err := w.typeOf(obj)
	if err != nil {
		return 0, err
	}
	if t.flags&cpython.TPFlagsHeapType != 0 {
		return 0, nil
	}
	switch t.name {
	case "coroutine":
		return obj, nil
	case "async_generator_asend", "async_generator_athrow":
		return w.ptr(obj + w.o.PyObject.Size)
	}
	return 0, nil
}

// coroChain follows a coroutine through what it awaits, innermost first.
func (w *walker) coroChain(coro uint64) ([]snapshot.Frame, error) {
	g := &w.o.GenObject
	fo := &w.o.InterpreterFrame
	var buf [8]snapshot.Frame // most chains are short: no allocation until the result
	frames := buf[:0]
	defer w.restoreFloor(w.mem.floor)
	var seen map[uint64]bool // only built for chains long enough to loop
	for addr := coro; addr != 0; {
		c, err := w.coroLike(addr)
		if err != nil {
			return nil, err
		}
		if c == 0 {
			break
		}
		if len(frames) >= 16 {
			if seen == nil {
				seen = map[uint64]bool{}
			}
			if seen[c] || len(frames) >= maxCoroutineFrames {
				return nil, inconsistent("coroutine chain loops at 0x%x", c)
			}
			seen[c] = true
		}
		gb, err := w.mem.view(c, int(max(g.Size, g.GiIframe+fo.Size)))
		if err != nil {
			return nil, err
		}
		w.noOlderThan(c) // what it awaits is read from copies no older than its own
		state := int8(gb[g.GiFrameState])
		if state == w.l.FrameStateCleared {
			break
		}
		fb := gb[g.GiIframe : g.GiIframe+fo.Size]
		f, ok, err := w.frame(fb)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		frames = append(frames, f)
		if state != w.l.FrameStateSuspendedYieldFrom {
			break
		}
		if int(fb[fo.Owner]) != w.l.FrameOwnerGenerator {
			return nil, inconsistent("generator at 0x%x does not own its frame", c)
		}
		slot, ok := w.awaitSlot(fb)
		if !ok {
			break
		}
		if addr, err = w.ptr(slot); err != nil {
			return nil, err
		}
	}
	if len(frames) == 0 {
		return nil, nil
	}
	slices.Reverse(frames)
	return w.internFrames(frames), nil
}

// awaitSlot returns the address of the stack slot that holds what the suspended frame fb awaits:
// a suspended await keeps it on the value stack, just below the top.
func (w *walker) awaitSlot(fb []byte) (uint64, bool) {
	sp := le64(fb, w.o.InterpreterFrame.StackPointer) &^ w.l.TagBits
	if sp < 8*w.l.AwaitedSlot {
		return 0, false
	}
	return sp - 8*w.l.AwaitedSlot, true
}

// internFrames returns a slice holding frames, shared with every other chain of the snapshot
// that has the same frames: thousands of tasks usually wait at the same few places, and a
// snapshot is never modified once built.
func (w *walker) internFrames(frames []snapshot.Frame) []snapshot.Frame {
	h := uint64(len(frames))
	for i := range frames {
		f := &frames[i]
		h = h*1099511628211 ^ uint64(len(f.Function))<<40 ^ uint64(len(f.File))<<20 ^ uint64(f.Line)
		h = h*1099511628211 ^ uint64(f.Column)<<32 ^ uint64(f.EndLine)<<16 ^ uint64(f.EndColumn)
	}
	for _, c := range w.chains[h] {
		if slices.Equal(c, frames) {
			return c
		}
	}
	c := slices.Clone(frames)
	if w.chains == nil {
		w.chains = map[uint64][][]snapshot.Frame{}
	}
	w.chains[h] = append(w.chains[h], c)
	return c
}

// ptr reads a pointer-sized field and drops the tag bits CPython may keep in object references.
func (w *walker) ptr(addr uint64) (uint64, error) {
	v, err := w.u64(addr)
	return v &^ w.l.TagBits, err
}

func (w *walker) u64(addr uint64) (uint64, error) {
	b, err := w.mem.view(addr, 8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// le64 decodes a little-endian field of copied target memory. Offsets come from validated
// tables, so they lie within the copied struct.
func le64(b []byte, off uint64) uint64 { return binary.LittleEndian.Uint64(b[off : off+8]) }

// noOlderThan makes later reads come from copies at least as new as the one the object at addr
// was read from, and returns the rule it replaces, for restoreFloor. A reference read from one
// copy may lead to an object made after an older copy of that object's page was taken, and such a
// copy holds whatever was there before; objects reached through references are read under this
// rule. Long-lived objects (types, code objects) are exempt: see anyAge.
func (w *walker) noOlderThan(addr uint64) (restore uint32) {
	restore = w.mem.floor
	if e := w.mem.epochOf(addr); e > w.mem.floor {
		w.mem.floor = e
	}
	return restore
}

// anyAge lifts the rule of noOlderThan, for objects that live as long as the program (types) or
// are checked otherwise (code objects, see code), and returns the rule it replaces.
func (w *walker) anyAge() (restore uint32) {
	restore, w.mem.floor = w.mem.floor, 0
	return restore
}

func (w *walker) restoreFloor(floor uint32) { w.mem.floor = floor }
