package testtarget

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// CompareGarbled compares the output of CPython 3.14's asyncio tool (cpython) with aioscope's
// output for the same process (ours) and returns nil when they agree, allowing for 3.14's
// broken string reader.
//
// CPython 3.14 reads every string as if it were compact ASCII: it takes as many bytes as the
// string has code points from where ASCII data would start. For a string with any non-ASCII
// character that is the header of the real character data (usually NULs), so the tool prints the
// whole string - its ASCII characters included - as a run of garbage bytes, one byte per code
// point. (When that garbage is not valid UTF-8 the tool crashes instead; there is then nothing to
// compare.) aioscope prints the real string.
//
// So a stretch of ours may stand for garbage in cpython when
//   - it is one whole word (words are separated by spaces and newlines) containing a non-ASCII
//     character other than the tool's own box-drawing characters and arrow, or such a word
//     without a trailing ":<line number>" (a file name in a tree line);
//   - cpython has exactly as many bytes there as the stretch has code points: the garbage run
//     must be as long as the real string, anything else is a difference;
//   - and those bytes contain no newline and do not end with a space, so that a run one code
//     point too long cannot swallow the column padding (or the line end) that follows it.
//
// Everything outside such stretches must be byte-identical, column padding included. Strings
// that contain spaces are therefore not recognised when garbled: such a comparison fails rather
// than risk that a garbage run absorbs a real difference in a neighbouring word.
func CompareGarbled(cpython, ours []byte) error {
	if bytes.Equal(cpython, ours) {
		return nil
	}
	m := &garbleMatcher{cp: cpython, ours: ours, failed: map[[2]int]bool{}}
	if m.match(0, 0) {
		return nil
	}
	return m.mismatch()
}

type garbleMatcher struct {
	cp, ours []byte
	// failed memoises the (cpython offset, ours offset) pairs at span starts known not to match,
	// which keeps the backtracking (literal reading first, then garbled) linear in practice.
	failed map[[2]int]bool
	// The furthest point reached, for the error message.
	bestI, bestJ int
}

type garbleSpan struct {
	end   int // offset in ours just after the span
	runes int // code points in the span = garbage bytes expected in cpython
}

func (m *garbleMatcher) match(i, j int) bool {
	for {
		if i > m.bestI || (i == m.bestI && j > m.bestJ) {
			m.bestI, m.bestJ = i, j
		}
		if i == len(m.cp) && j == len(m.ours) {
			return true
		}
		if sp, ok := m.span(j); ok {
			key := [2]int{i, j}
			if m.failed[key] {
				return false
			}
			// Identical text is always acceptable; try it first, then the garbled reading.
			if i < len(m.cp) && j < len(m.ours) && m.cp[i] == m.ours[j] && m.match(i+1, j+1) {
				return true
			}
			if i+sp.runes <= len(m.cp) && isGarbage(m.cp[i:i+sp.runes]) && m.match(i+sp.runes, sp.end) {
				return true
			}
			m.failed[key] = true
			return false
		}
		if i < len(m.cp) && j < len(m.ours) && m.cp[i] == m.ours[j] {
			i++
			j++
			continue
		}
		return false
	}
}

func isWordSep(b byte) bool { return b == ' ' || b == '\n' }

// isGarbledText reports whether CPython 3.14 garbles strings containing r and r is not one of
// the characters its tool itself prints (tree drawing, the arrow of cycle reports).
func isGarbledText(r rune) bool {
	return r >= 0x80 && r != utf8.RuneError && !(r >= 0x2500 && r <= 0x257F) && r != '→'
}

// isGarbage reports whether b may be the garbage CPython 3.14 printed for one string.
func isGarbage(b []byte) bool {
	return len(b) > 0 && b[len(b)-1] != ' ' && bytes.IndexByte(b, '\n') < 0
}

// span returns the stretch of ours starting at j that may stand for one garbled string; false if
// j is not the start of a word containing non-ASCII text.
func (m *garbleMatcher) span(j int) (garbleSpan, bool) {
	s := m.ours
	if j >= len(s) || isWordSep(s[j]) || (j > 0 && !isWordSep(s[j-1])) {
		return garbleSpan{}, false
	}
	end := j
	for end < len(s) && !isWordSep(s[end]) {
		end++
	}
	word := s[j:end]
	// A trailing ":<line>" is printed by the tool after a file name; only what precedes it can
	// be garbage.
	if c := bytes.LastIndexByte(word, ':'); c > 0 && isLineNumber(word[c+1:]) {
		word = word[:c]
	}
	if !bytes.ContainsFunc(word, isGarbledText) {
		return garbleSpan{}, false
	}
	return garbleSpan{end: j + len(word), runes: utf8.RuneCount(word)}, true
}

// isLineNumber matches the line numbers tools.py prints: digits, possibly negative (-1).
func isLineNumber(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("-"))
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (m *garbleMatcher) mismatch() error {
	cpLine, cpNo := lineAt(m.cp, m.bestI)
	ourLine, ourNo := lineAt(m.ours, m.bestJ)
	return fmt.Errorf("outputs differ (allowing for CPython 3.14's garbled non-ASCII strings): "+
		"first unmatched byte at cpython line %d, aioscope line %d\n  cpython:  %s\n  aioscope: %s",
		cpNo, ourNo, quoteLine(cpLine), quoteLine(ourLine))
}

// lineAt returns the line containing offset off and its 1-based number.
func lineAt(b []byte, off int) ([]byte, int) {
	if off > len(b) {
		off = len(b)
	}
	start := bytes.LastIndexByte(b[:off], '\n') + 1
	end := bytes.IndexByte(b[off:], '\n')
	if end < 0 {
		end = len(b)
	} else {
		end += off
	}
	return b[start:end], bytes.Count(b[:start], []byte{'\n'}) + 1
}

func quoteLine(b []byte) string {
	const max = 400
	if len(b) > max {
		return fmt.Sprintf("%q…", b[:max])
	}
	return fmt.Sprintf("%q", b)
}
