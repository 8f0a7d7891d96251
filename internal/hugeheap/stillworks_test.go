package hugeheap

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// probeEnv makes the test binary a probe instead of running tests: "prefer" or "plain" says
// whether it calls Prefer before filling its heap.
const probeEnv = "AIOSCOPE_HUGEHEAP_PROBE"

// probeBytes is what the probe allocates after Prefer, in objects of probeObject bytes: about
// what a snapshot of 10,000 tasks builds, in objects of the sizes it builds.
const (
	probeBytes  = 24 << 20
	probeObject = 512
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(probeEnv); mode != "" {
		os.Exit(probe(mode == "prefer"))
	}
	os.Exit(m.Run())
}

// probeResult is what a fresh process measures about its heap around Prefer (or no Prefer).
type probeResult struct {
	FreeGrowth int64  // growth of free heap memory (HeapIdle - HeapReleased) across Prefer
	StackInuse uint64 // StackInuse after Prefer
	HeapGrowth int64  // growth of the heap's memory (HeapSys) while the probe fills probeBytes
	Faults     int64  // minor page faults while it does
	Advised    bool   // the mapping holding what it allocated is advised for huge pages
	AnonHugeKB int    // that mapping's AnonHugePages once filled
}

// probe runs in a fresh process, as aioscope does: it calls Prefer (or not), allocates and fills
// probeBytes as a snapshot would, and prints what it measured as JSON.
func probe(prefer bool) int {
	debug.SetGCPercent(400) // as aioscope ps
	var ms0, ms1, ms2 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	if prefer {
		Prefer()
	}
	runtime.ReadMemStats(&ms1)
	faults0 := minorFaults()
	objs := make([][]byte, 0, probeBytes/probeObject)
	for range probeBytes / probeObject {
		b := make([]byte, probeObject)
		b[0], b[len(b)-1] = 1, 1
		objs = append(objs, b)
	}
	faults1 := minorFaults()
	runtime.ReadMemStats(&ms2)
	addr := uintptr(unsafe.Pointer(&objs[len(objs)/2][0]))
	flags, _ := smapsFieldOf(addr, "VmFlags:")
	huge, _ := smapsFieldOf(addr, "AnonHugePages:")
	var hugeKB int
	fmt.Sscan(huge, &hugeKB)
	r := probeResult{
		FreeGrowth: int64(ms1.HeapIdle-ms1.HeapReleased) - int64(ms0.HeapIdle-ms0.HeapReleased),
		StackInuse: ms1.StackInuse,
		HeapGrowth: int64(ms2.HeapSys) - int64(ms1.HeapSys),
		Faults:     faults1 - faults0,
		Advised:    strings.Contains(flags, " hg"),
		AnonHugeKB: hugeKB,
	}
	runtime.KeepAlive(objs)
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 1
	}
	return 0
}

func minorFaults() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Minflt
}

// runProbe runs this test binary as a probe in a fresh process.
func runProbe(t *testing.T, mode string) probeResult {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), probeEnv+"="+mode)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe %s: %v\n%s", mode, err, out)
	}
	var r probeResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("probe %s printed %q: %v", mode, out, err)
	}
	t.Logf("%s: %+v", mode, r)
	return r
}

// TestStillWorks checks, in fresh processes as aioscope runs, what Prefer relies on and what it
// is for: a goroutine's stack grown to the reserve is handed back to the heap when the goroutine
// ends, the allocations that follow are served from it, and (where THP is in madvise mode) they
// are backed by huge pages and fault far less often than without Prefer. When a Go release
// changes the runtime under it, this test says so rather than letting Prefer quietly do nothing.
func TestStillWorks(t *testing.T) {
	broken := func(format string, args ...any) {
		t.Helper()
		t.Errorf("internal/hugeheap no longer works with %s: %s. Drop it (and its call in cmd/aioscope) or redo it.",
			runtime.Version(), fmt.Sprintf(format, args...))
	}
	with := runProbe(t, "prefer")
	if with.FreeGrowth < heapReserve*3/4 || with.StackInuse >= heapReserve/2 {
		broken("after Prefer the heap has %d MiB more free memory and %d MiB of stacks in use, want about %d MiB "+
			"more free and the reserve's stack freed: a goroutine's grown stack is no longer handed back to the heap when it ends",
			with.FreeGrowth>>20, with.StackInuse>>20, heapReserve>>20)
	}
	if with.HeapGrowth > probeBytes/8 {
		broken("allocating %d MiB after Prefer grew the heap by %d MiB: the allocations are not served from the reserve",
			probeBytes>>20, with.HeapGrowth>>20)
	}
	if !thpMadvise(t) {
		return
	}
	without := runProbe(t, "plain")
	if !with.Advised {
		broken("the mapping the allocations after Prefer came from is not advised for huge pages")
	}
	if with.AnonHugeKB < probeBytes/2>>10 {
		broken("after filling %d MiB only %d kB of the heap's mapping is in huge pages", probeBytes>>20, with.AnonHugeKB)
	}
	if with.Faults*4 > without.Faults {
		broken("filling %d MiB took %d page faults after Prefer and %d without: it no longer saves faults",
			probeBytes>>20, with.Faults, without.Faults)
	}
}

// smapsFieldOf returns what follows field in the /proc/self/smaps entry of the mapping holding
// addr, for the probe, which has no testing.T.
func smapsFieldOf(addr uintptr, field string) (string, bool) {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return "", false
	}
	inside := false
	for _, line := range strings.Split(string(smaps), "\n") {
		if rng, _, ok := strings.Cut(line, " "); ok && strings.Contains(rng, "-") && !strings.HasSuffix(rng, ":") {
			lo, hi, ok := mapsRange([]byte(rng + " "))
			inside = ok && addr >= lo && addr < hi
		}
		if rest, ok := strings.CutPrefix(line, field); inside && ok {
			return rest, true
		}
	}
	return "", false
}
