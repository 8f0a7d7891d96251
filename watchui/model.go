// Package watchui is aioscope watch's terminal view, a Bubble Tea program in the manner of top:
// where tasks wait and how those numbers move, the tasks waiting longest, and the event loops'
// state with recent blocks, redrawn after every snapshot of a live.Monitor.
package watchui

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/tracking"
	"github.com/aioscope/aioscope/tracking/live"
)

// EventMsg carries one of the Monitor's events into the program.
type EventMsg live.Event

// EndMsg says the Monitor has stopped; Err is why (nil when it was asked to).
type EndMsg struct{ Err error }

// sortMode orders the groups.
type sortMode int

const (
	byCount sortMode = iota
	byTrend
	byLongest
	byPlace
	sortModes
)

func (s sortMode) String() string {
	return [...]string{"count", "trend", "longest wait", "place"}[s]
}

// maxRecentBlocks bounds the blocked-loop events kept for the view.
const maxRecentBlocks = 50

type recentBlock struct {
	block tracking.Block
	name  string
}

// Model is the view's state.
type Model struct {
	pid    int
	shown  *live.Summary // what the view shows
	latest *live.Summary // the newest summary, ahead of shown while paused
	blocks []recentBlock // newest first
	alerts int           // blocked-loop events so far
	stuck  int           // stuck-task events so far
	width  int
	height int
	// input is the filter being typed. A line of text needs no editor: the text input of
	// charmbracelet/bubbles links a clipboard package whose initialisation searches $PATH for
	// clipboard programs, at the start of every aioscope command.
	input      []rune
	filtering  bool // the filter is being typed
	filter     string
	sort       sortMode
	cursor     int // index of the selected group among those shown
	expanded   map[tracking.GroupID]bool
	paused     bool
	end        error // why the monitor stopped
	ended      bool
	errMessage func(error) string
}

// New returns the view of process pid. explain turns the monitor's final error into the line
// to show.
func New(pid int, explain func(error) string) Model {
	return Model{pid: pid, width: 100, height: 30, expanded: map[tracking.GroupID]bool{}, errMessage: explain}
}

// Err is why the monitor stopped, once it has.
func (m Model) Err() error { return m.end }

// Init implements tea.Model.
func (m Model) Init() tea.Cmd { return nil }

// Update implements tea.Model.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case EventMsg:
		m.event(live.Event(msg))
	case EndMsg:
		m.ended, m.end = true, msg.Err
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) event(e live.Event) {
	switch e.Kind {
	case live.SnapshotTaken:
		m.latest = e.Summary
		if !m.paused || m.shown == nil {
			m.shown = e.Summary
		}
	case live.LoopBlocked:
		m.alerts++
		m.blocks = append([]recentBlock{{*e.Block, e.TaskName}}, m.blocks[:min(len(m.blocks), maxRecentBlocks-1)]...)
	case live.TaskStuck:
		m.stuck++
	}
}

func (m Model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if !m.filtering && k.Type == tea.KeyRunes && len(k.Runes) > 1 {
		// Keys typed faster than the terminal is read arrive together: one at a time.
		var cmds []tea.Cmd
		var mm tea.Model = m
		for _, r := range k.Runes {
			var cmd tea.Cmd
			mm, cmd = mm.(Model).key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
			cmds = append(cmds, cmd)
		}
		return mm, tea.Batch(cmds...)
	}
	if m.filtering {
		switch k.Type {
		case tea.KeyEnter:
			m.filtering = false
			m.filter = strings.TrimSpace(string(m.input))
			return m, nil
		case tea.KeyEsc:
			m.filtering = false
			m.input, m.filter = nil, ""
			return m, nil
		case tea.KeyCtrlC:
			return m, tea.Quit
		case tea.KeyBackspace:
			if len(m.input) > 0 {
				m.input = m.input[:len(m.input)-1]
			}
		case tea.KeySpace:
			m.input = append(m.input, ' ')
		case tea.KeyRunes:
			if len(m.input)+len(k.Runes) <= maxFilterLen {
				m.input = append(m.input, k.Runes...)
			}
		}
		m.filter = strings.TrimSpace(string(m.input)) // filter as the user types
		m.cursor = 0
		return m, nil
	}
	switch k.String() {
	case "q", "ctrl+c":
		return m, tea.Quit
	case "/":
		m.filtering = true
		m.input = []rune(m.filter)
		return m, nil
	case "esc":
		m.filter, m.input = "", nil
	case "s":
		m.sort = (m.sort + 1) % sortModes
		m.cursor = 0
	case "p", " ":
		m.paused = !m.paused
		if !m.paused {
			m.shown = m.latest
		}
	case "up", "k":
		m.cursor = max(m.cursor-1, 0)
	case "down", "j":
		m.cursor = min(m.cursor+1, max(len(m.views())-1, 0))
	case "enter", "e", "right", "left":
		if vs := m.views(); len(vs) > 0 {
			id := vs[min(m.cursor, len(vs)-1)].g.ID
			m.expanded[id] = !m.expanded[id]
		}
	}
	return m, nil
}

// maxFilterLen bounds the filter typed, in characters.
const maxFilterLen = 200

// Styles.
var (
	headerStyle  = lipgloss.NewStyle().Bold(true).Reverse(true)
	titleStyle   = lipgloss.NewStyle().Bold(true).Underline(true)
	alertStyle   = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("9"))
	warnStyle    = lipgloss.NewStyle().Foreground(lipgloss.Color("11"))
	dimStyle     = lipgloss.NewStyle().Faint(true)
	selectStyle  = lipgloss.NewStyle().Reverse(true)
	growingStyle = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("9"))
)

// groupView is a group as shown: its tasks that pass the filter.
type groupView struct {
	g     *tracking.Group
	count int
	waits []tracking.Wait // of those tasks, longest first
}

func (v *groupView) longest() *tracking.Wait {
	if len(v.waits) == 0 {
		return nil
	}
	return &v.waits[0]
}

// LongestShown is how many of the longest waits the view lists; with the waits of every task of
// each group (live.Config.SummaryGroupWaits), what it needs of a summary.
const LongestShown = 50

// View implements tea.Model.
func (m Model) View() string {
	w, h := max(m.width, 20), max(m.height, 8)
	var top, foot []string
	top = append(top, m.header())
	top = append(top, m.loopsLine())
	top = append(top, m.statusLine())
	if m.filtering {
		line := "filter: " + string(m.input) + "█"
		if len(m.input) == 0 {
			line = "filter: █" + dimStyle.Render(" part of a task name")
		}
		foot = append(foot, line)
	}
	foot = append(foot, dimStyle.Render("/ filter  s sort  ↑↓ select  enter expand  p pause  q quit"))

	body := h - len(top) - len(foot)
	views := m.views()
	groups, longest, loops := m.groupLines(views), m.longestLines(views), m.blockLines()
	// The sections share the body: loops and the longest waits get what they need up to a
	// third each, the groups the rest.
	loopBudget := min(len(loops), max(body/4, 3))
	longBudget := min(len(longest), max(body/3, 3))
	groupBudget := max(body-loopBudget-longBudget, 2)
	lines := slices.Concat(top, fit(groups, groupBudget, m.cursorLine(groups)), fit(longest, longBudget, -1), fit(loops, loopBudget, -1))
	for len(lines) < h-len(foot) {
		lines = append(lines, "")
	}
	lines = slices.Concat(lines[:h-len(foot)], foot)
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, w, "…")
	}
	return strings.Join(lines, "\n")
}

// fit cuts a section to n lines, keeping its title and the line at keep in view.
func fit(lines []string, n, keep int) []string {
	if len(lines) <= n {
		return lines
	}
	if n <= 1 {
		return lines[:n]
	}
	start := 1
	if keep >= n {
		start = keep - n + 2
	}
	out := append([]string{lines[0]}, lines[start:start+n-1]...)
	return out
}

func (m Model) cursorLine(lines []string) int {
	for i, l := range lines {
		if strings.HasPrefix(ansi.Strip(l), "▸") {
			return i
		}
	}
	return -1
}

func (m Model) header() string {
	s := m.shown
	if s == nil {
		return headerStyle.Render(fmt.Sprintf(" aioscope watch %d · reading… ", m.pid))
	}
	text := fmt.Sprintf(" aioscope watch %d · Python %s · %s task%s · %d thread%s · %s ",
		s.PID, s.PythonVersion, thousands(s.Tasks), plural(s.Tasks), s.Threads, plural(s.Threads), s.At.Local().Format("15:04:05"))
	out := headerStyle.Render(text)
	if m.alerts > 0 {
		out += " " + alertStyle.Render(fmt.Sprintf("%d blocked-loop alert%s", m.alerts, plural(m.alerts)))
	}
	if m.stuck > 0 {
		out += " " + warnStyle.Render(fmt.Sprintf("%d stuck", m.stuck))
	}
	return out
}

func (m Model) loopsLine() string {
	s := m.shown
	if s == nil {
		return ""
	}
	if len(s.Loops) == 0 {
		return dimStyle.Render("no event loop running (or none sampled yet)")
	}
	var parts []string
	for _, l := range s.Loops {
		if l.Blocked != nil {
			name := s.Names[l.Blocked.Task]
			parts = append(parts, alertStyle.Render(fmt.Sprintf("loop %d BLOCKED %s in %s%s", l.TID,
				dur(l.Blocked.Duration), short(l.Blocked.Site), taskSuffix(l.Blocked.Task, name))))
			continue
		}
		parts = append(parts, fmt.Sprintf("loop %d: %s, busy %.0f%%, lag %s", l.TID, l.State, l.Busy*100, dur(l.Lag)))
	}
	return strings.Join(parts, " · ")
}

func (m Model) statusLine() string {
	parts := []string{"sort: " + m.sort.String()}
	if m.filter != "" {
		parts = append(parts, fmt.Sprintf("filter: %q", m.filter))
	}
	if m.paused {
		parts = append(parts, warnStyle.Render("PAUSED (p to resume)"))
	}
	if m.ended {
		msg := "the watch has ended"
		if m.end != nil {
			msg = m.errMessage(m.end)
		}
		parts = append(parts, alertStyle.Render(msg+" — q to quit"))
	}
	if s := m.shown; s != nil && s.Stats.SnapshotsFailed > 0 {
		parts = append(parts, dimStyle.Render(fmt.Sprintf("%d snapshots skipped (target changed too fast)", s.Stats.SnapshotsFailed)))
	}
	return strings.Join(parts, " · ")
}

func (m Model) matches(name string) bool {
	return m.filter == "" || containsFold(name, m.filter)
}

// containsFold reports whether sub is within s, upper and lower case alike.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// views returns the groups with the tasks that pass the filter, in the chosen order.
func (m Model) views() []groupView {
	s := m.shown
	if s == nil {
		return nil
	}
	var out []groupView
	for i := range s.Groups {
		g := &s.Groups[i]
		v := groupView{g: g, count: g.Count, waits: g.Waits}
		if m.filter != "" {
			v.count, v.waits = 0, nil
			for j := range g.Waits {
				if m.matches(g.Waits[j].Task.Name) {
					v.count++
					v.waits = append(v.waits, g.Waits[j])
				}
			}
		}
		if v.count > 0 {
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, func(a, b groupView) int {
		switch m.sort {
		case byTrend:
			if c := cmp.Compare(b.g.Trend.PerMinute, a.g.Trend.PerMinute); c != 0 {
				return c
			}
		case byLongest:
			if la, lb := a.longest(), b.longest(); la != nil && lb != nil {
				if c := la.Since.Compare(lb.Since); c != 0 {
					return c
				}
			}
		case byPlace:
			if c := cmp.Compare(chainText(a.g.Frames), chainText(b.g.Frames)); c != 0 {
				return c
			}
		}
		return cmp.Compare(b.count, a.count)
	})
	return out
}

func (m Model) groupLines(views []groupView) []string {
	lines := []string{titleStyle.Render(fmt.Sprintf("WHERE TASKS WAIT (%d place%s)", len(views), plural(len(views)))) +
		dimStyle.Render("   count  trend/min  longest  place ← awaited by")}
	if len(views) == 0 {
		return append(lines, dimStyle.Render("  no tasks"))
	}
	cursor := min(m.cursor, len(views)-1)
	for i, v := range views {
		mark := " "
		if i == cursor {
			mark = "▸"
		}
		trend := fmt.Sprintf("%+9.1f", v.g.Trend.PerMinute)
		if v.g.Trend.Growing {
			trend = growingStyle.Render(trend + "↑")
		} else {
			trend += " "
		}
		longest := ""
		if w := v.longest(); w != nil {
			longest = age(w)
		}
		line := fmt.Sprintf("%s %7s %s %8s  %s", mark, thousands(v.count), trend, longest, groupPlace(v.g))
		if i == cursor {
			line = selectStyle.Render(ansi.Strip(line))
		}
		lines = append(lines, line)
		if m.expanded[v.g.ID] {
			lines = append(lines, m.expandedLines(v)...)
		}
	}
	return lines
}

// maxExpandedTasks bounds the tasks an expanded group lists.
const maxExpandedTasks = 10

func (m Model) expandedLines(v groupView) []string {
	var out []string
	for _, f := range v.g.Frames {
		out = append(out, "      "+full(f))
	}
	for _, a := range v.g.Awaiters {
		who := "a future"
		if a.IsTask {
			who = "task " + a.Name
		}
		out = append(out, dimStyle.Render("    awaited by "+who))
		for _, f := range a.Frames {
			out = append(out, "      "+full(f))
		}
	}
	shown := v.waits[:min(len(v.waits), maxExpandedTasks)]
	for i := range shown {
		w := &shown[i]
		out = append(out, fmt.Sprintf("    %8s  %s (0x%x)", age(w), w.Task.Name, w.Task.ID))
	}
	if n := v.count - len(shown); n > 0 {
		out = append(out, dimStyle.Render(fmt.Sprintf("    … and %d more", n)))
	}
	return out
}

func (m Model) longestLines(views []groupView) []string {
	lines := []string{titleStyle.Render("LONGEST WAITING") + dimStyle.Render("   waited  task  where")}
	s := m.shown
	if s == nil {
		return lines
	}
	for i, waits := 0, m.longestWaits(views); i < len(waits) && len(lines) <= LongestShown; i++ {
		w := &waits[i]
		line := fmt.Sprintf("  %8s  %s  %s", age(w), w.Task.Name, whereShort(w.Frames))
		if w.Sleeping && !w.Deadline.IsZero() {
			line += dimStyle.Render(fmt.Sprintf("  (sleeping, wakes in %s)", dur(time.Until(w.Deadline))))
		} else if w.Sleeping {
			line += dimStyle.Render("  (sleeping)")
		}
		lines = append(lines, line)
	}
	if len(lines) == 1 {
		lines = append(lines, dimStyle.Render("  no tasks"))
	}
	return lines
}

// longestWaits returns the longest waits of the tasks that pass the filter, longest first: the
// summary's own list, or with a filter those of the groups' tasks that pass it.
func (m Model) longestWaits(views []groupView) []tracking.Wait {
	if m.filter == "" {
		return m.shown.Waits
	}
	var out []tracking.Wait
	for _, v := range views {
		out = append(out, v.waits...)
	}
	slices.SortFunc(out, func(a, b tracking.Wait) int { return tracking.CompareWaits(&a, &b) })
	return out[:min(len(out), LongestShown)]
}

func (m Model) blockLines() []string {
	lines := []string{titleStyle.Render("BLOCKED EVENT LOOP") + dimStyle.Render("   recent blocks, newest first")}
	n := 0
	for _, b := range m.blocks {
		if m.filter != "" && !m.matches(b.name) {
			continue
		}
		n++
		lines = append(lines, fmt.Sprintf("  %s  loop %d blocked %s in %s%s", b.block.End.Local().Format("15:04:05"),
			b.block.TID, dur(b.block.Duration), short(b.block.Site), taskSuffix(b.block.Task, b.name)))
	}
	if s := m.shown; s != nil && len(s.Sites) > 0 {
		lines = append(lines, dimStyle.Render("  per site:"))
		for _, st := range s.Sites {
			lines = append(lines, fmt.Sprintf("  %4d×  longest %s  %s (loop %d)", st.Count, dur(st.Longest.Duration), short(st.Site), st.TID))
		}
	}
	if n == 0 && len(lines) == 1 {
		lines = append(lines, dimStyle.Render("  none"))
	}
	return lines
}

func taskSuffix(id uint64, name string) string {
	switch {
	case id == 0:
		return ""
	case name != "":
		return " (task " + name + ")"
	default:
		return fmt.Sprintf(" (task 0x%x)", id)
	}
}

// groupPlace is a group's place in one line: its innermost frame of the program, and the
// awaiters' innermost frames.
func groupPlace(g *tracking.Group) string {
	s := whereShort(g.Frames)
	for _, a := range g.Awaiters {
		if len(a.Frames) == 0 {
			s += " ← future"
			continue
		}
		s += " ← " + short(a.Frames[snapshot.UserFrame(a.Frames)])
	}
	return s
}

// whereShort is where a chain waits: its innermost frame of the program itself, with the
// innermost frame when that is another.
func whereShort(frames []snapshot.Frame) string {
	u := snapshot.UserFrame(frames)
	if u < 0 {
		return "?"
	}
	s := short(frames[u])
	if u > 0 {
		s = short(frames[0]) + " < " + s
	}
	return s
}

func chainText(frames []snapshot.Frame) string {
	var b strings.Builder
	for _, f := range frames {
		b.WriteString(short(f))
		b.WriteByte('<')
	}
	return b.String()
}

// short is a frame as function file:line with only the file's base name.
func short(f snapshot.Frame) string {
	if f.Function == "" && f.File == "" {
		return "a callback with no Python frames"
	}
	file := path.Base(f.File)
	if snapshot.IsStdlib(f.File) && strings.Contains(f.File, "/asyncio/") {
		file = "asyncio/" + file
	}
	if f.HasLine && f.Line >= 0 {
		return fmt.Sprintf("%s %s:%d", f.Function, file, f.Line)
	}
	return f.Function + " " + file
}

// full is a frame as function file:line with the whole path.
func full(f snapshot.Frame) string {
	if f.HasLine && f.Line >= 0 {
		return fmt.Sprintf("%s %s:%d", f.Function, f.File, f.Line)
	}
	return f.Function + " " + f.File
}

// age is how long a task has waited, "≥" when it began before the watch did.
func age(w *tracking.Wait) string {
	s := dur(w.Age())
	if w.Precision() < 0 {
		s = "≥" + s
	}
	return s
}

// dur formats a duration the way top-like tools do: 412ms, 12.3s, 3m02s, 1h02m.
func dur(d time.Duration) string {
	switch {
	case d < 0:
		return "0ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
