package values

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// asyncio's event loop measures time with time.monotonic(), CLOCK_MONOTONIC. A process in
// another time namespace (a container started with its own clocks) sees that clock moved by
// its namespace's offset, which /proc/PID/timens_offsets shows.

// TargetClock returns a Config.Clock for process pid: the reader's CLOCK_MONOTONIC moved by the
// difference between the target's time-namespace offset and the reader's own. The offsets
// are read once; a process does not change time namespace while it runs. procRoot is "/proc"
// except in tests.
func TargetClock(procRoot string, pid int) (func() (float64, error), error) {
	off, err := monotonicOffset(procRoot, pid)
	if err != nil {
		return nil, err
	}
	return func() (float64, error) {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			return 0, fmt.Errorf("reading CLOCK_MONOTONIC: %w", err)
		}
		return float64(ts.Sec) + float64(ts.Nsec)/1e9 + off.Seconds(), nil
	}, nil
}

// monotonicOffset is how far the target's CLOCK_MONOTONIC is ahead of the reader's.
func monotonicOffset(procRoot string, pid int) (time.Duration, error) {
	target := filepath.Join(procRoot, strconv.Itoa(pid))
	self := filepath.Join(procRoot, "self")
	tns, err := os.Readlink(filepath.Join(target, "ns", "time"))
	if err != nil {
		if os.IsNotExist(err) {
			// A kernel without time namespaces: one clock for everyone. (A process that
			// is gone shows up at the next read of its memory.)
			return 0, nil
		}
		return 0, fmt.Errorf("process %d: reading its time namespace: %w", pid, err)
	}
	sns, err := os.Readlink(filepath.Join(self, "ns", "time"))
	if err == nil && sns == tns {
		return 0, nil
	}
	// timens_offsets shows the offsets of the namespace the process's children get, which is
	// its own unless it has just unshared one; the same holds for the reader.
	to, err := readOffsets(filepath.Join(target, "timens_offsets"))
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	so, err := readOffsets(filepath.Join(self, "timens_offsets"))
	if err != nil {
		so = 0
	}
	return to - so, nil
}

// readOffsets parses the monotonic line of a timens_offsets file: "monotonic SECS NANOSECS".
func readOffsets(path string) (time.Duration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parseTimensOffsets(data)
}

func parseTimensOffsets(data []byte) (time.Duration, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) != 3 || (string(f[0]) != "monotonic" && string(f[0]) != "1") {
			continue
		}
		secs, err1 := strconv.ParseInt(string(f[1]), 10, 64)
		nsecs, err2 := strconv.ParseInt(string(f[2]), 10, 64)
		if err1 != nil || err2 != nil || nsecs < 0 || nsecs >= 1e9 || secs > 1<<32 || secs < -(1<<32) {
			return 0, fmt.Errorf("timens_offsets: bad line %q", sc.Bytes())
		}
		return time.Duration(secs)*time.Second + time.Duration(nsecs), nil
	}
	return 0, nil
}
