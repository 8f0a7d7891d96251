// Package values reads Python values out of a CPython 3.14 or 3.15 process without running any
// code in it: the arguments, locals and cells of a frame (a suspended coroutine's included), and
// any object's repr() as Python itself would print it, for the types whose repr depends only on
// their memory. Containers and objects are expanded page by page, so a dict of a million items
// costs what the page shown costs.
//
// The target keeps running while it is read. Every pointer is checked before it is followed,
// every count is bounded, and a value whose fields contradict each other fails with a
// *ChangedError rather than producing text that was never true: reading it again usually works.
// Every request is bounded in depth, items, string length, output size and time; what a bound
// cuts off is marked in the text (see Limits).
//
// What renders exactly as repr() (Value.Exact): None, bools, Ellipsis, NotImplemented; int of
// up to 4300 digits (past that CPython's repr raises, and the reader writes "<int of N
// digits>"); float; str of every kind (with each version's own str.isprintable() table);
// bytes and bytearray; tuple, list, dict, set, frozenset, 3.15's frozendict and
// collections.deque, their subclasses that keep the built-in repr, and Python's recursion
// markers; instances with the default repr; exceptions with BaseException's repr; types,
// functions, coroutines and generators, built-in functions and methods, code objects, cells
// and modules; enum members (Enum and Flag reprs); dataclasses with the generated __repr__;
// asyncio's Event, Lock, Semaphore, Condition, Queue (and its subclasses), Future, Task,
// Handle, TimerHandle and Timeout. Anything else has a __repr__ that runs code: it gets the
// default object repr, and Exact is false.
package values

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aioscope/aioscope/cpython"
)

// Memory is the target's memory. Read returns n bytes at addr, or an error; the bytes are valid
// until the next call and are not modified or kept by the reader.
type Memory interface {
	Read(addr uint64, n int) ([]byte, error)
}

// Limits bound one request. A zero field takes its default (DefaultLimits).
type Limits struct {
	// MaxDepth is how deep containers, dataclasses and enums nest in one repr. A container
	// below it is summarised as "<list of 3 items>" (or "<dict of 2 items>", ...).
	MaxDepth int
	// MaxItems is how many items of one container a repr shows; the rest is written as "...":
	// [0, 1, 2, ...]. Python never writes "..." after an item, so the marker is unambiguous.
	MaxItems int
	// MaxStrLen is how many code points of a str (bytes of a bytes object) are read. A longer
	// one is shown as the repr of its prefix followed by " <N chars>" (" <N bytes>"):
	// 'abc'... <100000 chars>. Its quote is chosen from the prefix.
	MaxStrLen int
	// MaxReprLen bounds the bytes of one repr: containers stop adding items past it, and a
	// repr that still grows to four times it is cut there, ending in "...".
	MaxReprLen int
	// MaxIntDigits is the number of decimal digits past which an int is shown as
	// "<int of N digits>". It defaults to CPython's own limit for repr() (4300).
	MaxIntDigits int
	// MaxChildren bounds the children one Children call returns.
	MaxChildren int
	// Budget bounds the time of one request; what is left unread is marked as cut off.
	Budget time.Duration
}

// DefaultLimits are the limits used where a field of Config.Limits is zero.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth:     8,
		MaxItems:     100,
		MaxStrLen:    1000,
		MaxReprLen:   16 << 10,
		MaxIntDigits: cpython.PythonMaxStrDigits,
		MaxChildren:  1000,
		Budget:       500 * time.Millisecond,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	l.MaxDepth = orDefault(l.MaxDepth, d.MaxDepth)
	l.MaxItems = orDefault(l.MaxItems, d.MaxItems)
	l.MaxStrLen = orDefault(l.MaxStrLen, d.MaxStrLen)
	l.MaxReprLen = orDefault(l.MaxReprLen, d.MaxReprLen)
	l.MaxIntDigits = orDefault(l.MaxIntDigits, d.MaxIntDigits)
	l.MaxChildren = orDefault(l.MaxChildren, d.MaxChildren)
	l.Budget = orDefault(l.Budget, d.Budget)
	return l
}

// orDefault is v, or def when v is not set (zero or less).
func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Config describes the target.
type Config struct {
	// Offsets is the target's _Py_DebugOffsets table.
	Offsets *cpython.DebugOffsets
	// RuntimeAddr is the address of _PyRuntime. The reader finds the builtins and sys.modules
	// through it, to recognise the types whose repr it reproduces.
	RuntimeAddr uint64
	Limits      Limits
	// Clock returns the target's event-loop time now: CLOCK_MONOTONIC in the target's time
	// namespace, in seconds (see TargetClock). Nil leaves the time left on timers out.
	Clock func() (float64, error)
}

// Reader reads values of one target. It is safe for concurrent use.
type Reader struct {
	mem Memory
	// static reads what lives as long as the program — type objects, code objects and what
	// they hold, C strings — which the copies a reader works from may hold from any moment.
	// Nil: mem.
	static Memory
	off    *cpython.DebugOffsets
	v      *cpython.ValueLayout // pointers: On copies a Reader for every frame of a snapshot
	lay    *cpython.Layout
	print  *cpython.Printable
	lim    Limits
	clock  func() (float64, error)
	rtAddr uint64
	kinds  *kinds // shared by the readers On makes
	moment *moment
}

// kinds is what a Reader has found out about the target's types and code objects: they do not
// change while they live, so readers of the same target at different moments share it.
type kinds struct {
	mu    sync.Mutex
	known *known // what the target's builtins and modules are; nil until first resolved
	codes map[uint64]*codeLocals
	// types are the types that can be recognised again by their version tag (see typeKey).
	typesMu sync.RWMutex
	types   map[uint64]*typeInfo
	// hints says where in a dict's table a name was found last (see dictIter.find).
	hintsMu sync.RWMutex
	hints   map[hintKey]int64
	// cStrings are the C strings read so far (method names), by address; checked on each use.
	cStringsMu sync.RWMutex
	cStrings   map[uint64]string
	reqs       sync.Pool // of *req, reused from request to request
}

// moment is what the requests of readers made for one moment of the target share (see
// Reader.Moment). Its readers are used by one goroutine: nothing here is locked.
type moment struct {
	idle     *req // a request of the moment that has ended, for the next
	types    map[uint64]*typeInfo
	codes    map[uint64]*codeLocals // code objects, by address
	cStrings map[uint64]string
	// What many frames of a snapshot share: the repr of objects whose repr is their type's and
	// address (the default object repr), by address; the text a function gives a callback's repr
	// (callbackSource), by function; an event loop's debug flag, by loop.
	objects   map[uint64]momentObject
	callbacks map[uint64]string
	loopDebug map[uint64]bool
	methods   map[uint64]string // method names, by PyMethodDef
	// lastRepr is the repr rendered last for an object of each type, by type (or for a
	// singleton, by object): the futures of thousands of sleeping tasks share one text.
	lastRepr map[uint64]string
}

// methodNames is m.methods, nil for a nil moment.
func (m *moment) methodNames() map[uint64]string {
	if m == nil {
		return nil
	}
	return m.methods
}

// momentObject is the rendering of an object of type typ.
type momentObject struct {
	typ uint64
	v   Value
}

// momentGet and momentPut read and write one of a moment's tables; a nil moment (a Reader not
// made by Moment) holds nothing.
func momentGet[V any](m *moment, table map[uint64]V, key uint64) (V, bool) {
	var zero V
	if m == nil {
		return zero, false
	}
	v, ok := table[key]
	return v, ok
}

func momentPut[V any](m *moment, table *map[uint64]V, key uint64, v V) {
	if m == nil {
		return
	}
	if *table == nil {
		*table = map[uint64]V{}
	}
	(*table)[key] = v
}

func (m *moment) typ(addr uint64) *typeInfo {
	if m == nil {
		return nil
	}
	return m.types[addr]
}

func (m *moment) putType(t *typeInfo) {
	if m != nil {
		momentPut(m, &m.types, t.addr, t)
	}
}

func (m *moment) code(addr uint64) *codeLocals {
	if m == nil {
		return nil
	}
	return m.codes[addr]
}

func (m *moment) putCode(addr uint64, c *codeLocals) {
	if m != nil {
		momentPut(m, &m.codes, addr, c)
	}
}

func (m *moment) object(addr uint64) (momentObject, bool) {
	if m == nil {
		return momentObject{}, false
	}
	return momentGet(m, m.objects, addr)
}

func (m *moment) putObject(addr uint64, o momentObject) {
	if m != nil {
		momentPut(m, &m.objects, addr, o)
	}
}

// reprText returns the text of b, the repr just rendered of an object of the type (or the
// singleton) key: the string made for the last repr of that key when it is the same text.
func (m *moment) reprText(key uint64, b []byte) string {
	if m == nil || key == 0 {
		return string(b)
	}
	if last, ok := m.lastRepr[key]; ok && last == string(b) {
		return last
	}
	s := string(b)
	momentPut(m, &m.lastRepr, key, s)
	return s
}

func (m *moment) callback(fn uint64) (string, bool) {
	if m == nil {
		return "", false
	}
	return momentGet(m, m.callbacks, fn)
}

func (m *moment) putCallback(fn uint64, text string) {
	if m != nil {
		momentPut(m, &m.callbacks, fn, text)
	}
}

func (m *moment) debug(loop uint64) (bool, bool) {
	if m == nil {
		return false, false
	}
	return momentGet(m, m.loopDebug, loop)
}

func (m *moment) putDebug(loop uint64, debug bool) {
	if m != nil {
		momentPut(m, &m.loopDebug, loop, debug)
	}
}

func (m *moment) cString(addr uint64) (string, bool) {
	if m == nil {
		return "", false
	}
	return momentGet(m, m.cStrings, addr)
}

func (m *moment) putCString(addr uint64, s string) {
	if m != nil {
		momentPut(m, &m.cStrings, addr, s)
	}
}

// On returns a Reader of mem that shares what r has found out about the target's types and
// code: for reading the same target from other copies of its memory, such as a snapshot's.
// static, if not nil, serves what lives as long as the program (see Reader.static).
func (r *Reader) On(mem, static Memory) *Reader {
	c := *r
	c.mem, c.static = mem, static
	return &c
}

// Moment returns a Reader that takes the target's classes as they were when a request of it
// (or of a Reader On makes of it) first read them, for reading many values of one snapshot:
// the target taken at one moment. A class's attributes, bases and name are read once, rather
// than checked anew by every request; classes whose changes the reader cannot see otherwise
// (their version tag is not assigned) are then recognised too. A Reader of a moment is for
// that one batch of reads, not to be kept; unlike other Readers, it and the Readers On makes
// of it are for one goroutine at a time.
func (r *Reader) Moment() *Reader {
	c := *r
	c.moment = &moment{}
	return &c
}

// New returns a Reader of mem. The runtime address and offsets come from the inspector's
// attachment to the process.
func New(mem Memory, cfg Config) (*Reader, error) {
	if mem == nil || cfg.Offsets == nil {
		return nil, errors.New("values: a memory and the target's debug offsets are needed")
	}
	if err := cpython.CheckSupported(cfg.Offsets.Version); err != nil {
		return nil, err
	}
	if cfg.Offsets.FreeThreaded {
		return nil, cpython.ErrFreeThreaded
	}
	if err := cfg.Offsets.CheckValueLayout(); err != nil {
		return nil, err
	}
	v, lay := cfg.Offsets.ValueLayout(), cfg.Offsets.Layout()
	return &Reader{
		mem:    mem,
		off:    cfg.Offsets,
		v:      &v,
		lay:    &lay,
		print:  cpython.PrintableFor(cfg.Offsets.Version.Minor),
		lim:    cfg.Limits.withDefaults(),
		clock:  cfg.Clock,
		rtAddr: cfg.RuntimeAddr,
		kinds:  &kinds{},
	}, nil
}

// Ref names an object whose children a client can ask for: its address. 0 means the value has
// no children.
type Ref uint64

// Value is one rendered value.
type Value struct {
	Addr uint64 // the object's address (its id()); 0 for a tagged int from a frame slot
	Type string // type(value).__name__
	Repr string
	// Exact is true when Repr is what repr() returns in the target (cut-off markers aside). It
	// is false for objects whose repr runs code the reader cannot reproduce: those get the
	// default object repr, "<module.Class object at 0x…>", or a description of their state.
	Exact bool
	// Truncated is true when a limit cut something off Repr.
	Truncated bool
	Ref       Ref // non-zero: Children lists the parts of the value
	// Len is the number of children when the value is a container (items of a list or dict,
	// attributes of an instance), or -1 when it has none or the number is unknown.
	Len int
}

// Child is one part of an expanded value: an item of a container (Name is the index, or the
// key's repr for a dict) or an attribute of an object.
type Child struct {
	Name string
	Value
	// Err is set when the child's value could not be read; Value then only has Addr.
	Err error
}

// Variable is one variable of a frame.
type Variable struct {
	Name string
	Kind string // "argument", "local", "cell" or "free"
	Value
	// Err is set when the variable's value could not be read; Value then only has Addr.
	Err error
}

// ChangedError reports memory that does not hold a consistent object: the target changed it
// while it was read (or the address given was not an object). A pointer read from the target
// that leads to unreadable memory is such a case too; Err is then the memory's error. Reading
// again usually succeeds.
type ChangedError struct {
	Addr uint64
	What string
	Err  error
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("the value at 0x%x changed while it was read (%s)", e.Addr, e.What)
}

func (e *ChangedError) Unwrap() error { return e.Err }

func changed(addr uint64, format string, args ...any) error {
	return &ChangedError{Addr: addr, What: fmt.Sprintf(format, args...)}
}

// ErrBudget reports a request that ran out of time before anything could be rendered.
var ErrBudget = errors.New("values: the time budget ran out")

// errTimeUp is ErrBudget inside a request: a repr under way turns it into a cut-off marker.
var errTimeUp = ErrBudget

// ErrNotExpandable reports a Children request for a value that has no children.
var ErrNotExpandable = errors.New("values: the value has no children")
