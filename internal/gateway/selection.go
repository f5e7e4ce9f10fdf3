package gateway

import (
	"strings"

	"github.com/keygate/keygate/internal/config"
)

// keyMatcher applies OCI's selection keys, the same for dynamic routing's
// backends (oci-policies.md §9) and dynamic authentication's servers (§7):
// an exact ANY_OF value, compared case-insensitively; else the first
// WILDCARD key in spec order that matches, case-sensitively; else the
// isDefault key. Keys are compiled once; a pick neither allocates nor
// reads the config.
type keyMatcher struct {
	// exact maps each lower-cased ANY_OF value to its entry's index.
	exact     map[string]int
	wildcards []wildcardKey
	// fallback is the isDefault key's index; -1 when none.
	fallback int
}

func newKeyMatcher() keyMatcher { return keyMatcher{exact: map[string]int{}, fallback: -1} }

// add compiles key k as choosing entry i.
func (m *keyMatcher) add(k *config.SelectionKey, i int) {
	switch strings.ToUpper(k.Type) {
	case config.SelectionAnyOf:
		for _, value := range k.Values {
			m.exact[strings.ToLower(value)] = i
		}
	case config.SelectionWildcard:
		if e := k.Expression; e != "" {
			wk := wildcardKey{index: i}
			switch {
			case e[0] == '*' || e[0] == '+':
				wk.literal, wk.suffix, wk.atLeastOne = e[1:], true, e[0] == '+'
			default:
				wk.literal, wk.atLeastOne = e[:len(e)-1], e[len(e)-1] == '+'
			}
			m.wildcards = append(m.wildcards, wk)
		}
	}
	if k.IsDefault {
		m.fallback = i
	}
}

// pick returns the index of the entry for the selector's value v, and
// whether it is the default; -1 when no key matches and none is the
// default.
func (m *keyMatcher) pick(v string) (int, bool) {
	if i, ok := m.exact[strings.ToLower(v)]; ok {
		return i, false
	}
	for _, w := range m.wildcards {
		if w.match(v) {
			return w.index, false
		}
	}
	return m.fallback, m.fallback >= 0
}

// wildcardKey is a compiled WILDCARD expression: text before or after one
// '*' (zero or more characters) or '+' (one or more).
type wildcardKey struct {
	literal string
	// suffix: the wildcard is at the start, so literal ends the value.
	suffix bool
	// atLeastOne: '+', the wildcard matches at least one character.
	atLeastOne bool
	index      int
}

func (k wildcardKey) match(v string) bool {
	if len(v) < len(k.literal) || k.atLeastOne && len(v) == len(k.literal) {
		return false
	}
	if k.suffix {
		return strings.HasSuffix(v, k.literal)
	}
	return strings.HasPrefix(v, k.literal)
}
