package snapshot

import "testing"

func TestIsStdlibAsyncio(t *testing.T) {
	for _, tc := range []struct {
		file string
		want bool
	}{
		// Installed CPythons: distribution packages, /usr/local, free-threaded builds, a prefix
		// of one's own, Debian's packages unpacked elsewhere.
		{"/usr/lib/python3.14/asyncio/tasks.py", true},
		{"/usr/lib/python3.15/asyncio/taskgroups.py", true},
		{"/usr/local/lib/python3.14/asyncio/base_events.py", true},
		{"/usr/lib/python3.15t/asyncio/queues.py", true},
		{"/opt/python/3.15/lib/python3.15/asyncio/locks.py", true},
		{"/home/ci/.cache/sid/usr/lib/python3.14/asyncio/timeouts.py", true},
		{"/usr/lib/python3.14/asyncio/../asyncio/./tasks.py", true},
		// A source build run from its tree.
		{"/home/dev/cpython/Lib/asyncio/tasks.py", true},
		{"/Lib/asyncio/runners.py", true},
		// A project's own package named asyncio, the PyPI backport of that name, asyncio's
		// tests, modules named after it.
		{"/srv/app/asyncio/tasks.py", false},
		{"/srv/app/asyncio_helpers.py", false},
		{"/srv/venv/lib/python3.14/site-packages/asyncio/tasks.py", false},
		{"/usr/lib/python3/dist-packages/asyncio/tasks.py", false},
		{"/usr/lib/python3.14/test/test_asyncio/test_tasks.py", false},
		{"/usr/lib/python3.14/asyncio.py", false},
		{"/usr/lib/python3.14/asyncio", false},
		{"/usr/lib/python3.14/myasyncio/tasks.py", false},
		{"/usr/lib/python3.14/../app/asyncio/tasks.py", false},
		// Not files: nothing to decide from.
		{"asyncio/tasks.py", false},
		{"Lib/asyncio/tasks.py", false},
		{"<frozen asyncio.tasks>", false},
		{"<string>", false},
		{"", false},
		{"/usr/lib/python3.14/asyncio/tasks\x00.py", false},
	} {
		if got := IsStdlibAsyncio(tc.file); got != tc.want {
			t.Errorf("IsStdlibAsyncio(%q) = %v, want %v", tc.file, got, tc.want)
		}
	}
}

func TestIsStdlib(t *testing.T) {
	for _, tc := range []struct {
		file string
		want bool
	}{
		{"/usr/lib/python3.14/socket.py", true},
		{"/usr/lib/python3.15t/json/decoder.py", true},
		{"/home/me/cpython/Lib/asyncio/tasks.py", true},
		{"<frozen importlib._bootstrap>", true},
		{"/srv/venv/lib/python3.14/site-packages/requests/api.py", false},
		{"/usr/lib/python3/dist-packages/yaml/__init__.py", false},
		{"/srv/app.py", false},
		{"/srv/python3.x/app.py", false},
		{"app.py", false},
		{"<string>", false},
	} {
		if got := IsStdlib(tc.file); got != tc.want {
			t.Errorf("IsStdlib(%q) = %v, want %v", tc.file, got, tc.want)
		}
	}
}

func TestUserFrame(t *testing.T) {
	const asyncioDir = "/usr/lib/python3.14/asyncio/"
	for _, tc := range []struct {
		files []string
		want  int
	}{
		{[]string{asyncioDir + "locks.py", "/srv/app.py"}, 1},
		{[]string{"/usr/lib/python3.14/socket.py", "/srv/venv/lib/python3.14/site-packages/requests/api.py", "/srv/app.py"}, 2},
		{[]string{"/usr/lib/python3.14/socket.py", "/srv/venv/lib/python3.14/site-packages/requests/api.py"}, 1},
		{[]string{"<frozen importlib._bootstrap>", "/usr/lib/python3.14/json/decoder.py"}, 0},
		{nil, -1},
	} {
		var frames []Frame
		for _, f := range tc.files {
			frames = append(frames, Frame{Function: "f", File: f, Line: 1, HasLine: true})
		}
		if got := UserFrame(frames); got != tc.want {
			t.Errorf("UserFrame(%v) = %d, want %d", tc.files, got, tc.want)
		}
	}
}

func TestIsLibrary(t *testing.T) {
	for _, tc := range []struct {
		file string
		want bool
	}{
		{"/usr/lib/python3.14/asyncio/tasks.py", true},
		{"/usr/lib/python3.14/selectors.py", true},
		{"/usr/local/lib/python3.15t/threading.py", true},
		{"/home/dev/cpython/Lib/selectors.py", true},
		{"<frozen importlib._bootstrap>", true},
		{"/srv/venv/lib/python3.14/site-packages/httpcore/_synchronization.py", true},
		{"/usr/lib/python3/dist-packages/aiohttp/client.py", true},
		{"/srv/app/main.py", false},
		{"/srv/app/lib/python_helpers.py", false},
		{"/usr/lib/python3.14/../../srv/app.py", false},
		{"main.py", false},
		{"<string>", false},
		{"", false},
	} {
		if got := IsLibrary(tc.file); got != tc.want {
			t.Errorf("IsLibrary(%q) = %v, want %v", tc.file, got, tc.want)
		}
	}
}
