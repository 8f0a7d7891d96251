package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/internal/taskjson"
	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/groups"
)

// shapeFlags are the options of ps and pstree that pick and fold what they show. Without them
// the output is CPython's, byte for byte.
type shapeFlags struct {
	group  bool   // one row (ps) or node (pstree) for tasks that wait at the same place
	filter string // only tasks whose name, or a frame's function or file name, contains this
	depth  int    // only tasks this many levels of awaiting deep (1: those nothing awaits); 0: all
	// notes gets a line when the options leave nothing to show, which would be puzzling.
	notes io.Writer
}

const shapeUsage = "[--group] [--filter PATTERN] [--depth N]"

func (f *shapeFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.group, "group", false, "")
	fs.StringVar(&f.filter, "filter", "", "")
	fs.IntVar(&f.depth, "depth", 0, "")
}

func (f *shapeFlags) check() error {
	if f.depth < 0 {
		return errors.New("--depth must be 1 or more (0: no limit)")
	}
	return nil
}

// keep says which tasks ps lists: those --filter matches and --depth reaches; nil for all.
func (f *shapeFlags) keep(tasks []snapshot.Task) []bool {
	if f.filter == "" && f.depth == 0 {
		return nil
	}
	keep := make([]bool, len(tasks))
	for i := range keep {
		keep[i] = true
	}
	if f.filter != "" {
		keep = awaittree.MatchTasks(tasks, f.filter)
	}
	if f.depth > 0 {
		for i, d := range awaittree.Depths(tasks) {
			keep[i] = keep[i] && d <= f.depth
		}
	}
	return keep
}

// writePS writes what ps shows of snap; locals asks for --locals (with asJSON only).
func (f *shapeFlags) writePS(w io.Writer, snap *snapshot.Snapshot, asJSON, locals bool) error {
	keep := f.keep(snap.Tasks)
	if keep != nil && !slices.Contains(keep, true) && !asJSON {
		f.noTasks()
	}
	var gs []groups.Group
	if f.group {
		gs = groups.Of(snap)
	}
	switch {
	case asJSON:
		return taskjson.WritePSWith(w, snap, taskjson.PSOptions{Locals: locals, Keep: keep, Groups: gs})
	case f.group:
		return awaittree.WriteGroupTable(w, awaittree.GroupTable(snap, gs, keep))
	default:
		return awaittree.WriteTable(w, awaittree.TableOf(snap.Tasks, keep))
	}
}

// shapeTree returns the pstree forest as the options ask: the tasks --filter matches and those
// above them, down to --depth levels of tasks, identical siblings merged with --group.
func (f *shapeFlags) shapeTree(roots []*awaittree.Node, tasks []snapshot.Task) []*awaittree.Node {
	if f.filter != "" {
		match := awaittree.MatchTasks(tasks, f.filter)
		matched := make(map[uint64]bool)
		for i, m := range match {
			if m {
				matched[tasks[i].ID] = true
			}
		}
		roots = awaittree.Prune(roots, func(id uint64) bool { return matched[id] })
	}
	if f.depth > 0 {
		roots = awaittree.Cut(roots, f.depth)
	}
	if f.group {
		roots = awaittree.Group(roots)
	}
	if len(roots) == 0 && len(tasks) > 0 {
		f.noTasks()
	}
	return roots
}

func (f *shapeFlags) noTasks() {
	if f.notes != nil && f.filter != "" {
		fmt.Fprintf(f.notes, "aioscope: no task's name, function or file contains %q\n", f.filter)
	}
}
