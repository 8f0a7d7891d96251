package lsp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aioscope/aioscope/internal/srcpath"
	"github.com/aioscope/aioscope/internal/waittext"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/tracking"
)

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

// stuckProblems turns the stuck tasks into warnings, one per line where they wait.
func stuckProblems(snap *snapshot.Snapshot, paths *srcpath.Resolver, stuck []tracking.Wait) []problem {
	type place struct {
		file string
		line int
	}
	var order []place
	byPlace := map[place]*stuckPlace{}
	for i := range stuck {
		w := &stuck[i]
		f, _, ok := waitFrameOf(w.Frames)
		if !ok {
			continue
		}
		k := place{f.File, f.Line}
		sp := byPlace[k]
		if sp == nil {
			sp = &stuckPlace{frame: f}
			byPlace[k] = sp
			order = append(order, k)
		}
		sp.waits = append(sp.waits, w) // longest first, as Stuck orders them
	}
	out := make([]problem, 0, len(order))
	for _, k := range order {
		sp := byPlace[k]
		out = append(out, problem{severity: severityWarning, code: "stuck-task", at: []problemPlace{{
			path: paths.Local(sp.frame.File), frame: sp.frame, message: sp.message(),
		}}})
	}
	return out
}

// stuckPlace is the stuck tasks waiting at one line.
type stuckPlace struct {
	frame snapshot.Frame
	waits []*tracking.Wait
}

func (sp *stuckPlace) message() string {
	longest := sp.waits[0]
	age := waittext.Duration(longest.Age())
	if longest.AtLeast() {
		age = "≥ " + age
	}
	if len(sp.waits) == 1 {
		return fmt.Sprintf("stuck: task %s has waited here for %s and awaits no other task", nameOf(longest.Task), age)
	}
	var names []string
	for k, w := range sp.waits {
		if k == namesInLens {
			names = append(names, "…")
			break
		}
		names = append(names, nameOf(w.Task))
	}
	return fmt.Sprintf("stuck: %d tasks have waited here for up to %s and await no other task: %s", len(sp.waits), age, strings.Join(names, ", "))
}

func nameOf(k tracking.TaskKey) string {
	if k.Name != "" {
		return clipName(k.Name)
	}
	return pyHex(k.ID)
}

// blockProblems turns the blocked event loops into warnings where they block.
func blockProblems(paths *srcpath.Resolver, obs *observed) []problem {
	var out []problem
	for i := range obs.blocks {
		b := &obs.blocks[i]
		f := b.Site
		if !f.HasLine || f.Line <= 0 || !srcpath.IsFileName(f.File) {
			continue
		}
		out = append(out, problem{severity: severityWarning, code: "loop-blocked", at: []problemPlace{{
			path: paths.Local(f.File), frame: f, message: b.message(),
		}}})
	}
	return out
}

func (b *shownBlock) message() string {
	who := fmt.Sprintf("thread %d", b.TID)
	switch {
	case b.taskName != "":
		who += ", task " + clipName(b.taskName)
	case b.Task != 0:
		who += ", task " + pyHex(b.Task)
	}
	d := waittext.Seconds(b.Duration.Seconds())
	switch {
	case b.ongoing:
		return fmt.Sprintf("event loop blocked here for %s so far (%s): nothing else on this loop runs meanwhile", d, who)
	case b.count <= 1:
		return fmt.Sprintf("event loop blocked here for %s at %s (%s)", d, b.last.Local().Format("15:04:05"), who)
	default:
		return fmt.Sprintf("event loop blocked here %d times, for up to %s, the last at %s (thread %d)", b.count, d, b.last.Local().Format("15:04:05"), b.TID)
	}
}

// pyHex formats an object id as Python's hex() does.
func pyHex(id uint64) string { return "0x" + strconv.FormatUint(id, 16) }
