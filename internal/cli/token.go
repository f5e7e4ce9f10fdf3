package cli

import "fmt"

const tokenUsage = `keygate token: make and explain JWTs, offline.

USAGE
  keygate token sign --key PRIVATE.key --iss ISSUER --aud AUDIENCE [flags]
  keygate token inspect [TOKEN|-]
  keygate token verify (--spec FILE [--path-prefix P] | --config FILE) --request "METHOD /path" [TOKEN|-]
  keygate token verify (--jwk FILE | --pem FILE) --iss ISSUER --aud AUDIENCE [TOKEN|-]

COMMANDS
  sign     sign a JWT assertion with the client's private key
  inspect  decode a token and show its header, claims and times, UNVERIFIED
  verify   say whether the gateway would accept a token, and why not

Run "keygate token <command> --help" for its flags and examples.

EXAMPLES
  keygate token sign --key private_key.key --kid suitable_name --iss suitable_issuer --aud suitable_audience --scope "orders:read"
  keygate token inspect eyJraWQiOi...
  keygate token verify --spec deployment.json --path-prefix /test3 --request "POST /test3/1" eyJraWQiOi...
`

func runToken(e *env, args []string) int {
	if len(args) == 0 {
		return usageError(e, "keygate token", "give a subcommand: sign, inspect or verify")
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(e.stdout, tokenUsage)
		return exitOK
	case "sign":
		return runTokenSign(e, args[1:])
	case "inspect":
		return runTokenInspect(e, args[1:])
	case "verify":
		return runTokenVerify(e, args[1:])
	}
	return usageError(e, "keygate token", fmt.Sprintf("unknown subcommand %q; want sign, inspect or verify", args[0]))
}
