package jsonenc

import (
	"io"
	"strconv"

	"github.com/aioscope/aioscope/snapshot"
)

// flushSize is how much text a Writer with an io.Writer gathers before Flush passes it on.
const flushSize = 256 << 10

// Writer appends JSON text to a buffer. Made with NewWriter it hands the buffer to an io.Writer
// in large pieces (Flush, Close); made with NewBuffer the text stays in the buffer (Bytes). The
// caller writes the punctuation: a document's layout is its writer's code, its shape the
// document's schema (schema/ at the top of the repository).
//
// Errors of the io.Writer are kept: the first one stops further writes and is returned by Flush
// and Close.
type Writer struct {
	out io.Writer
	b   []byte
	err error

	// Frame lists written since the last flush, by list, as the offsets of their text in b: a
	// snapshot shares one list among all the tasks waiting at the same places, and copying the
	// text is cheaper than writing it again.
	frames map[snapshot.FramesKey]span
}

type span struct{ start, end int }

// NewWriter returns a Writer that passes its text on to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{out: w, b: make([]byte, 0, 2*flushSize)}
}

// NewBuffer returns a Writer that appends to b and keeps the text (see Bytes).
func NewBuffer(b []byte) *Writer {
	return &Writer{b: b}
}

// Bytes returns the text written since the last flush: for a Writer made with NewBuffer, all of it.
func (w *Writer) Bytes() []byte { return w.b }

// Raw appends s as it is: punctuation, field names, literals.
func (w *Writer) Raw(s string) { w.b = append(w.b, s...) }

// Comma appends the comma that goes before element i (counted from 0) of an array or an
// object, that is none before the first.
func (w *Writer) Comma(i int) {
	if i > 0 {
		w.b = append(w.b, ',')
	}
}

// RawBytes appends p as it is, for text that is already JSON.
func (w *Writer) RawBytes(p []byte) { w.b = append(w.b, p...) }

// Str appends s as a JSON string (see AppendString).
func (w *Writer) Str(s string) { w.b = AppendString(w.b, s) }

// Int appends v as a JSON number.
func (w *Writer) Int(v int64) { w.b = strconv.AppendInt(w.b, v, 10) }

// Uint appends v as a JSON number.
func (w *Writer) Uint(v uint64) { w.b = strconv.AppendUint(w.b, v, 10) }

// Bool appends true or false.
func (w *Writer) Bool(v bool) { w.b = strconv.AppendBool(w.b, v) }

// Null appends null.
func (w *Writer) Null() { w.b = append(w.b, "null"...) }

// OptInt appends v, or null when ok is false.
func (w *Writer) OptInt(v int, ok bool) {
	if !ok {
		w.Null()
		return
	}
	w.b = strconv.AppendInt(w.b, int64(v), 10)
}

// HexID appends an object id as a string in Python's hex() form, "0x7f3a2c0e1b40": a string,
// because JavaScript numbers cannot hold every 64-bit address.
func (w *Writer) HexID(v uint64) {
	// Written here rather than by strconv.AppendUint, whose general loop over any base costs
	// several times as much: a 10,000-task document has 20,000 ids.
	const digits = "0123456789abcdef"
	var buf [20]byte // "0x", 16 digits at most, and the quotes
	i := len(buf) - 1
	buf[i] = '"'
	for {
		i--
		buf[i] = digits[v&0xf]
		v >>= 4
		if v == 0 {
			break
		}
	}
	i -= 3
	buf[i], buf[i+1], buf[i+2] = '"', '0', 'x'
	w.b = append(w.b, buf[i:]...)
}

// ReuseFrames appends the JSON array of a frame list when it can do without the caller: "[]"
// for an empty list, or a copy of the text written for the same list (snapshot.KeyOf) since
// the last flush. Otherwise it returns false, and the caller writes the list and then calls
// RememberFrames:
//
//	if !j.ReuseFrames(fs) {
//		start := j.Len()
//		writeFrameList(j, fs) // must depend on nothing but fs
//		j.RememberFrames(fs, start)
//	}
//
// (Two calls rather than one taking the writing function: a Writer passed to a function value
// escapes to the heap, and every append then pays the garbage collector's write barrier.)
func (w *Writer) ReuseFrames(fs []snapshot.Frame) bool {
	if len(fs) == 0 {
		w.Raw("[]")
		return true
	}
	s, ok := w.frames[snapshot.KeyOf(fs)]
	if ok {
		w.b = append(w.b, w.b[s.start:s.end]...)
	}
	return ok
}

// RememberFrames records that the text from start (a Len taken before it was written) to the
// end of the buffer is the JSON array of fs, for ReuseFrames.
func (w *Writer) RememberFrames(fs []snapshot.Frame, start int) {
	if len(fs) == 0 || start < 0 || start > len(w.b) {
		return
	}
	if w.frames == nil {
		w.frames = map[snapshot.FramesKey]span{}
	}
	w.frames[snapshot.KeyOf(fs)] = span{start, len(w.b)}
}

// Len returns how much text the buffer holds (since the last flush).
func (w *Writer) Len() int { return len(w.b) }

// Flush passes the text on once there is much of it; a Writer made with NewBuffer keeps it.
func (w *Writer) Flush() error {
	if len(w.b) >= flushSize {
		w.write()
	}
	return w.err
}

// Close passes on all the text there is and returns the first error of the io.Writer. A
// Writer made with NewBuffer keeps its text.
func (w *Writer) Close() error {
	w.write()
	return w.err
}

func (w *Writer) write() {
	if w.out == nil {
		return
	}
	if w.err == nil {
		_, w.err = w.out.Write(w.b)
	}
	w.b = w.b[:0]
	clear(w.frames)
}
