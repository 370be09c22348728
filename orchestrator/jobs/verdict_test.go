package jobs

import "testing"

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
