package tracer

import (
	"encoding/binary"
	"strings"
	"testing"
)

func sockaddrIn(port uint16, ip [4]byte) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b, afInet)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], ip[:])
	return b
}

func TestFormatSockaddr(t *testing.T) {
	in6 := make([]byte, 28)
	binary.LittleEndian.PutUint16(in6, afInet6)
	binary.BigEndian.PutUint16(in6[2:], 22)
	in6[23] = 1 // ::1
	in6z := append([]byte(nil), in6...)
	in6z[8], in6z[9], in6z[23] = 0xfe, 0x80, 5
	binary.LittleEndian.PutUint32(in6z[24:], 2)
	unix := append([]byte{1, 0}, "/run/x\x00garbage"...)
	abstract := append([]byte{1, 0, 0}, "name"...)
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{nil, ""},
		{[]byte{2}, ""},
		{sockaddrIn(22, [4]byte{127, 0, 0, 1}), "inet 127.0.0.1:22"},
		{sockaddrIn(80, [4]byte{10, 1, 2, 3})[:6], "inet ?"},
		{in6, "inet6 [::1]:22"},
		{in6[:24], "inet6 [::1]:22"},
		{in6z, "inet6 [fe80::5%2]:22"},
		{unix, "unix /run/x"},
		{[]byte{1, 0}, "unix"},
		{abstract, "unix @name"},
		{[]byte{16, 0, 1, 2}, "family 16"},
	} {
		if got := FormatSockaddr(c.b); got != c.want {
			t.Errorf("FormatSockaddr(%x) = %q, want %q", c.b, got, c.want)
		}
	}
}

func TestFormatOpenFlags(t *testing.T) {
	for f, want := range map[uint64]string{
		0:                     "O_RDONLY",
		0x241:                 "O_WRONLY|O_CREAT|O_TRUNC",
		0x80042:               "O_RDWR|O_CREAT|O_CLOEXEC",
		0x410002:              "O_RDWR|O_TMPFILE",
		0x101001:              "O_WRONLY|O_SYNC",
		0x1000:                "O_RDONLY|O_DSYNC",
		0x10000 | 0x80000:     "O_RDONLY|O_DIRECTORY|O_CLOEXEC",
		3 | 0x80000000:        "O_ACCMODE|0x80000000",
		0x200000 | 0x20000000: "O_RDONLY|O_PATH|0x20000000",
	} {
		if got := FormatOpenFlags(f); got != want {
			t.Errorf("FormatOpenFlags(%#x) = %q, want %q", f, got, want)
		}
	}
}

func TestSignalName(t *testing.T) {
	for n, want := range map[int]string{9: "SIGKILL", 11: "SIGSEGV", 34: "SIGRTMIN+0", 40: "SIGRTMIN+6", 0: "SIG0", 99: "SIG99"} {
		if got := SignalName(n); got != want {
			t.Errorf("SignalName(%d) = %q, want %q", n, got, want)
		}
	}
}

// fakeMem is tracee memory: data mapped at base; everything else unmapped.
// Like process_vm_readv it returns a short count when a read runs off the
// mapping.
type fakeMem struct {
	base  uint64
	data  []byte
	reads int
}

func (m *fakeMem) ReadAt(addr uint64, buf []byte) (int, error) {
	m.reads++
	if addr < m.base || addr-m.base >= uint64(len(m.data)) {
		return 0, errBadAddr
	}
	return copy(buf, m.data[addr-m.base:]), nil
}

func TestReadString(t *testing.T) {
	m := &fakeMem{base: 0x1000, data: []byte("hello\x00world")}
	if s, tr, err := readString(m, 0x1000, 100); s != "hello" || tr || err != nil {
		t.Errorf("got %q %v %v", s, tr, err)
	}
	// Runs off the end of the mapping without a NUL.
	if s, tr, err := readString(m, 0x1006, 100); s != "world" || !tr || err != nil {
		t.Errorf("got %q %v %v", s, tr, err)
	}
	if s, tr, _ := readString(m, 0x1000, 3); s != "hel" || !tr {
		t.Errorf("bounded: got %q %v", s, tr)
	}
	if _, _, err := readString(m, 0, 10); err == nil {
		t.Error("NULL pointer accepted")
	}
	// A string crossing a page boundary is read whole.
	long := strings.Repeat("x", 5000)
	m = &fakeMem{base: 0xff0, data: append([]byte(long), 0)}
	if s, tr, err := readString(m, 0xff0, MaxPath*2); s != long || tr || err != nil {
		t.Errorf("cross-page: len %d %v %v", len(s), tr, err)
	}
}

func TestReadArgv(t *testing.T) {
	// argv array at 0x2000 pointing into strings at 0x2100.
	data := make([]byte, 0x200)
	strs := []string{"sh", "-c", strings.Repeat("a", 300)}
	off := 0x100
	for i, s := range strs {
		binary.LittleEndian.PutUint64(data[i*8:], uint64(0x2000+off))
		copy(data[off:], s+"\x00")
		off += len(s) + 1
		if off >= len(data) {
			off = 0x180
		}
	}
	m := &fakeMem{base: 0x2000, data: data}
	got := readArgv(m, 0x2000, 64, 256)
	if len(got) != 3 || got[0] != "sh" || got[1] != "-c" || len(got[2]) != 0x200-0x105 && len(got[2]) > 256 {
		t.Fatalf("argv %q", got)
	}
	if got := readArgv(m, 0x2000, 2, 256); len(got) != 3 || got[2] != "..." {
		t.Errorf("bounded argv %q", got)
	}
	// An argv array that never ends is bounded by maxArgs.
	loop := make([]byte, 8*100)
	for i := 0; i < 100; i++ {
		binary.LittleEndian.PutUint64(loop[i*8:], 0x3000+7) // points at "\x00" byte
	}
	m = &fakeMem{base: 0x3000, data: loop}
	if got := readArgv(m, 0x3000, 64, 256); len(got) != 65 {
		t.Errorf("endless argv: %d entries", len(got))
	}
}

func FuzzFormatSockaddr(f *testing.F) {
	f.Add(sockaddrIn(22, [4]byte{127, 0, 0, 1}))
	f.Add([]byte{1, 0, '/', 'x'})
	f.Add([]byte{10, 0, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := FormatSockaddr(b)
		if len(b) >= 2 && s == "" {
			t.Fatalf("empty result for %x", b)
		}
		if len(s) > 200 {
			t.Fatalf("result of %d bytes", len(s))
		}
	})
}

// FuzzReadString feeds arbitrary tracee memory, addresses and bounds to the
// string and argv readers: they must not panic, must respect their bounds and
// must not read without end.
func FuzzReadString(f *testing.F) {
	f.Add([]byte("abc\x00"), uint64(0x1000), uint64(0x1000), 16)
	f.Add([]byte{8, 0x10, 0, 0, 0, 0, 0, 0, 0}, uint64(0xff8), uint64(0xff8), 300)
	f.Fuzz(func(t *testing.T, data []byte, base, addr uint64, max int) {
		if max < 0 || max > 1<<16 {
			max = 1 << 16
		}
		m := &fakeMem{base: base, data: data}
		s, _, err := readString(m, addr, max)
		if len(s) > max || (err != nil && s != "") {
			t.Fatalf("len %d max %d err %v", len(s), max, err)
		}
		if m.reads > max/256+max/pageSize+3 {
			t.Fatalf("%d reads for max %d", m.reads, max)
		}
		argv := readArgv(m, addr, 8, 32)
		if len(argv) > 9 {
			t.Fatalf("argv of %d entries", len(argv))
		}
		for _, a := range argv {
			if len(a) > 32 {
				t.Fatalf("arg of %d bytes", len(a))
			}
		}
		if b := readBytes(m, addr, 64); len(b) > 64 {
			t.Fatalf("readBytes %d", len(b))
		}
	})
}
