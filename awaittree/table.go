package awaittree

import (
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aioscope/aioscope/snapshot"
)

// Row is one line of the `ps` table, every cell already formatted as tools.py's build_task_table
// and its caller format it.
type Row struct {
	TID            string // thread id, decimal
	TaskID         string // hex() of the task id, e.g. "0x7f12ab"
	TaskName       string
	CoroutineStack string // function names of the task's frames, innermost first, " -> "-joined
	AwaiterChain   string // function names of the awaiter's frames, innermost first, " -> "-joined
	AwaiterName    string // the awaiter's task name, "Unknown" when it is not a task of the snapshot
	AwaiterID      string // hex() of the awaiter id, "0x0" when nothing awaits the task
}

// Table builds the rows of the `ps` table: one row per task nobody awaits, and one row per
// awaiter for the others, in snapshot order.
func Table(tasks []snapshot.Task) []Row {
	return TableOf(tasks, nil)
}

// TableOf is Table with the rows of only the tasks keep accepts (all of them when keep is nil);
// awaiters are named whether they are kept or not.
func TableOf(tasks []snapshot.Task, keep []bool) []Row {
	id2name := indexNames(tasks)
	rows := make([]Row, 0, len(tasks))
	var c cellCache
	for i := range tasks {
		if keep != nil && !keep[i] {
			continue
		}
		t := &tasks[i]
		tid := c.tid(t.TID)
		taskID := pyHex(t.ID)
		stack := c.functions(t.Frames)
		if len(t.AwaitedBy) == 0 {
			rows = append(rows, Row{TID: tid, TaskID: taskID, TaskName: t.Name, CoroutineStack: stack, AwaiterID: "0x0"})
			continue
		}
		for j := range t.AwaitedBy {
			a := &t.AwaitedBy[j]
			name, ok := id2name.name[a.ID]
			if !ok {
				name = "Unknown"
			}
			rows = append(rows, Row{
				TID:            tid,
				TaskID:         taskID,
				TaskName:       t.Name,
				CoroutineStack: stack,
				AwaiterChain:   c.functions(a.Frames),
				AwaiterName:    name,
				AwaiterID:      c.awaiterID(a.ID),
			})
		}
	}
	return rows
}

// cellCache keeps the cells that repeat from row to row: a few threads, awaiters that await
// many tasks, and chains that the snapshot shares between tasks waiting at the same place.
type cellCache struct {
	lastTID      uint64
	lastTIDText  string
	lastAwaiter  uint64
	lastAwaiterT string
	chains       map[snapshot.FramesKey]string
}

func (c *cellCache) tid(tid uint64) string {
	if c.lastTIDText == "" || c.lastTID != tid {
		c.lastTID, c.lastTIDText = tid, strconv.FormatUint(tid, 10)
	}
	return c.lastTIDText
}

func (c *cellCache) awaiterID(id uint64) string {
	if c.lastAwaiterT == "" || c.lastAwaiter != id {
		c.lastAwaiter, c.lastAwaiterT = id, pyHex(id)
	}
	return c.lastAwaiterT
}

func (c *cellCache) functions(frames []snapshot.Frame) string {
	if len(frames) == 0 {
		return ""
	}
	k := snapshot.KeyOf(frames)
	s, ok := c.chains[k]
	if !ok {
		s = joinFunctions(frames)
		if c.chains == nil {
			c.chains = map[snapshot.FramesKey]string{}
		}
		c.chains[k] = s
	}
	return s
}

func joinFunctions(frames []snapshot.Frame) string {
	var b strings.Builder
	for i := range frames {
		if i > 0 {
			b.WriteString(" -> ")
		}
		b.WriteString(frames[i].Function)
	}
	return b.String()
}

// tableRuleWidth is the number of dashes under the header.
const tableRuleWidth = 180

// FormatTable renders rows exactly as `python -m asyncio ps` prints them: the header, a rule of
// 180 dashes, then the rows; every line ends with "\n" and keeps the trailing padding.
func FormatTable(rows []Row) string {
	var b strings.Builder
	_ = WriteTable(&b, rows) // a strings.Builder never fails
	return b.String()
}

// WriteTable writes what FormatTable returns to w, a line at a time, so a large table need not be
// held in memory twice.
func WriteTable(w io.Writer, rows []Row) error {
	var line []byte
	header := [7]string{"tid", "task id", "task name", "coroutine stack", "awaiter chain", "awaiter name", "awaiter id"}
	line = appendTableLine(line[:0], header)
	if _, err := w.Write(line); err != nil {
		return err
	}
	line = append(line[:0], strings.Repeat("-", tableRuleWidth)...)
	line = append(line, '\n')
	if _, err := w.Write(line); err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		line = appendTableLine(line[:0], [7]string{r.TID, r.TaskID, r.TaskName, r.CoroutineStack, r.AwaiterChain, r.AwaiterName, r.AwaiterID})
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// appendTableLine formats one line as display_awaited_by_tasks_table does: seven cells, each
// f"{cell:<width}", separated by single spaces.
func appendTableLine(dst []byte, cells [7]string) []byte {
	widths := [7]int{10, 20, 20, 50, 50, 15, 15}
	for i, c := range cells {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendPadded(dst, c, widths[i])
	}
	return append(dst, '\n')
}

// appendPadded is Python's f"{s:<width}": left-aligned, padded with spaces to width code points,
// never truncated.
func appendPadded(dst []byte, s string, width int) []byte {
	dst = append(dst, s...)
	for n := utf8.RuneCountInString(s); n < width; n++ {
		dst = append(dst, ' ')
	}
	return dst
}
