package watchui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/tracking"
	"github.com/aioscope/aioscope/tracking/live"
)

// Unit tests of the view over hand-made snapshots; the system tests drive it in a real terminal
// against real CPython processes.

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

// manyTasks is a snapshot of n tasks: task i waits in worker<i%places>, and tasks that are
// multiples of 7 are named "slow-…", the others "Task-…".
func manyTasks(n, places int, at time.Time) *snapshot.Snapshot {
	s := &snapshot.Snapshot{PID: 42, PythonVersion: "3.14.2", CapturedAt: at}
	chains := make([][]snapshot.Frame, places)
	for p := range chains {
		chains[p] = []snapshot.Frame{
			{Function: "Event.wait", File: "/usr/lib/python3.14/asyncio/locks.py", Line: 213, HasLine: true},
			{Function: fmt.Sprintf("worker%d", p), File: "/srv/app.py", Line: 10 + p, HasLine: true},
		}
	}
	for i := range n {
		name := fmt.Sprintf("Task-%d", i)
		if i%7 == 0 {
			name = fmt.Sprintf("slow-%d", i)
		}
		s.Tasks = append(s.Tasks, snapshot.Task{ID: uint64(0x1000 + 8*i), Name: name, TID: 42, Frames: chains[i%places]})
	}
	return s
}

// summaryOf tracks the snapshots and summarises them as the watch's terminal view asks.
func summaryOf(snaps ...*snapshot.Snapshot) *live.Summary {
	tr := tracking.NewTracker(tracking.Options{})
	for _, s := range snaps {
		tr.Observe(s)
	}
	return &live.Summary{At: tr.LastAt(), PID: 42, PythonVersion: "3.14.2", Tasks: tr.Tasks(),
		Groups: tr.Groups(-1), Waits: tr.Longest(LongestShown, nil)}
}

func viewOf(t *testing.T, s *live.Summary, keys ...string) string {
	t.Helper()
	var m tea.Model = New(42, func(err error) string { return err.Error() })
	m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 200})
	m, _ = m.Update(EventMsg(live.Event{Kind: live.SnapshotTaken, At: s.At, Summary: s}))
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		m, _ = m.Update(msg)
	}
	return ansi.Strip(m.View())
}

// section returns the lines of the view from the one starting with title to the next title.
func section(view, title string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(view, "\n") {
		switch {
		case strings.HasPrefix(l, title):
			in = true
		case in && (strings.HasPrefix(l, "LONGEST WAITING") || strings.HasPrefix(l, "BLOCKED EVENT LOOP") || strings.HasPrefix(l, "WHERE TASKS WAIT")):
			return out
		case in && strings.TrimSpace(l) != "":
			out = append(out, l)
		}
	}
	return out
}

// count is the task count of a group's line.
func count(line string) int {
	var n int
	fmt.Sscan(strings.TrimPrefix(strings.TrimSpace(line), "▸"), &n)
	return n
}

func TestGroupCounts(t *testing.T) {
	// 100 tasks in 4 places; tasks 0–49 there from the start, 50–99 from the second snapshot.
	first := manyTasks(100, 4, t0)
	first.Tasks = first.Tasks[:50]
	s := summaryOf(first, manyTasks(100, 4, t0.Add(time.Second)), manyTasks(100, 4, t0.Add(3*time.Second)))
	groups := section(viewOf(t, s), "WHERE TASKS WAIT")
	if len(groups) != 4 {
		t.Fatalf("groups:\n%s", strings.Join(groups, "\n"))
	}
	for _, l := range groups {
		if count(l) != 25 || !strings.Contains(l, "≥3.0s") {
			t.Errorf("group line %q: want 25 tasks, longest ≥3.0s", l)
		}
	}

	// Filtered: only the slow- tasks count, in every section.
	view := viewOf(t, s, "/", "s", "l", "o", "w", "enter")
	total := 0
	for _, l := range section(view, "WHERE TASKS WAIT") {
		total += count(l)
	}
	if total != 15 { // 0, 7, …, 98
		t.Errorf("filtered groups count %d tasks, want 15:\n%s", total, view)
	}
	longest := section(view, "LONGEST WAITING")
	if len(longest) != 15 {
		t.Errorf("filtered longest waits: %d lines, want 15:\n%s", len(longest), strings.Join(longest, "\n"))
	}
	for _, l := range longest {
		if !strings.Contains(l, "slow-") {
			t.Errorf("filtered longest waits list %q", l)
		}
	}
	// The tasks there from the start come first, then those seen from the second snapshot.
	if !strings.Contains(longest[0], "≥3.0s") || !strings.Contains(longest[len(longest)-1], " 2.0s") {
		t.Errorf("filtered longest waits out of order:\n%s", strings.Join(longest, "\n"))
	}
}

func TestExpandedGroup(t *testing.T) {
	first := manyTasks(40, 1, t0)
	first.Tasks = first.Tasks[:5]
	s := summaryOf(first, manyTasks(40, 1, t0.Add(time.Second)), manyTasks(40, 1, t0.Add(2*time.Second)))
	lines := section(viewOf(t, s, "e"), "WHERE TASKS WAIT")
	var tasks []string
	for _, l := range lines {
		if strings.Contains(l, "(0x") {
			tasks = append(tasks, l)
		}
	}
	if len(tasks) != maxExpandedTasks || !strings.Contains(lines[len(lines)-1], "… and 30 more") {
		t.Fatalf("expanded group:\n%s", strings.Join(lines, "\n"))
	}
	for i, l := range tasks {
		want := "≥2.0s"
		if i >= 5 {
			want = "1.0s"
		}
		if !strings.Contains(l, want) {
			t.Errorf("task line %d %q: want %s", i, l, want)
		}
	}
}

// BenchmarkView10k draws the view of a summary of 10,000 tasks in 20 places, as the terminal
// view does after every snapshot, with and without a filter.
func BenchmarkView10k(b *testing.B) {
	s := summaryOf(manyTasks(10_000, 20, t0), manyTasks(10_000, 20, t0.Add(time.Second)))
	for _, keys := range [][]string{nil, {"/", "s", "l", "o", "w", "enter"}} {
		b.Run(fmt.Sprintf("filter=%v", len(keys) > 0), func(b *testing.B) {
			var m tea.Model = New(42, func(err error) string { return err.Error() })
			m, _ = m.Update(EventMsg(live.Event{Kind: live.SnapshotTaken, Summary: s}))
			for _, k := range keys {
				msg := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
				if k == "enter" {
					msg = tea.KeyMsg{Type: tea.KeyEnter}
				}
				m, _ = m.Update(msg)
			}
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}
