package cpython

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The files under testdata/ were copied out of the Debian sid interpreters (see
// testdata/README.md): raw debug tables from the ELF files, and vectors dumped by the running
// interpreters themselves.

// realVersions are the interpreter builds the testdata was taken from.
func realVersions() []string { return []string{"3.14.10", "3.15.2"} }

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatalf("read testdata: %v", err)
	}
	return b
}

func pyRuntimeBytes(tb testing.TB, version string) []byte {
	return readTestdata(tb, "pyruntime_"+version+".bin")
}

func asyncioDebugBytes(tb testing.TB, version string) []byte {
	return readTestdata(tb, "asynciodebug_"+version+".bin")
}

func realOffsets(tb testing.TB, version string) *DebugOffsets {
	tb.Helper()
	d, err := ParseDebugOffsets(pyRuntimeBytes(tb, version))
	if err != nil {
		tb.Fatalf("ParseDebugOffsets(%s): %v", version, err)
	}
	return d
}

// referenceField is one line of testdata/debug_offsets_<version>.txt, the decoded .PyRuntime
// dump produced independently from the C headers.
type referenceField struct {
	offset int
	name   string
	value  uint64
}

type referenceTable struct {
	structSize int
	fields     []referenceField // without the cookie
}

func readReferenceTable(tb testing.TB, version string) referenceTable {
	tb.Helper()
	raw := readTestdata(tb, "debug_offsets_"+version+".txt")
	var ref referenceTable
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "struct size: "); ok {
			n, err := strconv.Atoi(strings.Fields(rest)[0])
			if err != nil {
				tb.Fatalf("reference %s: %q: %v", version, line, err)
			}
			ref.structSize = n
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 || f[1] != "uint64_t" {
			continue
		}
		off, err1 := strconv.Atoi(f[0])
		val, err2 := strconv.ParseUint(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			tb.Fatalf("reference %s: bad line %q", version, line)
		}
		ref.fields = append(ref.fields, referenceField{offset: off, name: f[2], value: val})
	}
	if ref.structSize == 0 || len(ref.fields) == 0 {
		tb.Fatalf("reference %s: nothing parsed", version)
	}
	return ref
}

// vectors mirrors testdata/vectors_<version>.json (written by testdata/dump_vectors.py).
type vectors struct {
	Version    string            `json:"version"`
	HexVersion uint64            `json:"hexversion"`
	Linetables []linetableVector `json:"linetables"`
	Strings    []stringVector    `json:"strings"`
	Longs      []longVector      `json:"longs"`
}

type linetableVector struct {
	Label       string  `json:"label"`
	Qualname    string  `json:"qualname"`
	FirstLineNo int     `json:"firstlineno"`
	Linetable   hexdata `json:"linetable"`
	CodeUnits   int     `json:"code_units"`
	// Positions is co_positions() run-length encoded: [count, line, end_line, col, end_col].
	Positions [][5]int `json:"positions"`
}

// expanded returns one Location per code unit.
func (v linetableVector) expanded() []Location {
	var out []Location
	for _, p := range v.Positions {
		for range p[0] {
			out = append(out, Location{p[1], p[2], p[3], p[4]})
		}
	}
	return out
}

type stringVector struct {
	Expect string  `json:"expect"`
	Length int     `json:"length"`
	Raw    hexdata `json:"raw"` // the whole str object, header included
}

type longVector struct {
	Value     string  `json:"value"`
	FitsInt64 bool    `json:"fits_int64"`
	Raw       hexdata `json:"raw"` // the whole int object, header included
}

type hexdata []byte

func (h *hexdata) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = v
	return nil
}

func readVectors(tb testing.TB, version string) vectors {
	tb.Helper()
	var v vectors
	if err := json.Unmarshal(readTestdata(tb, "vectors_"+version+".json"), &v); err != nil {
		tb.Fatalf("vectors %s: %v", version, err)
	}
	if v.Version != version {
		tb.Fatalf("vectors file for %s says %s", version, v.Version)
	}
	return v
}
