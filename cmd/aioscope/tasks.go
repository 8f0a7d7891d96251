package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/hugeheap"
)

// runTasks implements `aioscope ps` and `aioscope pstree`.
func runTasks(cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "")
	retries := fs.Int("retries", inspector.DefaultRetries, "")
	mainOnly := fs.Bool("main-thread-only", false, "")
	// ps --json --locals: every frame's variables; pstree --args: calls' arguments.
	var withLocals, withArgs *bool
	var usage string
	if cmd == "ps" {
		withLocals = fs.Bool("locals", false, "")
		usage = "usage: aioscope ps [--json [--locals]] [--retries N] [--main-thread-only] " + shapeUsage + " PID"
	} else {
		withArgs = fs.Bool("args", false, "")
		usage = "usage: aioscope pstree [--json] [--args] [--retries N] [--main-thread-only] " + shapeUsage + " PID"
	}
	shape := shapeFlags{notes: stderr}
	shape.register(fs)
	cl := commandLine{name: cmd, usage: usage, help: usage + "\n", stdout: stdout, stderr: stderr}
	if code, ok := cl.parse(fs, args); !ok {
		return code
	}
	if err := shape.check(); err != nil {
		return cl.usageError("%v", err)
	}
	locals := withLocals != nil && *withLocals
	argsOn := withArgs != nil && *withArgs
	if locals && !*asJSON {
		fmt.Fprintf(stderr, "aioscope ps: --locals needs --json: the table has no room for values (for one task's, try aioscope locals PID TASK)\n")
		return exitUsage
	}
	pid, msg := onePID(fs)
	if msg != "" {
		return cl.usageError("%s", msg)
	}
	if *retries < 0 {
		return cl.usageError("--retries must be 0 or more")
	}

	if locals || argsOn {
		// Values make a snapshot several times bigger, all of it kept to the end: collecting
		// garbage meanwhile costs time and frees little. The limit keeps a huge target's
		// snapshot from taking memory without bound.
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(valuesMemoryLimit)
	} else {
		// One snapshot copies the target's task memory (about 2 KB per task) and is then done:
		// collecting garbage along the way costs more time than the extra memory is worth.
		debug.SetGCPercent(400)
	}
	// The snapshot fills fresh memory, which faults in far less often in huge pages.
	hugeheap.Prefer()
	proc, err := inspector.Attach(pid, inspector.Options{Retries: *retries, MainThreadOnly: *mainOnly, Locals: locals || argsOn})
	if err != nil {
		return readFailed(stderr, err)
	}
	snap, err := proc.Snapshot()
	if err != nil {
		return readFailed(stderr, err)
	}

	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	switch {
	case cmd == "ps" && *asJSON:
		err = shape.writePS(out, snap, true, locals)
	case cmd == "ps":
		err = shape.writePS(out, snap, false, false)
	default:
		build := awaittree.Build
		if argsOn {
			build = awaittree.BuildArgs
		}
		roots, buildErr := build(snap.Tasks)
		var cycles *awaittree.CycleError
		if errors.As(buildErr, &cycles) {
			if *asJSON {
				if err := writePSTreeJSON(out, snap, nil, argsOn); err != nil {
					return exitError
				}
			}
			out.Flush()
			// Same text and status as CPython's tool.
			fmt.Fprint(stderr, cycles.Format())
			return exitError
		}
		roots = shape.shapeTree(roots, snap.Tasks)
		if *asJSON {
			err = writePSTreeJSON(out, snap, roots, argsOn)
		} else {
			err = awaittree.WriteTree(out, roots)
		}
	}
	if err == nil {
		err = out.Flush()
	}
	if err != nil {
		// Typically a closed pipe (aioscope ps PID | head): nothing useful to add.
		return exitError
	}
	return exitOK
}

// valuesMemoryLimit is the heap a snapshot with values may take before the garbage collector
// runs (see runTasks).
const valuesMemoryLimit = 1 << 30
