package inspector

import "testing"

func TestFatalErrorsAreNotRetried(t *testing.T) {
	for _, err := range []error{&ProcessGoneError{PID: 1}, &PermissionError{PID: 1}} {
		if retryable(err) || !isFatal(err) {
			t.Errorf("%T: retryable=%v fatal=%v", err, retryable(err), isFatal(err))
		}
	}
	if !retryable(inconsistent("x")) || !retryable(&ReadError{}) {
		t.Error("torn-read errors must be retryable")
	}
}

func TestScanForCookie(t *testing.T) {
	mem := imageMemory{}
	start := uint64(0x400000)
	// A decoy cookie at a misaligned address, one that fails validation, and the real one.
	mem.write(start, make([]byte, 3*cookieScanChunk))
	mem.write(start+0x101, []byte("xdebugpy"))
	mem.write(start+0x200, []byte("xdebugpy"))
	real := start + cookieScanChunk - 4 // the last aligned slot of the first chunk
	real &^= 7
	mem.write(real, []byte("xdebugpy"))
	f := &mappedFile{Path: "/gone/python3.14", Deleted: true, Mappings: []Mapping{
		{Start: start - pageSize, End: start, Perms: "r--p"},
		{Start: start, End: start + 3*cookieScanChunk, Perms: "rw-p"},
	}}
	var tried []uint64
	got := scanForCookie(mem, f, func(addr uint64) bool {
		tried = append(tried, addr)
		return addr == real
	})
	if got != real {
		t.Fatalf("scanForCookie = %#x, want %#x (tried %#x)", got, real, tried)
	}
	if len(tried) != 2 || tried[0] != start+0x200 {
		t.Errorf("validated candidates %#x, want the aligned decoy then the real table", tried)
	}
}

// write maps the pages data covers, as needed, and writes data at addr.
func (m imageMemory) write(addr uint64, data []byte) {
	for i, b := range data {
		a := addr + uint64(i)
		p := a &^ (pageSize - 1)
		if m[p] == nil {
			m[p] = make([]byte, pageSize)
		}
		m[p][a-p] = b
	}
}
