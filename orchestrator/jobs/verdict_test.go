package jobs

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestVerdictBriefString(t *testing.T) {
	for _, c := range []struct {
		v    *VerdictBrief
		want string
	}{
		{nil, "-"},
		{&VerdictBrief{Label: "unknown"}, "unknown"},
		{&VerdictBrief{Label: "benign", Probability: 0.0234}, "benign 0.02"},
		{&VerdictBrief{Label: "malware", Probability: 0.914, Family: "SSH"}, "malware 0.91 SSH"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.v, got, c.want)
		}
	}
}

// Every option survives the JSON the store and the API use (a field left
// out of the custom encoding was once lost: the DLL export).
func TestOptionsJSONRoundTrip(t *testing.T) {
	in := Options{Timeout: 30 * time.Second, Window: 500 * time.Millisecond, Args: []string{"a"}, Network: NetworkUser, Export: "SmnRun"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Options
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("%s read back as %+v, want %+v", b, out, in)
	}
}
