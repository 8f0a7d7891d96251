package cpython

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Cookie opens _Py_DebugOffsets, the table CPython places at the start of _PyRuntime (the
// .PyRuntime ELF section). It is 8 bytes with no terminating NUL.
const Cookie = "xdebugpy"

// HeaderSize is the version-independent prefix of _Py_DebugOffsets: cookie, version and
// free_threaded. Reading it is enough to pick the layout of the rest.
const HeaderSize = 24

// Size caps applied to the sizes the target reports. They bound how much a reader copies per
// object, so a corrupt table cannot make aioscope allocate or read absurd amounts.
const (
	MaxStateSize       = 1 << 20 // runtime and interpreter state
	MaxThreadStateSize = 1 << 16 // PyThreadState / _PyThreadStateImpl
	MaxObjectSize      = 4096    // frames, code objects and every other object header
)

var (
	// ErrNoCookie means the bytes do not start with a _Py_DebugOffsets table: the cookie is
	// missing or the buffer is shorter than the header.
	ErrNoCookie = errors.New(`no CPython debug offsets ("xdebugpy" cookie not found)`)
	// ErrFreeThreaded means the target is a free-threaded (Py_GIL_DISABLED) build, whose object
	// header, tag bits and per-thread bytecode aioscope does not decode.
	ErrFreeThreaded = errors.New("free-threaded CPython builds are not supported yet")
	// ErrInvalidOffsets means the table is present but not self-consistent; it is wrapped by
	// every validation error of ParseDebugOffsets.
	ErrInvalidOffsets = errors.New("invalid debug offsets")
)

// The field groups of _Py_DebugOffsets, named after the C sub-structs. Every value is a byte
// offset into the named C struct, except the Size fields (sizeof of that struct) and the few
// fields whose comment says otherwise. Fields a version does not have are 0.

// RuntimeStateOffsets locates fields of _PyRuntimeState.
type RuntimeStateOffsets struct {
	Size, Finalizing, InterpretersHead uint64
}

// InterpreterStateOffsets locates fields of PyInterpreterState.
type InterpreterStateOffsets struct {
	Size, ID, Next, ThreadsHead, ThreadsMain, GC, ImportsModules, Sysdict, Builtins, CevalGIL uint64
	GILRuntimeState, GILRuntimeStateEnabled, GILRuntimeStateLocked, GILRuntimeStateHolder     uint64
	CodeObjectGeneration, TLBCGeneration                                                      uint64
}

// ThreadStateOffsets locates fields of PyThreadState. BaseFrame, LastProfiledFrame,
// LastProfiledFrameSeq, HoldsGIL, GILRequested, CurrentException and ExcState exist from 3.15.
type ThreadStateOffsets struct {
	Size, Prev, Next, Interp, CurrentFrame, BaseFrame, LastProfiledFrame, LastProfiledFrameSeq uint64
	ThreadID, NativeThreadID, DatastackChunk, Status, HoldsGIL, GILRequested                   uint64
	CurrentException, ExcState                                                                 uint64
}

// ErrStackItemOffsets locates fields of _PyErr_StackItem (3.15).
type ErrStackItemOffsets struct {
	ExcValue uint64
}

// InterpreterFrameOffsets locates fields of _PyInterpreterFrame.
type InterpreterFrameOffsets struct {
	Size, Previous, Executable, InstrPtr, LocalsPlus, Owner, StackPointer, TLBCIndex uint64
}

// CodeObjectOffsets locates fields of PyCodeObject. CoCodeAdaptive is where the inline bytecode
// array starts.
type CodeObjectOffsets struct {
	Size, Filename, Name, Qualname, Linetable, FirstLineNo, ArgCount uint64
	LocalsPlusNames, LocalsPlusKinds, CoCodeAdaptive, CoTLBC         uint64
}

// PyObjectOffsets describes PyObject; Size is the object header size.
type PyObjectOffsets struct {
	Size, ObType uint64
}

// TypeObjectOffsets locates fields of PyTypeObject. TpBasicSize and TpDictOffset exist from 3.15.
type TypeObjectOffsets struct {
	Size, TpName, TpRepr, TpFlags, TpBasicSize, TpDictOffset uint64
}

// HeapTypeObjectOffsets locates fields of PyHeapTypeObject (3.15).
type HeapTypeObjectOffsets struct {
	Size, HtCachedKeys uint64
}

// TupleObjectOffsets locates fields of PyTupleObject.
type TupleObjectOffsets struct {
	Size, ObItem, ObSize uint64
}

// ListObjectOffsets locates fields of PyListObject.
type ListObjectOffsets struct {
	Size, ObItem, ObSize uint64
}

// SetObjectOffsets locates fields of PySetObject.
type SetObjectOffsets struct {
	Size, Used, Table, Mask uint64
}

// DictObjectOffsets locates fields of PyDictObject.
type DictObjectOffsets struct {
	Size, MaKeys, MaValues uint64
}

// FloatObjectOffsets locates fields of PyFloatObject.
type FloatObjectOffsets struct {
	Size, ObFval uint64
}

// LongObjectOffsets locates fields of PyLongObject.
type LongObjectOffsets struct {
	Size, LvTag, ObDigit uint64
}

// BytesObjectOffsets locates fields of PyBytesObject.
type BytesObjectOffsets struct {
	Size, ObSize, ObSval uint64
}

// UnicodeObjectOffsets locates fields of PyUnicodeObject. ASCIIObjectSize and
// CompactUnicodeObjectSize are sizeof(PyASCIIObject) and sizeof(PyCompactUnicodeObject): where
// the characters of a compact string start.
type UnicodeObjectOffsets struct {
	Size, State, Length, ASCIIObjectSize, CompactUnicodeObjectSize uint64
}

// GCOffsets locates fields of struct _gc_runtime_state. GenerationStatsSize is a size, not an
// offset. Frame, GenerationStatsSize and GenerationStats exist from 3.15.
type GCOffsets struct {
	Size, Collecting, Frame, GenerationStatsSize, GenerationStats uint64
}

// GenObjectOffsets locates fields of PyGenObject (shared by coroutines and async generators).
// GiIframe is the embedded _PyInterpreterFrame; GiFrameState is an int8.
type GenObjectOffsets struct {
	Size, GiName, GiIframe, GiFrameState uint64
}

// LListNodeOffsets locates the fields of struct llist_node.
type LListNodeOffsets struct {
	Next, Prev uint64
}

// DebuggerSupportOffsets are the PEP 768 (sys.remote_exec) fields. aioscope never writes to a
// target, so it only records them. DebuggerScriptPathSize is a size, not an offset.
type DebuggerSupportOffsets struct {
	EvalBreaker, RemoteDebuggerSupport, RemoteDebuggingEnabled      uint64
	DebuggerPendingCall, DebuggerScriptPath, DebuggerScriptPathSize uint64
}

// DebugOffsets is a decoded and validated _Py_DebugOffsets table.
type DebugOffsets struct {
	Version      Version
	FreeThreaded bool

	RuntimeState     RuntimeStateOffsets
	InterpreterState InterpreterStateOffsets
	ThreadState      ThreadStateOffsets
	ErrStackItem     ErrStackItemOffsets
	InterpreterFrame InterpreterFrameOffsets
	CodeObject       CodeObjectOffsets
	PyObject         PyObjectOffsets
	TypeObject       TypeObjectOffsets
	HeapTypeObject   HeapTypeObjectOffsets
	TupleObject      TupleObjectOffsets
	ListObject       ListObjectOffsets
	SetObject        SetObjectOffsets
	DictObject       DictObjectOffsets
	FloatObject      FloatObjectOffsets
	LongObject       LongObjectOffsets
	BytesObject      BytesObjectOffsets
	UnicodeObject    UnicodeObjectOffsets
	GC               GCOffsets
	GenObject        GenObjectOffsets
	LListNode        LListNodeOffsets
	DebuggerSupport  DebuggerSupportOffsets
}

// ParseHeader decodes the first HeaderSize bytes of _Py_DebugOffsets. It fails with an error
// wrapping ErrNoCookie when b is short or does not start with Cookie, and with a plain error when
// the version or flag cannot be a real interpreter's.
func ParseHeader(b []byte) (v Version, freeThreaded bool, err error) {
	if len(b) < HeaderSize {
		return Version{}, false, fmt.Errorf("debug offsets header needs %d bytes, got %d: %w", HeaderSize, len(b), ErrNoCookie)
	}
	if string(b[:len(Cookie)]) != Cookie {
		return Version{}, false, fmt.Errorf("debug offsets start with %q: %w", b[:len(Cookie)], ErrNoCookie)
	}
	hex := binary.LittleEndian.Uint64(b[8:])
	ft := binary.LittleEndian.Uint64(b[16:])
	v = VersionFromHex(hex)
	if hex>>32 != 0 {
		return Version{}, false, fmt.Errorf("debug offsets carry an implausible version %#x", hex)
	}
	switch v.Level {
	case LevelAlpha, LevelBeta, LevelCandidate, LevelFinal:
	default:
		return Version{}, false, fmt.Errorf("debug offsets carry an implausible version %#x (release level %#x)", hex, v.Level)
	}
	if ft > 1 {
		return Version{}, false, fmt.Errorf("debug offsets of Python %s carry an implausible free_threaded flag %d", v, ft)
	}
	return v, ft == 1, nil
}

// DebugOffsetsSize is sizeof(_Py_DebugOffsets) in a target of version v: 760 bytes for 3.14,
// 888 for 3.15. It fails with *UnsupportedVersionError for other versions.
func DebugOffsetsSize(v Version) (int, error) {
	if err := CheckSupported(v); err != nil {
		return 0, err
	}
	return HeaderSize + 8*len(tableEntries(v.Minor)), nil
}

// ParseDebugOffsets decodes a _Py_DebugOffsets table read from the start of a target's
// .PyRuntime section. b must hold at least DebugOffsetsSize bytes of it; more is ignored.
//
// The field list is chosen by the table's own minor version. Unsupported versions fail with
// *UnsupportedVersionError and free-threaded builds with an error wrapping ErrFreeThreaded.
// The table is then validated as untrusted input, as CPython's own reader does: every size must
// be non-zero and below a cap, and every offset aioscope may dereference must be aligned to its
// C type and fit, with its width, inside the struct it belongs to. Those failures wrap
// ErrInvalidOffsets and name the field.
func ParseDebugOffsets(b []byte) (*DebugOffsets, error) {
	v, ft, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if err := CheckSupported(v); err != nil {
		return nil, err
	}
	if ft {
		return nil, fmt.Errorf("Python %s is a free-threaded build: %w", v, ErrFreeThreaded)
	}
	entries := tableEntries(v.Minor)
	size := HeaderSize + 8*len(entries)
	if len(b) < size {
		return nil, fmt.Errorf("%w: the table of Python %s is %d bytes, need %d", ErrInvalidOffsets, v, len(b), size)
	}
	d := &DebugOffsets{Version: v, FreeThreaded: ft}
	for i, e := range entries {
		*e.ptr(d) = binary.LittleEndian.Uint64(b[HeaderSize+8*i:])
	}
	if d.UnicodeObject.CompactUnicodeObjectSize == 0 && v.Minor == 14 {
		// 3.14 does not export sizeof(PyCompactUnicodeObject), but its layout is the one 3.15
		// reports (ASCII header, utf8_length, utf8), so non-ASCII strings can still be decoded.
		d.UnicodeObject.CompactUnicodeObjectSize = d.UnicodeObject.ASCIIObjectSize + 16
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// Field is one entry of a decoded _Py_DebugOffsets table.
type Field struct {
	Name   string // C name, e.g. "thread_state.native_thread_id"
	Offset int    // byte offset of the entry within the table
	Value  uint64
}

// Fields lists the table entries of d's version in table order, with their C names, as a
// diagnostic dump. The cookie is omitted; version and free_threaded are included.
func (d *DebugOffsets) Fields() []Field {
	if d == nil {
		return nil
	}
	ft := uint64(0)
	if d.FreeThreaded {
		ft = 1
	}
	out := []Field{
		{Name: "version", Offset: 8, Value: d.Version.Hex()},
		{Name: "free_threaded", Offset: 16, Value: ft},
	}
	for i, e := range tableEntries(d.Version.Minor) {
		out = append(out, Field{Name: e.name, Offset: HeaderSize + 8*i, Value: *e.ptr(d)})
	}
	return out
}

// cType says how a table entry is used, so validation can check width and alignment.
type cType uint8

const (
	ctValue   cType = iota // not an offset aioscope dereferences (or a size): stored only
	ctPtr                  // pointer, Py_ssize_t, unsigned long, uint64_t: 8 bytes, 8-aligned
	ctInt                  // int, uint32_t, the unicode state word: 4 bytes, 4-aligned
	ctChar                 // char, int8_t, or the start of a byte array: 1 byte
	ctPair                 // two adjacent pointers (current_exception+exc_info, _PyErr_StackItem)
	ctFrame                // an embedded _PyInterpreterFrame: interpreter_frame.size bytes, 8-aligned
	ctGCState              // the embedded _gc_runtime_state: gc.size bytes, 8-aligned
)

func (c cType) widthAlign(d *DebugOffsets) (width, align uint64) {
	switch c {
	case ctPtr:
		return 8, 8
	case ctInt:
		return 4, 4
	case ctChar:
		return 1, 1
	case ctPair:
		return 16, 8
	case ctFrame:
		return d.InterpreterFrame.Size, 8
	case ctGCState:
		return d.GC.Size, 8
	}
	return 0, 0
}

type offsetField struct {
	name  string
	since int // first minor version whose table carries the field
	ct    cType
	ptr   func(*DebugOffsets) *uint64
}

// offsetSection is one C sub-struct of _Py_DebugOffsets. Sections with a size entry list it
// first in the table; the others (llist_node, err_stackitem, debugger_support) have a fixed
// extent or none.
type offsetSection struct {
	name    string
	since   int
	size    func(*DebugOffsets) *uint64 // nil when the table has no size entry for it
	maxSize uint64                      // cap on the reported size
	extent  uint64                      // bound for field spans when size is nil; 0 = unchecked
	fields  []offsetField
}

// sections describes _Py_DebugOffsets in declaration order for every supported version. The
// 3.15 table only inserts entries into the 3.14 one (nothing is removed or reordered), so one
// ordered description with a "since" per entry yields both field lists.
func sections() []offsetSection {
	f := func(name string, since int, ct cType, ptr func(*DebugOffsets) *uint64) offsetField {
		return offsetField{name: name, since: since, ct: ct, ptr: ptr}
	}
	return []offsetSection{
		{name: "runtime_state", since: 14, maxSize: MaxStateSize,
			size: func(d *DebugOffsets) *uint64 { return &d.RuntimeState.Size },
			fields: []offsetField{
				f("finalizing", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.RuntimeState.Finalizing }),
				f("interpreters_head", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.RuntimeState.InterpretersHead }),
			}},
		{name: "interpreter_state", since: 14, maxSize: MaxStateSize,
			size: func(d *DebugOffsets) *uint64 { return &d.InterpreterState.Size },
			fields: []offsetField{
				f("id", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.ID }),
				f("next", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.Next }),
				f("threads_head", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.ThreadsHead }),
				f("threads_main", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.ThreadsMain }),
				f("gc", 14, ctGCState, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.GC }),
				f("imports_modules", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.ImportsModules }),
				f("sysdict", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.Sysdict }),
				f("builtins", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.Builtins }),
				f("ceval_gil", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.CevalGIL }),
				f("gil_runtime_state", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.GILRuntimeState }),
				f("gil_runtime_state_enabled", 14, ctInt, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.GILRuntimeStateEnabled }),
				f("gil_runtime_state_locked", 14, ctInt, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.GILRuntimeStateLocked }),
				f("gil_runtime_state_holder", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.GILRuntimeStateHolder }),
				f("code_object_generation", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.CodeObjectGeneration }),
				f("tlbc_generation", 14, ctInt, func(d *DebugOffsets) *uint64 { return &d.InterpreterState.TLBCGeneration }),
			}},
		{name: "thread_state", since: 14, maxSize: MaxThreadStateSize,
			size: func(d *DebugOffsets) *uint64 { return &d.ThreadState.Size },
			fields: []offsetField{
				f("prev", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ThreadState.Prev }),
				f("next", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ThreadState.Next }),
				f("interp", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ThreadState.Interp }),
				f("current_frame", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ThreadState.CurrentFrame }),
				f("base_frame", 15, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ThreadState.BaseFrame }),
				f("last_profiled_frame", 15, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ThreadState.LastProfiledFrame }),
				f("last_profiled_frame_seq", 15, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ThreadState.LastProfiledFrameSeq }),
				f("thread_id", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ThreadState.ThreadID }),
				f("native_thread_id", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ThreadState.NativeThreadID }),
				f("datastack_chunk", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ThreadState.DatastackChunk }),
				f("status", 14, ctInt, func(d *DebugOffsets) *uint64 { return &d.ThreadState.Status }),
				f("holds_gil", 15, ctInt, func(d *DebugOffsets) *uint64 { return &d.ThreadState.HoldsGIL }),
				f("gil_requested", 15, ctInt, func(d *DebugOffsets) *uint64 { return &d.ThreadState.GILRequested }),
				f("current_exception", 15, ctPair, func(d *DebugOffsets) *uint64 { return &d.ThreadState.CurrentException }),
				f("exc_state", 15, ctPair, func(d *DebugOffsets) *uint64 { return &d.ThreadState.ExcState }),
			}},
		{name: "err_stackitem", since: 15, extent: 16,
			fields: []offsetField{
				f("exc_value", 15, ctPair, func(d *DebugOffsets) *uint64 { return &d.ErrStackItem.ExcValue }),
			}},
		{name: "interpreter_frame", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.InterpreterFrame.Size },
			fields: []offsetField{
				f("previous", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterFrame.Previous }),
				f("executable", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterFrame.Executable }),
				f("instr_ptr", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterFrame.InstrPtr }),
				f("localsplus", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterFrame.LocalsPlus }),
				f("owner", 14, ctChar, func(d *DebugOffsets) *uint64 { return &d.InterpreterFrame.Owner }),
				f("stackpointer", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.InterpreterFrame.StackPointer }),
				f("tlbc_index", 14, ctInt, func(d *DebugOffsets) *uint64 { return &d.InterpreterFrame.TLBCIndex }),
			}},
		{name: "code_object", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.CodeObject.Size },
			fields: []offsetField{
				f("filename", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.CodeObject.Filename }),
				f("name", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.CodeObject.Name }),
				f("qualname", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.CodeObject.Qualname }),
				f("linetable", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.CodeObject.Linetable }),
				f("firstlineno", 14, ctInt, func(d *DebugOffsets) *uint64 { return &d.CodeObject.FirstLineNo }),
				f("argcount", 14, ctInt, func(d *DebugOffsets) *uint64 { return &d.CodeObject.ArgCount }),
				f("localsplusnames", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.CodeObject.LocalsPlusNames }),
				f("localspluskinds", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.CodeObject.LocalsPlusKinds }),
				f("co_code_adaptive", 14, ctChar, func(d *DebugOffsets) *uint64 { return &d.CodeObject.CoCodeAdaptive }),
				f("co_tlbc", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.CodeObject.CoTLBC }),
			}},
		{name: "pyobject", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.PyObject.Size },
			fields: []offsetField{
				f("ob_type", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.PyObject.ObType }),
			}},
		{name: "type_object", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.TypeObject.Size },
			fields: []offsetField{
				f("tp_name", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.TypeObject.TpName }),
				f("tp_repr", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.TypeObject.TpRepr }),
				f("tp_flags", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.TypeObject.TpFlags }),
				f("tp_basicsize", 15, ctPtr, func(d *DebugOffsets) *uint64 { return &d.TypeObject.TpBasicSize }),
				f("tp_dictoffset", 15, ctPtr, func(d *DebugOffsets) *uint64 { return &d.TypeObject.TpDictOffset }),
			}},
		{name: "heap_type_object", since: 15, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.HeapTypeObject.Size },
			fields: []offsetField{
				f("ht_cached_keys", 15, ctPtr, func(d *DebugOffsets) *uint64 { return &d.HeapTypeObject.HtCachedKeys }),
			}},
		{name: "tuple_object", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.TupleObject.Size },
			fields: []offsetField{
				f("ob_item", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.TupleObject.ObItem }),
				f("ob_size", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.TupleObject.ObSize }),
			}},
		{name: "list_object", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.ListObject.Size },
			fields: []offsetField{
				f("ob_item", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ListObject.ObItem }),
				f("ob_size", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.ListObject.ObSize }),
			}},
		{name: "set_object", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.SetObject.Size },
			fields: []offsetField{
				f("used", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.SetObject.Used }),
				f("table", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.SetObject.Table }),
				f("mask", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.SetObject.Mask }),
			}},
		{name: "dict_object", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.DictObject.Size },
			fields: []offsetField{
				f("ma_keys", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.DictObject.MaKeys }),
				f("ma_values", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.DictObject.MaValues }),
			}},
		{name: "float_object", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.FloatObject.Size },
			fields: []offsetField{
				f("ob_fval", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.FloatObject.ObFval }),
			}},
		{name: "long_object", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.LongObject.Size },
			fields: []offsetField{
				f("lv_tag", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.LongObject.LvTag }),
				f("ob_digit", 14, ctInt, func(d *DebugOffsets) *uint64 { return &d.LongObject.ObDigit }),
			}},
		{name: "bytes_object", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.BytesObject.Size },
			fields: []offsetField{
				f("ob_size", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.BytesObject.ObSize }),
				f("ob_sval", 14, ctChar, func(d *DebugOffsets) *uint64 { return &d.BytesObject.ObSval }),
			}},
		{name: "unicode_object", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.UnicodeObject.Size },
			fields: []offsetField{
				f("state", 14, ctInt, func(d *DebugOffsets) *uint64 { return &d.UnicodeObject.State }),
				f("length", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.UnicodeObject.Length }),
				f("asciiobject_size", 14, ctChar, func(d *DebugOffsets) *uint64 { return &d.UnicodeObject.ASCIIObjectSize }),
				f("compactunicodeobject_size", 15, ctChar, func(d *DebugOffsets) *uint64 { return &d.UnicodeObject.CompactUnicodeObjectSize }),
			}},
		{name: "gc", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.GC.Size },
			fields: []offsetField{
				f("collecting", 14, ctInt, func(d *DebugOffsets) *uint64 { return &d.GC.Collecting }),
				f("frame", 15, ctPtr, func(d *DebugOffsets) *uint64 { return &d.GC.Frame }),
				f("generation_stats_size", 15, ctValue, func(d *DebugOffsets) *uint64 { return &d.GC.GenerationStatsSize }),
				f("generation_stats", 15, ctPtr, func(d *DebugOffsets) *uint64 { return &d.GC.GenerationStats }),
			}},
		{name: "gen_object", since: 14, maxSize: MaxObjectSize,
			size: func(d *DebugOffsets) *uint64 { return &d.GenObject.Size },
			fields: []offsetField{
				f("gi_name", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.GenObject.GiName }),
				f("gi_iframe", 14, ctFrame, func(d *DebugOffsets) *uint64 { return &d.GenObject.GiIframe }),
				f("gi_frame_state", 14, ctChar, func(d *DebugOffsets) *uint64 { return &d.GenObject.GiFrameState }),
			}},
		{name: "llist_node", since: 14, extent: 16,
			fields: []offsetField{
				f("next", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.LListNode.Next }),
				f("prev", 14, ctPtr, func(d *DebugOffsets) *uint64 { return &d.LListNode.Prev }),
			}},
		{name: "debugger_support", since: 14,
			fields: []offsetField{
				f("eval_breaker", 14, ctValue, func(d *DebugOffsets) *uint64 { return &d.DebuggerSupport.EvalBreaker }),
				f("remote_debugger_support", 14, ctValue, func(d *DebugOffsets) *uint64 { return &d.DebuggerSupport.RemoteDebuggerSupport }),
				f("remote_debugging_enabled", 14, ctValue, func(d *DebugOffsets) *uint64 { return &d.DebuggerSupport.RemoteDebuggingEnabled }),
				f("debugger_pending_call", 14, ctValue, func(d *DebugOffsets) *uint64 { return &d.DebuggerSupport.DebuggerPendingCall }),
				f("debugger_script_path", 14, ctValue, func(d *DebugOffsets) *uint64 { return &d.DebuggerSupport.DebuggerScriptPath }),
				f("debugger_script_path_size", 14, ctValue, func(d *DebugOffsets) *uint64 { return &d.DebuggerSupport.DebuggerScriptPathSize }),
			}},
	}
}

type tableEntry struct {
	name string
	ptr  func(*DebugOffsets) *uint64
}

// tableEntries flattens sections() into the uint64 entries that follow the header in the
// table of the given minor version.
func tableEntries(minor int) []tableEntry {
	var out []tableEntry
	for _, s := range sections() {
		if s.since > minor {
			continue
		}
		if s.size != nil {
			out = append(out, tableEntry{name: s.name + ".size", ptr: s.size})
		}
		for _, f := range s.fields {
			if f.since <= minor {
				out = append(out, tableEntry{name: s.name + "." + f.name, ptr: f.ptr})
			}
		}
	}
	return out
}

// validate applies the layout checks. Sizes are checked first, because some field widths are
// other sections' sizes (an embedded frame, the embedded GC state).
func (d *DebugOffsets) validate() error {
	minor := d.Version.Minor
	secs := sections()
	for _, s := range secs {
		if s.since > minor || s.size == nil {
			continue
		}
		if err := checkSize(ErrInvalidOffsets, s.name, *s.size(d), s.maxSize); err != nil {
			return err
		}
	}
	for _, s := range secs {
		if s.since > minor {
			continue
		}
		limit, limitName := s.extent, fmt.Sprintf("sizeof(%s)", s.name)
		if s.size != nil {
			limit, limitName = *s.size(d), s.name+".size"
		}
		if limit == 0 {
			continue
		}
		for _, f := range s.fields {
			off := *f.ptr(d)
			// A field the version's table lacks is 0 unless this package derived it (as for
			// 3.14's compact unicode size); derived values are checked like reported ones.
			if f.ct == ctValue || (f.since > minor && off == 0) {
				continue
			}
			width, align := f.ct.widthAlign(d)
			if err := checkField(ErrInvalidOffsets, s.name+"."+f.name, off, width, align, limit, limitName); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkSize(kind error, name string, size, maxSize uint64) error {
	if size == 0 {
		return fmt.Errorf("%w: %s.size must be greater than zero", kind, name)
	}
	if size > maxSize {
		return fmt.Errorf("%w: %s.size=%d exceeds the %d-byte limit", kind, name, size, maxSize)
	}
	return nil
}

func checkField(kind error, name string, off, width, align, limit uint64, limitName string) error {
	if align > 1 && off%align != 0 {
		return fmt.Errorf("%w: %s=%d is not aligned to %d bytes", kind, name, off, align)
	}
	if width > limit || off > limit-width {
		return fmt.Errorf("%w: %s=%d with width %d exceeds %s %d", kind, name, off, width, limitName, limit)
	}
	return nil
}
