package values

import (
	"unicode/utf8"

	"github.com/aioscope/aioscope/cpython"
)

// reprlib.repr with the default aRepr limits, for a future's result.
const (
	reprlibLevel     = 6
	reprlibMaxString = 30
	reprlibMaxLong   = 40
	reprlibMaxOther  = 30
	reprlibMaxSeq    = 6
)

// reprlib writes reprlib.repr(v) for str, int, tuple and list, and for other values whose repr
// the reader reproduces (cut to 30 characters as repr_instance does). ok is false for the
// types reprlib sorts (dict, set) and values whose repr needs code.
func (q *req) reprlib(v uint64, level int) (bool, error) {
	t, err := q.typeOf(v)
	if err != nil {
		return false, err
	}
	typename, err := q.typeName(t)
	if err != nil {
		return false, err
	}
	mod, _, err := q.typeModule(t)
	if err != nil {
		return false, err
	}
	builtin := mod == "builtins"
	switch {
	case typename == "str" && builtin:
		return true, q.reprlibStr(v)
	case typename == "int" && builtin:
		mark := len(q.out)
		s, err := q.intText(v)
		if err != nil {
			return false, err
		}
		if s[0] == '<' {
			return false, nil
		}
		q.out = append(q.out[:mark], middleCut(s, reprlibMaxLong)...)
		return true, nil
	case (typename == "tuple" || typename == "list") && builtin:
		var s seqInfo
		if typename == "tuple" {
			s, err = q.tuple(v)
		} else {
			s, err = q.list(v)
		}
		if err != nil {
			return false, err
		}
		left, right := "(", ")"
		if typename == "list" {
			left, right = "[", "]"
		}
		q.write(left)
		if level <= 0 && s.n > 0 {
			q.write("...")
		} else {
			items, err := q.items(v, s, 0, reprlibMaxSeq)
			if err != nil {
				return false, err
			}
			for i, it := range items {
				if i > 0 {
					q.write(", ")
				}
				if ok, err := q.reprlib(it, level-1); err != nil || !ok {
					return ok, err
				}
			}
			if s.n > reprlibMaxSeq {
				q.write(", ...")
			}
			if s.n == 1 && typename == "tuple" {
				q.writeByte(',')
			}
		}
		q.write(right)
		return true, nil
	case (typename == "dict" || typename == "set" || typename == "frozenset" || typename == "deque") &&
		(builtin || mod == "collections"):
		return false, nil
	}
	mark := len(q.out)
	inexact := q.inexact
	q.inexact = false
	if err := q.repr(v, 0); err != nil {
		return false, err
	}
	if q.inexact {
		q.out = q.out[:mark]
		q.inexact = inexact
		return false, nil
	}
	q.inexact = inexact
	s := string(q.out[mark:])
	q.out = append(q.out[:mark], middleCut(s, reprlibMaxOther)...)
	return true, nil
}

// reprlibStr is Repr.repr_str.
func (q *req) reprlibStr(v uint64) error {
	kind, length, data, ascii, _, err := q.strLayout(v)
	if err != nil {
		return err
	}
	const max = reprlibMaxString
	head, err := q.strChars(v, data, kind, ascii, 0, min(length, max))
	if err != nil {
		return err
	}
	s := string(cpython.AppendStrRepr(nil, q.r.print, kind, head))
	if utf8.RuneCountInString(s) <= max {
		q.write(s)
		return nil
	}
	i := (max - 3) / 2
	j := max - 3 - i
	// repr(x[:i] + x[len(x)-j:]), then its first i and last j characters around "...".
	tail, err := q.strChars(v, data, kind, ascii, length-int64(j), int64(j))
	if err != nil {
		return err
	}
	joined := append(append([]byte(nil), head[:i*kind]...), tail...)
	s = string(cpython.AppendStrRepr(nil, q.r.print, kind, joined))
	r := []rune(s)
	q.write(string(r[:i]) + "..." + string(r[len(r)-j:]))
	return nil
}

// middleCut keeps the first and last characters of s around "..." when it is longer than max,
// as reprlib does.
func middleCut(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	i := (max - 3) / 2
	j := max - 3 - i
	return string(r[:i]) + "..." + string(r[len(r)-j:])
}
