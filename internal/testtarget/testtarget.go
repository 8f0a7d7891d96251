// Package testtarget starts real CPython processes running the asyncio scenario programs of
// testdata/scenarios and runs CPython's own `python -m asyncio ps|pstree` against them, so that
// tests can compare aioscope with the tool it reimplements on the very same live process.
package testtarget

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ReadyTimeout bounds how long Start waits for a scenario to print its READY line.
const ReadyTimeout = 30 * time.Second

// toolTimeout bounds one run of CPython's asyncio tool; a hung tool must not hang the test run.
const toolTimeout = 2 * time.Minute

// provisionTimeout bounds scripts/provision-python.sh, which downloads packages on its first run.
const provisionTimeout = 20 * time.Minute

// Unavailable reports that something the test needs from the environment (an interpreter,
// permission to read another process) is missing: a failure under CI, where the environment is
// supposed to provide it, and a skip elsewhere, so that a plain `go test` on a developer machine
// stays green.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (a missing prerequisite is an error when CI is set)", msg)
	}
	t.Skip(msg)
}

// Program returns the path of the program name, looked up in PATH. Without it the test is
// Unavailable, with need saying what the program is needed for and how to install it.
func Program(t testing.TB, name, need string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "%s is needed %s (%v)", name, need, err)
	}
	return path
}

// Unshare returns unshare(1), for a test that puts a target in a mount namespace of its own, as a
// container does; that takes root.
func Unshare(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "a mount namespace of the test's own needs root (euid %d)", os.Geteuid())
	}
	return Program(t, "unshare", "to create a mount namespace (util-linux)")
}

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

func repoRoot() (string, error) {
	rootOnce.Do(func() {
		var starts []string
		if wd, err := os.Getwd(); err == nil {
			starts = append(starts, wd)
		}
		// The source location covers tests run from outside the module, unless built with -trimpath.
		if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
			starts = append(starts, filepath.Dir(file))
		}
		for _, dir := range starts {
			for {
				if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
					bytes.Contains(data, []byte("module github.com/aioscope/aioscope\n")) {
					rootDir = dir
					return
				}
				parent := filepath.Dir(dir)
				if parent == dir {
					break
				}
				dir = parent
			}
		}
		rootErr = fmt.Errorf("no go.mod of github.com/aioscope/aioscope above %q", starts)
	})
	return rootDir, rootErr
}

// RepoRoot returns the absolute path of the repository (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("testtarget: %v", err)
	}
	return root
}

// ScenarioPath returns the absolute path of testdata/scenarios/<name>. It panics when the
// repository root cannot be found, which only happens when tests run outside the source tree.
func ScenarioPath(name string) string {
	root, err := repoRoot()
	if err != nil {
		panic("testtarget: " + err.Error())
	}
	return filepath.Join(root, "testdata", "scenarios", name)
}

type pythonResult struct {
	path string
	err  error
}

var (
	pythonMu    sync.Mutex
	pythonCache = map[string]pythonResult{}
)

// Python returns the path of a CPython interpreter of the given version ("3.13", "3.14" or
// "3.15"): $AIOSCOPE_PYTHON314 and friends when set, else the one scripts/provision-python.sh
// provides. "3.11", a version aioscope refuses, comes from $AIOSCOPE_PYTHON311 or the system
// (scripts/provision-tools.sh installs Debian 12's). When none is available the test fails under
// CI and is skipped elsewhere.
func Python(t testing.TB, version string) string {
	t.Helper()
	pythonMu.Lock()
	res, ok := pythonCache[version]
	if !ok {
		res.path, res.err = findPython(version)
		pythonCache[version] = res
	}
	pythonMu.Unlock()
	if res.err != nil {
		Unavailable(t, "CPython %s is not available: %v", version, res.err)
	}
	return res.path
}

func findPython(version string) (string, error) {
	switch version {
	case "3.11":
		return systemPython(version)
	case "3.13", "3.14", "3.15":
	default:
		return "", fmt.Errorf("unsupported version %q (3.11, 3.13, 3.14 or 3.15)", version)
	}
	envVar := "AIOSCOPE_PYTHON" + strings.ReplaceAll(version, ".", "")
	path := os.Getenv(envVar)
	if path == "" {
		var err error
		if path, err = provision(version); err != nil {
			return "", err
		}
	} else if abs, err := exec.LookPath(path); err != nil {
		return "", fmt.Errorf("%s=%s: %v", envVar, path, err)
	} else {
		path = abs
	}
	// A wrong interpreter would make every comparison meaningless, so check what it really is.
	if err := checkVersion(path, version); err != nil {
		return "", err
	}
	return path, nil
}

// systemPython finds an interpreter of a version nothing provisions: $AIOSCOPE_PYTHON311 and
// friends when set, else the system's python3.11 or python3, if either is that version.
func systemPython(version string) (string, error) {
	envVar := "AIOSCOPE_PYTHON" + strings.ReplaceAll(version, ".", "")
	cands := []string{"/usr/bin/python" + version, "/usr/bin/python3", "python" + version, "python3"}
	if p := os.Getenv(envVar); p != "" {
		cands = []string{p}
	}
	for _, cand := range cands {
		if path, err := exec.LookPath(cand); err == nil && checkVersion(path, version) == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("none among %v: run make tools or set %s", cands, envVar)
}

// checkVersion checks that the interpreter at path is CPython version.
func checkVersion(path, version string) error {
	out, err := exec.Command(path, "-I", "-c",
		"import sys; print('%d.%d' % sys.version_info[:2])").Output()
	if err != nil {
		return fmt.Errorf("%s does not run: %v", path, err)
	}
	if got := strings.TrimSpace(string(out)); got != version {
		return fmt.Errorf("%s is Python %s, not %s", path, got, version)
	}
	return nil
}

// provision runs scripts/provision-python.sh for one version and returns the path it prints.
func provision(version string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	// Test binaries of several packages run in parallel; the script's first run downloads into a
	// shared cache and must not run twice at once.
	cache := os.Getenv("AIOSCOPE_CACHE")
	if cache == "" {
		cache = filepath.Join(root, ".cache")
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(cache, "provision.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("locking %s: %v", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	ctx, cancel := context.WithTimeout(context.Background(), provisionTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "provision-python.sh"), version)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/provision-python.sh %s: %v: %s", version, err,
			strings.TrimSpace(stderr.String()))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, path, ok := strings.Cut(line, " "); ok && v == version {
			return path, nil
		}
	}
	return "", fmt.Errorf("scripts/provision-python.sh %s printed no path: %q", version, out)
}

// Target is a running scenario program.
type Target struct {
	PID      int    // process id; the process leads its own process group
	Python   string // interpreter path
	Version  string // "3.14", "3.15", ...
	Scenario string // file name under testdata/scenarios, or "" for a raw command line
	Args     []string

	stdout  syncBuffer // everything printed besides the READY line
	stderr  syncBuffer
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

// Stderr returns what the target has written to stderr so far.
func (tg *Target) Stderr() string { return tg.stderr.String() }

// Stdout returns what the target has written to stdout so far, without the READY line.
func (tg *Target) Stdout() string { return tg.stdout.String() }

// Exited reports whether the target process has ended (and has been reaped).
func (tg *Target) Exited() bool {
	select {
	case <-tg.exited:
		return true
	default:
		return false
	}
}

// Start runs testdata/scenarios/<scenario> with CPython <version> and returns once the program
// has printed "READY <pid>", i.e. once its tasks are in their final state. The process is killed
// (with its whole process group) and reaped when the test ends; its stderr is logged if the test
// failed. Start fails the test if READY does not come within ReadyTimeout.
func Start(t testing.TB, version, scenario string, args ...string) *Target {
	t.Helper()
	py := Python(t, version)
	// -B: importing a scenario's helper module must not write __pycache__ into the source tree.
	// -E, -s: the user's PYTHON* variables and site-packages must not change what the target runs.
	argv := append([]string{"-B", "-E", "-s", ScenarioPath(scenario)}, args...)
	tg := start(t, py, version, argv, nil, ReadyTimeout)
	tg.Scenario, tg.Args = scenario, args
	return tg
}

// StartCommand runs any program that behaves like a scenario — prints "READY <its own pid>" —
// with extra environment variables (NAME=value), and manages it like Start. It is for targets
// that are not a plain interpreter: an interpreter copied elsewhere or deleted, Python embedded
// in another program, an interpreter in another mount namespace. version is the CPython version
// the program runs.
func StartCommand(t testing.TB, version string, env []string, program string, args ...string) *Target {
	t.Helper()
	return start(t, program, version, args, env, ReadyTimeout)
}

func start(t testing.TB, python, version string, argv, env []string, timeout time.Duration) *Target {
	t.Helper()
	tg := &Target{Python: python, Version: version, exited: make(chan struct{})}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatalf("testtarget: %v", err)
	}
	cmd := exec.Command(python, argv...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout = pw
	cmd.Stderr = &tg.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true, // so that cleanup also kills whatever the scenario spawned
		// If the test binary dies without running its cleanups (e.g. go test's timeout), the
		// target dies with it instead of lingering; the scenarios' own alarm is the last resort.
		Pdeathsig: syscall.SIGKILL,
	}
	// A grandchild that escaped the process group could hold stderr open forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.Fatalf("testtarget: starting %s %s: %v", python, strings.Join(argv, " "), err)
	}
	pw.Close()
	tg.PID = cmd.Process.Pid
	go func() {
		tg.waitErr = cmd.Wait()
		close(tg.exited)
	}()
	desc := fmt.Sprintf("%s %s (pid %d)", filepath.Base(python), strings.Join(argv, " "), tg.PID)
	t.Cleanup(func() {
		// The group id is the pid (Setpgid); ESRCH just means everything has already exited.
		_ = syscall.Kill(-tg.PID, syscall.SIGKILL)
		select {
		case <-tg.exited:
		case <-time.After(15 * time.Second):
			t.Errorf("testtarget: %s did not exit after SIGKILL", desc)
		}
		if stderr := tg.stderr.String(); t.Failed() && stderr != "" {
			t.Logf("testtarget: stderr of %s:\n%s", desc, stderr)
		}
	})

	ready := make(chan error, 1)
	go func() {
		br := bufio.NewReader(pr)
		want := "READY " + strconv.Itoa(tg.PID)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				ready <- fmt.Errorf("stdout closed before READY (read %q)", tg.stdout.String()+line)
				break
			}
			if strings.HasPrefix(line, "READY") {
				if strings.TrimRight(line, "\n") != want {
					ready <- fmt.Errorf("printed %q, want %q", strings.TrimRight(line, "\n"), want)
				} else {
					ready <- nil
				}
				break
			}
			tg.stdout.WriteString(line)
		}
		// Keep draining so that a target printing more never blocks on a full pipe.
		_, _ = io.Copy(&tg.stdout, br)
		pr.Close()
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err != nil {
			// Give a dying process a moment so that the report can include its exit status.
			select {
			case <-tg.exited:
			case <-time.After(2 * time.Second):
			}
			t.Fatalf("testtarget: %s %v%s\nstderr:\n%s", desc, err, tg.exitStatus(), tg.stderr.String())
		}
	case <-timer.C:
		t.Fatalf("testtarget: %s printed no READY line within %v%s\nstdout so far: %q\nstderr:\n%s",
			desc, timeout, tg.exitStatus(), tg.stdout.String(), tg.stderr.String())
	}
	return tg
}

func (tg *Target) exitStatus() string {
	if !tg.Exited() {
		return ""
	}
	if tg.waitErr == nil {
		return "; it exited with status 0"
	}
	return "; it exited: " + tg.waitErr.Error()
}

// AsyncioTool runs CPython's own tool, `python -m asyncio <cmd> [extra...] <pid>`, with the
// target's interpreter against the target, and returns its stdout, stderr and exit code.
// It is the oracle aioscope is compared with.
func (tg *Target) AsyncioTool(t testing.TB, cmd string, extra ...string) (stdout, stderr []byte, exitCode int) {
	t.Helper()
	if tg.Exited() {
		t.Fatalf("testtarget: target %d (%s) has exited%s\nstderr:\n%s", tg.PID, tg.Scenario,
			tg.exitStatus(), tg.stderr.String())
	}
	// -I: nothing from the environment or the working directory (which could shadow asyncio)
	// takes part. -X utf8: the output is UTF-8 whatever the locale, as aioscope's is.
	args := append([]string{"-I", "-X", "utf8", "-m", "asyncio", cmd}, extra...)
	args = append(args, strconv.Itoa(tg.PID))
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, tg.Python, args...)
	c.Env = toolEnv()
	var outBuf, errBuf bytes.Buffer
	c.Stdout, c.Stderr = &outBuf, &errBuf
	err := c.Run()
	if ctx.Err() != nil {
		t.Fatalf("testtarget: %s %s timed out after %v", tg.Python, strings.Join(args, " "), toolTimeout)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
	default:
		t.Fatalf("testtarget: %s %s: %v\nstderr:\n%s", tg.Python, strings.Join(args, " "), err, errBuf.String())
	}
	return outBuf.Bytes(), errBuf.Bytes(), c.ProcessState.ExitCode()
}

// toolEnv is the environment for CPython's tool: colour is off so that any error or usage text
// is plain and comparable.
func toolEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "FORCE_COLOR", "NO_COLOR", "PYTHON_COLORS", "TERM":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "NO_COLOR=1", "TERM=dumb")
}

// syncBuffer is a bytes.Buffer safe for one writer goroutine and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(s)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
