package cli

import (
	"fmt"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X github.com/keygate/keygate/internal/cli.version=v1.2.3".
var version = ""

func runVersion(e *env, args []string) int {
	v := version
	if v == "" {
		v = "(devel)"
		if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
			v = info.Main.Version
		}
	}
	fmt.Fprintf(e.stdout, "keygate %s\n", v)
	return exitOK
}
