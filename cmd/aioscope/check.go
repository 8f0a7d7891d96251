package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/aioscope/aioscope/snapshot"
	"github.com/aioscope/aioscope/tracking"
	"github.com/aioscope/aioscope/tracking/live"
)

const checkUsage = "usage: aioscope check [--for 5s] [--stuck 30s] [--blocked 100ms] [--max-tasks N] [--filter PATTERN] [--interval 1s] [--json] PID"

const checkHelp = checkUsage + `

Watch a running CPython 3.14/3.15 process for a while, read-only, and report what is unhealthy:
tasks stuck at one place, event loops blocked by one callback, too many tasks.

  --for D              how long to watch (default 5s)
  --stuck D            a task that awaits no other task and waits at one place this long is
                       stuck (default 30s); a wait is only seen for as long as the check
                       watches, so --stuck alone makes --for a little longer than it, and with
                       --for not longer than --stuck no task is looked at; tasks in
                       asyncio.sleep() are never stuck
  --blocked D          a callback or task step running this long blocks its event loop
                       (default 100ms, asyncio's slow_callback_duration)
  --max-tasks N        more than N tasks in any snapshot is a finding (default 0: no limit)
  --filter PATTERN     only tasks whose name matches this regular expression count (stuck
                       tasks, --max-tasks); blocked loops are always reported
  --interval D         time between snapshots (default 1s): stuck times are within one interval
  --sample-interval D  time between samples of the event loops (default 10ms)
  --retries N          snapshot retries when the target changes while it is read (default 3)
  --json               print one JSON document instead of lines

Exit status: 0 healthy, 1 findings (one line each on stdout) or the process cannot be read,
2 usage error.
`

// runCheck implements `aioscope check`: watch a process for a while and exit 0 when it is
// healthy, 1 with one line per finding when it is not.
func runCheck(args []string, stdout, stderr io.Writer) int {
	// A watch runs for long: the collector's target follows the live heap, so memory stays flat,
	// where the one-shot commands trade memory for speed; and it runs on one processor.
	gc := setUpForWatching()
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var mf monitorFlags
	mf.add(fs, 5*time.Second)
	maxTasks := fs.Int("max-tasks", 0, "")
	filter := fs.String("filter", "", "")
	cl := commandLine{name: "check", usage: checkUsage, help: checkHelp, stdout: stdout, stderr: stderr}
	usageErr := cl.usageError
	pid, code, ok := cl.parsePID(fs, args)
	if !ok {
		return code
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if mf.watchFor <= 0 {
		return usageErr("--for must be a positive duration such as 5s or 200ms")
	}
	if err := mf.check("5s or 200ms"); err != nil {
		return usageErr("%v", err)
	}
	if given["stuck"] && !given["for"] {
		// Asked for stuck tasks, the check watches long enough to see one.
		mf.watchFor = mf.stuck + 2*mf.interval
	}
	if given["stuck"] && mf.stuck >= mf.watchFor {
		return usageErr("--stuck %v cannot be reached in --for %v: a wait is only seen for as long as the check watches; give --for longer than --stuck", mf.stuck, mf.watchFor)
	}
	if *maxTasks < 0 || mf.retries < 0 {
		return usageErr("--max-tasks and --retries must be 0 or more")
	}
	var match *regexp.Regexp
	if *filter != "" {
		var err error
		if match, err = regexp.Compile(*filter); err != nil {
			return usageErr("--filter: %v", err)
		}
	}

	cfg := mf.config()
	if match != nil {
		cfg.SummaryWaits = -1 // every task's, to count those that match
	}
	m, err := live.Attach(pid, cfg)
	if err != nil {
		return readFailed(stderr, err)
	}
	started := time.Now()
	mostTasks := 0
	names := map[uint64]string{}
	collect := func(e live.Event) {
		switch e.Kind {
		case live.SnapshotTaken:
			gc.update()
			n := e.Summary.Tasks
			if match != nil {
				n = 0
				for i := range e.Summary.Waits {
					if match.MatchString(e.Summary.Waits[i].Task.Name) {
						n++
					}
				}
			}
			mostTasks = max(mostTasks, n)
		case live.LoopBlocked:
			if e.TaskName != "" {
				names[e.Block.Task] = e.TaskName
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), mf.watchFor)
	defer cancel()
	if err := m.Run(ctx, collect); err != nil {
		return readFailed(stderr, err)
	}
	// One last look at the end of the watch, so that the waits are measured over all of it.
	if err := m.SnapshotNow(collect); err != nil {
		return readFailed(stderr, err)
	}
	watched := time.Since(started)

	var findings []finding
	for _, w := range m.Stuck(mf.stuck) {
		if match == nil || match.MatchString(w.Task.Name) {
			findings = append(findings, stuckFinding(w))
		}
	}
	name := func(id uint64) (string, bool) {
		if n, ok := names[id]; ok {
			return n, true
		}
		return m.TaskName(id)
	}
	for _, s := range m.Sites() {
		n, ok := name(s.Longest.Task)
		findings = append(findings, blockedFinding(s.Longest, s.Count, n, ok))
	}
	for _, b := range m.Ongoing() {
		n, ok := name(b.Task)
		findings = append(findings, blockedFinding(b, 1, n, ok))
	}
	if *maxTasks > 0 && mostTasks > *maxTasks {
		findings = append(findings, finding{JSON: tooManyJSON{Kind: "too_many_tasks", Tasks: mostTasks, Max: *maxTasks},
			Text: fmt.Sprintf("%d tasks, more than --max-tasks %d", mostTasks, *maxTasks)})
	}
	stats := m.Stats()
	// A wait is only seen for as long as the check watches.
	stuckChecked := mf.stuck < mf.watchFor

	if mf.asJSON {
		doc := checkJSON{
			PID: pid, PythonVersion: m.PythonVersion(), StartedAt: started.UTC().Format(time.RFC3339Nano),
			Seconds: float64(watched.Milliseconds()) / 1000, Snapshots: stats.Snapshots, Samples: stats.Samples,
			Healthy: len(findings) == 0, StuckChecked: stuckChecked, Findings: []any{},
		}
		for _, f := range findings {
			doc.Findings = append(doc.Findings, f.JSON)
		}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(doc); err != nil {
			return exitError
		}
	} else if len(findings) == 0 {
		stuckText := fmt.Sprintf("no task stuck for %v", mf.stuck)
		if !stuckChecked {
			stuckText = fmt.Sprintf("stuck tasks not looked for (a wait of --stuck %v cannot be seen in --for %v)", mf.stuck, mf.watchFor)
		}
		fmt.Fprintf(stdout, "healthy: watched %.1f s (%d snapshots, %d samples): %s, no event loop blocked for %v%s\n",
			watched.Seconds(), stats.Snapshots, stats.Samples, stuckText, mf.blocked, maxTasksText(*maxTasks))
	} else {
		for _, f := range findings {
			fmt.Fprintln(stdout, f.Text)
		}
	}
	if len(findings) > 0 {
		return exitError
	}
	return exitOK
}

func maxTasksText(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", at most %d tasks", n)
}

// finding is one problem check found, as a line of text and as a JSON object.
type finding struct {
	Text string
	JSON any
}

type checkJSON struct {
	PID           int     `json:"pid"`
	PythonVersion string  `json:"python_version"`
	StartedAt     string  `json:"started_at"`
	Seconds       float64 `json:"seconds"`
	Snapshots     int     `json:"snapshots"`
	Samples       int     `json:"samples"`
	Healthy       bool    `json:"healthy"`
	StuckChecked  bool    `json:"stuck_checked"`
	Findings      []any   `json:"findings"`
}

type stuckJSON struct {
	Kind string `json:"kind"`
	live.WaitJSON
}

type blockedJSON struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
	live.BlockJSON
}

type tooManyJSON struct {
	Kind  string `json:"kind"`
	Tasks int    `json:"tasks"`
	Max   int    `json:"max"`
}

func stuckFinding(w tracking.Wait) finding {
	age := fmt.Sprintf("%.1f s", w.Age().Seconds())
	if w.Precision() < 0 {
		age = "at least " + age
	}
	return finding{
		JSON: stuckJSON{Kind: "stuck", WaitJSON: live.WaitJSONOf(&w)},
		Text: fmt.Sprintf("task %s (0x%x) stuck for %s at %s", w.Task.Name, w.Task.ID, age, where(w.Frames)),
	}
}

func blockedFinding(b tracking.Block, count int, name string, known bool) finding {
	text := fmt.Sprintf("event loop of thread %d blocked %d ms in %s", b.TID, b.Duration.Milliseconds(), label(b.Site))
	switch {
	case b.Task != 0 && known:
		text += fmt.Sprintf(" (task %s)", name)
	case b.Task != 0:
		text += fmt.Sprintf(" (task 0x%x)", b.Task)
	}
	if b.Ongoing {
		text += ", still blocked"
	} else if count > 1 {
		text += fmt.Sprintf(", the longest of %d blocks there", count)
	}
	return finding{JSON: blockedJSON{Kind: "loop_blocked", Count: count, BlockJSON: live.BlockJSONOf(&b, name, known)}, Text: text}
}

// where says where a chain of frames waits: its innermost frame of the program itself, and the
// innermost frame when that is another.
func where(frames []snapshot.Frame) string {
	u := snapshot.UserFrame(frames)
	if u < 0 {
		return "an unknown place"
	}
	s := label(frames[u])
	if u > 0 {
		s += " (in " + label(frames[0]) + ")"
	}
	return s
}

// label is a frame as pstree shows it: function file:line.
func label(f snapshot.Frame) string {
	if f.Function == "" && f.File == "" {
		return "a callback with no Python frames"
	}
	if !f.HasLine || f.Line < 0 {
		return f.Function + " " + f.File
	}
	return fmt.Sprintf("%s %s:%d", f.Function, f.File, f.Line)
}
