package values

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseTimensOffsets(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"monotonic      100000         0\nboottime            0         0\n", 100000 * time.Second, false},
		{"boottime 5 0\nmonotonic -3 500000000\n", -3*time.Second + 500*time.Millisecond, false},
		{"1 7 0\n", 7 * time.Second, false},
		{"", 0, false},
		{"monotonic x 0\n", 0, true},
		{"monotonic 1 1000000000\n", 0, true},
	} {
		got, err := parseTimensOffsets([]byte(c.in))
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseTimensOffsets(%q) = %v, %v", c.in, got, err)
		}
	}
}

func TestMonotonicOffset(t *testing.T) {
	root := t.TempDir()
	mk := func(pid, ns, offsets string) {
		dir := filepath.Join(root, pid)
		if err := os.MkdirAll(filepath.Join(dir, "ns"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(ns, filepath.Join(dir, "ns", "time")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "timens_offsets"), []byte(offsets), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("self", "time:[4026531834]", "monotonic 10 0\nboottime 0 0\n")
	mk("100", "time:[4026532175]", "monotonic 100000 0\nboottime 0 0\n")
	mk("200", "time:[4026531834]", "monotonic 100000 0\nboottime 0 0\n")
	for pid, want := range map[int]time.Duration{100: 99990 * time.Second, 200: 0, 300: 0} {
		got, err := monotonicOffset(root, pid)
		if err != nil || got != want {
			t.Errorf("pid %d: %v %v, want %v", pid, got, err, want)
		}
	}
}
