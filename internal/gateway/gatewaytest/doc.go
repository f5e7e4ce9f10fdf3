// Package gatewaytest is the one harness of keygate's end-to-end tests: it
// starts a real gateway from a spec on a loopback listener, in front of a
// backend that records what reaches it, and gives the tests the keys,
// tokens, spec builders, raw sockets and log readers they share.
//
// It uses only the exported API of the gateway, config, keys and token
// packages, as an outside client's test would, so what it shows is what a
// deployment does. Tests inside package gateway cannot import it (the import
// would be a cycle); they keep their white-box helpers, and a test that
// needs no unexported name can live in package gateway_test and use this one.
//
// Everything here fails the test through testing.TB instead of returning
// errors, except Build, BuildConfig and Deployment: a test of configuration
// errors needs the error itself.
//
// Conventions: a deployment is served at Prefix, tokens name Issuer and
// Audience, the gateway's clock is FixedClock when a test signs tokens, and
// raw requests name the Host gateway.test.
package gatewaytest
