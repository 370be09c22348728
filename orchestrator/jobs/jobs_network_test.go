package jobs

import (
	"errors"
	"testing"
)

func TestOptionsNetwork(t *testing.T) {
	for in, want := range map[string]string{"": NetworkNone, "none": NetworkNone, "user": NetworkUser, "isolated": NetworkIsolated} {
		o := Options{Network: in}
		if err := o.Normalize(); err != nil || o.Network != want {
			t.Errorf("network %q: got %q, %v; want %q", in, o.Network, err, want)
		}
	}
	for _, bad := range []string{"bridge", "USER", "user ", "tap0", "passt", "user,hostfwd=tcp::2222-:22"} {
		o := Options{Network: bad}
		if err := o.Normalize(); !errors.Is(err, ErrInvalid) {
			t.Errorf("network %q: %v, want ErrInvalid", bad, err)
		}
	}
}
