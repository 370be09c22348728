package report

// Guest network modes as reports name them (Machine.Network).
const (
	NetworkNone = "none"
	NetworkUser = "user"
)

// network renders the machine's network for the report header: "none", or
// the mode with the guest's address, e.g. "user (10.0.2.15)".
func network(m Machine) string {
	if m.Network == "" || m.Network == NetworkNone {
		return NetworkNone
	}
	s := clean(m.Network)
	if m.GuestAddr != "" {
		s += " (" + clean(m.GuestAddr) + ")"
	} else {
		s += " (no address)"
	}
	return s
}
