package snapshot

import (
	"path"
	"strings"
)

// IsStdlib reports whether file, a code object's file name as the target stores it
// (Frame.File), is a module of Python's standard library — of an installed CPython
// (lib/python3.14/, lib/python3.15t/) or of a source build (Lib/), not an installed package
// below it (site-packages) — or code the interpreter freezes into itself (<frozen ...>).
func IsStdlib(file string) bool {
	if strings.HasPrefix(file, "<frozen ") {
		return true
	}
	if !strings.HasPrefix(file, "/") || strings.ContainsRune(file, 0) || isThirdParty(file) {
		return false
	}
	p := path.Clean(file)
	for i := 0; i < len(p); {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			return false
		}
		if dir := p[i : i+j]; dir == "Lib" || isPythonLibDir(dir) {
			return true
		}
		i += j + 1
	}
	return false
}

// IsStdlibAsyncio reports whether file, a code object's file name as the target stores it
// (Frame.File), is a module of the standard library's asyncio package: frames of the event
// loop's machinery rather than of the program. Names that are not absolute paths (<frozen ...>,
// <string>, names relative to an unknown directory) are not.
//
// This is the one place that decides it: the debug adapter dims these frames in stack traces and
// marks them in the awaitGraph it sends, which is how the VS Code extension knows them.
func IsStdlibAsyncio(file string) bool {
	if !strings.HasPrefix(file, "/") || strings.ContainsRune(file, 0) {
		return false
	}
	// The asyncio directory right below the library's, so that a project's own package named
	// asyncio is not mistaken for it.
	p := path.Clean(file)
	for {
		i := strings.Index(p, "/asyncio/")
		if i < 0 {
			return false
		}
		if dir := p[strings.LastIndexByte(p[:i], '/')+1 : i]; dir == "Lib" || isPythonLibDir(dir) {
			return true
		}
		p = p[i+1:]
	}
}

// isPythonLibDir reports whether dir is named like an installed CPython's library directory:
// python3.N, or python3.Nt for a free-threaded build.
func isPythonLibDir(dir string) bool {
	v, ok := strings.CutPrefix(dir, "python3.")
	v = strings.TrimSuffix(v, "t")
	if !ok || v == "" {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IsLibrary reports whether file is code that comes with Python or is installed into it — the
// standard library's (IsStdlib) or an installed package's — rather than the program's own: where
// a debugger should not put the user first.
func IsLibrary(file string) bool {
	return IsStdlib(file) || isThirdParty(file)
}

// isThirdParty reports whether file is an installed package's module rather than the program's.
func isThirdParty(file string) bool {
	return strings.Contains(file, "/site-packages/") || strings.Contains(file, "/dist-packages/")
}

// UserFrame returns the index in frames (innermost first) of the innermost frame of the program
// itself: not the standard library's, and not an installed package's. Without one it is the
// innermost installed package's frame, and without that 0; -1 when frames is empty.
func UserFrame(frames []Frame) int {
	if len(frames) == 0 {
		return -1
	}
	lib := -1
	for i, f := range frames {
		if IsStdlib(f.File) {
			continue
		}
		if !isThirdParty(f.File) {
			return i
		}
		if lib < 0 {
			lib = i
		}
	}
	return max(lib, 0)
}
