package agent

import (
	"net"

	"github.com/scalemalnet/scalemalnet/guest/proto"
)

// NetInterfaces lists the machine's network interfaces other than loopback,
// with their state and addresses, for Hello.Net (at most
// proto.MaxNetInterfaces).
func NetInterfaces() []proto.NetInterface {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []proto.NetInterface
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			continue
		}
		ni := proto.NetInterface{Name: i.Name, MAC: i.HardwareAddr.String(), Up: i.Flags&net.FlagUp != 0}
		if addrs, err := i.Addrs(); err == nil {
			for _, a := range addrs {
				ni.Addrs = append(ni.Addrs, a.String())
			}
		}
		out = append(out, ni)
		if len(out) == proto.MaxNetInterfaces {
			break
		}
	}
	return out
}
