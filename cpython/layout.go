package cpython

// Type flags (PyTypeObject.tp_flags) the asyncio readers test.
const (
	TPFlagsHeapType        = 1 << 9  // Py_TPFLAGS_HEAPTYPE: a class created at run time
	TPFlagsReady           = 1 << 12 // Py_TPFLAGS_READY: set on every type that has instances
	TPFlagsLongSubclass    = 1 << 24 // Py_TPFLAGS_LONG_SUBCLASS
	TPFlagsUnicodeSubclass = 1 << 28 // Py_TPFLAGS_UNICODE_SUBCLASS
)

// Names (tp_name) of the built-in types whose objects a coroutine chain is followed through.
// Only static types count: a heap type with the same name is a user class.
const (
	TypeNameCoroutine      = "coroutine"
	TypeNameAsyncGenASend  = "async_generator_asend"
	TypeNameAsyncGenAThrow = "async_generator_athrow"
	// MaxTypeNameLen is how many bytes of tp_name CPython's reader compares; longer names
	// cannot match any of the above.
	MaxTypeNameLen = 31
)

// Layout holds what a reader needs besides the offsets table: constants of the target's
// headers that the table does not carry, and the bounds CPython's own reader applies where
// aioscope applies them too, so that it truncates exactly where CPython does.
type Layout struct {
	// gi_frame_state values (pycore_frame.h); the enum was renumbered in 3.15.
	FrameStateSuspendedYieldFrom int8 // suspended in await / yield from: the chain continues
	FrameStateCleared            int8 // the frame is gone: the chain stops
	// AwaitedSlot locates the object a suspended frame awaits: the pointer at
	// stackpointer - 8*AwaitedSlot.
	AwaitedSlot uint64
	// TagBits are the low bits of a _PyStackRef or tagged object pointer to clear before use.
	TagBits uint64

	// _PyInterpreterFrame.owner values: a generator's own frame, a frame handed to a frame object
	// (it has left the stack), an entry frame the interpreter pushes on the C stack, and (3.14
	// only; -1 in 3.15) a C-stack frame.
	FrameOwnerGenerator, FrameOwnerFrameObject, FrameOwnerInterpreter, FrameOwnerCStack int
	// HasBaseFrame: the thread state has a base_frame sentinel, where every frame chain ends
	// (3.15).
	HasBaseFrame bool

	// MaxLinetableBytes is the largest co_linetable read; larger ones leave the line unknown.
	MaxLinetableBytes int
	// MaxTaskNameLen and MaxStringLen are in code points; longer strings are truncated.
	MaxTaskNameLen, MaxStringLen int
	// MaxSetMask bounds the mask of an awaited_by set; a set with mask >= MaxSetMask is corrupt.
	MaxSetMask uint64
	// MaxThreads bounds a walk of an interpreter's thread list.
	MaxThreads int
	// MaxLongDigits bounds the 30-bit digits of a PyLong task-name counter.
	MaxLongDigits int

	// AsyncGenWrappedOffset is where async_generator_asend / _athrow objects keep the async
	// generator they drive: the first field after the object header.
	AsyncGenWrappedOffset uint64
}

// Layout returns the constants for d's version. A table from ParseDebugOffsets is always 3.14
// or 3.15; a hand-built (or nil) one with any other minor version gets the 3.15 values.
func (d *DebugOffsets) Layout() Layout {
	if d == nil {
		d = &DebugOffsets{}
	}
	l := Layout{
		TagBits:               3, // Py_TAG_BITS in GIL builds of both versions
		FrameOwnerGenerator:   1,
		FrameOwnerFrameObject: 2,
		FrameOwnerInterpreter: 3,
		MaxTaskNameLen:        255,
		MaxStringLen:          1024,
		MaxSetMask:            1 << 20,
		MaxThreads:            8192,
		MaxLongDigits:         64,
		AsyncGenWrappedOffset: d.PyObject.Size,
	}
	if d.Version.Minor == 14 {
		l.FrameStateSuspendedYieldFrom = -1
		l.FrameStateCleared = 4
		l.AwaitedSlot = 1
		l.FrameOwnerCStack = 4
		l.MaxLinetableBytes = 4096
		return l
	}
	l.FrameStateSuspendedYieldFrom = 2
	l.FrameStateCleared = 5
	l.AwaitedSlot = 2
	l.FrameOwnerCStack = -1 // FRAME_OWNED_BY_CSTACK was removed in 3.15
	l.HasBaseFrame = true
	l.MaxLinetableBytes = 65536
	return l
}

// IsFrameOwnerSkipped reports whether frames with this owner are bookkeeping rather than Python
// frames, and are left out of stacks: interpreter entry frames, and in 3.14 C-stack frames.
func (l Layout) IsFrameOwnerSkipped(owner int) bool {
	return owner == l.FrameOwnerInterpreter || (l.FrameOwnerCStack >= 0 && owner == l.FrameOwnerCStack)
}

// StackComplete reports whether a thread's frame chain, walked from its current frame, reached
// the thread's first frame rather than being cut short by a frame that returned or suspended
// while it was walked (a suspended coroutine's frame has no previous frame). last is the address
// of the last frame walked (0 for none) and lastOwner its owner; base is the thread state's
// base_frame (3.15). In 3.15 every chain ends at the base_frame sentinel embedded in the thread
// state. In 3.14 it ends at the entry frame the interpreter pushed on the C stack when the thread
// first entered it, owned by the interpreter (entry frames of later calls from C have a previous
// frame).
func (l Layout) StackComplete(last uint64, lastOwner int, base uint64) bool {
	switch {
	case last == 0:
		return true
	case l.HasBaseFrame:
		return last == base
	}
	return lastOwner == l.FrameOwnerInterpreter
}
