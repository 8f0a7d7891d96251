package inspector_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/inspector"
	"github.com/aioscope/aioscope/internal/testtarget"
)

// These tests start interpreters laid out the ways real deployments lay them out and check that
// the runtime and the asyncio table are found in each: a binary deleted after start (a package
// upgrade), Python embedded in a PIE program through the shared libpython, and an interpreter
// that exists only in another mount namespace (a container).

// pythonPrefix returns sys.prefix of the interpreter, for PYTHONHOME of copies and embedders.
func pythonPrefix(t *testing.T, python string) string {
	t.Helper()
	out, err := exec.Command(python, "-c", "import sys; print(sys.prefix)").Output()
	if err != nil {
		t.Fatalf("%s: %v", python, err)
	}
	return strings.TrimSpace(string(out))
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// expectTreeTasks takes a snapshot and checks that tree.py's tasks are all there.
func expectTreeTasks(t *testing.T, pid int) {
	t.Helper()
	s := snap(t, pid, inspector.Options{Retries: inspector.DefaultRetries})
	byName := tasksByName(s)
	for _, name := range []string{"Task-1", "Task-A", "B-leaf-2", "gatherer", "emoji-😀"} {
		if byName[name] == nil {
			t.Errorf("task %q missing from a snapshot with %d tasks", name, len(s.Tasks))
		}
	}
	if leaf := byName["B-leaf-2"]; leaf != nil && functions(leaf.Frames) != "sleep -> deep -> c1" {
		t.Errorf("B-leaf-2 frames = %q", functions(leaf.Frames))
	}
}

func TestDeletedInterpreter(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			python := testtarget.Python(t, v)
			exe := filepath.Join(t.TempDir(), "python"+v)
			copyFile(t, python, exe)
			tg := testtarget.StartCommand(t, v, []string{"PYTHONHOME=" + pythonPrefix(t, python)},
				exe, "-B", "-s", testtarget.ScenarioPath("tree.py"))
			if err := os.Remove(exe); err != nil {
				t.Fatal(err)
			}
			maps, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(tg.PID), "maps"))
			if err != nil || !strings.Contains(string(maps), exe+" (deleted)") {
				t.Fatalf("the interpreter's mapping is not marked deleted (%v)", err)
			}
			expectTreeTasks(t, tg.PID)
		})
	}
}

// TestEmbeddedSharedLibpython: the runtime is in libpython3.X.so, loaded by a PIE executable
// whose name does not mention Python.
func TestEmbeddedSharedLibpython(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		testtarget.Unavailable(t, "gcc is needed to build the embedding program: %v", err)
	}
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			python := testtarget.Python(t, v)
			prefix := pythonPrefix(t, python)
			libdir := filepath.Join(prefix, "lib", "x86_64-linux-gnu")
			lib := filepath.Join(libdir, "libpython"+v+".so.1.0")
			if _, err := os.Stat(lib); err != nil {
				testtarget.Unavailable(t, "no shared libpython next to %s: %v", python, err)
			}
			host := filepath.Join(t.TempDir(), "embedhost")
			args := []string{"-O1", "-o", host, filepath.Join(testtarget.RepoRoot(t), "testdata", "embed", "embedhost.c"),
				// DT_RPATH (not RUNPATH) so that libpython's own dependencies are found there too.
				"-Wl,--disable-new-dtags", "-Wl,-rpath," + libdir}
			// An interpreter built against a newer C library than the host's brings its own
			// loader; the embedding program must use it as well.
			if loader := filepath.Join(libdir, "ld-linux-x86-64.so.2"); fileExists(loader) {
				args = append(args, "-Wl,--dynamic-linker="+loader)
			}
			if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
				t.Fatalf("gcc: %v\n%s", err, out)
			}
			tg := testtarget.StartCommand(t, v, []string{"PYTHONHOME=" + prefix}, host, lib, testtarget.ScenarioPath("tree.py"))
			expectTreeTasks(t, tg.PID)
		})
	}
}

// TestOtherMountNamespace: the interpreter's file exists only inside the target's mount
// namespace, as in a container; it must be read through /proc/PID/root.
func TestOtherMountNamespace(t *testing.T) {
	unshare := testtarget.Unshare(t)
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			python := testtarget.Python(t, v)
			dir := t.TempDir()
			// Inside the new namespace a private tmpfs hides dir; the copy lives only there.
			script := `mount -t tmpfs tmpfs "$1" && cp "$2" "$1/python" && exec "$1/python" -B -s "$3"`
			tg := testtarget.StartCommand(t, v, []string{"PYTHONHOME=" + pythonPrefix(t, python)},
				unshare, "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh",
				dir, python, testtarget.ScenarioPath("tree.py"))
			if fileExists(filepath.Join(dir, "python")) {
				t.Fatal("the interpreter copy is visible outside the target's mount namespace")
			}
			expectTreeTasks(t, tg.PID)
		})
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
