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
// headers that the table does not carry, and the bounds CPython's own reader applies, so that
// aioscope fails (or truncates) exactly where CPython does.
type Layout struct {
	// gi_frame_state values (pycore_frame.h); the enum was renumbered in 3.15.
	FrameStateSuspendedYieldFrom int8 // suspended in await / yield from: the chain continues
	FrameStateCleared            int8 // the frame is gone: the chain stops
	// AwaitedSlot locates the object a suspended frame awaits: the pointer at
	// stackpointer - 8*AwaitedSlot.
	AwaitedSlot uint64
	// TagBits are the low bits of a _PyStackRef or tagged object pointer to clear before use.
	TagBits uint64

	// _PyInterpreterFrame.owner values. FrameOwnerCStack is -1 where the value does not exist.
	FrameOwnerThread, FrameOwnerGenerator, FrameOwnerFrameObject int
	FrameOwnerInterpreter, FrameOwnerCStack                      int

	// MaxCoroutineFrames bounds one task's coroutine chain. The budget is spent before the
	// next awaited object is examined, so a chain of MaxCoroutineFrames frames whose innermost
	// frame is itself suspended in an await fails, while MaxCoroutineFrames-1 frames succeed
	// ("Too many coroutine frames (possible infinite loop)").
	MaxCoroutineFrames int
	// MaxStackFrames bounds a thread's frame chain ("Too many stack frames").
	MaxStackFrames int
	// MaxLinetableBytes is the largest co_linetable read; larger ones leave the line unknown.
	MaxLinetableBytes int
	// MaxTaskNameLen and MaxStringLen are in code points; longer strings are truncated.
	MaxTaskNameLen, MaxStringLen int
	// MaxTaskListLen bounds one task list walk ("Task list appears corrupted").
	MaxTaskListLen int
	// MaxSetMask bounds the mask of an awaited_by set; a set with mask >= MaxSetMask is corrupt.
	MaxSetMask uint64
	// MaxThreads bounds a walk of an interpreter's thread list.
	MaxThreads int
	// MaxLongDigits bounds the 30-bit digits of a PyLong task-name counter.
	MaxLongDigits int
	// MaxTaskWaiters bounds the transitive awaiter walk ("Too many task waiters").
	MaxTaskWaiters int
	// MaxStackChunks and MaxStackChunkSize bound the copy of a thread's data stack.
	MaxStackChunks    int
	MaxStackChunkSize uint64

	// AsyncGenWrappedOffset is where async_generator_asend / _athrow objects keep the async
	// generator they drive: the first field after the object header.
	AsyncGenWrappedOffset uint64

	// CPythonToolWalksAllThreads is false for 3.14, whose get_all_awaited_by starts at the
	// interpreter's main thread and so reports only that thread's task list (plus the
	// interpreter's list of orphaned tasks); 3.15 starts at the newest thread and reports all.
	CPythonToolWalksAllThreads bool
}

// Layout returns the constants for d's version. A table from ParseDebugOffsets is always 3.14
// or 3.15; a hand-built (or nil) one with any other minor version gets the 3.15 values.
func (d *DebugOffsets) Layout() Layout {
	if d == nil {
		d = &DebugOffsets{}
	}
	l := Layout{
		TagBits:               3, // Py_TAG_BITS in GIL builds of both versions
		FrameOwnerThread:      0,
		FrameOwnerGenerator:   1,
		FrameOwnerFrameObject: 2,
		FrameOwnerInterpreter: 3,
		MaxTaskNameLen:        255,
		MaxStringLen:          1024,
		MaxTaskListLen:        1 << 16,
		MaxSetMask:            1 << 20,
		MaxThreads:            8192,
		MaxLongDigits:         64,
		MaxTaskWaiters:        1 << 14,
		MaxStackChunks:        4096,
		MaxStackChunkSize:     16 << 20,
		AsyncGenWrappedOffset: d.PyObject.Size,
	}
	if d.Version.Minor == 14 {
		l.FrameStateSuspendedYieldFrom = -1
		l.FrameStateCleared = 4
		l.AwaitedSlot = 1
		l.FrameOwnerCStack = 4
		l.MaxCoroutineFrames = 1024
		l.MaxStackFrames = 1024
		l.MaxLinetableBytes = 4096
		l.CPythonToolWalksAllThreads = false
		return l
	}
	l.FrameStateSuspendedYieldFrom = 2
	l.FrameStateCleared = 5
	l.AwaitedSlot = 2
	l.FrameOwnerCStack = -1 // FRAME_OWNED_BY_CSTACK was removed in 3.15
	l.MaxCoroutineFrames = 1536
	l.MaxStackFrames = 1536
	l.MaxLinetableBytes = 65536
	l.CPythonToolWalksAllThreads = true
	return l
}

// IsFrameOwnerSkipped reports whether frames with this owner are bookkeeping rather than Python
// frames, and are left out of stacks: interpreter entry frames, and in 3.14 C-stack frames.
func (d *DebugOffsets) IsFrameOwnerSkipped(owner int) bool {
	return d.Layout().IsFrameOwnerSkipped(owner)
}

// IsFrameOwnerSkipped is DebugOffsets.IsFrameOwnerSkipped for a layout already at hand.
func (l Layout) IsFrameOwnerSkipped(owner int) bool {
	return owner == l.FrameOwnerInterpreter || (l.FrameOwnerCStack >= 0 && owner == l.FrameOwnerCStack)
}

// Untag clears the tag bits of a _PyStackRef or tagged object pointer.
func (l Layout) Untag(p uint64) uint64 {
	return p &^ l.TagBits
}
