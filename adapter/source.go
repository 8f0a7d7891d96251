package adapter

import (
	"bytes"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aioscope/aioscope/internal/jsonenc"
	"github.com/aioscope/aioscope/snapshot"
)

// sourceInfo is how a frame's file is presented to the client.
type sourceInfo struct {
	// path is where the client can open the file: the file as the target names it, or the same
	// file seen through /proc/PID/root when the target lives in another mount namespace. Empty
	// for names that are not files (<frozen ...>, <string>, relative names).
	path string
	name string // the base name shown by clients
	// hint is the source's presentationHint: "deemphasize" for names that are not files.
	hint string
	// stdlibAsyncio marks files of the standard library's asyncio package, whose frames are
	// the event loop's machinery rather than the user's code (snapshot.IsStdlibAsyncio): stack
	// traces dim them, the awaitGraph marks them "internal".
	stdlibAsyncio bool
	// graphPath is the JSON string the awaitGraph event shows for the file: path, or the name
	// the target uses when it is not a file. Encoded once per file, as a large graph repeats
	// the same few files thousands of times.
	graphPath []byte
}

// sourceResolver maps the file names found in a target's code objects to paths a client on
// this machine can open. Results are cached: a snapshot of many tasks names the same few files
// over and over, and each miss costs a stat or two.
type sourceResolver struct {
	pid int

	mu        sync.Mutex
	cache     map[string]sourceInfo
	rootKnown bool
	otherRoot bool // the target's root directory is not ours (a container, a chroot)
	lines     map[string]*fileLines
}

// maxResolvedFiles bounds the path cache; a target that execs generated code under ever new
// names must not grow it without limit.
const maxResolvedFiles = 1 << 14

func newSourceResolver(pid int) *sourceResolver {
	return &sourceResolver{pid: pid, cache: make(map[string]sourceInfo)}
}

func (r *sourceResolver) resolve(file string) sourceInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	if info, ok := r.cache[file]; ok {
		return info
	}
	info := r.resolveLocked(file)
	if info.path != "" {
		info.graphPath = jsonenc.AppendString(nil, info.path)
	} else {
		info.graphPath = jsonenc.AppendString(nil, file)
	}
	if len(r.cache) >= maxResolvedFiles {
		clear(r.cache)
	}
	r.cache[file] = info
	return info
}

func (r *sourceResolver) resolveLocked(file string) sourceInfo {
	if file == "" || file == "~" {
		return sourceInfo{name: "<unknown>", hint: "deemphasize"}
	}
	if !strings.HasPrefix(file, "/") || strings.ContainsRune(file, 0) {
		// <frozen importlib._bootstrap>, <string>, <stdin> or a name relative to a working
		// directory the client does not know: nothing a client could open.
		return sourceInfo{name: file, hint: "deemphasize"}
	}
	clean := path.Clean(file)
	info := sourceInfo{
		path:          clean,
		name:          path.Base(clean),
		stdlibAsyncio: snapshot.IsStdlibAsyncio(file),
	}
	inRoot := filepath.Join("/proc", strconv.Itoa(r.pid), "root", clean)
	if r.targetHasOtherRoot() {
		// The same name can be a different file here (the host's Python next to a container's):
		// prefer the target's own file when it can be reached.
		if exists(inRoot) {
			info.path = inRoot
		}
	} else if !exists(clean) && exists(inRoot) {
		info.path = inRoot
	}
	return info
}

// targetHasOtherRoot reports whether the target sees a different root directory than this
// process does. Unknown counts as the same root.
func (r *sourceResolver) targetHasOtherRoot() bool {
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

// utf16Column converts a 0-based byte offset into line (1-based) of the file at p into a 0-based
// offset in UTF-16 code units, which is how the protocol measures columns. ok is false when the
// file cannot be read or does not match the offset (it changed since the code was loaded); the
// caller then uses the byte offset.
func (r *sourceResolver) utf16Column(p string, line, byteCol int) (int, bool) {
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
	if byteCol > len(text) {
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
// (regular, size 0, possibly blocking) must not stall the session.
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

// fileURI turns an absolute path into a file: URI, for clients that asked for pathFormat "uri".
func fileURI(p string) string {
	u := url.URL{Scheme: "file", Path: p}
	return u.String()
}
