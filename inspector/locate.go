package inspector

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/aioscope/aioscope/cpython"
	"github.com/aioscope/aioscope/internal/procfs"
)

// procFS reads the /proc entries of one process. Files named in /proc/PID/maps are opened
// through /proc/PID/root, so a target in another mount namespace (a container) is read from
// its own file system, and through /proc/PID/map_files when the file was deleted or replaced.
type procFS struct {
	pid  int
	root string // normally "/proc"
}

func (p procFS) path(elem ...string) string {
	return filepath.Join(append([]string{p.root, fmt.Sprint(p.pid)}, elem...)...)
}

// readMaps returns the target's memory map.
func (p procFS) readMaps() ([]Mapping, error) {
	data, err := os.ReadFile(p.path("maps"))
	if err != nil {
		return nil, p.classify(err)
	}
	return ParseMaps(data), nil
}

// classify turns a /proc access error into one of the inspector's user-facing errors.
func (p procFS) classify(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ESRCH):
		return &ProcessNotFoundError{PID: p.pid}
	case errors.Is(err, fs.ErrPermission):
		return &PermissionError{PID: p.pid, Err: err}
	}
	return err
}

// stat reads /proc/PID/stat.
func (p procFS) stat() (procfs.Stat, error) {
	s, err := procfs.ReadStat(p.root, p.pid)
	if err != nil {
		return s, p.classify(err)
	}
	return s, nil
}

// exiting reports whether the process is gone, a zombie, or on its way out. A read that fails,
// or a memory map that looks empty, means "process gone" rather than "not Python" when this holds.
func (p procFS) exiting() bool {
	s, err := procfs.ReadStat(p.root, p.pid)
	return err != nil || s.Exiting()
}

// exe returns the target's executable path as the target sees it, or "".
func (p procFS) exe() string {
	s, _ := os.Readlink(p.path("exe"))
	return s
}

// openImage opens and parses a mapped ELF file.
func (p procFS) openImage(f *mappedFile) (*elfImage, error) {
	var candidates []string
	if !f.Deleted {
		candidates = append(candidates, p.path("root", f.Path))
	}
	for _, m := range f.Mappings {
		candidates = append(candidates, p.path("map_files", fmt.Sprintf("%x-%x", m.Start, m.End)))
		break
	}
	var firstErr error
	for _, name := range candidates {
		fh, err := os.Open(name)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		// The file must be the one that is mapped: a replaced file has another inode.
		if st, err := fh.Stat(); err == nil {
			if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Ino != f.Inode {
				fh.Close()
				if firstErr == nil {
					firstErr = fmt.Errorf("%s was replaced after it was mapped", f.Path)
				}
				continue
			}
		}
		img, err := readELFImage(fh)
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		// debug/elf reads lazily; the file stays open for the process's lifetime.
		img.closer = fh
		return img, nil
	}
	return nil, fmt.Errorf("%w: %s: %v", errNotOpenable, f.Path, firstErr)
}

// isPythonFile reports whether a mapped file's base name suggests a CPython image, the same
// test CPython's own tools apply ("python" matches python3.14, libpython3.14.so.1.0 and every
// *.cpython-314-*.so extension).
func isPythonFile(path string) bool {
	return strings.Contains(filepath.Base(path), "python")
}

// isExecutableImage reports whether any mapping of the file is executable.
func isExecutableImage(f *mappedFile) bool {
	for _, m := range f.Mappings {
		if len(m.Perms) > 2 && m.Perms[2] == 'x' {
			return true
		}
	}
	return false
}

// cookieScanChunk is the unit of the fallback scan for the debug cookie in a deleted image.
const cookieScanChunk = 1 << 20

// scanForCookie searches the writable mappings of a file for the _Py_DebugOffsets cookie. It is
// the last resort for an image whose file can no longer be opened: _PyRuntime is statically
// initialised and lives in the image's writable data.
func scanForCookie(mem Memory, f *mappedFile, valid func(addr uint64) bool) uint64 {
	cookie := []byte(cpython.Cookie)
	buf := make([]byte, cookieScanChunk+len(cookie)-1)
	for _, m := range f.Mappings {
		if len(m.Perms) < 2 || m.Perms[0] != 'r' || m.Perms[1] != 'w' {
			continue
		}
		for start := m.Start; start < m.End; start += cookieScanChunk {
			n := min(uint64(len(buf)), m.End-start)
			chunk := buf[:n]
			if err := mem.ReadAt(chunk, start); err != nil {
				continue
			}
			for off := 0; ; {
				i := bytes.Index(chunk[off:], cookie)
				if i < 0 {
					break
				}
				addr := start + uint64(off+i)
				// _Py_DebugOffsets is the first member of an 8-byte aligned struct.
				if addr%8 == 0 && valid(addr) {
					return addr
				}
				off += i + 1
			}
		}
	}
	return 0
}

func containsBase(path, sub string) bool { return strings.Contains(filepath.Base(path), sub) }
