package fakenet

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/dns/dnsmessage"
)

// Fuzz targets of every parser that reads guest bytes. Seeds are real
// messages (a DNS query, an HTTP request, a ClientHello made by crypto/tls,
// a pcap written by the recorder); the checks are that nothing panics, that
// errors are ErrMalformed and that what is kept is bounded and printable.

func FuzzAnswerDNS(f *testing.F) {
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 1, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName("evil.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	q, _ := b.Finish()
	f.Add(q)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xc0, 0x0c}, 40))
	f.Fuzz(func(t *testing.T, in []byte) {
		resp, qs, err := AnswerDNS(in, Sinkhole)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || resp != nil {
				t.Fatalf("err %v, resp %d bytes", err, len(resp))
			}
			return
		}
		if len(qs) == 0 || len(qs) > maxQuestions {
			t.Fatalf("%d questions", len(qs))
		}
		for _, q := range qs {
			checkField(t, q.Name)
		}
		var m dnsmessage.Message
		if err := m.Unpack(resp); err != nil || !m.Header.Response {
			t.Fatalf("response does not parse: %v", err)
		}
	})
}

func FuzzParseHTTPHead(f *testing.F) {
	f.Add([]byte("GET /gate.php?id=1 HTTP/1.1\r\nHost: evil.example\r\nUser-Agent: x\r\n\r\n"))
	f.Add([]byte("POST http://h/p HTTP/1.0\r\nhost:h\r\n"))
	f.Add([]byte("GET "))
	f.Fuzz(func(t *testing.T, in []byte) {
		h, _, err := ParseHTTPHead(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatal(err)
			}
			return
		}
		for _, s := range []string{h.Method, h.Target, h.Proto, h.Host, h.UserAgent, PathOf(h.Target)} {
			checkField(t, s)
		}
	})
}

func FuzzClientHelloSNI(f *testing.F) {
	f.Add(clientHello(f, "c2.example"))
	f.Add(clientHello(f, ""))
	f.Add([]byte{0x16, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		sni, found, err := ParseClientHelloSNI(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || found {
				t.Fatal(err)
			}
			return
		}
		checkField(t, sni)
	})
}

func FuzzReadPcap(f *testing.F) {
	rc := newRecorder(DefaultMaxPcapBytes, 8)
	rc.frame([]byte("0123456789abcdefghijklmnop"), time.Unix(1, 0))
	rc.frame(make([]byte, 70), time.Unix(2, 0))
	f.Add(rc.capture().Pcap)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		pk, err := ReadPcap(in)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		total := 0
		for _, p := range pk {
			total += len(p.Data)
		}
		if total > len(in) {
			t.Fatalf("%d packet bytes from %d input bytes", total, len(in))
		}
	})
}

// FuzzServe feeds a frame stream to a fresh stack: it must end with nil or
// ErrStream, never panic.
func FuzzServe(f *testing.F) {
	arp := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 9, 9, 9, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 9, 9, 9, 10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0, 2, 2}, make([]byte, 18)...)
	f.Add(frameOf(arp))
	f.Add(append(frameOf(arp), frameOf(make([]byte, 60))...))
	f.Add([]byte{0, 0, 0, 0})
	r, err := Listen(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Close() })
	r.Begin()
	f.Fuzz(func(t *testing.T, in []byte) {
		err := r.Serve(context.Background(), &rw{r: bytes.NewReader(in)})
		if err != nil && !errors.Is(err, ErrStream) {
			t.Fatal(err)
		}
	})
}

func checkField(t *testing.T, s string) {
	t.Helper()
	if len(s) > MaxField*3 || !utf8.ValidString(s) {
		t.Fatalf("field %q: %d bytes or invalid UTF-8", s, len(s))
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			t.Fatalf("field %q has a control character", s)
		}
	}
}

// clientHello captures the first record crypto/tls sends for serverName.
func clientHello(tb testing.TB, serverName string) []byte {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Client(a, &tls.Config{ServerName: serverName, InsecureSkipVerify: serverName == ""}).Handshake()
	b.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := b.Read(buf)
	if err != nil {
		tb.Fatal(err)
	}
	return buf[:n]
}
