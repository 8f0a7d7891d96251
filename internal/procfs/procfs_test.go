package procfs

import (
	"errors"
	"io/fs"
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	// A real line, with a command name holding ") " and parentheses.
	line := "4242 (a) (b) c) S 1 4242 4242 0 -1 4194560 1130 0 0 0 3 1 0 0 20 0 1 0 98765 10510336 2375 " +
		"18446744073709551615 1 1 0 0 0 0 0 16781312 2 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 256\n"
	s, err := ParseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if s.State != 'S' || s.Flags != 4194560 || s.StartTime != 98765 || s.ExitCode != 256 {
		t.Errorf("ParseStat = %+v", s)
	}
	if s.Exiting() {
		t.Error("a sleeping process is not exiting")
	}
	for _, c := range []struct {
		stat Stat
		want bool
	}{{Stat{State: 'Z'}, true}, {Stat{State: 'X'}, true}, {Stat{State: 'R', Flags: pfExiting}, true}, {Stat{State: 'R'}, false}} {
		if got := c.stat.Exiting(); got != c.want {
			t.Errorf("%+v.Exiting() = %v, want %v", c.stat, got, c.want)
		}
	}
	// Older kernels report fewer fields: what is missing stays zero.
	if s, err := ParseStat([]byte("7 (x) Z 1 7")); err != nil || s.State != 'Z' || s.StartTime != 0 {
		t.Errorf("short line: %+v, %v", s, err)
	}
	for _, bad := range []string{"", "7 x R", "7 (x)", "7 (x) RS 1"} {
		if _, err := ParseStat([]byte(bad)); err == nil {
			t.Errorf("ParseStat(%q) succeeded", bad)
		}
	}
}

func TestReadStatSelf(t *testing.T) {
	s, err := ReadStat("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.State != 'R' && s.State != 'S' || s.StartTime == 0 {
		t.Errorf("own stat: %+v", s)
	}
	if _, err := ReadStat("/proc", 1<<30); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing process: %v, want fs.ErrNotExist", err)
	}
}

func TestParseMapsRange(t *testing.T) {
	for _, c := range []struct {
		in     string
		lo, hi uint64
		ok     bool
	}{
		{"7f00-7f10", 0x7f00, 0x7f10, true},
		{"ffffffffff600000-ffffffffff601000", 0xffffffffff600000, 0xffffffffff601000, true},
		{"7f10-7f00", 0, 0, false},
		{"7f00-7f00", 0, 0, false},
		{"7f00", 0, 0, false},
		{"x-7f00", 0, 0, false},
		{"7f00-", 0, 0, false},
	} {
		lo, hi, ok := ParseMapsRange(c.in)
		if lo != c.lo || hi != c.hi || ok != c.ok {
			t.Errorf("ParseMapsRange(%q) = %x, %x, %v", c.in, lo, hi, ok)
		}
	}
}
