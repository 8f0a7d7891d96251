package lsp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aioscope/aioscope/internal/srcpath"
	"github.com/aioscope/aioscope/snapshot"
)

// Finding is a problem found about the target over time — a task stuck at one await for long, an
// event loop blocked — shown as a warning where it is. The server finds none by itself; a watcher
// that follows tasks over time supplies them through Config.Findings.
type Finding struct {
	Frame   snapshot.Frame // where it is shown
	Message string
	Code    string // a short name of the kind of finding, e.g. "stuck-task"
}

// maxCycleMembers bounds the members of one cycle that are named in a message.
const maxCycleMembers = 8

// cycleProblems turns the snapshot's await cycles into problems: an error at the line where each
// member waits, pointing at the other members.
func cycleProblems(snap *snapshot.Snapshot, paths *srcpath.Resolver) []problem {
	if len(snap.Cycles) == 0 {
		return nil
	}
	index := map[uint64]int{}
	for _, c := range snap.Cycles {
		for _, id := range c {
			index[id] = -1
		}
	}
	for i := range snap.Tasks {
		if _, ok := index[snap.Tasks[i].ID]; ok {
			index[snap.Tasks[i].ID] = i
		}
	}
	name := func(id uint64) string {
		if i := index[id]; i >= 0 {
			return taskName(&snap.Tasks[i])
		}
		return pyHex(id)
	}
	var out []problem
	for _, c := range snap.Cycles {
		if len(c) < 2 {
			continue
		}
		members := c[:len(c)-1] // the list ends with its first id again
		// Cycles are listed as pstree lists them: each task is followed by the one it awaits.
		var arrows []string
		for _, id := range c {
			arrows = append(arrows, name(id))
		}
		notation := strings.Join(arrows, " → ")
		p := problem{severity: severityError, code: "await-cycle"}
		for k, id := range members {
			i := index[id]
			if i < 0 {
				continue
			}
			f, _, ok := waitFrame(&snap.Tasks[i])
			if !ok {
				continue
			}
			p.at = append(p.at, problemPlace{
				path:    paths.Local(f.File),
				frame:   f,
				message: cycleMessage(members, k, name) + " (cycle " + notation + ")",
				related: fmt.Sprintf("task %s waits here", name(id)),
			})
		}
		if len(p.at) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// cycleMessage says what member k of a cycle waits for, around the cycle back to itself.
func cycleMessage(members []uint64, k int, name func(uint64) string) string {
	n := len(members)
	var b strings.Builder
	fmt.Fprintf(&b, "await cycle: task %s waits for %s", name(members[k]), name(members[(k+1)%n]))
	for step := 2; step <= n; step++ {
		if step > maxCycleMembers {
			fmt.Fprintf(&b, ", … (%d tasks in all)", n)
			break
		}
		fmt.Fprintf(&b, ", which waits for %s", name(members[(k+step)%n]))
	}
	b.WriteString(": none of them can finish")
	return b.String()
}

// findingProblems places the findings supplied from outside.
func findingProblems(findings []Finding, paths *srcpath.Resolver) []problem {
	var out []problem
	for _, f := range findings {
		if !f.Frame.HasLine || f.Frame.Line <= 0 || !srcpath.IsFileName(f.Frame.File) || f.Message == "" {
			continue
		}
		out = append(out, problem{severity: severityWarning, code: f.Code, at: []problemPlace{{
			path: paths.Local(f.Frame.File), frame: f.Frame, message: f.Message,
		}}})
	}
	return out
}

// pyHex formats an object id as Python's hex() does.
func pyHex(id uint64) string { return "0x" + strconv.FormatUint(id, 16) }
