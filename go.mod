module github.com/scalemalnet/scalemalnet

go 1.26

require (
	github.com/ulikunitz/xz v0.5.15
	go.etcd.io/bbolt v1.4.3
	libvirt.org/go/libvirt v1.10000.0
	libvirt.org/go/libvirtxml v1.10000.0
)

require golang.org/x/sys v0.29.0 // indirect
