// Command keygate is an API gateway that runs OCI API deployment
// specifications with JWT authentication, and the client-side tools to
// make keys and tokens for it.
package main

import (
	"os"

	"github.com/keygate/keygate/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
