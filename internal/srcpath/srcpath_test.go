package srcpath

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLocalNamesThatAreNotFiles(t *testing.T) {
	r := New(os.Getpid())
	for _, name := range []string{"", "~", "<frozen importlib._bootstrap>", "<string>", "app/main.py", "/a\x00b"} {
		if got := r.Local(name); got != "" {
			t.Errorf("Local(%q) = %q, want \"\"", name, got)
		}
	}
}

func TestLocalSamePath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "main.py")
	if err := os.WriteFile(file, []byte("pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := New(os.Getpid())
	if got := r.Local(dir + "/./sub/../main.py"); got != file {
		t.Errorf("Local = %q, want %q", got, file)
	}
	// A file that exists nowhere keeps its cleaned name, for the client to show.
	if got := r.Local("/nowhere//x.py"); got != "/nowhere/x.py" {
		t.Errorf("Local of a missing file = %q", got)
	}
}

func TestLocalMappings(t *testing.T) {
	local := t.TempDir()
	if err := os.MkdirAll(filepath.Join(local, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(local, "pkg", "svc.py")
	if err := os.WriteFile(file, []byte("pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := New(os.Getpid(),
		Mapping{LocalRoot: "relative", RemoteRoot: "/srv"}, // ignored
		Mapping{LocalRoot: "/elsewhere", RemoteRoot: "/srv"},
		Mapping{LocalRoot: local, RemoteRoot: "/srv/app/"},
	)
	for _, tc := range []struct{ in, want string }{
		{"/srv/app/pkg/svc.py", file},            // the longest root wins
		{"/srv/other.py", "/elsewhere/other.py"}, // mapped, missing everywhere: the mapped path
		{"/srv/appx/svc.py", "/elsewhere/appx/svc.py"},
		{"/usr/lib/python3.14/asyncio/tasks.py", "/usr/lib/python3.14/asyncio/tasks.py"}, // not mapped
	} {
		if got := r.Local(tc.in); got != tc.want {
			t.Errorf("Local(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// A mapped path that does not exist loses to the same path, which does.
	self := t.TempDir()
	there := filepath.Join(self, "x.py")
	if err := os.WriteFile(there, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r = New(os.Getpid(), Mapping{LocalRoot: "/missing", RemoteRoot: self})
	if got := r.Local(there); got != there {
		t.Errorf("Local(%q) = %q", there, got)
	}
	// "/" maps everything.
	r = New(os.Getpid(), Mapping{LocalRoot: local, RemoteRoot: "/"})
	if got := r.Local("/pkg/svc.py"); got != file {
		t.Errorf("Local with root / = %q, want %q", got, file)
	}
}

func TestUTF16(t *testing.T) {
	for _, tc := range []struct {
		text string
		col  int
		want int
		ok   bool
	}{
		{"    await x", 4, 4, true},
		{"z = 'ż'; await x", 11, 10, true},
		{"s = '𐌀'; await x", 12, 10, true},
		{"abc", 3, 3, true},
		{"abc", 4, 0, false},
		{"ż", 1, 0, false}, // inside a character
		{"\xff await", 2, 0, false},
	} {
		got, ok := UTF16Offset([]byte(tc.text), tc.col)
		if got != tc.want || ok != tc.ok {
			t.Errorf("UTF16Offset(%q, %d) = %d, %v; want %d, %v", tc.text, tc.col, got, ok, tc.want, tc.ok)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "m.py")
	if err := os.WriteFile(file, []byte("x = 1\nż = await y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := New(os.Getpid())
	if got, ok := r.UTF16Column(file, 2, 5); !ok || got != 4 {
		t.Errorf("UTF16Column = %d, %v; want 4", got, ok)
	}
	if _, ok := r.UTF16Column(file, 3, 0); ok {
		t.Error("UTF16Column of a line past the end succeeded")
	}
	if _, ok := r.UTF16Column("/dev/null", 1, 0); ok {
		t.Error("UTF16Column of a device succeeded")
	}
}
