// Command aioscope shows the asyncio tasks of a running Python 3.14 or 3.15 process without
// stopping it, changing it or running any code in it.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: aioscope <command> [options] PID

Show the asyncio tasks of a running CPython 3.14 or 3.15 process, read-only.

commands:
  ps PID        table of all pending tasks (same text as python -m asyncio ps)
  pstree PID    tree of tasks and who awaits them (same text as python -m asyncio pstree)
  watch PID     live view of where tasks wait, for how long, and blocked event loops
                (JSON Lines when stdout is not a terminal, or with --json)
  check PID     watch for a while (--for 5s); exit 1 with one line per stuck task or
                blocked event loop, 0 when healthy
  dap           Debug Adapter Protocol server for editors (stdio; --listen 127.0.0.1:PORT for TCP)
  lsp           language server: live task state in the source, for any editor (stdio; --listen)
  version       print aioscope's version

options (ps, pstree):
  --json              print a JSON document instead of text
  --retries N         retry a snapshot N times when the target changes while it is read (default 3)
  --main-thread-only  read only the main thread's tasks and those of exited threads,
                      as CPython 3.14's own tool does

options of watch and check: aioscope watch --help, aioscope check --help

Exit status: 0 on success, 1 when the process cannot be read (or pstree finds an await
cycle), 2 on a usage error.
`

func main() {
	// One snapshot copies the target's task memory (about 2 KB per task) and is then done:
	// collecting garbage along the way costs more time than the extra memory is worth.
	debug.SetGCPercent(400)
	preferHugePages()
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
		fmt.Fprintf(stderr, "aioscope: unknown command %q (try: aioscope ps PID, aioscope pstree PID)\n", cmd)
		return exitUsage
	}
}

const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)
