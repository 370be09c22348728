package fakenet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
)

// Parsers of what the guest sends to the responder. They take hostile
// bytes: every length is checked against the input, nothing is allocated
// beyond the input's size, and every string kept is bounded (MaxField).

// MaxField bounds every string the responder keeps from the guest (a name,
// a path, a header value); longer ones are cut.
const MaxField = 256

// ErrMalformed is the kind of every parse error of guest data.
var ErrMalformed = errors.New("fakenet: malformed")

var httpMethods = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"}

// LooksHTTP reports whether b (the first bytes of a TCP stream) starts like
// an HTTP/1 request: a known method followed by a space.
func LooksHTTP(b []byte) bool {
	for _, m := range httpMethods {
		if len(b) > len(m) && string(b[:len(m)]) == m && b[len(m)] == ' ' {
			return true
		}
	}
	return false
}

// LooksTLS reports whether b starts like a TLS handshake record.
func LooksTLS(b []byte) bool {
	return len(b) >= 3 && b[0] == 0x16 && b[1] == 0x03
}

// HTTPHead is what the responder keeps of an HTTP request.
type HTTPHead struct {
	Method, Target, Proto, Host, UserAgent string
}

// ParseHTTPHead parses an HTTP/1 request head (request line and headers,
// up to the blank line or the end of b). complete says the blank line was
// seen. Fields are cut to MaxField and stripped of control characters.
func ParseHTTPHead(b []byte) (h HTTPHead, complete bool, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end >= 0 {
		complete = true
		b = b[:end]
	}
	lines := bytes.Split(b, []byte("\n"))
	req := strings.TrimRight(string(lines[0]), "\r")
	parts := strings.SplitN(req, " ", 3)
	if len(parts) < 2 || !LooksHTTP([]byte(req)) {
		return h, complete, errors.Join(ErrMalformed, errors.New("not an HTTP request line"))
	}
	h.Method = field(parts[0])
	h.Target = field(parts[1])
	if len(parts) == 3 {
		h.Proto = field(parts[2])
	}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(strings.TrimRight(string(l), "\r"), ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "host":
			if h.Host == "" {
				h.Host = field(strings.TrimSpace(v))
			}
		case "user-agent":
			if h.UserAgent == "" {
				h.UserAgent = field(strings.TrimSpace(v))
			}
		}
	}
	return h, complete, nil
}

// PathOf is the path (with query) of a request target: the target itself
// for origin form, the part after the authority for absolute form
// ("http://h/p" -> "/p").
func PathOf(target string) string {
	if i := strings.Index(target, "://"); i >= 0 {
		rest := target[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
		return "/"
	}
	return target
}

// field cuts s to MaxField bytes and replaces control characters and
// invalid UTF-8.
func field(s string) string {
	if len(s) > MaxField {
		s = s[:MaxField]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// ParseClientHelloSNI returns the server name of a TLS ClientHello that
// starts b (one or more handshake records; only the first record is read,
// which holds the SNI of every real client). found is false for a hello
// without the extension. An error says b is not a ClientHello or is cut
// short (the caller may wait for more bytes).
func ParseClientHelloSNI(b []byte) (sni string, found bool, err error) {
	bad := func(why string) (string, bool, error) {
		return "", false, errors.Join(ErrMalformed, errors.New("TLS ClientHello: "+why))
	}
	if len(b) < 5 || b[0] != 0x16 {
		return bad("not a handshake record")
	}
	rec := int(binary.BigEndian.Uint16(b[3:5]))
	b = b[5:]
	if len(b) < rec {
		return bad("record cut short")
	}
	b = b[:rec]
	if len(b) < 4 || b[0] != 0x01 {
		return bad("not a ClientHello")
	}
	n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	b = b[4:]
	if len(b) < n {
		// A hello split across records: read what this record holds.
		n = len(b)
	}
	b = b[:n]
	// version(2) random(32)
	if len(b) < 34 {
		return bad("short hello")
	}
	b = b[34:]
	skip := func(lenBytes int) bool {
		if len(b) < lenBytes {
			return false
		}
		l := 0
		for i := 0; i < lenBytes; i++ {
			l = l<<8 | int(b[i])
		}
		if len(b) < lenBytes+l {
			return false
		}
		b = b[lenBytes+l:]
		return true
	}
	if !skip(1) || !skip(2) || !skip(1) { // session id, cipher suites, compression
		return bad("short hello")
	}
	if len(b) == 0 {
		return "", false, nil // no extensions
	}
	if len(b) < 2 {
		return bad("short extensions")
	}
	el := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) < el {
		el = len(b)
	}
	b = b[:el]
	for len(b) >= 4 {
		typ := binary.BigEndian.Uint16(b)
		l := int(binary.BigEndian.Uint16(b[2:]))
		b = b[4:]
		if len(b) < l {
			return bad("extension cut short")
		}
		ext := b[:l]
		b = b[l:]
		if typ != 0 { // server_name
			continue
		}
		if len(ext) < 2 {
			return bad("server_name extension")
		}
		ext = ext[2:] // list length
		for len(ext) >= 3 {
			nt := ext[0]
			nl := int(binary.BigEndian.Uint16(ext[1:]))
			ext = ext[3:]
			if len(ext) < nl {
				return bad("server name cut short")
			}
			if nt == 0 {
				return field(string(ext[:nl])), true, nil
			}
			ext = ext[nl:]
		}
		return "", false, nil
	}
	return "", false, nil
}
