package keys

import (
	"fmt"
	"unicode/utf8"
)

// maxKIDInError bounds how much of a kid an error quotes. Kids come from
// tokens, that is from attackers: a 10 kB kid must not make a 10 kB log line.
const maxKIDInError = 64

// StaticSet is a fixed set of keys looked up by exact kid. It is built once at
// start-up and safe for concurrent use, since nothing changes it afterwards.
type StaticSet struct {
	byKID map[string]*Key
	keys  []*Key
}

var _ Resolver = (*StaticSet)(nil)

// NewStaticSet returns a set of ks. Every key must be valid (as NewKey would
// return it) and have a kid of its own: a key without a kid could never be
// named by a token, and two keys with one kid would make the choice
// ambiguous (ErrDuplicateKID).
func NewStaticSet(ks ...*Key) (*StaticSet, error) {
	s := &StaticSet{byKID: make(map[string]*Key, len(ks)), keys: make([]*Key, 0, len(ks))}
	first := make(map[string]int, len(ks))
	for i, k := range ks {
		if k == nil {
			return nil, fmt.Errorf("%w: keys[%d] is nil", ErrMalformedKey, i)
		}
		if k.ID == "" {
			return nil, fmt.Errorf("%w: keys[%d] has no kid; give every key the kid its tokens carry", ErrMalformedKey, i)
		}
		if j, dup := first[k.ID]; dup {
			return nil, fmt.Errorf("%w: kid %s is used by keys[%d] and keys[%d]; give each key its own kid", ErrDuplicateKID, quoteKID(k.ID), j, i)
		}
		if err := k.validate(); err != nil {
			return nil, fmt.Errorf("keys[%d] (kid %s): %w", i, quoteKID(k.ID), err)
		}
		first[k.ID] = i
		s.byKID[k.ID] = k
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// Key returns the key named kid. The kid is only ever a map key, so path
// traversal, SQL or control characters in it are merely unknown kids (T5).
func (s *StaticSet) Key(kid string) (*Key, error) {
	if k, ok := s.byKID[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w %s", ErrUnknownKID, quoteKID(kid))
}

// Keys returns the set's keys in the order NewStaticSet was given them.
func (s *StaticSet) Keys() []*Key {
	return append([]*Key(nil), s.keys...)
}

// quoteKID quotes kid for an error message, cut to maxKIDInError bytes on a
// rune boundary so the quoted text stays readable.
func quoteKID(kid string) string {
	if len(kid) <= maxKIDInError {
		return fmt.Sprintf("%q", kid)
	}
	cut := maxKIDInError
	for cut > 0 && !utf8.RuneStart(kid[cut]) {
		cut--
	}
	return fmt.Sprintf("%q... (%d bytes)", kid[:cut], len(kid))
}
