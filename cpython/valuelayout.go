package cpython

import "fmt"

// This file holds the layout facts a value reader needs beyond _Py_DebugOffsets: fields of
// frames, code objects, functions, cells, types, dicts, sets, deques, exceptions and asyncio's
// Future and Task, for GIL builds of 3.14 and 3.15 on 64-bit Linux. They come from the DWARF of
// the Debian builds and CPython's headers, and are checked against live interpreters by the
// tests of inspector/values. Where the debug table carries a field, the table's value is used.

// Type flags (PyTypeObject.tp_flags) the value reader tests, besides those in layout.go.
const (
	TPFlagsInlineValues    = 1 << 2  // Py_TPFLAGS_INLINE_VALUES: attributes live inside the object
	TPFlagsManagedWeakref  = 1 << 3  // Py_TPFLAGS_MANAGED_WEAKREF
	TPFlagsManagedDict     = 1 << 4  // Py_TPFLAGS_MANAGED_DICT: __dict__ pointer before the object
	TPFlagsListSubclass    = 1 << 25 // Py_TPFLAGS_LIST_SUBCLASS
	TPFlagsTupleSubclass   = 1 << 26 // Py_TPFLAGS_TUPLE_SUBCLASS
	TPFlagsBytesSubclass   = 1 << 27 // Py_TPFLAGS_BYTES_SUBCLASS
	TPFlagsDictSubclass    = 1 << 29 // Py_TPFLAGS_DICT_SUBCLASS
	TPFlagsBaseExcSubclass = 1 << 30 // Py_TPFLAGS_BASE_EXC_SUBCLASS
	TPFlagsTypeSubclass    = 1 << 31 // Py_TPFLAGS_TYPE_SUBCLASS
)

// Code object flags (co_flags) the value reader tests.
const (
	COOptimized    = 0x1
	COVarargs      = 0x4
	COVarkeywords  = 0x8
	COCoroutine    = 0x80
	COGenerator    = 0x20
	COAsyncGen     = 0x200
	COIterableCoro = 0x100
)

// Kinds of a code object's fast-local slots (co_localspluskinds, pycore_code.h).
const (
	FastArgPos = 0x02 // positional-only, positional-or-keyword and *args
	FastArgKW  = 0x04 // keyword-only, positional-or-keyword and **kwargs
	FastArgVar = 0x08 // *args and **kwargs
	FastArgs   = FastArgPos | FastArgKW | FastArgVar
	FastHidden = 0x10 // inlined-comprehension temporaries, hidden from f_locals
	FastLocal  = 0x20
	FastCell   = 0x40
	FastFree   = 0x80
)

// Member types and flags of PyMemberDef that __slots__ use.
const (
	MemberTypeObjectEx = 16 // Py_T_OBJECT_EX: unset slot raises AttributeError
	MemberTypeObject   = 6  // _Py_T_OBJECT: legacy, unset reads as None
	MemberAfterItems   = 16 // _Py_AFTER_ITEMS (3.15): the slot follows a variable-size object's items
)

// Dict keys kinds (PyDictKeysObject.dk_kind).
const (
	DictKeysGeneral = 0 // PyDictKeyEntry {hash, key, value}
	DictKeysUnicode = 1 // PyDictUnicodeEntry {key, value}, every key an exact str
	DictKeysSplit   = 2 // PyDictUnicodeEntry keys shared by a class's instances
)

// Future states (fut_state in _asynciomodule.c).
const (
	FutureStatePending   = 0
	FutureStateCancelled = 1
	FutureStateFinished  = 2
)

// FrameOffsets locates the _PyInterpreterFrame fields the debug table lacks.
type FrameOffsets struct {
	FuncObj, Globals, Builtins, Locals, FrameObj uint64
}

// CodeOffsets locates the PyCodeObject fields the debug table lacks (all int32 but the tuples).
type CodeOffsets struct {
	Consts, Names, Flags, PosOnlyArgCount, KwOnlyArgCount, StackSize, NLocalsPlus, NLocals uint64
	NCellVars, NFreeVars                                                                   uint64
}

// FunctionOffsets locates PyFunctionObject fields.
type FunctionOffsets struct {
	Globals, Builtins, Name, Qualname, Code, Defaults, KwDefaults, Closure, Doc, Dict, Module uint64
}

// TypeOffsets locates PyTypeObject and PyHeapTypeObject fields. HeapSize is
// sizeof(PyHeapTypeObject); the PyMemberDef array of a class with __slots__ follows it.
type TypeOffsets struct {
	BasicSize, ItemSize, WeakListOffset, Members, Base, Dict, DescrGet, DescrSet uint64
	// VersionTag is tp_version_tag (uint32): non-zero once assigned, and changed (from a counter
	// that never repeats) whenever the type or a base of it is modified; 0 when not assigned.
	VersionTag                                                    uint64
	DictOffset, Bases, Mro                                        uint64
	HtName, HtSlots, HtQualname, HtCachedKeys, HtModule, HeapSize uint64
}

// MemberDefOffsets describes PyMemberDef (one __slots__ entry).
type MemberDefOffsets struct {
	Size, Name, Type, Offset, Flags uint64
}

// DescrOffsets locates fields of PyDescrObject and its member and wrapper variants.
type DescrOffsets struct {
	Type, Name, Qualname, Member, WrapperBase, Wrapped uint64
}

// DictLayout describes PyDictObject, PyDictKeysObject and PyDictValues beyond the table.
type DictLayout struct {
	Used                                                                 uint64 // ma_used in the dict
	KeysLog2Size, KeysLog2IndexBytes, KeysKind, KeysUsable, KeysNEntries uint64
	KeysIndices                                                          uint64 // dk_indices[]: the hash table
	GeneralEntrySize, UnicodeEntrySize                                   uint64
	ValuesCapacity, ValuesSize, ValuesEmbedded, ValuesValid, ValuesArr   uint64
	// ManagedDictOffset is where a MANAGED_DICT object keeps its __dict__ pointer, relative to
	// the object (negative: in the pre-header).
	ManagedDictOffset int64
	// FrozenDictSize is sizeof(PyFrozenDictObject) (3.15), 0 where the type does not exist.
	FrozenDictSize uint64
}

// SetLayout describes PySetObject and setentry beyond the table.
type SetLayout struct {
	Fill, EntrySize, EntryHash uint64
}

// DequeOffsets describes collections.deque (dequeobject) and its 64-slot blocks.
type DequeOffsets struct {
	LeftBlock, RightBlock, LeftIndex, RightIndex, MaxLen uint64
	BlockData, BlockRightLink, BlockLen                  uint64
}

// FutureOffsets locates fields of _asyncio's FutureObj and TaskObj. TaskCoro and TaskName are
// also in the .AsyncioDebug table. StateBits is a byte of flags: bit 0 log_tb, bit 1
// asyncio_future_blocking, bit 2 (tasks) must_cancel.
type FutureOffsets struct {
	Loop, Callback0, Context0, Callbacks, Exception, Result, SourceTB, CancelMsg uint64
	State, StateBits, FutureSize                                                 uint64
	NumCancelsRequested, FutWaiter, TaskCoro, TaskName, TaskContext              uint64
}

// GenOffsets locates PyGenObject fields the table lacks.
type GenOffsets struct {
	Qualname uint64
}

// CFunctionOffsets locates fields of PyCFunctionObject (builtin_function_or_method) and its
// PyMethodDef.
type CFunctionOffsets struct {
	Ml, Self, Module, MlName uint64
}

// FrameStates are the values of PyGenObject.gi_frame_state; Completed is -128 where the state
// does not exist (3.15 removed it).
type FrameStates struct {
	Created, Suspended, SuspendedYieldFrom, SuspendedYieldFromLocked, Executing, Completed, Cleared int8
}

// ValueLayout is everything the value reader needs to know about a version's objects besides
// the debug table.
type ValueLayout struct {
	Frame     FrameOffsets
	Code      CodeOffsets
	Function  FunctionOffsets
	Type      TypeOffsets
	MemberDef MemberDefOffsets
	Descr     DescrOffsets
	Dict      DictLayout
	Set       SetLayout
	Deque     DequeOffsets
	Future    FutureOffsets
	Gen       GenOffsets
	CFunction CFunctionOffsets
	States    FrameStates

	CellRef     uint64 // PyCellObject.ob_ref
	ModuleDict  uint64 // PyModuleObject.md_dict
	VarSize     uint64 // PyVarObject.ob_size
	TupleHash   uint64 // PyTupleObject.ob_hash: the cached hash
	ListAlloc   uint64 // PyListObject.allocated
	ExcArgs     uint64 // PyBaseExceptionObject.args
	ExcDict     uint64 // PyBaseExceptionObject.dict
	StrDataAny  uint64 // PyUnicodeObject.data.any: where a non-compact string's characters are
	LazyFrom    uint64 // 3.15 lazy_import.lz_from (str); 0 before 3.15
	ByteArray   ByteArrayOffsets
	StackRefNil uint64 // PyStackRef_NULL's bits
	// SmallIntMax is the largest cached small int (_PY_NSMALLPOSINTS - 1); the smallest is -5.
	SmallIntMax int64
}

// ByteArrayOffsets locates PyByteArrayObject fields: Start is the first byte (ob_start).
type ByteArrayOffsets struct {
	Size, Start uint64
}

// ValueLayout returns the value layout of d's version. A nil or hand-built table of another
// minor version gets the 3.15 layout, as Layout does.
func (d *DebugOffsets) ValueLayout() ValueLayout {
	if d == nil {
		d = &DebugOffsets{}
	}
	typeSize := uint64(424)
	if d.Version.Minor == 14 {
		typeSize = 416
	}
	v := ValueLayout{
		Frame: FrameOffsets{FuncObj: 16, Globals: 24, Builtins: 32, Locals: 40, FrameObj: 48},
		Code: CodeOffsets{Consts: 24, Names: 32, Flags: 48, PosOnlyArgCount: 56, KwOnlyArgCount: 60,
			StackSize: 64, NLocalsPlus: 72, NLocals: 80, NCellVars: 84, NFreeVars: 88},
		Function: FunctionOffsets{Globals: 16, Builtins: 24, Name: 32, Qualname: 40, Code: 48, Defaults: 56,
			KwDefaults: 64, Closure: 72, Doc: 80, Dict: 88, Module: 104},
		Type: TypeOffsets{BasicSize: 32, ItemSize: 40, WeakListOffset: 208, Members: 240, Base: 256, Dict: 264,
			DescrGet: 272, DescrSet: 280, DictOffset: 288, Bases: 336, Mro: 344, VersionTag: 384,
			HtName: typeSize + 440, HtSlots: typeSize + 448, HtQualname: typeSize + 456,
			HtCachedKeys: typeSize + 464, HtModule: typeSize + 472, HeapSize: typeSize + 520},
		MemberDef: MemberDefOffsets{Size: 40, Name: 0, Type: 8, Offset: 16, Flags: 24},
		Descr:     DescrOffsets{Type: 16, Name: 24, Qualname: 32, Member: 40, WrapperBase: 40, Wrapped: 48},
		Dict: DictLayout{Used: 16, KeysLog2Size: 8, KeysLog2IndexBytes: 9, KeysKind: 10, KeysUsable: 16,
			KeysNEntries: 24, KeysIndices: 32, GeneralEntrySize: 24, UnicodeEntrySize: 16,
			ValuesCapacity: 0, ValuesSize: 1, ValuesEmbedded: 2, ValuesValid: 3, ValuesArr: 8,
			ManagedDictOffset: -24},
		Set:   SetLayout{Fill: 16, EntrySize: 16, EntryHash: 8},
		Deque: DequeOffsets{LeftBlock: 24, RightBlock: 32, LeftIndex: 40, RightIndex: 48, MaxLen: 64, BlockData: 8, BlockRightLink: 520, BlockLen: 64},
		Future: FutureOffsets{Loop: 16, Callback0: 24, Context0: 32, Callbacks: 40, Exception: 48, Result: 64,
			SourceTB: 72, CancelMsg: 80, State: 104, StateBits: 110, FutureSize: 112,
			NumCancelsRequested: 112, FutWaiter: 120, TaskCoro: 128, TaskName: 136, TaskContext: 144},
		Gen:         GenOffsets{Qualname: 32},
		CFunction:   CFunctionOffsets{Ml: 16, Self: 24, Module: 32, MlName: 0},
		CellRef:     16,
		ModuleDict:  16,
		VarSize:     16,
		TupleHash:   24,
		ListAlloc:   32,
		ExcDict:     16,
		ExcArgs:     24,
		StrDataAny:  56,
		ByteArray:   ByteArrayOffsets{Size: 16, Start: 40},
		StackRefNil: 1,
	}
	// The 3.15 table carries some of these; prefer what the target reports.
	if d.TypeObject.TpBasicSize != 0 {
		v.Type.BasicSize = d.TypeObject.TpBasicSize
	}
	if d.TypeObject.TpDictOffset != 0 {
		v.Type.DictOffset = d.TypeObject.TpDictOffset
	}
	if d.HeapTypeObject.HtCachedKeys != 0 {
		v.Type.HtCachedKeys = d.HeapTypeObject.HtCachedKeys
	}
	if d.HeapTypeObject.Size != 0 {
		v.Type.HeapSize = d.HeapTypeObject.Size
	}
	if d.Version.Minor == 14 {
		v.States = FrameStates{Created: -3, Suspended: -2, SuspendedYieldFrom: -1, SuspendedYieldFromLocked: -128,
			Executing: 0, Completed: 1, Cleared: 4}
		v.SmallIntMax = 256
		return v
	}
	v.States = FrameStates{Created: 0, Suspended: 1, SuspendedYieldFrom: 2, SuspendedYieldFromLocked: 3,
		Executing: 4, Completed: -128, Cleared: 5}
	v.SmallIntMax = 1024
	v.Dict.FrozenDictSize = 56
	v.LazyFrom = 24
	return v
}

// CheckValueLayout checks that the structs the table sizes hold the fields a value reader
// reads at the offsets of ValueLayout: a table that passed ParseDebugOffsets but describes
// smaller structs (or a hand-made one) is refused rather than read past.
func (d *DebugOffsets) CheckValueLayout() error {
	if d == nil {
		return fmt.Errorf("%w: no table", ErrInvalidOffsets)
	}
	v := d.ValueLayout()
	for _, c := range []struct {
		name      string
		need, has uint64
	}{
		{"type_object.size", max(v.Type.Mro, v.Type.DictOffset, v.Type.BasicSize, v.Type.DescrSet, v.Type.VersionTag, d.TypeObject.TpFlags,
			d.TypeObject.TpRepr, d.TypeObject.TpName, d.PyObject.ObType) + 8, d.TypeObject.Size},
		{"code_object.size", max(d.CodeObject.LocalsPlusNames, d.CodeObject.LocalsPlusKinds, d.CodeObject.Filename,
			d.CodeObject.Name, d.CodeObject.Qualname, d.CodeObject.Linetable, v.Code.NFreeVars) + 8, d.CodeObject.Size},
		{"interpreter_frame.localsplus", max(max(d.InterpreterFrame.Executable, d.InterpreterFrame.InstrPtr,
			d.InterpreterFrame.StackPointer, v.Frame.Locals)+8, d.InterpreterFrame.Owner+1), d.InterpreterFrame.LocalsPlus},
		{"unicode_object.asciiobject_size", max(d.UnicodeObject.State+4, d.UnicodeObject.Length+8), d.UnicodeObject.ASCIIObjectSize},
		{"dict_object.ma_values", max(v.Dict.Used, d.DictObject.MaKeys) + 8, d.DictObject.MaValues + 8},
		{"long_object.ob_digit", d.LongObject.LvTag + 8, d.LongObject.ObDigit},
		{"pyobject.size", d.PyObject.ObType + 8, d.PyObject.Size},
	} {
		if c.has < c.need {
			return fmt.Errorf("%w: %s is %d, the value reader needs %d", ErrInvalidOffsets, c.name, c.has, c.need)
		}
	}
	if v.Type.HtCachedKeys < v.Type.HtName || v.Type.HtCachedKeys > v.Type.HtModule || v.Type.HtCachedKeys%8 != 0 {
		return fmt.Errorf("%w: heap_type_object.ht_cached_keys=%d is not among the heap type's fields", ErrInvalidOffsets, v.Type.HtCachedKeys)
	}
	if d.LongObject.ObDigit != d.LongObject.LvTag+8 {
		return fmt.Errorf("%w: long_object.ob_digit=%d does not follow lv_tag=%d", ErrInvalidOffsets, d.LongObject.ObDigit, d.LongObject.LvTag)
	}
	return nil
}

// FrameSlotsValid reports whether the fast locals of a generator or coroutine frame in state st
// can be read: it is created, suspended or executing, not completed, cleared or a value no
// state has.
func (s FrameStates) FrameSlotsValid(st int8) bool {
	switch st {
	case s.Created, s.Suspended, s.SuspendedYieldFrom, s.Executing:
		return true
	}
	return st == s.SuspendedYieldFromLocked && st != -128
}

// StackRefKind classifies a _PyStackRef.
type StackRefKind uint8

const (
	StackRefNull    StackRefKind = iota // PyStackRef_NULL: an unbound local or empty slot
	StackRefObject                      // a PyObject pointer
	StackRefInt                         // a tagged int (Py_INT_TAG), not a pointer
	StackRefInvalid                     // 3.15's Py_TAG_INVALID or another impossible value
)

// DecodeStackRef decodes a _PyStackRef of a GIL build: NULL (bits == 1), a tagged int
// (bits & 3 == 3; value = bits >> 2 as a signed number), or an object pointer with the tag
// bits cleared (bit 0 marks a borrowed or immortal reference). Bits & 3 == 2 is never valid.
// A zero word is not a valid stack reference either; it is reported as NULL, which is what a
// reader should show for a slot that holds nothing.
func DecodeStackRef(bits uint64) (StackRefKind, uint64, int64) {
	switch {
	case bits == 1 || bits == 0:
		return StackRefNull, 0, 0
	case bits&3 == 3:
		return StackRefInt, 0, int64(bits) >> 2
	case bits&3 == 2:
		return StackRefInvalid, 0, 0
	}
	return StackRefObject, bits &^ 3, 0
}

// VarRole is the role of a fast-local slot in a frame.
type VarRole uint8

const (
	RoleNone     VarRole = iota // hidden or not a variable: skip
	RoleArgument                // a parameter, including *args and **kwargs
	RoleLocal                   // a plain local
	RoleCell                    // a local captured by an inner function (cell-only name)
	RoleFree                    // a variable of an enclosing function
)

// SlotRole gives the role of a slot from its co_localspluskinds byte, as frame.f_locals sees
// it: hidden slots are skipped, free slots too when the code is not optimized (class bodies).
// An argument captured by an inner function (LOCAL|CELL|ARG) stays an argument; its slot holds
// a cell.
func SlotRole(kind byte, coFlags uint32) VarRole {
	switch {
	case kind&FastHidden != 0:
		return RoleNone
	case kind&FastArgs != 0:
		return RoleArgument
	case kind&FastLocal != 0:
		return RoleLocal
	case kind&FastCell != 0:
		return RoleCell
	case kind&FastFree != 0:
		if coFlags&COOptimized == 0 {
			return RoleNone
		}
		return RoleFree
	}
	return RoleNone
}

// SlotHoldsCell reports whether a slot of this kind holds a PyCellObject once the frame has run
// MAKE_CELL / COPY_FREE_VARS (coroutines always have).
func SlotHoldsCell(kind byte) bool { return kind&(FastCell|FastFree) != 0 }

func (r VarRole) String() string {
	switch r {
	case RoleArgument:
		return "argument"
	case RoleLocal:
		return "local"
	case RoleCell:
		return "cell"
	case RoleFree:
		return "free"
	}
	return ""
}
