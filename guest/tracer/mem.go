package tracer

import "errors"

// memReader reads tracee memory at addr into buf and returns how many bytes
// were read. A short count with a nil error means the rest is unreadable (an
// unmapped page); implementations never read more than len(buf).
type memReader interface {
	ReadAt(addr uint64, buf []byte) (int, error)
}

const pageSize = 4096

var errBadAddr = errors.New("unreadable tracee address")

// readString reads a NUL-terminated string of at most max bytes at addr. It
// reads page by page so that a string ending just before an unmapped page is
// still read whole. truncated reports that no NUL was found within max bytes.
func readString(m memReader, addr uint64, max int) (s string, truncated bool, err error) {
	if addr == 0 {
		return "", false, errBadAddr
	}
	var out []byte
	var chunk [256]byte
	for len(out) < max {
		n := len(chunk)
		if room := pageSize - int(addr%pageSize); n > room {
			n = room
		}
		if left := max - len(out); n > left {
			n = left
		}
		got, err := m.ReadAt(addr, chunk[:n])
		if got > n || got < 0 {
			got = 0 // defensive: a reader must never claim more than asked
		}
		for i := 0; i < got; i++ {
			if chunk[i] == 0 {
				return string(append(out, chunk[:i]...)), false, nil
			}
		}
		out = append(out, chunk[:got]...)
		if err != nil || got < n {
			if len(out) == 0 {
				if err == nil {
					err = errBadAddr
				}
				return "", false, err
			}
			return string(out), true, nil
		}
		if addr+uint64(got) < addr { // wrapped around the address space
			return string(out), true, nil
		}
		addr += uint64(got)
	}
	return string(out), true, nil
}

// readWord reads a little-endian 64-bit word at addr.
func readWord(m memReader, addr uint64) (uint64, error) {
	var b [8]byte
	n, err := m.ReadAt(addr, b[:])
	if err != nil {
		return 0, err
	}
	if n != 8 {
		return 0, errBadAddr
	}
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56, nil
}

// readWord32 reads a little-endian 32-bit word at addr.
func readWord32(m memReader, addr uint64) (uint64, error) {
	var b [4]byte
	n, err := m.ReadAt(addr, b[:])
	if err != nil {
		return 0, err
	}
	if n != 4 {
		return 0, errBadAddr
	}
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24, nil
}

// readArgv reads a NULL-terminated array of string pointers (exec argv) at
// addr: at most maxArgs entries of at most maxLen bytes each. A truncated
// vector ends with "...".
func readArgv(m memReader, addr uint64, maxArgs, maxLen int) []string {
	return readArgvWidth(m, addr, maxArgs, maxLen, false)
}

// readArgvWidth is readArgv for an array of 32-bit pointers when compat
// (an i386 program's exec argv).
func readArgvWidth(m memReader, addr uint64, maxArgs, maxLen int, compat bool) []string {
	if addr == 0 {
		return nil
	}
	var argv []string
	for i := 0; ; i++ {
		if i == maxArgs {
			return append(argv, "...")
		}
		var p uint64
		var err error
		if compat {
			p, err = readWord32(m, addr+uint64(i)*4)
		} else {
			p, err = readWord(m, addr+uint64(i)*8)
		}
		if err != nil || p == 0 {
			return argv
		}
		s, _, err := readString(m, p, maxLen)
		if err != nil {
			s = "?"
		}
		argv = append(argv, s)
	}
}

// readBytes reads up to n bytes at addr (fewer if memory ends).
func readBytes(m memReader, addr uint64, n int) []byte {
	if addr == 0 || n <= 0 {
		return nil
	}
	buf := make([]byte, n)
	got, _ := m.ReadAt(addr, buf)
	if got < 0 || got > n {
		got = 0
	}
	return buf[:got]
}
