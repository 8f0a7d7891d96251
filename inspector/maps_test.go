package inspector

import (
	"testing"
)

func TestParseMaps(t *testing.T) {
	data := []byte(`003ff000-00400000 rw-p 00000000 fe:01 1234                               /opt/py/bin/python3.14
00400000-00420000 r--p 00001000 fe:01 1234                               /opt/py/bin/python3.14
7f0000000000-7f0000001000 rw-p 00000000 00:00 0
7f0000001000-7f0000002000 r-xp 00000000 fe:01 99                         /tmp/dir with spaces/lib.so (deleted)
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
garbage line
7f0000003000-7f0000002000 r--p 00000000 fe:01 5 /backwards
`)
	maps := ParseMaps(data)
	if len(maps) != 5 {
		t.Fatalf("got %d mappings, want 5: %+v", len(maps), maps)
	}
	m := maps[0]
	if m.Start != 0x3ff000 || m.End != 0x400000 || m.Perms != "rw-p" || m.Offset != 0 || m.Inode != 1234 || m.Path != "/opt/py/bin/python3.14" {
		t.Errorf("first mapping parsed as %+v", m)
	}
	if maps[1].Offset != 0x1000 {
		t.Errorf("offset = %#x, want 0x1000", maps[1].Offset)
	}
	if maps[2].Path != "" {
		t.Errorf("anonymous mapping has path %q", maps[2].Path)
	}
	if d := maps[3]; d.Path != "/tmp/dir with spaces/lib.so" || !d.Deleted {
		t.Errorf("deleted mapping parsed as %+v", d)
	}
	files := mappedFiles(maps)
	if len(files) != 2 {
		t.Fatalf("got %d files, want 2 (python, lib.so): %+v", len(files), files)
	}
	if len(files[0].Mappings) != 2 || files[0].Path != "/opt/py/bin/python3.14" {
		t.Errorf("python file grouped as %+v", files[0])
	}
	if !files[1].Deleted {
		t.Errorf("lib.so not marked deleted")
	}
}

func TestIsPythonFile(t *testing.T) {
	for path, want := range map[string]bool{
		"/usr/bin/python3.14":                                                      true,
		"/usr/lib/x86_64-linux-gnu/libpython3.15.so.1.0":                           true,
		"/usr/lib/python3.14/lib-dynload/_asyncio.cpython-314-x86_64-linux-gnu.so": true,
		"/usr/lib/x86_64-linux-gnu/libc.so.6":                                      false,
		"/opt/python/bin/uwsgi":                                                    false,
	} {
		if got := isPythonFile(path); got != want {
			t.Errorf("isPythonFile(%q) = %v, want %v", path, got, want)
		}
	}
	if !isAsyncioCandidate("/x/_asyncio.so") || isAsyncioCandidate("/lib/libc.so.6") {
		t.Error("isAsyncioCandidate misclassifies")
	}
}
