// Command aioscope shows the asyncio tasks of a running Python 3.14 or 3.15 process without
// stopping it, changing it or running any code in it.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/aioscope/aioscope/inspector"
	_ "github.com/aioscope/aioscope/internal/termquiet" // before Bubble Tea's initialisation
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: aioscope <command> [options] PID

Show the asyncio tasks of a running CPython 3.14 or 3.15 process, read-only.

commands:
  ps PID            table of all pending tasks (same text as python -m asyncio ps)
  pstree PID        tree of tasks and who awaits them (same text as python -m asyncio pstree)
  locals PID TASK   a task's frames with their arguments, locals and values (TASK: id or name;
                    every task of that name); --thread TID for a thread's frames
  watch PID         live view of where tasks wait, for how long, and blocked event loops
                    (JSON Lines when stdout is not a terminal, or with --json)
  check PID         watch for a while (--for 5s); exit 1 with one line per stuck task or
                    blocked event loop, 0 when healthy
  dap               Debug Adapter Protocol server for editors (stdio; --listen 127.0.0.1:PORT for TCP)
  lsp               language server: live task state in the source, for any editor (stdio; --listen)
  version           print aioscope's version

options (ps, pstree, locals):
  --json              print a JSON document instead of text (ps, pstree)
  --locals            with ps --json: every frame's variables and values, and when each
                      task is due to wake up (wakes_in)
  --args              with pstree: label coroutine frames with their call's arguments
  --retries N         retry a snapshot N times when the target changes while it is read (default 3)
  --main-thread-only  read only the main thread's tasks and those of exited threads,
                      as CPython 3.14's own tool does (ps, pstree)
  --group             tasks that wait at the same place as one, with a count: a row per
                      group (ps), identical sibling subtrees merged (pstree)
  --filter PATTERN    only the tasks whose name, or a frame's function or file name,
                      contains PATTERN (pstree: and the tasks above them)
  --depth N           only N levels of awaiting (1: the tasks nothing awaits)

options of watch and check: aioscope watch --help, aioscope check --help

Exit status: 0 on success, 1 when the process cannot be read (or pstree finds an await
cycle), 2 on a usage error.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "ps", "pstree":
		return runTasks(cmd, rest, stdout, stderr)
	case "locals":
		return runLocals(rest, stdout, stderr)
	case "dap":
		return runDAP(rest, stdout, stderr)
	case "lsp":
		return runLSP(rest, stdout, stderr)
	case "watch":
		return runWatch(rest, os.Stdin, stdout, stderr)
	case "check":
		return runCheck(rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "aioscope %s\n", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "aioscope: unknown command %q (try: aioscope ps PID, aioscope pstree PID, aioscope locals PID TASK)\n", cmd)
		return exitUsage
	}
}

const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// readFailed reports that the process cannot be read, in the one line inspector.Explain makes of
// err, and returns the exit status that goes with it.
func readFailed(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "aioscope: "+inspector.Explain(err))
	return exitError
}
