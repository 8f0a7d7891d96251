package testtarget

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartServer starts argv, a server of aioscope's on stdio (possibly under a tracer or another
// wrapper), with pipes to its stdin and from its stdout; its stderr goes to stderr, or nowhere
// when that is nil. It runs in a process group of its own, so that the cleanup at the test's end
// also kills what a tracer started; and the wait for its pipes is bounded, as a surviving child
// would otherwise hold them open for ever.
func StartServer(t testing.TB, stderr io.Writer, argv ...string) (cmd *exec.Cmd, stdin io.WriteCloser, stdout io.ReadCloser) {
	t.Helper()
	cmd = exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err = cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd, stdin, stdout
}

// ListenAddress reads the first line `aioscope COMMAND --listen` writes to stdout, which names
// the address it listens on (clients started with port 0 learn the real port from it), and
// returns that address. diagnose, when not nil, says in a failure what may tell why the line did
// not come.
func ListenAddress(t testing.TB, stdout io.Reader, command string, diagnose func() string) string {
	t.Helper()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		msg := ""
		if diagnose != nil {
			msg = "; " + diagnose()
		}
		t.Fatalf("reading the listening line of aioscope %s: %v%s", command, err, msg)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "aioscope "+command+": listening on ")
	if !ok {
		t.Fatalf("first line of aioscope %s: %q", command, line)
	}
	return addr
}
