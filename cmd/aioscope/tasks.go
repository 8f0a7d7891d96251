package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/inspector"
)

// runTasks implements `aioscope ps` and `aioscope pstree`.
func runTasks(cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	retries := fs.Int("retries", inspector.DefaultRetries, "")
	mainOnly := fs.Bool("main-thread-only", false, "")
	shape := shapeFlags{notes: stderr}
	shape.register(fs)
	usage := "aioscope " + cmd + " [--json] [--retries N] [--main-thread-only] " + shapeUsage + " PID"
	if err := fs.Parse(reorderFlags(args)); err != nil {
		fmt.Fprintf(stderr, "aioscope %s: %v (usage: %s)\n", cmd, err, usage)
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "aioscope %s: expected one PID (usage: %s)\n", cmd, usage)
		return exitUsage
	}
	if err := shape.check(); err != nil {
		fmt.Fprintf(stderr, "aioscope %s: %v\n", cmd, err)
		return exitUsage
	}
	pid, err := strconv.Atoi(fs.Arg(0))
	if err != nil || pid <= 0 {
		fmt.Fprintf(stderr, "aioscope %s: invalid PID %q: expected a positive integer\n", cmd, fs.Arg(0))
		return exitUsage
	}
	if *retries < 0 {
		fmt.Fprintf(stderr, "aioscope %s: --retries must be 0 or more\n", cmd)
		return exitUsage
	}

	proc, err := inspector.Attach(pid, inspector.Options{Retries: *retries, MainThreadOnly: *mainOnly})
	if err != nil {
		fmt.Fprintln(stderr, "aioscope: "+inspector.Explain(err))
		return exitError
	}
	snap, err := proc.Snapshot()
	if err != nil {
		fmt.Fprintln(stderr, "aioscope: "+inspector.Explain(err))
		return exitError
	}

	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	switch {
	case cmd == "ps" && *asJSON:
		err = shape.writePS(out, snap, true)
	case cmd == "ps":
		err = shape.writePS(out, snap, false)
	default:
		roots, buildErr := awaittree.Build(snap.Tasks)
		var cycles *awaittree.CycleError
		if errors.As(buildErr, &cycles) {
			if *asJSON {
				if err := writePSTreeJSON(out, snap, nil); err != nil {
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
			err = writePSTreeJSON(out, snap, roots)
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

// reorderFlags moves flags before positional arguments, so that both `aioscope ps --json PID`
// and `aioscope ps PID --json` work.
func reorderFlags(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if (name == "retries" || name == "filter" || name == "depth") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}
