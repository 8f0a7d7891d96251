// Package srcpath maps the file names found in a target's code objects to files a client on this
// machine can open: the same path, the same file seen through /proc/PID/root when the target lives
// in another mount namespace (a container, a chroot), or a path rewritten by the user's mappings
// for a program deployed from elsewhere (debugpy's pathMappings). The debug adapter and the
// language server both present frames this way.
package srcpath

import (
	"bytes"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unicode/utf16"
	"unicode/utf8"
)

// Mapping says that files under RemoteRoot, as the target names them, are the files under
// LocalRoot here.
type Mapping struct {
	LocalRoot  string
	RemoteRoot string
}

// Resolver maps one target's file names. Results are cached: a snapshot of many tasks names the
// same few files over and over, and each miss costs a stat or two. It is safe for concurrent use.
type Resolver struct {
	pid      int
	mappings []Mapping // cleaned, the longest RemoteRoot first

	mu        sync.Mutex
	cache     map[string]string
	rootKnown bool
	otherRoot bool // the target's root directory is not ours
	lines     map[string]*fileLines
}

// maxResolvedFiles bounds the path cache; a target that execs generated code under ever new
// names must not grow it without limit.
const maxResolvedFiles = 1 << 14

// New returns a Resolver for the files of process pid. Mappings with a relative or empty root
// are ignored.
func New(pid int, mappings ...Mapping) *Resolver {
	r := &Resolver{pid: pid, cache: make(map[string]string)}
	for _, m := range mappings {
		if !path.IsAbs(m.RemoteRoot) || !filepath.IsAbs(m.LocalRoot) {
			continue
		}
		r.mappings = append(r.mappings, Mapping{LocalRoot: filepath.Clean(m.LocalRoot), RemoteRoot: path.Clean(m.RemoteRoot)})
	}
	sort.SliceStable(r.mappings, func(i, j int) bool { return len(r.mappings[i].RemoteRoot) > len(r.mappings[j].RemoteRoot) })
	return r
}

// IsFileName reports whether a code object's file name names a file at all: an absolute path,
// not <frozen importlib._bootstrap>, <string>, <stdin> or a name relative to a working directory
// the client does not know.
func IsFileName(file string) bool {
	return strings.HasPrefix(file, "/") && !strings.ContainsRune(file, 0)
}

// Local returns where a client on this machine can open file, the name a target's code object
// gives its file: "" when it names no file (see IsFileName). A mapped path is preferred when it
// exists; then the target's own file seen through /proc/PID/root when the target has another
// root directory; then the same path. When none of them exists, the mapped path or else the
// cleaned name is returned, for the client to show.
func (r *Resolver) Local(file string) string {
	if !IsFileName(file) {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.cache[file]; ok {
		return p
	}
	p := r.localLocked(file)
	if len(r.cache) >= maxResolvedFiles {
		clear(r.cache)
	}
	r.cache[file] = p
	return p
}

func (r *Resolver) localLocked(file string) string {
	clean := path.Clean(file)
	mapped := ""
	for _, m := range r.mappings {
		if rel, ok := under(clean, m.RemoteRoot); ok {
			mapped = filepath.Join(m.LocalRoot, filepath.FromSlash(rel))
			break
		}
	}
	if mapped != "" && exists(mapped) {
		return mapped
	}
	inRoot := filepath.Join("/proc", strconv.Itoa(r.pid), "root", clean)
	if r.targetHasOtherRoot() {
		// The same name can be a different file here (the host's Python next to a container's):
		// prefer the target's own file when it can be reached.
		if exists(inRoot) {
			return inRoot
		}
	} else if !exists(clean) && exists(inRoot) {
		return inRoot
	}
	if mapped != "" && !exists(clean) {
		return mapped
	}
	return clean
}

// under reports whether p lies under the directory root, and its path relative to it.
func under(p, root string) (string, bool) {
	if root == "/" {
		return strings.TrimPrefix(p, "/"), true
	}
	if p == root {
		return "", true
	}
	if rest, ok := strings.CutPrefix(p, root); ok && strings.HasPrefix(rest, "/") {
		return rest[1:], true
	}
	return "", false
}

// targetHasOtherRoot reports whether the target sees a different root directory than this
// process does. Unknown counts as the same root. Callers hold r.mu.
func (r *Resolver) targetHasOtherRoot() bool {
	if r.rootKnown {
		return r.otherRoot
	}
	r.rootKnown = true
	var ours, theirs syscall.Stat_t
	if syscall.Stat("/", &ours) != nil ||
		syscall.Stat(filepath.Join("/proc", strconv.Itoa(r.pid), "root"), &theirs) != nil {
		return false
	}
	r.otherRoot = ours.Dev != theirs.Dev || ours.Ino != theirs.Ino
	return r.otherRoot
}

func exists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// fileLines is the text of one source file split into lines, for column conversion.
type fileLines struct {
	data  []byte
	start []int // byte offset of each line; line n (1-based) starts at start[n-1]
}

// maxSourceFile and maxCachedSources bound what column conversion may read and keep.
const (
	maxSourceFile    = 4 << 20
	maxCachedSources = 64
)

// UTF16Column converts a 0-based byte offset into line (1-based) of the file at p into a 0-based
// offset in UTF-16 code units, which is how editors' protocols measure columns. ok is false when
// the file cannot be read or does not match the offset (it changed since the code was loaded);
// the caller then uses the byte offset.
func (r *Resolver) UTF16Column(p string, line, byteCol int) (int, bool) {
	if p == "" || line <= 0 || byteCol < 0 {
		return 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lines == nil {
		r.lines = make(map[string]*fileLines)
	}
	fl, ok := r.lines[p]
	if !ok {
		fl = readFileLines(p)
		if len(r.lines) >= maxCachedSources {
			clear(r.lines)
		}
		r.lines[p] = fl // nil too, so an unreadable file is tried once
	}
	if fl == nil || line > len(fl.start) {
		return 0, false
	}
	text := fl.data[fl.start[line-1]:]
	if i := bytes.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	return UTF16Offset(text, byteCol)
}

// UTF16Offset converts a byte offset into one line of text into UTF-16 code units. ok is false
// when the offset lies beyond the line or inside a character, or the text before it is not UTF-8.
func UTF16Offset(text []byte, byteCol int) (int, bool) {
	if byteCol < 0 || byteCol > len(text) {
		return 0, false
	}
	prefix := text[:byteCol]
	if !utf8.Valid(prefix) || (byteCol < len(text) && !utf8.RuneStart(text[byteCol])) {
		return 0, false
	}
	n := 0
	for _, c := range string(prefix) {
		n += utf16.RuneLen(c)
	}
	return n, true
}

// readFileLines reads a source file for column conversion. The name comes from the target, so
// anything but a plain, non-empty, not too large file is left alone: a FIFO or a /proc file
// (regular, size 0, possibly blocking) must not stall the caller.
func readFileLines(p string) *fileLines {
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	// O_NONBLOCK: should the name have become a FIFO since, opening it does not wait for a writer.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > maxSourceFile {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(f, fi.Size()))
	if err != nil {
		return nil
	}
	fl := &fileLines{data: data, start: []int{0}}
	for i, b := range data {
		if b == '\n' && i+1 < len(data) {
			fl.start = append(fl.start, i+1)
		}
	}
	return fl
}
