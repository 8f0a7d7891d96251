package inspector

import (
	"slices"
	"strings"

	"github.com/aioscope/aioscope/cpython"
	"github.com/aioscope/aioscope/inspector/internal/snapmem"
	"github.com/aioscope/aioscope/snapshot"
)

// chain is one task's or future's coroutine chain (CPython's parse_task()).
type chain struct {
	isTask bool
	coro   uint64 // a task's coroutine object, as read
	frames []snapshot.Frame
	// frameAddrs are the addresses of the frames, in the same order, when the walk reads
	// locals; nil otherwise.
	frameAddrs []uint64
	// finished: a task whose coroutine has returned (its frame is cleared), or that no longer
	// holds one (asyncio lets it go as the task completes). Such a task is being completed
	// right now and leaves the task list in the same step.
	finished bool
	// notCoroutine names the type of a task's coroutine object when no coroutine can be of
	// that type (see mayBeCoroutine).
	notCoroutine string
}

// chainCache holds the chains a snapshot read, so that a task awaited by thousands is read once.
// A task's own chain is kept only if the task is known to await another (shared): a chain kept
// for one reader alone would cost a table entry, and a cache miss, per task.
type chainCache struct {
	byObj  map[uint64]*chain
	shared map[uint64]bool // see knownAwaiters
	// The chain asked for last, ahead of the map: thousands of tasks are often awaited by the
	// same one.
	lastObj uint64
	last    *chain
	// log lists the keys of byObj in the order they were added, so that the chains read by a
	// task that is then read again can be forgotten.
	log []uint64
	// own is a task's own chain when it is not kept; it serves until the next task is read.
	own chain
	// mixed: a chain may have been read more than once — a task read again, or an awaiter that
	// was not known to be one when its own task was read — so an awaiter's chain may differ
	// from the one its task is reported with (see sameAwaiterFrames).
	mixed bool
}

// reset starts a new set of tasks whose awaiters are shared.
func (c *chainCache) reset(shared map[uint64]bool) {
	c.byObj, c.shared, c.lastObj, c.last = make(map[uint64]*chain, len(shared)+16), shared, 0, nil
}

// forget drops the chain read for obj, so that it is read again when next asked for.
func (c *chainCache) forget(obj uint64) {
	delete(c.byObj, obj)
	if c.lastObj == obj {
		c.last = nil
	}
}

// forgetSince drops the chains read since the log had mark entries.
func (c *chainCache) forgetSince(mark int) {
	for _, obj := range c.log[mark:] {
		c.forget(obj)
	}
	c.log = c.log[:mark]
}

// chainOf returns the coroutine chain of the task or future obj, innermost frame first, read
// through r once per snapshot. own says obj is the task being read, rather than one awaiting it.
func (w *walker) chainOf(r snapmem.Reader, obj uint64, own bool) (*chain, error) {
	cc := &w.chains
	if cc.last != nil && cc.lastObj == obj {
		return cc.last, nil
	}
	if c, ok := cc.byObj[obj]; ok {
		if !own {
			cc.lastObj, cc.last = obj, c
		}
		return c, nil
	}
	keep := !own || cc.shared[obj]
	if !own && !cc.shared[obj] {
		// Its task, if it is one, may have been read already, without keeping its chain.
		cc.mixed = true
	}
	c := &cc.own
	if keep {
		c = w.blocks.chain()
	} else {
		*c = chain{}
	}
	if err := w.readChain(r, obj, c); err != nil {
		return nil, err
	}
	if keep {
		cc.byObj[obj] = c
		cc.log = append(cc.log, obj)
	}
	return c, nil
}

// readChain reads the chain of the task or future obj into c, which must be zero.
func (w *walker) readChain(r snapmem.Reader, obj uint64, c *chain) error {
	to := &w.a.TaskObject
	tb, r, err := r.Object(obj, int(to.Size))
	if err != nil {
		return err
	}
	c.isTask = tb[to.TaskIsTask] != 0
	if !c.isTask {
		return nil
	}
	coro := le64(tb, to.TaskCoro) &^ w.l.TagBits
	c.coro, c.finished = coro, coro == 0
	if coro == 0 {
		return nil
	}
	var addrs *[]uint64
	if w.keepFrames {
		addrs = &c.frameAddrs
	}
	if c.frames, err = w.coroChain(r, coro, addrs); err != nil || len(c.frames) > 0 {
		return err
	}
	t, err := w.typeOf(r, coro)
	if err != nil {
		return err
	}
	if !mayBeCoroutine(t) {
		c.notCoroutine = t.name
	}
	c.finished, err = w.coroFinished(r, coro, t)
	return err
}

// mayBeCoroutine reports whether an object of type t can be what a task runs: asyncio accepts
// coroutines — CPython's own, those of compilers such as Cython or Nuitka (built-in types named
// "…coroutine") — and instances of classes implementing the Coroutine protocol (heap types).
// Anything else (a frame, a dict, a str) is memory that was freed and reused while it was read.
func mayBeCoroutine(t *typeInfo) bool {
	return t.heap() || strings.HasSuffix(t.name, cpython.TypeNameCoroutine)
}

// coroFinished reports whether coro, of type t, is a coroutine that has returned (its frame is
// cleared).
func (w *walker) coroFinished(r snapmem.Reader, coro uint64, t *typeInfo) (bool, error) {
	if t.heap() || t.name != cpython.TypeNameCoroutine {
		return false, nil
	}
	gb, err := r.Read(coro, int(w.o.GenObject.Size))
	if err != nil {
		return false, err
	}
	return int8(gb[w.o.GenObject.GiFrameState]) == w.l.FrameStateCleared, nil
}

// coroLike returns the coroutine object to walk for an awaited object, or 0 where the chain
// ends. Only the interpreter's own coroutine type is walked, and the asend/athrow wrappers of
// async generators are resolved to the generator they drive; user classes with the same names
// (heap types) and everything else (futures, plain generators) end the chain, as in CPython.
func (w *walker) coroLike(r snapmem.Reader, obj uint64) (uint64, error) {
	t, err := w.typeOf(r, obj)
	if err != nil || t.heap() {
		return 0, err
	}
	switch t.name {
	case cpython.TypeNameCoroutine:
		return obj, nil
	case cpython.TypeNameAsyncGenASend, cpython.TypeNameAsyncGenAThrow:
		return w.ptr(r, obj+w.l.AsyncGenWrappedOffset)
	}
	return 0, nil
}

// coroChain follows a coroutine through what it awaits, innermost first. When addrs is not nil,
// the frames' addresses are appended to it in the same order.
func (w *walker) coroChain(r snapmem.Reader, coro uint64, addrs *[]uint64) ([]snapshot.Frame, error) {
	g := &w.o.GenObject
	fo := &w.o.InterpreterFrame
	var buf [8]snapshot.Frame // most chains are short: no allocation until the result
	frames := buf[:0]
	var seen map[uint64]bool // only built for chains long enough to loop
	for addr := coro; addr != 0; {
		c, err := w.coroLike(r, addr)
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
		// What a coroutine awaits is read from copies no older than its own.
		var gb []byte
		if gb, r, err = r.Object(c, int(w.coroSpan())); err != nil {
			return nil, err
		}
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
		if addrs != nil {
			*addrs = append(*addrs, c+g.GiIframe)
		}
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
		if addr, err = w.ptr(r, slot); err != nil {
			return nil, err
		}
	}
	if len(frames) == 0 {
		return nil, nil
	}
	slices.Reverse(frames)
	if addrs != nil {
		slices.Reverse(*addrs)
	}
	return w.frames.intern(frames), nil
}

// coroSpan is how much of a coroutine object the walk reads: the object and its frame.
func (w *walker) coroSpan() uint32 {
	return uint32(max(w.o.GenObject.Size, w.o.GenObject.GiIframe+w.o.InterpreterFrame.Size))
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

// frameInterner gives every chain with the same frames one shared slice: thousands of tasks
// usually wait at the same few places, and a snapshot is never modified once built.
type frameInterner map[uint64][][]snapshot.Frame

// intern returns a slice holding frames, shared with every other chain of the snapshot that has
// the same frames.
func (fi *frameInterner) intern(frames []snapshot.Frame) []snapshot.Frame {
	h := uint64(len(frames))
	for i := range frames {
		f := &frames[i]
		h = h*1099511628211 ^ uint64(len(f.Function))<<40 ^ uint64(len(f.File))<<20 ^ uint64(f.Line)
		h = h*1099511628211 ^ uint64(f.Column)<<32 ^ uint64(f.EndLine)<<16 ^ uint64(f.EndColumn)
	}
	for _, c := range (*fi)[h] {
		if slices.Equal(c, frames) {
			return c
		}
	}
	c := slices.Clone(frames)
	if *fi == nil {
		*fi = frameInterner{}
	}
	(*fi)[h] = append((*fi)[h], c)
	return c
}
