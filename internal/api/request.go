package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/docproc/webhooks/internal/apperr"
	"github.com/docproc/webhooks/internal/webhook"
)

// MaxBodyBytes is the largest request body accepted (64 KiB).
const MaxBodyBytes = 64 << 10

// header returns a request header by case-insensitive name. API Gateway
// lowercases header names in payload 2.0, but local tools may not.
func header(req events.APIGatewayV2HTTPRequest, name string) string {
	v, _ := lookupHeader(req, name)
	return v
}

// lookupHeader is header that also reports whether the header was sent.
func lookupHeader(req events.APIGatewayV2HTTPRequest, name string) (string, bool) {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v, true
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// idempotencyKey returns the Idempotency-Key header, "" if it was not sent,
// or a 400 if it was sent malformed (empty included).
func idempotencyKey(req events.APIGatewayV2HTTPRequest) (string, error) {
	key, ok := lookupHeader(req, "Idempotency-Key")
	if !ok {
		return "", nil
	}
	if err := webhook.ValidateIdempotencyKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// apiKey extracts the raw key from "Authorization: Bearer <key>" or
// "X-API-Key: <key>". An Authorization header with another scheme, or the
// two headers carrying different keys, is a clear 401: the request must
// not silently act as one of them.
func apiKey(req events.APIGatewayV2HTTPRequest) (string, error) {
	xKey := strings.TrimSpace(header(req, "X-API-Key"))
	auth := strings.TrimSpace(header(req, "Authorization"))
	if auth == "" {
		return xKey, nil
	}
	scheme, key, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", apperr.New(apperr.Unauthenticated, "api_key_invalid",
			"the Authorization header must use the Bearer scheme: 'Authorization: Bearer <key>'")
	}
	key = strings.TrimSpace(key)
	if xKey != "" && xKey != key {
		return "", apperr.New(apperr.Unauthenticated, "api_key_invalid",
			"the Authorization and X-API-Key headers carry different keys; send one key")
	}
	return key, nil
}

// body returns the request body, decoding base64 when API Gateway flagged
// it, and enforces the size limit.
func body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	tooLarge := apperr.New(apperr.TooLarge, "body_too_large",
		fmt.Sprintf("the request body must be at most %d bytes", MaxBodyBytes))
	if !req.IsBase64Encoded {
		if len(req.Body) > MaxBodyBytes {
			return nil, tooLarge
		}
		return []byte(req.Body), nil
	}
	if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBodyBytes+3 {
		return nil, tooLarge
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "body_invalid", "the request body is not valid base64")
	}
	if len(b) > MaxBodyBytes {
		return nil, tooLarge
	}
	return b, nil
}

// checkJSONContentType accepts application/json, with charset utf-8 if a
// charset is given.
func checkJSONContentType(req events.APIGatewayV2HTTPRequest) error {
	unsupported := apperr.New(apperr.UnsupportedMediaType, "content_type_unsupported",
		"the request body must be JSON; send 'Content-Type: application/json'")
	ct := header(req, "Content-Type")
	if ct == "" {
		return unsupported
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return unsupported
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return unsupported
	}
	return nil
}

// decodeObject reads a JSON object into its raw members. It rejects empty
// bodies, invalid JSON (trailing data included), non-objects and duplicate
// member names with 400.
func decodeObject(b []byte) (map[string]json.RawMessage, error) {
	invalid := func(msg string) error { return apperr.New(apperr.Invalid, "body_invalid", msg) }
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, invalid("the request body is empty; send a JSON object")
	}
	if !json.Valid(b) {
		return nil, invalid("the request body is not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		return nil, invalid("the request body must be a JSON object")
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid("the request body is not valid JSON")
		}
		name, _ := tok.(string) // json.Valid guarantees member names are strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalid("the request body is not valid JSON")
		}
		if _, dup := members[name]; dup {
			return nil, &apperr.Error{Kind: apperr.Invalid, Code: "parameter_duplicated",
				Message: fmt.Sprintf("parameter %q appears more than once", name), Param: name}
		}
		members[name] = raw
	}
	return members, checkText(b, members)
}

// checkText refuses text that encoding/json would silently repair: invalid
// UTF-8 and unpaired UTF-16 surrogates (such as "\ud800"), which it turns
// into U+FFFD. It names every member whose value holds such text; if only a
// member name does, the body as a whole is refused.
func checkText(b []byte, members map[string]json.RawMessage) error {
	if validText(b) {
		return nil
	}
	var problems []apperr.FieldError
	for _, name := range slices.Sorted(maps.Keys(members)) {
		if !validText(members[name]) {
			problems = append(problems, apperr.FieldError{Param: name, Code: "parameter_invalid_encoding",
				Message: name + " must be valid UTF-8 text without unpaired surrogates"})
		}
	}
	if len(problems) == 0 {
		return apperr.New(apperr.Invalid, "body_invalid", "a parameter name is not valid UTF-8 text")
	}
	return apperr.Validation(problems)
}

// validText reports whether b, JSON that json.Valid accepted, is valid
// UTF-8 and escapes no unpaired surrogate. Backslashes only occur inside
// strings there, and each \u is followed by four hex digits.
func validText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if b[i] != 'u' {
			continue
		}
		r := hex4(b[i+1:])
		i += 4
		switch {
		case utf16.IsSurrogate(r) && r >= 0xdc00: // a low surrogate first
			return false
		case utf16.IsSurrogate(r): // a high surrogate needs a low one next
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return false
			}
			if low := hex4(b[i+3:]); !utf16.IsSurrogate(low) || low < 0xdc00 {
				return false
			}
			i += 6
		}
	}
	return true
}

// hex4 reads the four hex digits at the start of b.
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b[:4]), 16, 32) // json.Valid checked the digits
	return rune(n)
}
