package opkit

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

// TestGuardControlLoopbackPolicy: the loopback opt-in lets loopback
// through, and nothing else internal.
func TestGuardControlLoopbackPolicy(t *testing.T) {
	tests := []struct {
		address       string
		allowLoopback bool
		wantErr       bool
	}{
		{"127.0.0.1:80", true, false},
		{"127.8.9.10:80", true, false},
		{"[::1]:80", true, false},
		{"[::ffff:127.0.0.1]:80", true, false},
		{"93.184.216.34:443", true, false},
		{"10.0.0.1:443", true, true},
		{"192.168.1.1:443", true, true},
		{"169.254.169.254:80", true, true},
		{"0.0.0.0:80", true, true},
		{"[::]:80", true, true},
		{"[fe80::1]:80", true, true},
		{"127.0.0.1:80", false, true},
		{"93.184.216.34:443", false, false},
		{"not an address", true, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s loopback=%v", tt.address, tt.allowLoopback), func(t *testing.T) {
			err := guardControl(tt.allowLoopback)("tcp", tt.address, nil)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrForbiddenTarget)) {
				t.Errorf("err = %v, want error %v wrapping ErrForbiddenTarget", err, tt.wantErr)
			}
		})
	}
}

func TestForbiddenAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", false},
		{"2606:2800:220:1:248:1893:25c8:1946", false},
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.1.2.3", true},
		{"10.0.0.1", true},
		{"172.16.5.4", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true},
		{"fe80::1", true},
		{"fc00::1", true},
		{"0.0.0.0", true},
		{"::", true},
		{"100.64.0.1", true},
		{"224.0.0.1", true},

		// Globally reachable, some of them inside special blocks.
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"192.31.196.1", false},   // AS112-v4, globally reachable
		{"192.175.48.1", false},   // AS112 direct delegation
		{"198.17.255.255", false}, // just below benchmarking
		{"198.20.0.0", false},     // just above benchmarking
		{"100.63.255.255", false}, // just below shared address space
		{"2606:4700::1111", false},
		{"2620:4f:8000::1", false}, // AS112 direct delegation
		{"2001:200::1", false},     // just above 2001::/23

		// IANA IPv4 special-purpose registry, not globally reachable.
		{"0.1.2.3", true},         // 0.0.0.0/8 this network
		{"0.255.255.255", true},   // its last address
		{"100.127.255.255", true}, // 100.64.0.0/10 shared
		{"192.0.0.8", true},       // 192.0.0.0/24 IETF assignments
		{"192.0.0.170", true},     // NAT64 discovery
		{"192.0.2.1", true},       // TEST-NET-1
		{"192.88.99.1", true},     // 6to4 relay anycast
		{"198.18.0.1", true},      // 198.18.0.0/15 benchmarking
		{"198.19.255.255", true},  // its last address
		{"198.51.100.7", true},    // TEST-NET-2
		{"203.0.113.9", true},     // TEST-NET-3
		{"240.0.0.1", true},       // 240.0.0.0/4 reserved
		{"255.255.255.255", true}, // limited broadcast

		// IANA IPv6 special-purpose registry, and what hides IPv4.
		{"::ffff:0.1.2.3", true},    // mapped "this network"
		{"::ffff:198.18.0.1", true}, // mapped benchmarking
		{"::7f00:1", true},          // IPv4-compatible ::127.0.0.1
		{"::a00:1", true},           // IPv4-compatible ::10.0.0.1
		{"::808:808", true},         // IPv4-compatible ::8.8.8.8, deprecated
		{"64:ff9b::a00:1", true},    // NAT64 64:ff9b::10.0.0.1
		{"64:ff9b::808:808", true},  // NAT64 of a public address: still hidden IPv4
		{"64:ff9b:1::1", true},      // local-use NAT64
		{"100::1", true},            // discard-only
		{"2001::1", true},           // Teredo
		{"2001:2::1", true},         // benchmarking
		{"2001:10::1", true},        // ORCHID
		{"2001:db8::1", true},       // documentation
		{"2002:a00:1::1", true},     // 6to4 of 10.0.0.1
		{"2002:808:808::1", true},   // 6to4 of a public address
		{"3fff::1", true},           // documentation (RFC 9637)
		{"5f00::1", true},           // SRv6 SIDs
		{"fec0::1", true},           // site-local, deprecated
		{"fd12:3456::1", true},      // unique local
		{"ff02::1", true},           // multicast
		{"4000::1", true},           // unassigned, outside 2000::/3
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := forbiddenAddr(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("forbiddenAddr(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}
