//go:build ignore

// extract_sections copies the raw debug-offset tables out of the provisioned CPython binaries
// into this directory, so the decoder tests run against bytes the real interpreters ship.
//
// Usage (from the module root, after scripts/provision-python.sh 3.13 3.14 3.15):
//
//	go run cpython/testdata/extract_sections.go .cache/sid
package main

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
)

type extraction struct {
	file    string // relative to the provisioning root
	section string
	size    int
	out     string
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run extract_sections.go SID_ROOT")
		os.Exit(2)
	}
	root := os.Args[1]
	outDir := filepath.Join("cpython", "testdata")
	jobs := []extraction{
		{"usr/bin/python3.13", ".PyRuntime", 888, "pyruntime_3.13.18.bin"},
		{"usr/bin/python3.14", ".PyRuntime", 888, "pyruntime_3.14.10.bin"},
		{"usr/bin/python3.15", ".PyRuntime", 888, "pyruntime_3.15.2.bin"},
		{"usr/lib/python3.14/lib-dynload/_asyncio.cpython-314-x86_64-linux-gnu.so", ".AsyncioDebug", 104, "asynciodebug_3.14.10.bin"},
		{"usr/bin/python3.15", ".AsyncioDebug", 104, "asynciodebug_3.15.2.bin"},
	}
	for _, j := range jobs {
		if err := extract(filepath.Join(root, j.file), j.section, j.size, filepath.Join(outDir, j.out)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func extract(path, section string, size int, out string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	s := f.Section(section)
	if s == nil {
		return fmt.Errorf("%s has no %s section", path, section)
	}
	data, err := s.Data()
	if err != nil {
		return fmt.Errorf("read %s of %s: %w", section, path, err)
	}
	if len(data) < size {
		return fmt.Errorf("%s of %s is %d bytes, want at least %d", section, path, len(data), size)
	}
	if err := os.WriteFile(out, data[:size], 0o644); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Printf("%s: %s[0:%d] of %s (sh_addr %#x)\n", out, section, size, path, s.Addr)
	return nil
}
