package awaittree

import (
	"io"
	"strconv"
	"strings"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/snapshot/groups"
)

// GroupRow is one line of `ps --group`: the tasks that wait at one place (package groups), every
// cell already formatted.
type GroupRow struct {
	Tasks          string // how many
	TID            string // their thread, "*" when they are in several
	TaskNames      string // their name, or the first and the last ("Task-5 … Task-16")
	CoroutineStack string // as in ps: function names of the frames, innermost first
	AwaiterChain   string // as in ps, for the first task's first awaiter
	AwaitedBy      string // the tasks awaiting them: a name, or the first and the last with a count
}

// GroupTable builds the rows of `ps --group` for the groups of s (groups.Of), largest first, with
// only the tasks keep accepts (all when keep is nil) counted; groups with none are left out.
func GroupTable(s *snapshot.Snapshot, gs []groups.Group, keep []bool) []GroupRow {
	id2name := indexNames(s.Tasks)
	rows := make([]GroupRow, 0, len(gs))
	var c cellCache
	for _, g := range gs {
		var members []int
		for _, ti := range g.Tasks {
			if keep == nil || keep[ti] {
				members = append(members, ti)
			}
		}
		if len(members) == 0 {
			continue
		}
		first := &s.Tasks[members[0]]
		row := GroupRow{
			Tasks:          strconv.Itoa(len(members)),
			TID:            c.tid(first.TID),
			TaskNames:      first.Name,
			CoroutineStack: c.functions(first.Frames),
		}
		var awaiters []uint64
		seen := map[uint64]bool{}
		for _, ti := range members {
			t := &s.Tasks[ti]
			if t.TID != first.TID {
				row.TID = "*"
			}
			if t.Name != first.Name {
				row.TaskNames = first.Name + " … " + s.Tasks[members[len(members)-1]].Name
			}
			for _, a := range t.AwaitedBy {
				if !seen[a.ID] {
					seen[a.ID] = true
					awaiters = append(awaiters, a.ID)
				}
			}
		}
		if len(first.AwaitedBy) > 0 {
			row.AwaiterChain = c.functions(first.AwaitedBy[0].Frames)
		}
		row.AwaitedBy = awaitersCell(awaiters, id2name)
		rows = append(rows, row)
	}
	return rows
}

// awaitersCell names a group's awaiters: one by its name (its id when it is not a task of the
// snapshot), several by the first and the last and how many.
func awaitersCell(ids []uint64, id2name names) string {
	name := func(id uint64) string {
		if n, ok := id2name.name[id]; ok {
			return n
		}
		return pyHex(id)
	}
	switch len(ids) {
	case 0:
		return ""
	case 1:
		return name(ids[0])
	}
	return name(ids[0]) + " … " + name(ids[len(ids)-1]) + " (" + strconv.Itoa(len(ids)) + ")"
}

// WriteGroupTable writes rows as `ps --group` prints them: a header, a rule and a line per group,
// with columns as wide as ps's.
func WriteGroupTable(w io.Writer, rows []GroupRow) error {
	widths := [6]int{6, 10, 30, 50, 50, 20}
	line := appendCells(nil, widths, [6]string{"tasks", "tid", "task names", "coroutine stack", "awaiter chain", "awaited by"})
	if _, err := w.Write(line); err != nil {
		return err
	}
	total := len(widths) - 1
	for _, n := range widths {
		total += n
	}
	line = append(line[:0], strings.Repeat("-", total)...)
	line = append(line, '\n')
	if _, err := w.Write(line); err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		line = appendCells(line[:0], widths, [6]string{r.Tasks, r.TID, r.TaskNames, r.CoroutineStack, r.AwaiterChain, r.AwaitedBy})
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

func appendCells(dst []byte, widths [6]int, cells [6]string) []byte {
	for i, c := range cells {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendPadded(dst, c, widths[i])
	}
	return append(dst, '\n')
}
