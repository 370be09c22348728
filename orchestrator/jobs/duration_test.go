package jobs

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestOptionsDurationsAreStrings(t *testing.T) {
	o := Options{Timeout: 20 * time.Second, Window: 1500 * time.Millisecond, Network: NetworkUser}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"timeout":"20s","window":"1.5s","network":"user"}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	var back Options
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Timeout != o.Timeout || back.Window != o.Window || back.Network != o.Network {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestOptionsReadsLegacyNanoseconds(t *testing.T) {
	var o Options
	if err := json.Unmarshal([]byte(`{"timeout":20000000000,"window":1000000000}`), &o); err != nil {
		t.Fatal(err)
	}
	if o.Timeout != 20*time.Second || o.Window != time.Second {
		t.Fatalf("got %+v", o)
	}
}

func TestOptionsRejectsBadDuration(t *testing.T) {
	var o Options
	err := json.Unmarshal([]byte(`{"timeout":"twenty"}`), &o)
	if err == nil || !strings.Contains(err.Error(), "twenty") {
		t.Fatalf("want an error naming the bad value, got %v", err)
	}
}

func TestCancelledIsFinal(t *testing.T) {
	if !Cancelled.Final() || !Cancelled.Valid() {
		t.Fatal("cancelled must be a valid final state")
	}
	for _, from := range []State{Queued, Restoring, Running, Collecting} {
		if !CanMove(from, Cancelled) {
			t.Errorf("%s -> cancelled refused", from)
		}
	}
	if CanMove(Cancelled, Queued) || CanMove(Done, Cancelled) {
		t.Error("a final state moved")
	}
	j := Job{ID: "x", State: Queued}
	if err := j.Move(Cancelled, time.Now(), "cancelled by the API"); err != nil || j.Error != "cancelled by the API" {
		t.Fatalf("move: %v, error %q", err, j.Error)
	}
}

// TestOptionsTags: tags are normalized (sorted, no repeats), checked, and
// survive the JSON form the store and the API use.
func TestOptionsTags(t *testing.T) {
	o := Options{Tags: []string{"win10", "gpu", "gpu"}}
	if err := o.Normalize(); err != nil {
		t.Fatal(err)
	}
	if len(o.Tags) != 2 || o.Tags[0] != "gpu" || o.Tags[1] != "win10" {
		t.Fatalf("tags %q, want [gpu win10]", o.Tags)
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var back Options
	if err := json.Unmarshal(b, &back); err != nil || len(back.Tags) != 2 || back.Tags[1] != "win10" {
		t.Fatalf("round trip %s: %+v %v", b, back, err)
	}
	if !o.TagsIn([]string{"x", "win10", "gpu"}) || o.TagsIn([]string{"gpu"}) || !(Options{}).TagsIn(nil) {
		t.Fatal("TagsIn")
	}
	for _, bad := range [][]string{{""}, {"a,b"}, {"x\n"}, {strings.Repeat("t", MaxTagLen+1)}} {
		o := Options{Tags: bad}
		if err := o.Normalize(); !errors.Is(err, ErrInvalid) {
			t.Errorf("tags %q: %v, want ErrInvalid", bad, err)
		}
	}
}
