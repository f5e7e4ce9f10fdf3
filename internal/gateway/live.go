package gateway

import (
	"net/http"
	"sync/atomic"
)

// Live serves whichever Gateway is current. A reload builds a new Gateway
// beside the running one and swaps it in; a request already inside the old
// one finishes there, since it holds that Gateway, not the Live.
type Live struct {
	current atomic.Pointer[Gateway]
}

// NewLive returns a Live serving g.
func NewLive(g *Gateway) *Live {
	l := &Live{}
	l.current.Store(g)
	return l
}

// Swap makes g current for every request that starts from now on.
func (l *Live) Swap(g *Gateway) { l.current.Store(g) }

// Current returns the Gateway new requests go to.
func (l *Live) Current() *Gateway { return l.current.Load() }

func (l *Live) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.current.Load().ServeHTTP(w, r)
}
