package inspector

import (
	"errors"
	"fmt"
	"sync"

	"github.com/aioscope/aioscope/cpython"
	"github.com/aioscope/aioscope/inspector/internal/snapmem"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/snapshot"
)

// Options control how a process is read.
type Options struct {
	// Retries is how many times a snapshot is taken again after meeting a target that changed
	// while it was read. Negative values count as 0.
	Retries int
	// MainThreadOnly reads only the main thread's task list and the list of tasks left behind
	// by exited threads, which is what CPython 3.14's own tools read.
	MainThreadOnly bool
	// Locals reads the variables of every frame of the snapshot, with their values (Task.Locals,
	// Thread.Locals), from the same copies as the frames.
	Locals bool
	// ThreadNames reads the names of the threads' threading.Thread objects (Thread.Name).
	ThreadNames bool
}

// DefaultRetries is the number of retries CPython 3.15's tools use.
const DefaultRetries = 3

// Process is a read-only attachment to a live CPython process. It locates the interpreter
// once and then takes snapshots on demand. A Process is safe for use by one goroutine at a time;
// Snapshot serialises concurrent callers.
type Process struct {
	pid  int
	proc procFS
	mem  Memory
	opts Options

	mu          sync.Mutex
	offsets     *cpython.DebugOffsets
	layout      cpython.Layout
	runtimeAddr uint64
	asyncio     *cpython.AsyncioOffsets // nil until the target has loaded asyncio's C module
	asyncioAddr uint64                  // where the asyncio table was found (for memory images)
	codes       codeCache
	batchSize   int            // tasks read between recycling page copies: tasksPerBatch, or fewer in tests
	vals        *values.Reader // see valueReader
	snapshots   *snapmem.Cache // the copies of Snapshot, whose memory each snapshot uses again
	sampler     *snapmem.Cache // the copies of SampleThreads, used again by each sample
	onDemand    *snapmem.Cache // the copies of InTaskFrame, InThreadFrame and ReadValues
}

// Attach locates the CPython runtime in process pid. It reads /proc and the target's memory
// only; the target is neither stopped nor signalled.
func Attach(pid int, opts Options) (*Process, error) {
	return attach(pid, procFS{pid: pid, root: "/proc"}, NewProcessMemory(pid), opts)
}

func attach(pid int, proc procFS, mem Memory, opts Options) (*Process, error) {
	p, err := attachLive(pid, proc, mem, opts)
	var notFound *ProcessNotFoundError
	if err != nil && !isFatal(err) && !errors.As(err, &notFound) && proc.exiting() {
		// A process that exits while it is being located loses its memory map first: what
		// looks like "not Python" or a failed read is the process going away.
		return nil, &ProcessGoneError{PID: pid}
	}
	return p, err
}

func attachLive(pid int, proc procFS, mem Memory, opts Options) (*Process, error) {
	if pid <= 0 {
		return nil, &ProcessNotFoundError{PID: pid}
	}
	st, err := proc.stat()
	if err != nil {
		return nil, err
	}
	if st.State == 'Z' || st.State == 'X' {
		return nil, &ProcessGoneError{PID: pid}
	}
	p := &Process{pid: pid, proc: proc, mem: mem, opts: opts, batchSize: tasksPerBatch}
	maps, err := proc.readMaps()
	if err != nil {
		return nil, err
	}
	if len(maps) == 0 {
		// Kernel threads and exited processes have no memory map.
		return nil, &NotPythonError{PID: pid, Exe: proc.exe()}
	}
	files := mappedFiles(maps)
	images := imageSet{proc: proc}
	defer images.closeAll()
	if err := p.locateRuntime(files, &images); err != nil {
		return nil, err
	}
	p.locateAsyncio(files, &images)
	return p, nil
}

// PID returns the process id.
func (p *Process) PID() int { return p.pid }

// PythonVersion returns the target's CPython version, e.g. "3.15.2".
func (p *Process) PythonVersion() string { return p.offsets.Version.String() }

// Offsets returns the target's _Py_DebugOffsets table.
func (p *Process) Offsets() *cpython.DebugOffsets { return p.offsets }

// RuntimeAddr returns the address of the target's _PyRuntime.
func (p *Process) RuntimeAddr() uint64 { return p.runtimeAddr }

// imageSet opens each mapped file at most once during one search.
type imageSet struct {
	proc   procFS
	opened map[*mappedFile]*elfImage
	errs   map[*mappedFile]error
}

func (s *imageSet) get(f *mappedFile) (*elfImage, error) {
	if s.opened == nil {
		s.opened, s.errs = map[*mappedFile]*elfImage{}, map[*mappedFile]error{}
	}
	if img, ok := s.opened[f]; ok {
		return img, s.errs[f]
	}
	img, err := s.proc.openImage(f)
	s.opened[f], s.errs[f] = img, err
	return img, err
}

func (s *imageSet) closeAll() {
	for _, img := range s.opened {
		if img != nil {
			img.Close()
		}
	}
}

// locateRuntime finds _PyRuntime (whose first member is _Py_DebugOffsets) the way CPython's
// tools do — the .PyRuntime section of a mapped file whose name contains "python", accepted only
// if the cookie is there in memory — and then, where they give up, in any other executable image
// (interpreters embedded in programs with other names) and in deleted images by a cookie scan.
func (p *Process) locateRuntime(files []*mappedFile, images *imageSet) error {
	var headerErr error
	valid := func(addr uint64) bool {
		var hdr [cpython.HeaderSize]byte
		if err := p.mem.ReadAt(hdr[:], addr); err != nil {
			if isFatal(err) {
				headerErr = err
			}
			return false
		}
		_, _, err := cpython.ParseHeader(hdr[:])
		return err == nil
	}
	try := func(f *mappedFile) (uint64, error) {
		img, err := images.get(f)
		if err != nil {
			if f.Deleted || errors.Is(err, errNotOpenable) {
				return scanForCookie(p.mem, f, valid), nil
			}
			return 0, nil
		}
		if _, addr, ok := img.sectionAddr(".PyRuntime", f.Mappings); ok && valid(addr) {
			return addr, nil
		}
		return 0, nil
	}
	var addr uint64
	for pass := 0; pass < 2 && addr == 0; pass++ {
		for _, f := range files {
			py := isPythonFile(f.Path)
			if (pass == 0) != py || (!py && !isExecutableImage(f)) {
				continue
			}
			a, err := try(f)
			if err != nil {
				return err
			}
			if headerErr != nil {
				return headerErr
			}
			if a != 0 {
				addr = a
				break
			}
		}
	}
	if addr == 0 {
		return p.explainNoRuntime(files, images)
	}
	return p.readOffsets(addr)
}

// errNotOpenable marks a mapped file that exists in the maps but cannot be opened.
var errNotOpenable = errors.New("mapped file cannot be opened")

// explainNoRuntime builds the error for a process without a readable runtime: an unsupported
// Python names its version; anything else is "not Python".
func (p *Process) explainNoRuntime(files []*mappedFile, images *imageSet) error {
	for _, f := range files {
		if !isPythonFile(f.Path) {
			continue
		}
		img, err := images.get(f)
		if err != nil {
			continue
		}
		if hex, ok := img.pyVersionHex(); ok {
			v := cpython.VersionFromHex(hex)
			if err := cpython.CheckSupported(v); err != nil {
				return fmt.Errorf("process %d: %w", p.pid, err)
			}
			return fmt.Errorf("process %d runs Python %s but its debug offsets table cannot be found", p.pid, v)
		}
	}
	return &NotPythonError{PID: p.pid, Exe: p.proc.exe()}
}

// readOffsets reads and validates _Py_DebugOffsets at addr.
func (p *Process) readOffsets(addr uint64) error {
	var hdr [cpython.HeaderSize]byte
	if err := p.mem.ReadAt(hdr[:], addr); err != nil {
		return p.readFailure(err)
	}
	v, _, err := cpython.ParseHeader(hdr[:])
	if err != nil {
		return fmt.Errorf("process %d: %w", p.pid, err)
	}
	size, err := cpython.DebugOffsetsSize(v)
	if err != nil {
		return fmt.Errorf("process %d: %w", p.pid, err)
	}
	buf := make([]byte, size)
	if err := p.mem.ReadAt(buf, addr); err != nil {
		return p.readFailure(err)
	}
	off, err := cpython.ParseDebugOffsets(buf)
	if err != nil {
		return fmt.Errorf("process %d: %w", p.pid, err)
	}
	p.offsets, p.layout, p.runtimeAddr = off, off.Layout(), addr
	return nil
}

// readFailure turns a failed read during attach into a user-facing error.
func (p *Process) readFailure(err error) error {
	if isFatal(err) {
		return err
	}
	return fmt.Errorf("process %d: reading the Python runtime: %w", p.pid, err)
}

// isAsyncioCandidate reports files that may carry the .AsyncioDebug section: the interpreter
// executable or libpython (where _asyncio is built in, as in 3.15) and the _asyncio extension.
func isAsyncioCandidate(path string) bool {
	return isPythonFile(path) || containsBase(path, "_asyncio")
}

// locateAsyncio finds and validates the .AsyncioDebug table. It is absent until the target
// imports asyncio when _asyncio is an extension module, so a miss is not an error here.
func (p *Process) locateAsyncio(files []*mappedFile, images *imageSet) {
	for _, f := range files {
		if !isAsyncioCandidate(f.Path) {
			continue
		}
		img, err := images.get(f)
		if err != nil {
			continue
		}
		sec, addr, ok := img.sectionAddr(".AsyncioDebug", f.Mappings)
		if !ok || sec.Size < cpython.AsyncioOffsetsSize {
			continue
		}
		buf := make([]byte, cpython.AsyncioOffsetsSize)
		if err := p.mem.ReadAt(buf, addr); err != nil {
			continue
		}
		// The table must describe this interpreter (a second libpython loaded by ctypes
		// carries its own).
		a, err := cpython.ParseAsyncioOffsets(buf, p.offsets)
		if err != nil {
			continue
		}
		p.asyncio, p.asyncioAddr = a, addr
		return
	}
}

// ensureAsyncio looks for the asyncio table again if the target had not loaded it yet.
func (p *Process) ensureAsyncio() error {
	if p.asyncio != nil {
		return nil
	}
	maps, err := p.proc.readMaps()
	if err != nil {
		var nf *ProcessNotFoundError
		if errors.As(err, &nf) {
			return &ProcessGoneError{PID: p.pid}
		}
		return err
	}
	images := imageSet{proc: p.proc}
	defer images.closeAll()
	p.locateAsyncio(mappedFiles(maps), &images)
	if p.asyncio == nil {
		// A process on its way out loses its mappings first: the table is gone with them.
		if p.proc.exiting() {
			return &ProcessGoneError{PID: p.pid}
		}
		return &AsyncioNotLoadedError{PID: p.pid, Version: p.PythonVersion()}
	}
	return nil
}

// Snapshot reads the process's threads and asyncio tasks. A read that meets a target changing
// under it is retried up to Options.Retries times before failing with *TargetChangedError.
func (p *Process) Snapshot() (*snapshot.Snapshot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ensureAsyncio(); err != nil {
		return nil, err
	}
	attempts := max(p.opts.Retries, 0) + 1
	var last error
	// A retry starts from one quick copy of everything the failed attempt read (see prefetch).
	var prefetch []uint64
	for i := 0; i < attempts; i++ {
		s, used, err := p.walk(prefetch)
		if err == nil {
			return s, nil
		}
		if !retryable(err) {
			return nil, err
		}
		last, prefetch = err, used
	}
	// A process that exited mid-read shows up as failed reads; say so rather than "changed".
	if p.proc.exiting() {
		return nil, &ProcessGoneError{PID: p.pid}
	}
	return nil, &TargetChangedError{PID: p.pid, Attempts: attempts, Last: last}
}
