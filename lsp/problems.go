package lsp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aioscope/aioscope/internal/srcpath"
	"github.com/aioscope/aioscope/internal/waittext"
	"github.com/aioscope/aioscope/snapshot"
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

// stuckProblems turns the stuck tasks into warnings, one per line where they wait; waits are the
// tasks' waits by index (nil: none known).
func stuckProblems(snap *snapshot.Snapshot, paths *srcpath.Resolver, waits []wait) []problem {
	type place struct {
		file string
		line int
	}
	var order []place
	byPlace := map[place]*stuckPlace{}
	// Tasks waiting in the same chain share its frames: each chain's place is found once.
	type chainPlace struct {
		f  snapshot.Frame
		ok bool
	}
	chains := map[snapshot.FramesKey]chainPlace{}
	for i := range waits {
		if !waits[i].stuck {
			continue
		}
		t := &snap.Tasks[i]
		k := snapshot.KeyOf(t.Frames)
		cp, seen := chains[k]
		if !seen {
			cp.f, _, cp.ok = waitFrameOf(t.Frames)
			chains[k] = cp
		}
		if !cp.ok {
			continue
		}
		pk := place{cp.f.File, cp.f.Line}
		sp := byPlace[pk]
		if sp == nil {
			sp = &stuckPlace{frame: cp.f}
			byPlace[pk] = sp
			order = append(order, pk)
		}
		sp.tasks = append(sp.tasks, i)
	}
	out := make([]problem, 0, len(order))
	for _, k := range order {
		sp := byPlace[k]
		out = append(out, problem{severity: severityWarning, code: "stuck-task", at: []problemPlace{{
			path: paths.Local(sp.frame.File), frame: sp.frame, message: sp.message(snap, waits),
		}}})
	}
	return out
}

// stuckPlace is the stuck tasks waiting at one line.
type stuckPlace struct {
	frame snapshot.Frame
	tasks []int // by index in the snapshot, in its order
}

// message names the tasks that have waited longest first.
func (sp *stuckPlace) message(snap *snapshot.Snapshot, waits []wait) string {
	// Only the first few are named: pick them rather than sort them all.
	first := make([]int, 0, namesInLens)
	for _, i := range sp.tasks {
		k := len(first)
		for k > 0 && waits[i].longer(waits[first[k-1]]) {
			k--
		}
		if k < namesInLens {
			first = slices.Insert(first, k, i)
			first = first[:min(len(first), namesInLens)]
		}
	}
	w := waits[first[0]]
	age := waittext.Duration(w.d)
	if w.atLeast {
		age = "≥ " + age
	}
	if len(sp.tasks) == 1 {
		return fmt.Sprintf("stuck: task %s has waited here for %s and awaits no other task", clipName(taskName(&snap.Tasks[first[0]])), age)
	}
	var names []string
	for _, i := range first {
		names = append(names, clipName(taskName(&snap.Tasks[i])))
	}
	if len(sp.tasks) > len(first) {
		names = append(names, "…")
	}
	return fmt.Sprintf("stuck: %d tasks have waited here for up to %s and await no other task: %s", len(sp.tasks), age, strings.Join(names, ", "))
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
