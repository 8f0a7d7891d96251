package inspector

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aioscope/aioscope/internal/fuzzcheck"
)

// FuzzParseMaps checks the /proc/PID/maps parser: it must accept anything, every mapping it
// returns must be sane, and a mapping written back in the kernel's format must parse to itself.
func FuzzParseMaps(f *testing.F) {
	f.Add([]byte(sampleMaps))
	f.Add([]byte("7f0000000000-7f0000001000 r--p 00000000 08:01 42 /a b/c (deleted) (deleted)\n"))
	f.Add([]byte("0-1 rwxp 0 0 1\n-\n\n   \nffffffffffffffff-0 r 0 0 0 x\n"))
	f.Add([]byte(strings.Repeat("x", 70000) + "\n7f0000000000-7f0000001000 r--p 00000000 08:01 42 /lib\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ms []Mapping
		var files []*mappedFile
		fuzzcheck.Bounded(t, "parsing maps", mapsAllocBound(len(data)), func() {
			ms = ParseMaps(data)
			files = mappedFiles(ms)
		})
		for _, m := range ms {
			if m.End <= m.Start {
				t.Fatalf("mapping ends before it starts: %+v", m)
			}
			if strings.ContainsAny(m.Path, "\n") || strings.HasPrefix(m.Path, " ") {
				t.Fatalf("bad path %q", m.Path)
			}
			line := fmt.Sprintf("%x-%x %s %x 00:00 %d %s", m.Start, m.End, m.Perms, m.Offset, m.Inode, m.Path)
			if m.Deleted {
				line += " (deleted)"
			}
			back, ok := parseMapsLine(line)
			if !ok || back != m {
				t.Fatalf("%+v does not survive a round trip (%q -> %+v, %v)", m, line, back, ok)
			}
			_ = m.Readable()
		}
		n := 0
		for _, f := range files {
			n += len(f.Mappings)
			_ = isPythonFile(f.Path)
			_ = isExecutableImage(f)
		}
		if n > len(ms) {
			t.Fatalf("%d mappings grouped into files with %d", len(ms), n)
		}
	})
}

const sampleMaps = `55d4c8a00000-55d4c8a01000 r--p 00000000 08:01 1311 /usr/bin/python3.14
55d4c8a01000-55d4c8d00000 r-xp 00001000 08:01 1311 /usr/bin/python3.14
55d4c8f00000-55d4c8f80000 rw-p 00400000 08:01 1311 /usr/bin/python3.14
55d4ca000000-55d4ca200000 rw-p 00000000 00:00 0                          [heap]
7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0
7f1c2b000000-7f1c2b010000 r-xp 00000000 08:01 2201 /usr/lib/python3.14/lib-dynload/_asyncio.cpython-314-x86_64-linux-gnu.so
7f1c2c000000-7f1c2c001000 r--p 00000000 08:01 3301 /opt/app/my lib (deleted)
7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`
