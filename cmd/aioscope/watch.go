package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/sys/unix"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/tracking/live"
	"github.com/aioscope/aioscope/watchui"
)

const watchUsage = "usage: aioscope watch [--interval 1s] [--stuck 30s] [--blocked 100ms] [--json] [--for DURATION] PID"

const watchHelp = watchUsage + `

A live view of a running CPython 3.14/3.15 process, read-only: where its tasks wait, how many
at each place and whether that grows, the tasks waiting longest, and its event loops — busy,
idle, or blocked by one callback. Keys: / filter by task name, s sort, up/down select,
enter expand, p pause, q quit.

When stdout is not a terminal, or with --json, it writes JSON Lines instead: one object per
line with an "event" field ("snapshot", "stuck", "loop_blocked"), for log shippers.

  --interval D         time between snapshots (default 1s)
  --sample-interval D  time between samples of the event loops (default 10ms)
  --stuck D            report a task waiting at one place this long as stuck (default 30s)
  --blocked D          report a callback running this long as blocking its loop (default 100ms)
  --for D              stop after this long (default: when quit, interrupted, or the process exits)
  --retries N          snapshot retries when the target changes while it is read (default 3)
  --json               JSON Lines even on a terminal
`

// runWatch implements `aioscope watch`: a live view of a process's tasks and event loops, or,
// when stdout is not a terminal or with --json, the same events as JSON Lines.
func runWatch(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// A watch runs for long: the collector's target follows the live heap, so memory stays flat,
	// where the one-shot commands trade memory for speed; and it runs on one processor.
	gc := setUpForWatching()
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	var mf monitorFlags
	mf.add(fs, 0)
	cl := commandLine{name: "watch", usage: watchUsage, help: watchHelp, stdout: stdout, stderr: stderr}
	usageErr := cl.usageError
	pid, code, ok := cl.parsePID(fs, args)
	if !ok {
		return code
	}
	if err := mf.check("1s or 100ms"); err != nil {
		return usageErr("%v", err)
	}
	if mf.watchFor < 0 || mf.retries < 0 {
		return usageErr("--for and --retries must not be negative")
	}

	asLines := mf.asJSON || !isTerminal(stdout)
	cfg := mf.config()
	if asLines {
		cfg.SummaryWaits = live.LinesTop // all a line shows
	} else {
		// The view lists the longest waits, and the longest of each group; it filters every
		// task of a group by name.
		cfg.SummaryWaits, cfg.SummaryGroupWaits = watchui.LongestShown, -1
	}
	m, err := live.Attach(pid, cfg)
	if err != nil {
		return readFailed(stderr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if mf.watchFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, mf.watchFor)
		defer cancel()
	}
	if asLines {
		return watchLines(ctx, m, gc, stdout, stderr)
	}
	return watchTerminal(ctx, m, gc, pid, stdin, stdout, stderr)
}

// watchLines writes the events as JSON Lines until ctx is done or the process cannot be read.
func watchLines(ctx context.Context, m *live.Monitor, gc *gcPacer, stdout, stderr io.Writer) int {
	lines := live.NewLines(stdout)
	var writeErr error
	err := m.Run(ctx, func(e live.Event) {
		if e.Kind == live.SnapshotTaken {
			gc.update()
		}
		if writeErr == nil {
			writeErr = lines.Write(e)
		}
	})
	if writeErr != nil {
		return exitError // typically a closed pipe: nothing useful to add
	}
	for _, b := range m.Ongoing() {
		name, ok := m.TaskName(b.Task)
		if lines.WriteOngoing(&b, name, ok) != nil {
			return exitError
		}
	}
	if err != nil {
		return readFailed(stderr, err)
	}
	return exitOK
}

// watchFPS is how often the terminal view looks for a new frame to draw: often enough that a
// key's effect shows at once (within 50 ms).
const watchFPS = 20

// watchTerminal runs the terminal view until the user quits.
func watchTerminal(ctx context.Context, m *live.Monitor, gc *gcPacer, pid int, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The view changes once a snapshot and when a key is pressed: the renderer wakes watchFPS
	// times a second to see whether it did, rather than the 60 times of Bubble Tea's default.
	prog := tea.NewProgram(watchui.New(pid, inspector.Explain), tea.WithAltScreen(), tea.WithContext(ctx),
		tea.WithInput(stdin), tea.WithOutput(stdout), tea.WithFPS(watchFPS))
	done := make(chan error, 1)
	go func() {
		err := m.Run(ctx, func(e live.Event) {
			if e.Kind == live.SnapshotTaken {
				gc.update()
			}
			prog.Send(watchui.EventMsg(e))
		})
		prog.Send(watchui.EndMsg{Err: err})
		done <- err
	}()
	_, runErr := prog.Run()
	cancel()
	monErr := <-done
	if runErr != nil && !errors.Is(runErr, tea.ErrProgramKilled) && !errors.Is(runErr, context.Canceled) {
		fmt.Fprintf(stderr, "aioscope watch: terminal: %v\n", runErr)
		return exitError
	}
	if monErr != nil {
		return readFailed(stderr, monErr)
	}
	return exitOK
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
