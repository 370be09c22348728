package signatures

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"testing"

	"github.com/scalemalnet/scalemalnet/guest/trace"
)

// FuzzParse: any bytes give rules or an ErrRule error naming the file,
// never a panic; what parses runs over a small trace without panicking.
func FuzzParse(f *testing.F) {
	fs.WalkDir(Rules(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(Rules(), p)
			f.Add(b)
		}
		return nil
	})
	f.Add([]byte(goodRule))
	f.Add([]byte("rules:\n  - id: a\n    description: d\n    severity: high\n    techniques: T1059\n    match:\n      all:\n        - socket_shell: true\n"))
	f.Add([]byte("rules: &a [*a]"))
	f.Add([]byte("rules:\n  - {id: x, match: {any: [{exe: ['[']}]}}"))
	f.Add([]byte("\x00\xff"))
	tr := &trace.Trace{Windows: []trace.Window{{Events: []trace.Event{
		{PID: 1, Name: "openat", Path: "/etc/x", Flags: "O_RDONLY", Ret: 3},
		{PID: 1, Name: "execve", Path: "/bin/sh", Argv: []string{"sh", "-c", "id"}},
	}, API: []trace.APICall{{Module: "KERNEL32", Func: "CreateFileA", Args: []string{"x"}}}}}}
	f.Fuzz(func(t *testing.T, b []byte) {
		rules, err := Parse("f.yaml", b)
		if err != nil {
			if !errors.Is(err, ErrRule) {
				t.Fatalf("error without ErrRule: %v", err)
			}
			return
		}
		ms, err := (&Set{Rules: rules}).Match(context.Background(), tr)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if err := m.Check(); err != nil {
				t.Fatalf("match breaks the bounds: %v", err)
			}
		}
	})
}

// FuzzMatch: the shipped rules over any decodable trace never panic and
// give matches within the bounds.
func FuzzMatch(f *testing.F) {
	f.Add([]byte(`{"windows":[{"index":0,"events":[{"pid":1,"name":"socket","ret":3},{"pid":1,"name":"connect","fd":3,"addr":"inet 1.2.3.4:4444"},{"pid":1,"name":"dup2","fd":3,"ret":0},{"pid":1,"name":"execve","path":"/bin/sh"}]}]}`))
	f.Add([]byte(`{"windows":[{"index":0,"events":[{"pid":1,"name":"clone","ret":2,"child":2},{"pid":2,"name":"dup2","fd":-5,"ret":-9},{"pid":2,"name":"execve","path":"","argv":["\u0000"]}]}]}`))
	f.Add([]byte(`{"windows":[{"index":0,"api":[{"module":"KERNEL32","func":"WriteProcessMemory"},{"module":"kernel32","func":"CreateRemoteThread"}]}]}`))
	set, err := Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tr trace.Trace
		if json.Unmarshal(b, &tr) != nil {
			return
		}
		ms, err := set.Match(context.Background(), &tr)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if err := m.Check(); err != nil {
				t.Fatalf("match breaks the bounds: %v", err)
			}
		}
	})
}
