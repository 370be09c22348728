package modelfile

import (
	"bytes"
	"errors"
	"testing"
)

func header() Header {
	return Header{Name: "t-dnn", Model: "dnn", Task: "t", Stage: "detection", Input: InputVector,
		FeatureSet: "clamp-raw", InputKind: "static", Classes: []string{"benign", "malware"}, Columns: []string{"a", "b"}}
}

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, header(), []byte("weights")); err != nil {
		t.Fatal(err)
	}
	first := append([]byte{}, buf.Bytes()...)
	h, w, err := Read(&buf)
	if err != nil || string(w) != "weights" || h.Name != "t-dnn" || h.Format != Format {
		t.Fatalf("%+v %q %v", h, w, err)
	}
	var again bytes.Buffer
	Write(&again, header(), []byte("weights"))
	if !bytes.Equal(first, again.Bytes()) {
		t.Fatal("same input gave different files (must be reproducible)")
	}
}

func TestRejects(t *testing.T) {
	var buf bytes.Buffer
	Write(&buf, header(), []byte("weights"))
	good := buf.Bytes()
	flip := append([]byte{}, good...)
	flip[len(flip)-1] ^= 1
	cases := map[string][]byte{
		"empty":        nil,
		"bad magic":    append([]byte("NOTMODEL"), good[8:]...),
		"truncated":    good[:len(good)-3],
		"header short": good[:20],
		"corrupt":      flip,
		"huge header":  append([]byte("SMNMODEL\xff\xff\xff\xff"), good[12:]...),
	}
	for name, b := range cases {
		if _, _, err := Read(bytes.NewReader(b)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
	bad := header()
	bad.Columns = nil
	if err := Write(&bytes.Buffer{}, bad, nil); !errors.Is(err, ErrFormat) {
		t.Errorf("vector model without columns written: %v", err)
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	Write(&buf, header(), []byte("w"))
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, _, err := Read(bytes.NewReader(b)); err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error without ErrFormat: %v", err)
		}
	})
}
