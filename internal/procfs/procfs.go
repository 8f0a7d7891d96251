// Package procfs parses the few /proc files aioscope reads about a process: its status line
// (/proc/PID/stat) and the address ranges of a memory map (/proc/PID/maps).
package procfs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Stat is what /proc/PID/stat says about a process.
type Stat struct {
	State     byte   // R, S, D, Z, T, t, X, ...
	Flags     uint64 // the kernel's PF_* task flags
	StartTime uint64 // clock ticks after boot; tells a recycled PID from the original process
	ExitCode  int    // waitpid-style status of a zombie; meaningful only when State is 'Z'
}

// pfExiting is the kernel's PF_EXITING task flag: the process is being torn down. Its memory map
// may already be empty while its state still reads 'R' or 'S'.
const pfExiting = 0x4

// Exiting reports whether the process is a zombie, dead, or on its way out.
func (s Stat) Exiting() bool {
	return s.State == 'Z' || s.State == 'X' || s.State == 'x' || s.Flags&pfExiting != 0
}

// ReadStat reads and parses root/PID/stat; root is normally "/proc". The error is the one
// os.ReadFile returns, so callers can tell a missing process (fs.ErrNotExist) from the rest.
func ReadStat(root string, pid int) (Stat, error) {
	path := filepath.Join(root, strconv.Itoa(pid), "stat")
	data, err := os.ReadFile(path)
	if err != nil {
		return Stat{}, err
	}
	s, err := ParseStat(data)
	if err != nil {
		return Stat{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ParseStat parses the contents of /proc/PID/stat. The command name (field 2) may contain spaces
// and parentheses, so the fields are counted from the last ')'. Fields a kernel does not report
// are left zero; the state is always there.
func ParseStat(data []byte) (Stat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return Stat{}, fmt.Errorf("unexpected format: no ')' after the command name")
	}
	// After ") ": state ppid pgrp session tty_nr tpgid flags ... starttime (field 22) ...
	// exit_code (field 52).
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) == 0 || len(fields[0]) != 1 {
		return Stat{}, fmt.Errorf("unexpected format: no state after the command name")
	}
	s := Stat{State: fields[0][0]}
	field := func(n int) string { // n is the field's 1-based number in proc(5)
		if k := n - 3; k < len(fields) {
			return fields[k]
		}
		return ""
	}
	s.Flags, _ = strconv.ParseUint(field(9), 10, 64)
	s.StartTime, _ = strconv.ParseUint(field(22), 10, 64)
	s.ExitCode, _ = strconv.Atoi(field(52))
	return s, nil
}

// ParseMapsRange parses the "start-end" field a line of /proc/PID/maps begins with: two
// hexadecimal addresses, the end above the start.
func ParseMapsRange(field string) (start, end uint64, ok bool) {
	lo, hi, ok := strings.Cut(field, "-")
	if !ok {
		return 0, 0, false
	}
	start, err := strconv.ParseUint(lo, 16, 64)
	if err != nil {
		return 0, 0, false
	}
	if end, err = strconv.ParseUint(hi, 16, 64); err != nil || end <= start {
		return 0, 0, false
	}
	return start, end, true
}
