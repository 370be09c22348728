package cuckoo

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scalemalnet/scalemalnet/orchestrator/api/apitest"
	"github.com/scalemalnet/scalemalnet/orchestrator/jobs"
	"github.com/scalemalnet/scalemalnet/orchestrator/store"
)

// FuzzParseForm: any field values give either options a job accepts or a
// field error; never a panic.
func FuzzParseForm(f *testing.F) {
	f.Add("120", "route=internet,arguments=-v -x,procmemdump=yes", "1", "win7,x64", "2")
	f.Add("", "", "", "", "")
	f.Add("abc", "novalue", "maybe", ",,,", "x")
	f.Add("99999999999999999999", "route=tor,=x,a==b", "on", " ", "-1")
	f.Add("0", "arguments="+strings.Repeat("a ", 40), "0", "\x00", "1")
	f.Fuzz(func(t *testing.T, timeout, options, memory, tags, priority string) {
		s, err := parseForm(map[string][]string{"timeout": {timeout}, "options": {options}, "memory": {memory},
			"tags": {tags}, "priority": {priority}})
		if err != nil {
			if !strings.Contains(err.Error(), errBadField.Error()) && !strings.Contains(err.Error(), jobs.ErrInvalid.Error()) {
				t.Fatalf("error of an unexpected kind: %v", err)
			}
			return
		}
		o := s.opts
		if err := o.Normalize(); err != nil {
			t.Fatalf("accepted options the job refuses: %+v: %v", s.opts, err)
		}
		if o.Timeout < time.Second || o.Timeout > jobs.MaxTimeout {
			t.Fatalf("timeout %s accepted", o.Timeout)
		}
	})
}

// FuzzCreateFile: any body and content type gets 200 with a task id or a
// Cuckoo JSON error below 500.
func FuzzCreateFile(f *testing.F) {
	st, err := store.Open(f.TempDir(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	h := NewHandler(apitest.StoreService{Store: st}, st, Options{Token: "t0123456789abcdef", MaxSample: 1 << 16, Logger: slog.New(slog.DiscardHandler), Hostname: "x"})
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nxyz\r\n--b--\r\n"), "multipart/form-data; boundary=b")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"timeout\"\r\n\r\n12x\r\n--b--\r\n"), "multipart/form-data; boundary=b")
	f.Add([]byte("--b\r\nbroken"), "multipart/form-data; boundary=b")
	f.Add([]byte("raw"), "application/octet-stream")
	f.Add([]byte(""), "multipart/form-data")
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		req := httptest.NewRequest("POST", "/tasks/create/file", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer t0123456789abcdef")
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			var c createdTask
			if json.Unmarshal(rec.Body.Bytes(), &c) != nil || c.TaskID == 0 {
				t.Fatalf("200 without a task id: %s", rec.Body)
			}
			return
		}
		var e ErrorBody
		if rec.Code >= 500 || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Message == "" {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	})
}
