package systemtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aioscope/aioscope/internal/testtarget"
)

// The read-only tests prove what aioscope promises: it reads the target with process_vm_readv
// and never stops, writes to, signals or ptrace-attaches it.

// tracedSyscalls are the system calls strace records. Besides the forbidden ones (ptrace,
// process_vm_writev, and the calls that reach into another process: process_madvise,
// process_mrelease, pidfd_getfd) they include every call that opens or writes a file, so that
// writes through /proc/PID/* are seen whatever call makes them, the signal calls, and
// process_vm_readv, to prove the trace saw the reads.
var tracedSyscalls = []string{
	"ptrace", "process_vm_writev", "process_vm_readv", "process_madvise", "process_mrelease", "pidfd_getfd",
	"open", "openat", "openat2", "creat",
	"write", "writev", "pwrite64", "pwritev", "pwritev2",
	"kill", "tgkill", "tkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal",
}

// underStrace returns the command line that runs argv under strace, following its children and
// logging the tracedSyscalls, with the files their descriptors name, to a new file: log, which
// checkReadOnlyTrace reads.
func underStrace(t *testing.T, strace string, argv ...string) (cmdline []string, log string) {
	log = filepath.Join(t.TempDir(), "strace.txt")
	return append([]string{strace, "-f", "-qq", "-y", "-e", "trace=" + strings.Join(tracedSyscalls, ","), "-o", log}, argv...), log
}

// straceLine is one line of `strace -f -y` output: "PID syscall(args...".
var straceLine = regexp.MustCompile(`^(\d+)\s+([a-z0-9_]+)\((.*)$`)

// TestReadOnlyStrace runs aioscope under strace against live 3.14 and 3.15 targets and fails on
// any ptrace or process_vm_writev call, any file under /proc/<target>/ opened for writing, any
// write to such a file, and any signal sent to the target.
func TestReadOnlyStrace(t *testing.T) {
	strace := straceBinary(t)
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, "tree.py")
			for _, args := range [][]string{{"ps"}, {"pstree"}, {"ps", "--json"}, {"pstree", "--json", "--main-thread-only"}} {
				cmdline, out := underStrace(t, strace, slices.Concat([]string{bin}, args, []string{strconv.Itoa(tg.PID)})...)
				stdout, stderr, code := runBounded(t, cmdline[0], cmdline[1:]...)
				if code != exitOK || len(stdout) == 0 {
					t.Fatalf("strace aioscope %v: exit %d\nstderr: %s", args, code, stderr)
				}
				checkReadOnlyTrace(t, out, tg.PID, strings.Join(args, " "))
			}
		})
	}
}

// checkReadOnlyTrace fails the test for every problem traceProblems finds in an strace log. The
// target must still be running: its threads are signal targets too.
func checkReadOnlyTrace(t *testing.T, path string, pid int, what string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	problems, reads := traceProblems(string(data), pid, threadIDs(t, pid)...)
	for _, p := range problems {
		t.Errorf("%s: %s", what, p)
	}
	if reads == 0 {
		t.Errorf("%s: the trace shows no process_vm_readv of process %d: strace did not see the reads", what, pid)
	}
}

// threadIDs lists the threads of a running process.
func threadIDs(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatalf("threads of the target: %v", err)
	}
	var tids []int
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids
}

// traceProblems lists every call in an strace -f -y log that could change or disturb process
// pid (whose threads, besides the main one, are threads), and counts the process_vm_readv calls
// that read it.
func traceProblems(log string, pid int, threads ...int) (problems []string, reads int) {
	target := fmt.Sprintf("/proc/%d/", pid)
	spid := strconv.Itoa(pid)
	ids := map[string]bool{spid: true, "-" + spid: true}
	for _, tid := range threads {
		ids[strconv.Itoa(tid)] = true
	}
	// The target's threads are /proc/PID/task/TID/; with -y, strace annotates file descriptors
	// with their path, e.g. write(5</proc/42/mem>, ...).
	writeFlags := regexp.MustCompile(`O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND`)
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		m := straceLine.FindStringSubmatch(line)
		if m == nil {
			continue // signal deliveries, "<... resumed>" tails, exit lines
		}
		call, args := m[2], m[3]
		first := firstArg(args)
		switch call {
		case "ptrace":
			problems = append(problems, "ptrace call: "+line)
		case "process_vm_writev", "process_madvise", "process_mrelease", "pidfd_getfd":
			problems = append(problems, call+" call: "+line)
		case "process_vm_readv":
			if first == spid {
				reads++
			}
		case "open", "openat", "openat2", "creat":
			// The path is absolute, or relative to a directory of the target opened before
			// (openat(5</proc/42>, "mem", O_RDWR)).
			dir := strings.TrimSuffix(target, "/")
			ofTarget := strings.Contains(args, `"`+target) ||
				(call == "openat" || call == "openat2") && (strings.Contains(first, "<"+dir+">") || strings.Contains(first, "<"+target))
			if ofTarget && (call == "creat" || writeFlags.MatchString(args)) {
				problems = append(problems, "opened a file of the target for writing: "+line)
			}
		case "write", "writev", "pwrite64", "pwritev", "pwritev2":
			if strings.Contains(first, "<"+target) {
				problems = append(problems, "wrote to a file of the target: "+line)
			}
		case "pidfd_send_signal":
			// Its target is a pidfd; aioscope has no reason to signal anything through one.
			problems = append(problems, "pidfd_send_signal call: "+line)
		case "kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo":
			// kill(-pid) signals the target's process group; tkill and tgkill name threads.
			if ids[first] || (call == "tgkill" || call == "rt_tgsigqueueinfo") && ids[secondArg(args)] {
				problems = append(problems, "signalled the target: "+line)
			}
		}
	}
	return problems, reads
}

// TestReadOnlyTraceChecker makes sure the strace check recognises what it must refuse.
func TestReadOnlyTraceChecker(t *testing.T) {
	const pid = 4242
	clean := `100  openat(AT_FDCWD</w>, "/proc/4242/maps", O_RDONLY|O_CLOEXEC) = 5</proc/4242/maps>
100  openat(AT_FDCWD</w>, "/proc/4242/root/usr/bin/python3.14", O_RDONLY|O_CLOEXEC) = 5</usr/bin/python3.14>
101  process_vm_readv(4242, [{iov_base=0xc000100000, iov_len=16384}], 1, [{iov_base=0x7f00, iov_len=16384}], 1, 0) = 16384
101  tgkill(100, 101, SIGURG <unfinished ...>
101  openat(5</proc/42420>, "mem", O_RDWR|O_CLOEXEC) = 6</proc/42420/mem>
100  openat(5</proc/4242>, "maps", O_RDONLY|O_CLOEXEC) = 6</proc/4242/maps>
100  kill(42420, SIGKILL) = 0
101  pidfd_open(4242, 0) = 5<anon_inode:[pidfd]>
100  write(1</dev/pts/0>, "tid        task id"..., 2805) = 2805
`
	if problems, reads := traceProblems(clean, pid, 4243); len(problems) != 0 || reads != 1 {
		t.Errorf("clean trace: %v, %d reads", problems, reads)
	}
	for _, bad := range []string{
		`100  ptrace(PTRACE_SEIZE, 4242, NULL, 0) = 0`,
		`100  ptrace(PTRACE_TRACEME) = 0`,
		`100  process_madvise(5<anon_inode:[pidfd]>, [{iov_base=0x7f00, iov_len=4096}], 1, MADV_PAGEOUT, 0) = 4096`,
		`100  process_mrelease(5<anon_inode:[pidfd]>, 0) = 0`,
		`100  pidfd_getfd(5<anon_inode:[pidfd]>, 3, 0) = 6</proc/4242/mem>`,
		`100  openat(5</proc/4242>, "mem", O_RDWR|O_CLOEXEC) = 6</proc/4242/mem>`,
		`100  openat(5</proc/4242/task>, "4243/mem", O_WRONLY) = 6</proc/4242/task/4243/mem>`,
		`100  openat2(AT_FDCWD</w>, "/proc/4242/mem", {flags=O_RDWR|O_CLOEXEC, resolve=0}, 24) = 6</proc/4242/mem>`,
		`100  creat("/proc/4242/attr/current", 0644) = -1 EACCES (Permission denied)`,
		`100  writev(6</proc/4242/task/4243/comm>, [{iov_base="x", iov_len=1}], 1) = 1`,
		`100  kill(-4242, SIGSTOP) = 0`,
		`100  tkill(4243, SIGSTOP) = 0`,
		`100  tgkill(4242, 4243, SIGSTOP) = 0`,
		`100  rt_sigqueueinfo(4242, SIGSTOP, {si_signo=SIGSTOP, si_code=SI_QUEUE}) = 0`,
		`100  rt_tgsigqueueinfo(4242, 4243, SIGSTOP, {si_signo=SIGSTOP, si_code=SI_QUEUE}) = 0`,
		`100  process_vm_writev(4242, [{iov_base=0xc0, iov_len=8}], 1, [{iov_base=0x7f, iov_len=8}], 1, 0) = 8`,
		`100  openat(AT_FDCWD</w>, "/proc/4242/mem", O_RDWR|O_CLOEXEC) = 6</proc/4242/mem>`,
		`100  openat(AT_FDCWD</w>, "/proc/4242/task/4243/mem", O_WRONLY <unfinished ...>`,
		`100  pwrite64(6</proc/4242/mem>, "\x00", 1, 140737) = 1`,
		`100  write(7</proc/4242/oom_score_adj>, "0", 1) = 1`,
		`100  kill(4242, SIGSTOP) = 0`,
		`100  tgkill(4242, 4242, SIGSTOP) = 0`,
		`100  pidfd_send_signal(5<anon_inode:[pidfd]>, SIGSTOP, NULL, 0) = 0`,
	} {
		if problems, _ := traceProblems(clean+bad+"\n", pid, 4243); len(problems) != 1 {
			t.Errorf("%q: %d problems found, want 1", bad, len(problems))
		}
	}
}

// secondArg returns the second argument of an strace argument list.
func secondArg(args string) string {
	if i := strings.IndexByte(args, ','); i >= 0 {
		return firstArg(args[i+1:])
	}
	return ""
}

// firstArg returns the first argument of an strace argument list.
func firstArg(args string) string {
	if i := strings.IndexAny(args, ",)"); i >= 0 {
		return strings.TrimSpace(args[:i])
	}
	return strings.TrimSpace(args)
}

// straceBinary finds strace, which `make tools` installs when missing; without it the test is
// skipped, and fails under CI.
func straceBinary(t *testing.T) string {
	t.Helper()
	return testtarget.Program(t, "strace", "to prove that aioscope only reads: run make tools (apt-get install strace)")
}

// TestReadOnlyNeverStops polls the target's state while aioscope takes 200 snapshots of it: a
// tool that stops the target (ptrace attach, SIGSTOP) shows as state t or T, or as a tracer in
// /proc/PID/status.
func TestReadOnlyNeverStops(t *testing.T) {
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			// A busy target: its state changes all the time, so a stop would not hide in a sleep.
			tg := testtarget.Start(t, version, "churn.py")
			pid := strconv.Itoa(tg.PID)
			watch := testtarget.WatchStateClosely(t, tg.PID)
			okRuns := 0
			for i := 0; i < 200; i++ {
				_, stderr, code := runBounded(t, bin, "ps", "--json", pid)
				switch code {
				case exitOK:
					okRuns++
				case exitError:
					if !strings.Contains(string(stderr), "changed too fast") {
						t.Fatalf("run %d: %s", i, stderr)
					}
				default:
					t.Fatalf("run %d: exit %d: %s", i, code, stderr)
				}
			}
			checkNeverStopped(t, watch, fmt.Sprintf("%d CLI snapshots (%d succeeded)", 200, okRuns))
		})
	}
}

// minStateSamples is how many samples of the target's state a read-only test needs to count.
const minStateSamples = 100

// checkNeverStopped ends a watch of the target and fails the test unless it sampled the target's
// state at least minStateSamples times and never saw it stopped or traced.
func checkNeverStopped(t *testing.T, w *testtarget.StateWatch, what string) {
	t.Helper()
	if n := w.Check(t, what); n < minStateSamples {
		t.Errorf("%s: only %d samples of the target's state", what, n)
	}
}

// readOnlyServerSession runs session on CPython 3.14 and 3.15, each against a target of its own
// running scenario, with `aioscope command` under strace (session starts it with cmdline) while
// the target's state is sampled closely. session ends its session with the server and says what
// it did; then the target must never have been stopped or traced, and the trace must show only
// reads.
func readOnlyServerSession(t *testing.T, scenario, command string, session func(t *testing.T, tg *testtarget.Target, cmdline []string) (did string)) {
	strace := straceBinary(t)
	bin := testtarget.Binary(t)
	for _, version := range []string{"3.14", "3.15"} {
		t.Run(version, func(t *testing.T) {
			tg := testtarget.Start(t, version, scenario)
			watch := testtarget.WatchStateClosely(t, tg.PID)
			cmdline, out := underStrace(t, strace, bin, command)
			did := session(t, tg, cmdline)
			checkNeverStopped(t, watch, did)
			checkReadOnlyTrace(t, out, tg.PID, "aioscope "+command)
		})
	}
}

// TestReadOnlyDAPSession runs a whole debug session against a busy target — attach, the first
// stop, threads and stacks, continue with periodic refreshes, pause, 200 snapshots — with
// `aioscope dap` under strace, while polling the target's state. The trace must show only reads,
// and the target must never be stopped or traced.
func TestReadOnlyDAPSession(t *testing.T) {
	readOnlyServerSession(t, "churn.py", "dap", func(t *testing.T, tg *testtarget.Target, cmdline []string) string {
		c := startDAP(t, cmdline...)
		c.attach(tg.PID, map[string]any{"refreshInterval": 10})
		// The first stop's snapshot may have met the target mid-change (strace slows the
		// reads down); pause takes another.
		for i := 0; ; i++ {
			m := c.request("pause", map[string]any{"threadId": 1})
			if m.Success {
				break
			}
			if i == 20 || !strings.Contains(m.Message, "changed too fast") {
				t.Fatalf("pause: %s", m.Message)
			}
		}
		var threads struct {
			Threads []struct {
				ID int `json:"id"`
			} `json:"threads"`
		}
		if err := json.Unmarshal(c.mustSucceed("threads", nil).Body, &threads); err != nil || len(threads.Threads) == 0 {
			t.Fatalf("threads: %v, %d threads", err, len(threads.Threads))
		}
		for _, th := range threads.Threads[:min(len(threads.Threads), 20)] {
			c.mustSucceed("stackTrace", map[string]any{"threadId": th.ID})
		}
		eventsBefore := len(c.events)
		c.mustSucceed("continue", map[string]any{"threadId": threads.Threads[0].ID})
		// The refreshes run, under the trace: each one publishes the await graph. They are
		// asked for every 10 ms; a slow machine may take a while for the first.
		published := func() int {
			n := 0
			for _, e := range c.events[eventsBefore:] {
				if e.Event == "aioscope/awaitGraph" {
					n++
				}
			}
			return n
		}
		time.Sleep(500 * time.Millisecond)
		for deadline := time.Now().Add(20 * time.Second); published() < 3 && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			c.mustSucceed("threads", nil) // reads the events that came meanwhile
		}
		// pause takes a snapshot, which a target this busy may fail like any other.
		if m := c.request("pause", map[string]any{"threadId": threads.Threads[0].ID}); !m.Success && !strings.Contains(m.Message, "changed too fast") {
			t.Fatalf("pause: %s", m.Message)
		}
		refreshes := published()
		t.Logf("%d refreshes published while running", refreshes)
		if refreshes == 0 {
			t.Error("no refresh published an await graph between continue and pause")
		}
		ok := 0
		for i := 0; i < 200; i++ {
			if m := c.request("aioscope/snapshot", nil); m.Success {
				ok++
			} else if !strings.Contains(m.Message, "changed too fast") {
				t.Fatalf("snapshot %d: %s", i, m.Message)
			}
		}
		c.close()
		return fmt.Sprintf("a DAP session with %d/200 snapshots", ok)
	})
}
