package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/aioscope/aioscope/awaittree"
	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/hugeheap"
	"github.com/aioscope/aioscope/internal/taskjson"
)

// runTasks implements `aioscope ps` and `aioscope pstree`.
func runTasks(cmd string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	retries := fs.Int("retries", inspector.DefaultRetries, "")
	mainOnly := fs.Bool("main-thread-only", false, "")
	if err := fs.Parse(reorderFlags(args)); err != nil {
		fmt.Fprintf(stderr, "aioscope %s: %v (usage: aioscope %s [--json] [--retries N] [--main-thread-only] PID)\n", cmd, err, cmd)
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "aioscope %s: expected one PID (usage: aioscope %s [--json] [--retries N] [--main-thread-only] PID)\n", cmd, cmd)
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

	// One snapshot copies the target's task memory (about 2 KB per task) and is then done:
	// collecting garbage along the way costs more time than the extra memory is worth. The
	// copies fill fresh memory, which faults in far less often in huge pages.
	debug.SetGCPercent(400)
	hugeheap.Prefer()

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
		err = taskjson.WritePS(out, snap)
	case cmd == "ps":
		err = awaittree.WriteTable(out, awaittree.Table(snap.Tasks))
	default:
		roots, buildErr := awaittree.Build(snap.Tasks)
		var cycles *awaittree.CycleError
		if errors.As(buildErr, &cycles) {
			if *asJSON {
				if err := taskjson.WritePSTree(out, snap, nil); err != nil {
					return exitError
				}
			}
			out.Flush()
			// Same text and status as CPython's tool.
			fmt.Fprint(stderr, cycles.Format())
			return exitError
		}
		if *asJSON {
			err = taskjson.WritePSTree(out, snap, roots)
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
			if name == "retries" && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}
