package inspector

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/aioscope/aioscope/internal/procfs"
)

// Mapping is one line of /proc/PID/maps.
type Mapping struct {
	Start, End uint64
	Perms      string // e.g. "r-xp"
	Offset     uint64 // file offset of Start
	Inode      uint64
	Path       string // as the target sees it; empty for anonymous memory
	Deleted    bool   // the file was deleted or replaced after it was mapped
}

// Readable reports whether the mapping may be read.
func (m Mapping) Readable() bool { return len(m.Perms) > 0 && m.Perms[0] == 'r' }

// ParseMaps parses the text of /proc/PID/maps (or /proc/self/maps). Malformed lines are
// skipped: the file is written by the kernel, but a line that cannot be understood must not stop
// the search.
func ParseMaps(data []byte) []Mapping {
	var out []Mapping
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		if m, ok := parseMapsLine(sc.Text()); ok {
			out = append(out, m)
		}
	}
	return out
}

func parseMapsLine(line string) (Mapping, bool) {
	// start-end perms offset dev inode [path]; the path may contain spaces.
	var m Mapping
	fields := make([]string, 0, 5)
	rest := line
	for len(fields) < 5 {
		rest = strings.TrimLeft(rest, " ")
		i := strings.IndexByte(rest, ' ')
		if i < 0 {
			fields = append(fields, rest)
			rest = ""
			break
		}
		fields = append(fields, rest[:i])
		rest = rest[i+1:]
	}
	if len(fields) < 5 {
		return m, false
	}
	var ok bool
	if m.Start, m.End, ok = procfs.ParseMapsRange(fields[0]); !ok {
		return m, false
	}
	m.Perms = fields[1]
	var err error
	if m.Offset, err = strconv.ParseUint(fields[2], 16, 64); err != nil {
		return m, false
	}
	if m.Inode, err = strconv.ParseUint(fields[4], 10, 64); err != nil {
		return m, false
	}
	m.Path = strings.TrimLeft(rest, " ")
	if p, ok := strings.CutSuffix(m.Path, " (deleted)"); ok {
		m.Path, m.Deleted = p, true
	}
	return m, true
}

// mappedFile is one file mapped into the target, with all its mappings in address order.
type mappedFile struct {
	Path     string
	Inode    uint64
	Deleted  bool
	Mappings []Mapping
}

// mappedFiles groups file-backed mappings by file, in order of first appearance (address order).
func mappedFiles(maps []Mapping) []*mappedFile {
	var files []*mappedFile
	index := map[string]*mappedFile{}
	for _, m := range maps {
		if m.Path == "" || m.Inode == 0 || strings.HasPrefix(m.Path, "[") {
			continue
		}
		key := fmt.Sprintf("%d:%s", m.Inode, m.Path)
		f, ok := index[key]
		if !ok {
			f = &mappedFile{Path: m.Path, Inode: m.Inode, Deleted: m.Deleted}
			index[key] = f
			files = append(files, f)
		}
		f.Mappings = append(f.Mappings, m)
	}
	return files
}
