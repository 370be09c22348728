package fakenet

import "testing"

func TestParseHTTPHead(t *testing.T) {
	h, complete, err := ParseHTTPHead([]byte("POST http://evil.example/up?x=1 HTTP/1.0\r\nhOsT:  evil.example \r\nUser-Agent: a\x01b\r\n\r\nbody"))
	if err != nil || !complete || h.Method != "POST" || h.Host != "evil.example" || PathOf(h.Target) != "/up?x=1" || h.UserAgent != "a?b" || h.Proto != "HTTP/1.0" {
		t.Errorf("%+v %v %v", h, complete, err)
	}
	if _, _, err := ParseHTTPHead([]byte("SSH-2.0-x\r\n")); err == nil {
		t.Error("SSH banner parsed as HTTP")
	}
	if _, complete, _ := ParseHTTPHead([]byte("GET / HTTP/1.1\r\nHost: a")); complete {
		t.Error("head without blank line is complete")
	}
}

func TestParseClientHelloSNI(t *testing.T) {
	hello := clientHello(t, "c2.example")
	if sni, found, err := ParseClientHelloSNI(hello); err != nil || !found || sni != "c2.example" {
		t.Errorf("SNI %q %v %v", sni, found, err)
	}
	if _, found, err := ParseClientHelloSNI(clientHello(t, "")); err != nil || found {
		t.Errorf("hello without SNI: found %v, err %v", found, err)
	}
	for n := 0; n < 60; n++ {
		if _, _, err := ParseClientHelloSNI(hello[:n]); err == nil {
			t.Errorf("hello cut to %d bytes parsed", n)
		}
	}
}
