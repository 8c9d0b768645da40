package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"strings"

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
		return "", apperr.New(apperr.Unauthenticated, apperr.CodeAPIKeyInvalid,
			"the Authorization header must use the Bearer scheme: 'Authorization: Bearer <key>'")
	}
	key = strings.TrimSpace(key)
	if xKey != "" && xKey != key {
		return "", apperr.New(apperr.Unauthenticated, apperr.CodeAPIKeyInvalid,
			"the Authorization and X-API-Key headers carry different keys; send one key")
	}
	return key, nil
}

// body returns the request body, decoding base64 when API Gateway flagged
// it, and enforces the size limit.
func body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	tooLarge := apperr.New(apperr.TooLarge, apperr.CodeBodyTooLarge,
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
		return nil, apperr.New(apperr.Invalid, apperr.CodeBodyInvalid, "the request body is not valid base64")
	}
	if len(b) > MaxBodyBytes {
		return nil, tooLarge
	}
	return b, nil
}

// checkJSONContentType accepts application/json, with charset utf-8 if a
// charset is given.
func checkJSONContentType(req events.APIGatewayV2HTTPRequest) error {
	unsupported := apperr.New(apperr.UnsupportedMediaType, apperr.CodeContentTypeUnsupported,
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

// acting reads a POST that acts: its Idempotency-Key header, then its
// body, a JSON object (which may be left out when optional), with decode.
func acting[T any](c *call, optional bool, decode func(map[string]json.RawMessage) (T, error)) (key string, v T, err error) {
	if key, err = idempotencyKey(c.req); err != nil {
		return "", v, err
	}
	members, err := jsonObject(c.req, optional)
	if err != nil {
		return "", v, err
	}
	v, err = decode(members)
	return key, v, err
}
