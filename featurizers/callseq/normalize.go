package callseq

// Normalize maps a call name to its vocabulary form: surrounding ASCII
// white space trimmed and ASCII letters lower-cased (other bytes are kept).
// Names already in that form are returned without allocating.
func Normalize(name string) string {
	t := trimASCII(name)
	if len(t) == len(name) {
		clean := true
		for i := 0; i < len(name); i++ {
			if c := name[i]; 'A' <= c && c <= 'Z' {
				clean = false
				break
			}
		}
		if clean {
			return name
		}
	}
	return string(appendNormalized(make([]byte, 0, len(t)), t))
}

// NormalizeAll returns the normalised names of calls in a new slice.
func NormalizeAll(calls []string) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = Normalize(c)
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

func trimASCII(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// appendNormalized appends Normalize(name) to dst.
func appendNormalized(dst []byte, name string) []byte {
	name = trimASCII(name)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
