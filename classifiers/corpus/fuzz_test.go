package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFromAtomic feeds arbitrary technique files to FromAtomic: it must
// not panic, and either refuse the file with ErrAtomic or give items that
// validate (a shebang first, a technique group) and skips with a reason.
func FuzzFromAtomic(f *testing.F) {
	f.Add([]byte("attack_technique: T1003.008\natomic_tests:\n- name: a\n  supported_platforms: [linux]\n  input_arguments:\n    out: {default: /tmp/x}\n  executor: {name: sh, command: \"cat /etc/shadow > #{out}\"}\n"))
	f.Add([]byte("attack_technique: T1000\natomic_tests:\n- name: b\n  supported_platforms: [linux]\n  dependency_executor_name: bash\n  dependencies:\n  - {description: d, prereq_command: \"test -f /tmp/x\", get_prereq_command: \"touch /tmp/x\"}\n  executor: {name: bash, command: \"ls #{missing}\"}\n"))
	f.Add([]byte("attack_technique: T1000\natomic_tests:\n- name: c\n  supported_platforms: [linux]\n  executor: {name: manual, steps: x}\n"))
	f.Add([]byte("attack_technique: [1, 2]\n"))
	f.Add([]byte("\x00\xff"))
	if b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "datasets", "atomic-red-team", "atomics", "T1070.003", "T1070.003.yaml")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "T1000"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "T1000", "T1000.yaml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := FromAtomic(dir)
		if err != nil {
			if !errors.Is(err, ErrAtomic) {
				t.Fatalf("error without ErrAtomic: %v", err)
			}
			return
		}
		if len(m.Items) > 0 {
			if err := m.Validate(); err != nil {
				t.Fatalf("items do not validate: %v", err)
			}
		}
		for _, s := range m.Skipped {
			if s.Reason == "" || s.ID == "" {
				t.Fatalf("skip without id or reason: %+v", s)
			}
		}
	})
}

// FuzzCommandWords: the shell tokenizer must not panic on any text.
func FuzzCommandWords(f *testing.F) {
	for _, s := range []string{"sudo cat /etc/shadow", "a | b && c; $(d) `e` 2>&1 &", "sh -c 'x \"y\"'", "#!/bin/sh\n# c\n", "'", "$("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = commandWords(s)
		_ = needs(s)
		_ = stopsGuest(s)
	})
}
