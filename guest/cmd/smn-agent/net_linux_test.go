//go:build linux

package main

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"

	"github.com/scalemalnet/scalemalnet/guest/agent"
)

func TestIoctlStructSizes(t *testing.T) {
	// Sizes of struct ifreq and struct rtentry on x86-64 Linux.
	if n := unsafe.Sizeof(ifreqAddr{}); n != 40 {
		t.Errorf("ifreqAddr is %d bytes, want 40", n)
	}
	if n := unsafe.Sizeof(ifreqFlags{}); n != 40 {
		t.Errorf("ifreqFlags is %d bytes, want 40", n)
	}
	if unsafe.Sizeof(uintptr(0)) == 8 {
		if n := unsafe.Sizeof(rtentry{}); n != 120 {
			t.Errorf("rtentry is %d bytes, want 120", n)
		}
		if off := unsafe.Offsetof(rtentry{}.flags); off != 56 {
			t.Errorf("rtentry.flags at %d, want 56", off)
		}
		if off := unsafe.Offsetof(rtentry{}.dev); off != 88 {
			t.Errorf("rtentry.dev at %d, want 88", off)
		}
	}
}

const netnsHelperEnv = "SMN_AGENT_NETNS_HELPER"

// TestConfigureNICInNetns runs configureNIC on a tap device in a throwaway
// network namespace (as root, with unshare and ip), then checks the address,
// the default route and what NetInterfaces reports.
func TestConfigureNICInNetns(t *testing.T) {
	if os.Getenv(netnsHelperEnv) == "1" {
		netnsHelper(t)
		return
	}
	if testing.Short() {
		t.Skip("needs root and a network namespace")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespace, tap device)")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	cmd := exec.Command("unshare", "-n", os.Args[0], "-test.run=^TestConfigureNICInNetns$", "-test.v")
	cmd.Env = append(os.Environ(), netnsHelperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "SKIP-NO-TAP") {
			t.Skipf("no tap devices here: %s", out)
		}
		t.Fatalf("helper in a new netns: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func netnsHelper(t *testing.T) {
	if out, err := exec.Command("ip", "tuntap", "add", "dev", "eth9", "mode", "tap").CombinedOutput(); err != nil {
		t.Fatalf("SKIP-NO-TAP: %v %s", err, out)
	}
	if err := configureNIC("eth9"); err != nil {
		t.Fatalf("configureNIC: %v", err)
	}
	ifc, err := net.InterfaceByName("eth9")
	if err != nil {
		t.Fatal(err)
	}
	if ifc.Flags&net.FlagUp == 0 {
		t.Errorf("eth9 not up: %v", ifc.Flags)
	}
	addrs, _ := ifc.Addrs()
	found := false
	for _, a := range addrs {
		found = found || a.String() == "10.0.2.15/24"
	}
	if !found {
		t.Errorf("eth9 addresses %v, want 10.0.2.15/24", addrs)
	}
	// /proc/net/route: Iface Destination Gateway ... in little-endian hex.
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "eth9\t00000000\t0202000A") {
		t.Errorf("no default route via 10.0.2.2 on eth9:\n%s", b)
	}
	// A second configuration (EEXIST on the route) is no error.
	if err := configureNIC("eth9"); err != nil {
		t.Errorf("configureNIC again: %v", err)
	}
	nis := agent.NetInterfaces()
	if len(nis) != 1 || nis[0].Name != "eth9" || !nis[0].Up || !contains(nis[0].Addrs, "10.0.2.15/24") {
		t.Errorf("NetInterfaces: %+v", nis)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
