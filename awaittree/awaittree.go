// Package awaittree turns the asyncio tasks of a snapshot into the table printed by
// `python -m asyncio ps` and the tree printed by `python -m asyncio pstree`, byte for byte as
// CPython 3.14 and 3.15 print them (Lib/asyncio/tools.py: _index, build_task_table,
// build_async_tree, _find_cycles and the display functions).
//
// The behaviour of tools.py is reproduced including its quirks: coroutine frames are merged by
// their formatted text, a task awaited by something that is not a task of the snapshot vanishes
// from the tree together with everything below it, and await cycles are reported in the order
// CPython's DFS over its int sets finds them. Everything here is iterative, so very deep await
// chains do not exhaust the goroutine stack (CPython itself gives up with a RecursionError).
package awaittree

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aioscope/aioscope/snapshot"
)

// FormatFrame formats one frame the way tools.py's _format_stack_entry does.
func FormatFrame(f snapshot.Frame) string {
	if !f.HasLine {
		if f.File == "" || f.File == "~" {
			return f.Function
		}
		return f.Function + " " + f.File
	}
	if f.Line == 0 && f.File == "" {
		return f.Function
	}
	return f.Function + " " + f.File + ":" + strconv.Itoa(f.Line)
}

// FormatFrameArgs formats a frame as FormatFrame does, with the arguments of the call after
// the function's name: "crawl(site='https://example.com', depth=2) /app/crawler.py:12". An
// argument's repr longer than MaxArgRepr characters keeps its start and end around "...", as
// reprlib shortens strings; an argument that could not be read shows as name=?, and a frame
// whose variables could not be read as crawl(?).
func FormatFrameArgs(f snapshot.Frame, locals *snapshot.FrameLocals) string {
	if locals == nil {
		return FormatFrame(f)
	}
	var b strings.Builder
	b.WriteString(f.Function)
	b.WriteByte('(')
	if locals.Err != "" {
		b.WriteByte('?')
	}
	n := 0
	for _, v := range locals.Vars {
		if v.Kind != "argument" {
			continue
		}
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		b.WriteString(v.Name)
		b.WriteByte('=')
		if v.Err != "" {
			b.WriteByte('?')
		} else {
			b.WriteString(ShortRepr(v.Repr, MaxArgRepr))
		}
	}
	b.WriteByte(')')
	f.Function = b.String()
	return FormatFrame(f)
}

// MaxArgRepr is how many characters of an argument's repr FormatFrameArgs shows.
const MaxArgRepr = 40

// ShortRepr returns repr when it has at most max characters, and otherwise its first and last
// characters around "..." (max in all), as reprlib shortens a long string.
func ShortRepr(repr string, max int) string {
	if utf8.RuneCountInString(repr) <= max {
		return repr
	}
	r := []rune(repr)
	i := (max - 3) / 2
	j := max - 3 - i
	return string(r[:i]) + "..." + string(r[len(r)-j:])
}

// pyHex is Python's hex() of a non-negative int.
func pyHex(v uint64) string {
	return "0x" + strconv.FormatUint(v, 16)
}

// names is tools.py's id2name: a dict keeps the position of a key's first insertion while a later
// assignment replaces its value.
type names struct {
	order []uint64
	name  map[uint64]string
}

func indexNames(tasks []snapshot.Task) names {
	n := names{name: make(map[uint64]string, len(tasks))}
	for i := range tasks {
		t := &tasks[i]
		if _, seen := n.name[t.ID]; !seen {
			n.order = append(n.order, t.ID)
		}
		n.name[t.ID] = t.Name
	}
	return n
}

// await is one (parent_id, stack, child_id) entry of tools.py's awaits list; the stack is kept
// as frames and formatted when the tree is built.
type await struct {
	parent uint64
	frames []snapshot.Frame // innermost first
	child  uint64
}

func indexAwaits(tasks []snapshot.Task) []await {
	n := 0
	for i := range tasks {
		n += len(tasks[i].AwaitedBy)
	}
	out := make([]await, 0, n)
	for i := range tasks {
		t := &tasks[i]
		for j := range t.AwaitedBy {
			a := &t.AwaitedBy[j]
			out = append(out, await{parent: a.ID, frames: a.Frames, child: t.ID})
		}
	}
	return out
}
