package keys

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"strings"
)

// firstBlock finds the first PEM block in text that people pasted, copied
// through JSON or YAML, or saved on Windows.
func firstBlock(data []byte) (*pem.Block, error) {
	text := normalizePEM(data)
	block, rest := pem.Decode(text)
	if block == nil {
		block, rest = pem.Decode(repairPEM(string(text)))
	}
	// openssl ecparam -genkey writes the curve's parameters before the key.
	for block != nil && block.Type == "EC PARAMETERS" {
		if block, rest = pem.Decode(rest); block == nil {
			return nil, fmt.Errorf("%w: the file holds \"EC PARAMETERS\" but no key block after it", ErrMalformedKey)
		}
	}
	if block != nil {
		return block, nil
	}
	switch {
	case bytes.HasPrefix(text, []byte("{")):
		return nil, fmt.Errorf("%w: no pem block found; this looks like a jwk, so give it as a jwk", ErrMalformedKey)
	case bytes.Contains(text, []byte("-----BEGIN")):
		return nil, fmt.Errorf("%w: pem block is damaged (bad base64, or END line does not match BEGIN)", ErrMalformedKey)
	}
	return nil, fmt.Errorf("%w: no pem block found; want -----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----", ErrMalformedKey)
}

// normalizePEM trims every line, which removes CRs, YAML indentation and
// trailing blanks that would stop encoding/pem from finding the armour.
func normalizePEM(data []byte) []byte {
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		lines[i] = strings.TrimSpace(line)
	}
	return []byte(strings.TrimSpace(strings.Join(lines, "\n")) + "\n")
}

// repairPEM rebuilds a PEM block whose line breaks were lost: flattened to
// spaces by a YAML folded scalar, or left as literal \n escapes. Base64 has
// neither spaces nor backslashes, so removing them cannot change the key.
func repairPEM(text string) []byte {
	text = strings.NewReplacer(`\r`, "", `\n`, " ").Replace(text)
	_, rest, ok := strings.Cut(text, "-----BEGIN ")
	if !ok {
		return nil
	}
	blockType, rest, ok := strings.Cut(rest, "-----")
	if !ok {
		return nil
	}
	body, _, ok := strings.Cut(rest, "-----END "+blockType+"-----")
	if !ok {
		return nil
	}
	body = strings.Join(strings.Fields(body), "")
	return []byte("-----BEGIN " + blockType + "-----\n" + body + "\n-----END " + blockType + "-----\n")
}
