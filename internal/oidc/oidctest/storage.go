package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strconv"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// keyedStorage is the example OP's storage with what tests need on top:
// signing keys that rotate, clients registered while the OP runs, and
// clients whose access tokens are JWTs. Everything else is the example's.
type keyedStorage struct {
	*storage.Storage

	mu      sync.Mutex
	keys    []*signingKey // keys[0] signs; the rest are still published
	clients map[string]registered
	serial  int
}

type registered struct {
	client *storage.Client
	secret string
	jwt    bool // access tokens are JWTs
}

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }

func newKeyedStorage(users storage.UserStore) (*keyedStorage, error) {
	s := &keyedStorage{Storage: storage.NewStorageWithClients(users, map[string]*storage.Client{}),
		clients: map[string]registered{}}
	if _, err := s.rotate(false); err != nil {
		return nil, err
	}
	return s, nil
}

// rotate makes a new signing key; the old ones stay published when keep.
func (s *keyedStorage) rotate(keep bool) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serial++
	k := &signingKey{id: "oidctest-" + strconv.Itoa(s.serial), key: key}
	if keep {
		s.keys = append([]*signingKey{k}, s.keys...)
	} else {
		s.keys = []*signingKey{k}
	}
	return k.id, nil
}

func (s *keyedStorage) signing() *signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0]
}

// SigningKey implements op.Storage: the newest key signs.
func (s *keyedStorage) SigningKey(context.Context) (op.SigningKey, error) { return s.signing(), nil }

// SignatureAlgorithms implements op.Storage.
func (s *keyedStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet implements op.Storage: every key still published.
func (s *keyedStorage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]op.Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, publicKey{k})
	}
	return out, nil
}

func (s *keyedStorage) register(c *storage.Client, secret string, jwt bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.GetID()] = registered{client: c, secret: secret, jwt: jwt}
}

// GetClientByClientID implements op.Storage over the registered clients.
func (s *keyedStorage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	s.mu.Lock()
	r, ok := s.clients[id]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("client not found")
	}
	c := storage.RedirectGlobsClient(r.client)
	if r.jwt {
		return jwtClient{c}, nil
	}
	return c, nil
}

// AuthorizeClientIDSecret implements op.Storage over the registered
// clients.
func (s *keyedStorage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	s.mu.Lock()
	r, ok := s.clients[id]
	s.mu.Unlock()
	if !ok {
		return errors.New("client not found")
	}
	if r.secret == "" || r.secret != secret {
		return errors.New("invalid secret")
	}
	return nil
}

// jwtClient is a client whose access tokens are JWTs signed by the OP.
type jwtClient struct{ op.Client }

func (jwtClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
