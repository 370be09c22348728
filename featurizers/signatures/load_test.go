package signatures

import "testing"

func TestDefaultLoads(t *testing.T) {
	s, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rules) < 25 {
		t.Fatalf("%d shipped rules, want at least 25", len(s.Rules))
	}
	t.Logf("%d rules", len(s.Rules))
}
