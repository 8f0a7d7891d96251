package adapter

import (
	"net/url"
	"path"
	"sync"

	"github.com/aioscope/aioscope/internal/jsonenc"
	"github.com/aioscope/aioscope/internal/srcpath"
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
	// library marks files of the standard library and of installed packages
	// (snapshot.IsLibrary): stack traces dim their frames, so that clients put the program's own
	// code first.
	library bool
	// graphPath is the JSON string the awaitGraph event shows for the file: path, or the name
	// the target uses when it is not a file. Encoded once per file, as a large graph repeats
	// the same few files thousands of times.
	graphPath []byte
}

// sourceResolver maps the file names found in a target's code objects to paths a client on this
// machine can open (package srcpath). Results are cached: a snapshot of many tasks names the
// same few files over and over.
type sourceResolver struct {
	paths *srcpath.Resolver

	mu    sync.Mutex
	cache map[string]sourceInfo
}

// maxResolvedFiles bounds the path cache; a target that execs generated code under ever new
// names must not grow it without limit.
const maxResolvedFiles = 1 << 14

func newSourceResolver(pid int) *sourceResolver {
	return &sourceResolver{paths: srcpath.New(pid), cache: make(map[string]sourceInfo)}
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
	if !srcpath.IsFileName(file) {
		// <frozen importlib._bootstrap>, <string>, <stdin> or a name relative to a working
		// directory the client does not know: nothing a client could open.
		return sourceInfo{name: file, hint: "deemphasize"}
	}
	return sourceInfo{
		path:          r.paths.Local(file),
		name:          path.Base(path.Clean(file)),
		stdlibAsyncio: snapshot.IsStdlibAsyncio(file),
		library:       snapshot.IsLibrary(file),
	}
}

// utf16Column converts a 0-based byte offset into line (1-based) of the file at p into a 0-based
// offset in UTF-16 code units, which is how the protocol measures columns (srcpath.UTF16Column).
func (r *sourceResolver) utf16Column(p string, line, byteCol int) (int, bool) {
	return r.paths.UTF16Column(p, line, byteCol)
}

// fileURI turns an absolute path into a file: URI, for clients that asked for pathFormat "uri".
func fileURI(p string) string {
	u := url.URL{Scheme: "file", Path: p}
	return u.String()
}
