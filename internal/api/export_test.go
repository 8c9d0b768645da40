package api

// RequestPath is requestPath, for the contract check of the external tests.
var RequestPath = requestPath
