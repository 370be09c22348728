package fakenet

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// maxQuestions bounds the questions answered (and logged) per DNS message;
// real resolvers send one.
const maxQuestions = 4

// DNSQuestion is one question of a query, as logged.
type DNSQuestion struct {
	Name   string // without the trailing dot, lower case
	Type   string // "A", "AAAA", ...
	Answer string // the sinkhole address for A, "" otherwise
}

// AnswerDNS parses a DNS query and builds the fake resolver's response:
// every A question is answered with sinkhole, every other type gets an
// empty NOERROR answer (the fake internet is IPv4 only). A message that is
// not a query gets an error wrapping ErrMalformed and no response.
func AnswerDNS(query []byte, sinkhole [4]byte) ([]byte, []DNSQuestion, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: DNS header: %v", ErrMalformed, err)
	}
	if h.Response {
		return nil, nil, fmt.Errorf("%w: DNS message is a response", ErrMalformed)
	}
	if h.OpCode != 0 {
		return nil, nil, fmt.Errorf("%w: DNS opcode %d", ErrMalformed, h.OpCode)
	}
	var qs []dnsmessage.Question
	for len(qs) < maxQuestions {
		q, err := p.Question()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: DNS question: %v", ErrMalformed, err)
		}
		qs = append(qs, q)
	}
	if len(qs) == 0 {
		return nil, nil, fmt.Errorf("%w: DNS query without a question", ErrMalformed)
	}
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), dnsmessage.Header{
		ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired,
		RecursionAvailable: true, RCode: dnsmessage.RCodeSuccess,
	})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, nil, err
	}
	logged := make([]DNSQuestion, 0, len(qs))
	for _, q := range qs {
		if err := b.Question(q); err != nil {
			return nil, nil, fmt.Errorf("%w: DNS question: %v", ErrMalformed, err)
		}
	}
	if err := b.StartAnswers(); err != nil {
		return nil, nil, err
	}
	for _, q := range qs {
		lq := DNSQuestion{Name: field(strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))), Type: typeName(q.Type)}
		if q.Type == dnsmessage.TypeA && q.Class == dnsmessage.ClassINET {
			err := b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: sinkhole})
			if err != nil {
				return nil, nil, fmt.Errorf("%w: DNS answer: %v", ErrMalformed, err)
			}
			lq.Answer = fmt.Sprintf("%d.%d.%d.%d", sinkhole[0], sinkhole[1], sinkhole[2], sinkhole[3])
		}
		logged = append(logged, lq)
	}
	resp, err := b.Finish()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: DNS response: %v", ErrMalformed, err)
	}
	return resp, logged, nil
}

func typeName(t dnsmessage.Type) string {
	return strings.TrimPrefix(t.String(), "Type")
}
