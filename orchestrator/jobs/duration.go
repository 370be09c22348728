package jobs

import (
	"encoding/json"
	"fmt"
	"time"
)

// optionsJSON is Options as JSON: durations as Go duration strings ("20s",
// "1.5s"), the same form submission takes.
type optionsJSON struct {
	Timeout Duration `json:"timeout"`
	Window  Duration `json:"window"`
	Args    []string `json:"args,omitempty"`
	Network string   `json:"network,omitempty"`
	Export  string   `json:"export,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

// MarshalJSON writes the durations as strings, e.g. {"timeout": "20s"}.
func (o Options) MarshalJSON() ([]byte, error) {
	return json.Marshal(optionsJSON{Timeout: Duration(o.Timeout), Window: Duration(o.Window), Args: o.Args, Network: o.Network, Export: o.Export, Tags: o.Tags})
}

// UnmarshalJSON reads durations as strings or, as records written before
// they were strings hold them, integer nanoseconds.
func (o *Options) UnmarshalJSON(b []byte) error {
	var v optionsJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*o = Options{Timeout: time.Duration(v.Timeout), Window: time.Duration(v.Window), Args: v.Args, Network: v.Network, Export: v.Export, Tags: v.Tags}
	return nil
}

// Duration is a time.Duration that is a Go duration string in JSON
// ("20s"); it also reads integer nanoseconds.
type Duration time.Duration

// MarshalJSON writes e.g. "20s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "20s" or 20000000000.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%w: duration %q: want a Go duration such as \"20s\"", ErrInvalid, s)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("%w: duration %s: want a string such as \"20s\"", ErrInvalid, b)
	}
	*d = Duration(n)
	return nil
}
