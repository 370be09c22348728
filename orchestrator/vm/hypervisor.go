package vm

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"libvirt.org/go/libvirt"
)

// ErrNoDomain is wrapped when a named domain does not exist (or is not running).
var ErrNoDomain = errors.New("no such domain")

// Hypervisor is the part of libvirt the slot lifecycle uses.
type Hypervisor interface {
	// Create starts a transient domain from its XML definition.
	Create(ctx context.Context, xml string) error
	// Save writes the running domain's memory state to path; the domain stops.
	Save(ctx context.Context, name, path string) error
	// Restore starts a domain from a saved state, with xml (if not empty)
	// replacing host-side details such as file paths.
	Restore(ctx context.Context, path, xml string) error
	// Destroy stops a domain at once. A missing domain gives ErrNoDomain.
	Destroy(ctx context.Context, name string) error
	// Domains lists the names of existing domains starting with prefix.
	Domains(ctx context.Context, prefix string) ([]string, error)
	// Describe names the hypervisor, e.g. "QEMU 7.2.0 via qemu:///system".
	Describe() string
	Close() error
}

// Libvirt is a Hypervisor backed by a libvirt connection.
type Libvirt struct {
	uri    string
	conn   *libvirt.Connect
	desc   string
	remote bool

	mu           sync.Mutex
	closedReason string            // set by the close callback (remote)
	pools        map[string]string // host directory -> storage pool name
}

// OpenLibvirt connects to uri (e.g. "qemu:///system", or "test:///default"
// for unit tests).
func OpenLibvirt(ctx context.Context, uri string) (*Libvirt, error) {
	startEventLoop()
	conn, err := call(ctx, "connect to "+uri, func() (*libvirt.Connect, error) { return libvirt.NewConnect(uri) })
	if err != nil {
		return nil, fmt.Errorf("%w (is libvirtd running? see scripts/setup-host.sh)", err)
	}
	l := &Libvirt{uri: uri, conn: conn, desc: uri, remote: IsRemoteURI(uri), pools: map[string]string{}}
	l.watchClose()
	if typ, err := conn.GetType(); err == nil {
		if v, err := conn.GetVersion(); err == nil {
			l.desc = fmt.Sprintf("%s %d.%d.%d via %s", typ, v/1000000, v/1000%1000, v%1000, uri)
		}
	}
	return l, nil
}

func (l *Libvirt) Describe() string { return l.desc }

func (l *Libvirt) Close() error {
	_, err := l.conn.Close()
	return err
}

func (l *Libvirt) Create(ctx context.Context, xml string) error {
	_, err := call(ctx, "create domain", func() (struct{}, error) {
		d, err := l.conn.DomainCreateXML(xml, libvirt.DOMAIN_NONE)
		if err == nil {
			d.Free()
		}
		return struct{}{}, err
	})
	return err
}

func (l *Libvirt) Save(ctx context.Context, name, path string) error {
	_, err := call(ctx, "save "+name, func() (struct{}, error) {
		d, err := l.conn.LookupDomainByName(name)
		if err != nil {
			return struct{}{}, mapErr(err)
		}
		defer d.Free()
		return struct{}{}, d.SaveFlags(path, "", 0) // a running domain restores running
	})
	return err
}

func (l *Libvirt) Restore(ctx context.Context, path, xml string) error {
	_, err := call(ctx, "restore "+path, func() (struct{}, error) {
		return struct{}{}, l.conn.DomainRestoreFlags(path, xml, 0)
	})
	return err
}

func (l *Libvirt) Destroy(ctx context.Context, name string) error {
	_, err := call(ctx, "destroy "+name, func() (struct{}, error) {
		d, err := l.conn.LookupDomainByName(name)
		if err != nil {
			return struct{}{}, mapErr(err)
		}
		defer d.Free()
		if err := d.Destroy(); err != nil {
			return struct{}{}, mapErr(err)
		}
		return struct{}{}, nil
	})
	return err
}

func (l *Libvirt) Domains(ctx context.Context, prefix string) ([]string, error) {
	return call(ctx, "list domains", func() ([]string, error) {
		doms, err := l.conn.ListAllDomains(0)
		if err != nil {
			return nil, err
		}
		var names []string
		for i := range doms {
			if n, err := doms[i].GetName(); err == nil && strings.HasPrefix(n, prefix) {
				names = append(names, n)
			}
			doms[i].Free()
		}
		sort.Strings(names)
		return names, nil
	})
}

// mapErr turns libvirt's "no domain" and "not running" errors into ErrNoDomain.
func mapErr(err error) error {
	var le libvirt.Error
	if errors.As(err, &le) {
		switch le.Code {
		case libvirt.ERR_NO_DOMAIN:
			return fmt.Errorf("%w: %s", ErrNoDomain, le.Message)
		case libvirt.ERR_OPERATION_INVALID:
			if strings.Contains(le.Message, "not running") {
				return fmt.Errorf("%w: %s", ErrNoDomain, le.Message)
			}
		}
	}
	return err
}
