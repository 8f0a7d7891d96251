package fuzzcheck

import (
	"fmt"
	"strings"
	"testing"
)

// recordingT records failures instead of ending the test.
type recordingT struct{ failures []string }

func (r *recordingT) Helper() {}
func (r *recordingT) Fatalf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

var sink []byte

// TestBounded checks that Bounded notices what it is there to notice, and only that.
func TestBounded(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		fn         func()
	}{
		{"a panic", "panicked: boom", func() { panic("boom") }},
		{"an allocation", "allocated", func() { sink = make([]byte, 1<<20) }},
	} {
		r := &recordingT{}
		Bounded(r, tc.name, 64<<10, tc.fn)
		if len(r.failures) == 0 || !strings.Contains(r.failures[0], tc.want) {
			t.Errorf("Bounded on %s: %q, want a failure mentioning %q", tc.name, r.failures, tc.want)
		}
	}
	r := &recordingT{}
	Bounded(r, "a small call", 64<<10, func() { sink = make([]byte, 100) })
	if len(r.failures) != 0 {
		t.Errorf("Bounded failed a small call: %q", r.failures)
	}
}

func TestCorpusFile(t *testing.T) {
	got := string(CorpusFile([]byte("a\x00"), "s", uint8(7), 3, uint64(4), true))
	want := "go test fuzz v1\n[]byte(\"a\\x00\")\nstring(\"s\")\nbyte('\\a')\nint(3)\nuint64(4)\nbool(true)\n"
	if got != want {
		t.Errorf("CorpusFile = %q, want %q", got, want)
	}
}
