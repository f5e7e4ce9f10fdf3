package gateway

import (
	"encoding/binary"
	"errors"
	"net/http"
	"time"
)

// cacheEntry is one stored response: the backend's status, headers and
// body, when it was stored, and the request header values its Vary named
// (a request with other values is a miss).
type cacheEntry struct {
	storedAt time.Time
	status   int
	vary     []headerValues
	header   http.Header
	body     []byte
}

// headerValues is one header's values as a request carried them.
type headerValues struct {
	name   string
	values []string
}

// entryMagic starts every encoded entry; a value that does not start with
// it (another program's key, an older format) is no entry of ours.
const entryMagic = "KGC1"

// maxEntryFields bounds the headers and Vary names a decoded entry may
// hold, so a hostile value in a shared server cannot make decoding costly.
const maxEntryFields = 4096

var errBadEntry = errors.New("the stored value is not a response cache entry")

// encode writes e in keygate's binary form: magic, stored-at (unix ms),
// status, the Vary values, the headers, the body; strings and lists are
// length-prefixed (uvarint).
func (e *cacheEntry) encode() []byte {
	size := len(entryMagic) + 8 + 2 + 16 + len(e.body)
	for name, vs := range e.header {
		size += len(name) + 4
		for _, v := range vs {
			size += len(v) + 2
		}
	}
	b := make([]byte, 0, size)
	b = append(b, entryMagic...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.storedAt.UnixMilli()))
	b = binary.BigEndian.AppendUint16(b, uint16(e.status))
	b = binary.AppendUvarint(b, uint64(len(e.vary)))
	for _, hv := range e.vary {
		b = appendValues(b, hv.name, hv.values)
	}
	b = binary.AppendUvarint(b, uint64(len(e.header)))
	for name, vs := range e.header {
		b = appendValues(b, name, vs)
	}
	b = binary.AppendUvarint(b, uint64(len(e.body)))
	return append(b, e.body...)
}

func appendValues(b []byte, name string, values []string) []byte {
	b = appendString(b, name)
	b = binary.AppendUvarint(b, uint64(len(values)))
	for _, v := range values {
		b = appendString(b, v)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeEntry reads an entry encode wrote; anything else is errBadEntry.
// The body aliases b.
func decodeEntry(b []byte) (*cacheEntry, error) {
	if len(b) < len(entryMagic)+10 || string(b[:len(entryMagic)]) != entryMagic {
		return nil, errBadEntry
	}
	d := entryDecoder{b: b[len(entryMagic):]}
	e := &cacheEntry{}
	e.storedAt = time.UnixMilli(int64(binary.BigEndian.Uint64(d.b)))
	e.status = int(binary.BigEndian.Uint16(d.b[8:]))
	d.b = d.b[10:]
	if e.status < 100 || e.status > 599 {
		return nil, errBadEntry
	}
	nVary := d.count()
	for range nVary {
		name, values := d.values()
		e.vary = append(e.vary, headerValues{name, values})
	}
	nHeader := d.count()
	e.header = make(http.Header, nHeader)
	for range nHeader {
		name, values := d.values()
		e.header[name] = values
	}
	n := d.uvarint()
	if d.bad || n != uint64(len(d.b)) {
		return nil, errBadEntry
	}
	e.body = d.b
	return e, nil
}

// entryDecoder reads length-prefixed parts; a read past the end sets bad
// and yields zero values, so decodeEntry checks once at the end.
type entryDecoder struct {
	b   []byte
	bad bool
}

func (d *entryDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *entryDecoder) count() int {
	n := d.uvarint()
	if n > maxEntryFields || n > uint64(len(d.b)) {
		d.bad = true
		d.b = nil
		return 0
	}
	return int(n)
}

func (d *entryDecoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad = true
		d.b = nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *entryDecoder) values() (string, []string) {
	name := d.string()
	n := d.count()
	values := make([]string, 0, n)
	for range n {
		values = append(values, d.string())
	}
	return name, values
}
