package modelfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Finding 7 (issue 13): seq_len and layer sizes were unbounded, so a model
// file could make the plugin allocate without limit. Each bound is
// checked when the header is read, with the reason.
func TestHeaderBoundsRefused(t *testing.T) {
	seq := func() Header {
		h := header()
		h.Input, h.Columns, h.Vocab, h.SeqLen = InputSequence, nil, []string{"<pad>", "<unk>", "read"}, 100
		return h
	}
	cases := map[string]func(h *Header){
		"seq_len":     func(h *Header) { *h = seq(); h.SeqLen = 1_000_000_000 },
		"layer size":  func(h *Header) { h.Config = json.RawMessage(`{"hidden":[64,1000000000000]}`) },
		"huge float":  func(h *Header) { h.Config = json.RawMessage(`{"embed":1e300}`) },
		"image":       func(h *Header) { h.Input, h.Columns, h.Width, h.Height = InputImage, nil, 1<<20, 64 },
		"classes":     func(h *Header) { h.Classes = make([]string, MaxClasses+1) },
		"long column": func(h *Header) { h.Columns = []string{strings.Repeat("c", MaxText+1)} },
	}
	for name, mod := range cases {
		h := header()
		mod(&h)
		h.Format, h.Weights = Format, strings.Repeat("0", 64)
		hb, _ := json.Marshal(h)
		var buf bytes.Buffer
		buf.Write(magic)
		binary.Write(&buf, binary.BigEndian, uint32(len(hb)))
		buf.Write(hb)
		if _, err := ReadHeader(&buf); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// A header length that promises more than the file holds allocates
// nothing large.
func TestHeaderLengthLie(t *testing.T) {
	var buf bytes.Buffer
	buf.Write(magic)
	binary.Write(&buf, binary.BigEndian, uint32(MaxHeader))
	buf.WriteString(`{"format":1}`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadHeader(&buf)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrFormat) {
		t.Fatalf("err %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("allocated %d MiB for a 12-byte header", grew>>20)
	}
}

func TestWeightsLengthFromHeader(t *testing.T) {
	var buf bytes.Buffer
	Write(&buf, header(), []byte("weights"))
	buf.WriteString("trailing")
	if _, _, err := Read(&buf); !errors.Is(err, ErrFormat) {
		t.Fatalf("extra bytes after the weights accepted: %v", err)
	}
}

func TestManifestPinsModelFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.smnmodel"), filepath.Join(dir, "b.smnmodel")
	if err := WriteFile(a, header(), []byte("wa")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadDir(dir); !errors.Is(err, ErrNotPinned) {
		t.Fatalf("directory without a manifest: %v", err)
	}
	if err := Pin(a); err != nil {
		t.Fatal(err)
	}
	h := header()
	h.Name = "b"
	WriteFile(b, h, []byte("wb")) // not pinned
	es, skipped, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Path != a || es[0].Header.Name != "t-dnn" || len(skipped) != 1 || !errors.Is(skipped[0].Err, ErrNotPinned) {
		t.Fatalf("entries %+v skipped %+v", es, skipped)
	}
	// Replaced after pinning: refused with the reason.
	h = header()
	h.Task = "changed"
	WriteFile(a, h, []byte("wa"))
	es, skipped, _ = LoadDir(dir)
	if len(es) != 0 || len(skipped) != 2 || !errors.Is(skipped[0].Err, ErrNotPinned) {
		t.Fatalf("changed file served: %+v %+v", es, skipped)
	}
	if _, _, err := LoadDir("build/models"); err == nil {
		t.Fatal("relative model directory accepted")
	}
	os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"models":[{"file":"../x.smnmodel","sha256":"`+strings.Repeat("0", 64)+`"}]}`), 0o644)
	if _, _, err := LoadDir(dir); !errors.Is(err, ErrFormat) {
		t.Fatalf("path outside the directory accepted: %v", err)
	}
}
