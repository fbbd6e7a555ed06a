// This file holds the encoding and hashing template functions.

package scenario

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"net/url"
	"strings"
)

// base64Func is {{ base64 .x }}: standard base64 with padding.
func base64Func(_ *Env, args []any) (value, error) {
	return value{s: base64.StdEncoding.EncodeToString([]byte(toString(args[0])))}, nil
}

// base64Decode is {{ base64decode .x }}: standard or URL-safe base64,
// padded or not.
func base64Decode(_ *Env, args []any) (value, error) {
	s := strings.TrimRight(toString(args[0]), "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return value{}, fmt.Errorf("base64decode: %s is not base64", describeArg(truncate(toString(args[0]), 40)))
	}
	return value{s: string(b)}, nil
}

// urlQuery is {{ urlquery .x }}: text/template's urlquery (the arguments
// printed as fmt.Sprint does, then query-escaped), except that a missing
// variable is "", and on the fast path.
func urlQuery(_ *Env, args []any) (value, error) {
	var s string
	if len(args) == 1 {
		s = toString(args[0])
	} else {
		as := make([]any, len(args))
		for i, a := range args {
			if a == nil {
				a = ""
			}
			as[i] = a
		}
		s = fmt.Sprint(as...)
	}
	return value{s: url.QueryEscape(s)}, nil
}

// sha256Func is {{ sha256 .x }}: the hex SHA-256 of the text.
func sha256Func(_ *Env, args []any) (value, error) {
	sum := sha256.Sum256([]byte(toString(args[0])))
	return value{s: hex.EncodeToString(sum[:])}, nil
}

var hmacHashes = map[string]func() hash.Hash{"sha256": sha256.New, "sha1": sha1.New, "sha512": sha512.New}

func hmacLiteral(i int, s string) error {
	if i == 0 && hmacHashes[s] == nil {
		return fmt.Errorf("hmac: hash %q is not sha256, sha1 or sha512", s)
	}
	return nil
}

// hmacFunc is {{ hmac "sha256" key message }}: the hex HMAC.
func hmacFunc(_ *Env, args []any) (value, error) {
	algo, ok := args[0].(string)
	h := hmacHashes[algo]
	if !ok || h == nil {
		return value{}, fmt.Errorf("hmac: hash %s is not sha256, sha1 or sha512", describeArg(args[0]))
	}
	m := hmac.New(h, []byte(toString(args[1])))
	m.Write([]byte(toString(args[2])))
	return value{s: hex.EncodeToString(m.Sum(nil))}, nil
}
