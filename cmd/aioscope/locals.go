package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/inspector/values"
	"github.com/aioscope/aioscope/snapshot"
)

const localsUsage = "usage: aioscope locals [--retries N] PID TASK, or aioscope locals [--retries N] --thread TID PID"

// runLocals implements `aioscope locals`: the frames of one task (or of every task with that
// name), or of one thread, innermost first, each with its arguments and locals and their values.
// The values are read when they are printed, from the frames a snapshot found, after checking
// that each frame is still where the snapshot saw it.
func runLocals(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("locals", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	retries := fs.Int("retries", inspector.DefaultRetries, "")
	threadArg := fs.String("thread", "", "")
	if err := fs.Parse(reorderFlagsOf(fs, args)); err != nil {
		fmt.Fprintf(stderr, "aioscope locals: %v (%s)\n", err, localsUsage)
		return exitUsage
	}
	want := 2
	if *threadArg != "" {
		want = 1
	}
	if fs.NArg() != want {
		what := "a PID and a task (its id, 0x..., or its name)"
		if *threadArg != "" {
			what = "one PID with --thread"
		}
		fmt.Fprintf(stderr, "aioscope locals: expected %s (%s)\n", what, localsUsage)
		return exitUsage
	}
	pid, err := strconv.Atoi(fs.Arg(0))
	if err != nil || pid <= 0 {
		fmt.Fprintf(stderr, "aioscope locals: invalid PID %q: expected a positive integer\n", fs.Arg(0))
		return exitUsage
	}
	if *retries < 0 {
		fmt.Fprintf(stderr, "aioscope locals: --retries must be 0 or more\n")
		return exitUsage
	}
	var tid uint64
	if *threadArg != "" {
		if tid, err = strconv.ParseUint(*threadArg, 10, 64); err != nil || tid == 0 {
			fmt.Fprintf(stderr, "aioscope locals: invalid thread id %q: expected the positive integer ps and py-spy show as a thread's id (its TID)\n", *threadArg)
			return exitUsage
		}
	}

	proc, err := inspector.Attach(pid, inspector.Options{Retries: *retries})
	if err != nil {
		return readFailed(stderr, err)
	}
	var found []target
	// A task that moves on between the snapshot and the reading of its frames is looked at
	// again, from a new snapshot, as many times as a snapshot is retried.
	for attempt := 0; ; attempt++ {
		snap, err := proc.Snapshot()
		if err != nil {
			return readFailed(stderr, err)
		}
		if tid != 0 {
			found, err = findThread(snap, tid)
		} else {
			found, err = findTasks(snap, fs.Arg(1))
		}
		if err != nil {
			fmt.Fprintf(stderr, "aioscope locals: %v\n", err)
			return exitError
		}
		moved := false
		for i := range found {
			if err := found[i].read(proc); err != nil {
				return readFailed(stderr, err)
			}
			moved = moved || found[i].moved
		}
		if !moved || attempt >= *retries {
			break
		}
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	for i := range found {
		if i > 0 {
			out.WriteByte('\n')
		}
		found[i].write(out)
	}
	if err := out.Flush(); err != nil {
		return exitError
	}
	return exitOK
}

// target is a task or a thread whose frames are shown, with what was read of them.
type target struct {
	task   *snapshot.Task
	thread *snapshot.Thread
	frames []frameValues
	moved  bool // a frame had moved on since the snapshot
	// wake is the earliest deadline the frames wait for, as seconds from when they were read.
	wake    values.Deadline
	wakeIn  float64
	hasWake bool
}

// frameValues are a frame's variables, or why they could not be read.
type frameValues struct {
	frame snapshot.Frame
	vars  []values.Variable
	err   error
}

// read reads the variables of every frame of t. Only errors that stop everything are returned:
// a frame whose variables cannot be read says why in its place.
func (t *target) read(proc *inspector.Process) error {
	frames := t.framesList()
	t.frames, t.moved, t.hasWake = make([]frameValues, len(frames)), false, false
	for i, f := range frames {
		fv := &t.frames[i]
		fv.frame = f
		read := func(r *values.Reader, addr uint64) error {
			if t.task == nil {
				fv.vars, fv.err = r.Frame(addr)
				return nil
			}
			vars, d, err := r.FrameWithDeadline(addr, nil)
			fv.vars, fv.err = vars, err
			if err == nil && d.Kind != "" {
				if now, err := r.LoopTime(); err == nil && (!t.hasWake || d.When-now < t.wakeIn) {
					t.wake, t.wakeIn, t.hasWake = d, d.When-now, true
				}
			}
			return nil
		}
		var err error
		if t.task != nil {
			err = proc.InTaskFrame(t.task, i, read)
		} else {
			err = proc.InThreadFrame(t.thread, i, read)
		}
		var left *inspector.FrameLeftError
		switch {
		case errors.As(err, &left):
			fv.err, t.moved = err, true
		case err != nil && fatal(err):
			return err
		case err != nil:
			fv.err = err
		}
	}
	return nil
}

// fatal reports errors after which nothing more can be read: the process is gone or cannot be
// read at all.
func fatal(err error) bool {
	var gone *inspector.ProcessGoneError
	var perm *inspector.PermissionError
	return errors.As(err, &gone) || errors.As(err, &perm)
}

func (t *target) framesList() []snapshot.Frame {
	if t.task != nil {
		return t.task.Frames
	}
	return t.thread.Frames
}

// write prints t as py-spy dump --locals prints a thread: a heading, then each frame innermost
// first with its arguments and its other variables.
func (t *target) write(w *bufio.Writer) {
	if t.task != nil {
		fmt.Fprintf(w, "Task %s %s (thread %d)", hexID(t.task.ID), strconv.Quote(t.task.Name), t.task.TID)
		if t.hasWake {
			fmt.Fprintf(w, ", wakes in %s s (%s)", strconv.FormatFloat(math.Round(t.wakeIn*1000)/1000, 'f', -1, 64),
				inspector.WakeBy(t.wake.Kind))
		}
	} else {
		fmt.Fprintf(w, "Thread %d", t.thread.TID)
		var notes []string
		if t.thread.Main {
			notes = append(notes, "main")
		}
		if t.thread.Name != "" {
			notes = append(notes, strconv.Quote(t.thread.Name))
		}
		if t.thread.RunningTask != 0 {
			notes = append(notes, "running task "+hexID(t.thread.RunningTask))
		}
		if len(notes) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(notes, ", "))
		}
	}
	w.WriteByte('\n')
	if len(t.frames) == 0 {
		w.WriteString("    (no Python frames)\n")
	}
	for _, fv := range t.frames {
		fmt.Fprintf(w, "    %s (%s)\n", fv.frame.Function, location(fv.frame))
		if fv.err != nil {
			fmt.Fprintf(w, "        <variables unreadable: %s>\n", inspector.Explain(fv.err))
			continue
		}
		for _, section := range []struct {
			title string
			args  bool
		}{{"Arguments", true}, {"Locals", false}} {
			first := true
			for _, v := range fv.vars {
				if (v.Kind == "argument") != section.args {
					continue
				}
				if first {
					fmt.Fprintf(w, "        %s:\n", section.title)
					first = false
				}
				if v.Err != nil {
					fmt.Fprintf(w, "            %s: <unreadable: %v>\n", v.Name, v.Err)
				} else {
					fmt.Fprintf(w, "            %s: %s\n", v.Name, v.Repr)
				}
			}
		}
	}
}

// location is "file:line", or the file alone when the line is unknown.
func location(f snapshot.Frame) string {
	if !f.HasLine || f.Line < 0 {
		return f.File
	}
	return f.File + ":" + strconv.Itoa(f.Line)
}

func hexID(id uint64) string { return "0x" + strconv.FormatUint(id, 16) }

// findTasks returns the tasks that arg names: a task id as ps shows it (0x7f...), or a name —
// every task with that name.
func findTasks(s *snapshot.Snapshot, arg string) ([]target, error) {
	var out []target
	if strings.HasPrefix(arg, "0x") || strings.HasPrefix(arg, "0X") {
		if id, err := strconv.ParseUint(arg[2:], 16, 64); err == nil {
			for i := range s.Tasks {
				if s.Tasks[i].ID == id {
					return []target{{task: &s.Tasks[i]}}, nil
				}
			}
		}
	}
	for i := range s.Tasks {
		if s.Tasks[i].Name == arg {
			out = append(out, target{task: &s.Tasks[i]})
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if len(s.Tasks) == 0 {
		return nil, fmt.Errorf("process %d has no pending asyncio task, so none named %q", s.PID, arg)
	}
	return nil, fmt.Errorf("process %d has no task %s (its tasks include %s); give a task id or name as aioscope ps shows them",
		s.PID, strconv.Quote(arg), someNames(s.Tasks, 5))
}

// someNames lists the first few distinct task names of tasks, and how many more there are.
func someNames(tasks []snapshot.Task, n int) string {
	seen := map[string]bool{}
	var names []string
	for _, t := range tasks {
		if seen[t.Name] {
			continue
		}
		seen[t.Name] = true
		if len(names) < n {
			names = append(names, strconv.Quote(t.Name))
		}
	}
	text := strings.Join(names, ", ")
	if more := len(seen) - len(names); more > 0 {
		text += fmt.Sprintf(" and %d other names", more)
	}
	return text
}

// findThread returns the thread with kernel thread id tid.
func findThread(s *snapshot.Snapshot, tid uint64) ([]target, error) {
	var tids []string
	for i := range s.Threads {
		if s.Threads[i].TID == tid {
			return []target{{thread: &s.Threads[i]}}, nil
		}
		tids = append(tids, strconv.FormatUint(s.Threads[i].TID, 10))
	}
	return nil, fmt.Errorf("process %d has no Python thread %d (its threads: %s)", s.PID, tid, strings.Join(tids, ", "))
}
