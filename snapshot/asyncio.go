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
