package awaittree

import (
	"strings"
)

// CycleError reports await cycles, which make `pstree` refuse to print a tree.
type CycleError struct {
	// Cycles are the cycles in the order CPython finds them; each starts and ends with the same
	// task id, e.g. [B A B].
	Cycles [][]uint64
	// Names maps task ids to task names (the last name listed for an id).
	Names map[uint64]string
}

// Error returns the same text as Format, so that printing the error reproduces CPython's output.
func (e *CycleError) Error() string {
	return e.Format()
}

// Format returns exactly what `python -m asyncio pstree` writes to stderr for these cycles
// (tools.py's _print_cycle_exception), trailing newline included:
//
//	ERROR: await-graph contains cycles - cannot print a tree!
//
//	cycle: B → A → B
func (e *CycleError) Format() string {
	var b strings.Builder
	b.WriteString("ERROR: await-graph contains cycles - cannot print a tree!\n\n")
	for _, c := range e.Cycles {
		b.WriteString("cycle: ")
		for i, id := range c {
			if i > 0 {
				b.WriteString(" → ")
			}
			if name, ok := e.Names[id]; ok {
				b.WriteString(name)
			} else {
				b.WriteString(pyHex(id))
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
