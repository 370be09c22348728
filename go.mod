module github.com/scalemalnet/scalemalnet

go 1.26

require (
	libvirt.org/go/libvirt v1.10000.0 // indirect
	libvirt.org/go/libvirtxml v1.10000.0 // indirect
)
