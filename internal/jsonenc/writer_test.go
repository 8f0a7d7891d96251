package jsonenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/snapshot"
)

func TestWriterValues(t *testing.T) {
	j := NewBuffer([]byte("x="))
	j.Raw(`[`)
	j.Str("a\"b")
	j.Raw(",")
	j.Int(-7)
	j.Raw(",")
	j.Uint(1<<64 - 1)
	j.Raw(",")
	j.Bool(true)
	j.Raw(",")
	j.Null()
	j.Raw(",")
	j.OptInt(3, true)
	j.Raw(",")
	j.OptInt(3, false)
	j.Raw(",")
	j.HexID(0x7f3a2c0e1b40)
	j.Raw(",")
	j.RawBytes([]byte(`{}`))
	j.Raw(`]`)
	want := `x=["a\"b",-7,18446744073709551615,true,null,3,null,"0x7f3a2c0e1b40",{}]`
	if got := string(j.Bytes()); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if err := j.Close(); err != nil || string(j.Bytes()) != want {
		t.Errorf("Close on a buffer: %v, text %s", err, j.Bytes())
	}
}

// countFrames writes a frame list unless the writer has its text, and counts the lists written.
type countFrames struct{ calls int }

func (c *countFrames) write(j *Writer, fs []snapshot.Frame) {
	if j.ReuseFrames(fs) {
		return
	}
	start := j.Len()
	c.calls++
	j.Raw("[")
	for i, f := range fs {
		if i > 0 {
			j.Raw(",")
		}
		j.Str(f.Function)
	}
	j.Raw("]")
	j.RememberFrames(fs, start)
}

// TestFramesCache: a shared list is written once and copied after; an equal but distinct list
// is written again; after a flush every list is written again, and the text stays the same.
func TestFramesCache(t *testing.T) {
	shared := []snapshot.Frame{{Function: "sleep"}, {Function: "main"}}
	equal := []snapshot.Frame{{Function: "sleep"}, {Function: "main"}}
	prefix := shared[:1]
	var out bytes.Buffer
	j := NewWriter(&out)
	c := &countFrames{}
	var want strings.Builder
	lists := [][]snapshot.Frame{shared, shared, nil, equal, prefix, shared}
	texts := []string{`["sleep","main"]`, `["sleep","main"]`, `[]`, `["sleep","main"]`, `["sleep"]`, `["sleep","main"]`}
	for i, fs := range lists {
		c.write(j, fs)
		want.WriteString(texts[i])
	}
	if c.calls != 3 {
		t.Errorf("%d lists written, want 3 (shared, equal, prefix)", c.calls)
	}
	// Past a flush the offsets of the old text are gone: the list is written anew.
	j.Raw(strings.Repeat(" ", flushSize))
	want.WriteString(strings.Repeat(" ", flushSize))
	if err := j.Flush(); err != nil || len(j.Bytes()) != 0 {
		t.Fatalf("Flush: %v, %d bytes kept", err, len(j.Bytes()))
	}
	c.write(j, shared)
	c.write(j, shared)
	want.WriteString(`["sleep","main"]["sleep","main"]`)
	if c.calls != 4 {
		t.Errorf("%d lists written, want 4", c.calls)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Errorf("text differs:\n%.200q\n%.200q", out.String(), want.String())
	}
}

func TestFlushSizes(t *testing.T) {
	var writes []int
	j := NewWriter(writerFunc(func(p []byte) (int, error) {
		writes = append(writes, len(p))
		return len(p), nil
	}))
	j.Raw("small")
	if err := j.Flush(); err != nil || len(writes) != 0 {
		t.Fatalf("a small buffer was passed on: %v %v", writes, err)
	}
	for i := 0; len(writes) == 0; i++ {
		j.Raw(`{"k":`)
		j.Int(int64(i))
		j.Raw(`}`)
		if err := j.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if writes[0] < flushSize {
		t.Errorf("first write %d bytes, want at least %d", writes[0], flushSize)
	}
	if err := j.Close(); err != nil || len(writes) != 2 {
		t.Errorf("Close: %v, writes %v", err, writes)
	}
}

func TestWriterError(t *testing.T) {
	boom := errors.New("broken pipe")
	calls := 0
	j := NewWriter(writerFunc(func(p []byte) (int, error) {
		calls++
		return 0, boom
	}))
	for range 3 {
		j.Raw(strings.Repeat("x", flushSize))
		if err := j.Flush(); !errors.Is(err, boom) {
			t.Fatalf("Flush: %v", err)
		}
		if len(j.Bytes()) != 0 {
			t.Fatal("text kept after a failed write: the buffer would grow without bound")
		}
	}
	if err := j.Close(); !errors.Is(err, boom) || calls != 1 {
		t.Errorf("Close: %v after %d writes; want the first error, one write", err, calls)
	}
}

// TestWriterDocument: the pieces make valid JSON whatever the strings hold.
func TestWriterDocument(t *testing.T) {
	j := NewBuffer(nil)
	j.Raw("[")
	for i := range 300 {
		if i > 0 {
			j.Raw(",")
		}
		j.Str(string(rune(i)) + "\xff" + strconv.Itoa(i))
	}
	j.Raw("]")
	var back []string
	if err := json.Unmarshal(j.Bytes(), &back); err != nil || len(back) != 300 {
		t.Fatalf("%v: %d strings", err, len(back))
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestHexID: every id is written as Python's hex() writes it, for ids of every length.
func TestHexID(t *testing.T) {
	for _, v := range []uint64{0, 1, 0xf, 0x10, 0xff, 0x7f3a2c0e1b40, 0x8000000000000000, 1<<64 - 1} {
		j := NewBuffer(nil)
		j.HexID(v)
		if want := `"0x` + strconv.FormatUint(v, 16) + `"`; string(j.Bytes()) != want {
			t.Errorf("HexID(%d) = %s, want %s", v, j.Bytes(), want)
		}
	}
}
