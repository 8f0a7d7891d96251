package snapshot

import (
	"path"
	"regexp"
	"strings"
)

// stdlibAsyncioDir matches the directory of the standard library's asyncio package in an
// installed CPython (lib/python3.14/asyncio/, lib/python3.15t/asyncio/) or a source build
// (Lib/asyncio/), so that a project's own package named asyncio is not mistaken for it.
var stdlibAsyncioDir = regexp.MustCompile(`(^|/)(python3\.[0-9]+t?|Lib)/asyncio/`)

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
	return stdlibAsyncioDir.MatchString(path.Clean(file))
}

// libraryDir matches the directories of code that comes with Python or is installed into it: an
// installed CPython's standard library (lib/python3.14/, lib/python3.15t/), a source build's
// (Lib/), and packages installed from elsewhere (site-packages/, dist-packages/, which a virtual
// environment keeps under its own lib/python3.X/).
var libraryDir = regexp.MustCompile(`(^|/)(lib/python3(\.[0-9]+t?)?|Lib|site-packages|dist-packages)/`)

// IsLibrary reports whether file, a code object's file name as the target stores it, is a module
// of the standard library or of an installed package rather than of the program itself: where a
// debugger should not put the user first. The standard library's asyncio package is library code
// too (see IsStdlibAsyncio). Names that are not absolute paths are not.
func IsLibrary(file string) bool {
	if !strings.HasPrefix(file, "/") || strings.ContainsRune(file, 0) {
		return false
	}
	return libraryDir.MatchString(path.Clean(file))
}
