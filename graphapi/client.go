package graphapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/microsoft/kiota-abstractions-go/authentication"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
)

// TokenSource gives access tokens for Microsoft Graph. *Admin (delegated)
// and *App (app-only) implement it.
type TokenSource interface {
	AccessToken(ctx context.Context) (string, error)
}

// ClientOptions configures a Graph client.
type ClientOptions struct {
	Cloud  Cloud
	Tokens TokenSource
	// HTTPClient is the base client; nil means Cloud.HTTPClient(). Its
	// transport is wrapped in the SDK's middleware.
	HTTPClient *http.Client
	// Tracer, when not nil, gets a line per HTTP attempt.
	Tracer *Tracer
	// MaxRetries bounds the SDK retry handler's retries of 429, 503 and 504
	// (default 5, at most 10); each retry waits Retry-After when sent.
	MaxRetries int
}

// Client calls Microsoft Graph through msgraph-sdk-go with the SDK's default
// middleware (retry honouring Retry-After, request compression, redirects,
// telemetry) and an MSAL-backed token provider.
type Client struct {
	sdk     *msgraphsdk.GraphServiceClient
	adapter *msgraphsdk.GraphRequestAdapter
	cloud   Cloud
	retried *atomic.Int64
}

// NewClient builds a Graph client for opts.Cloud.GraphURL.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.Tokens == nil {
		return nil, errors.New("graph client: no token source")
	}
	if opts.Cloud.GraphURL == "" {
		opts.Cloud = nationalClouds["public"]
	}
	base := opts.HTTPClient
	if base == nil {
		var err error
		if base, err = opts.Cloud.HTTPClient(); err != nil {
			return nil, err
		}
	}
	parent := base.Transport
	if parent == nil {
		parent = http.DefaultTransport
	}
	parent = opts.Tracer.Transport("graph", parent)
	retried := new(atomic.Int64)
	parent = &retryCounter{base: parent, n: retried}
	maxRetries := opts.MaxRetries
	if maxRetries <= 0 {
		maxRetries = 5
	}
	httpClient := &http.Client{
		Transport:     khttp.NewCustomTransportWithParentTransport(parent, middlewares(maxRetries)...),
		CheckRedirect: noRedirects,
		Timeout:       requestTimeout,
		Jar:           base.Jar,
	}
	hosts, err := authentication.NewAllowedHostsValidatorErrorCheck([]string{opts.Cloud.GraphHost()})
	if err != nil {
		return nil, err
	}
	auth := authentication.NewBaseBearerTokenAuthenticationProvider(&tokenProvider{hosts: hosts, src: opts.Tokens})
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, httpClient)
	if err != nil {
		return nil, err
	}
	adapter.SetBaseUrl(opts.Cloud.GraphURL)
	return &Client{sdk: newServiceClient(adapter), adapter: adapter, cloud: opts.Cloud, retried: retried}, nil
}

// sdkGlobals guards the process-wide state msgraph-sdk-go sets up when it
// makes a client.
var sdkGlobals sync.Once

// newServiceClient wraps adapter in a GraphServiceClient without racing
// other clients' requests. msgraphsdk.NewGraphServiceClient passes
// kiota's store.BackingStoreFactoryInstance to the adapter's
// EnableBackingStore, which writes it back to that package global every
// time; every model and Graph error the SDK parses reads the global, so a
// second client made while the first one's request is parsed is a data
// race. The first client is made exactly as the SDK makes it, under a
// sync.Once that every later call waits for; later clients are made by
// the same constructor with a nil factory, which does everything else
// (registers the default serialisers, wraps them and the adapter's
// factories in backing-store proxies, sets the base URL) but leaves the
// global alone. The value written would be the global's own anyway.
func newServiceClient(adapter *msgraphsdk.GraphRequestAdapter) *msgraphsdk.GraphServiceClient {
	var first *msgraphsdk.GraphServiceClient
	sdkGlobals.Do(func() { first = msgraphsdk.NewGraphServiceClient(adapter) })
	if first != nil {
		return first
	}
	return &msgraphsdk.GraphServiceClient{GraphBaseServiceClient: *msgraphsdk.NewGraphBaseServiceClient(adapter, nil)}
}

// Retried is how many answers so far were of the kinds the SDK's retry
// handler retries (429, 503, 504), for progress displays; the last of a
// run of them may have been given up on rather than retried.
func (c *Client) Retried() int64 { return c.retried.Load() }

// retryCounter sits below the SDK's retry handler and counts the answers it
// will retry.
type retryCounter struct {
	base http.RoundTripper
	n    *atomic.Int64
}

func (t *retryCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if resp != nil {
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			t.n.Add(1)
		}
	}
	return resp, err
}

// SDK returns the underlying msgraph-sdk-go client for calls this package
// does not wrap.
func (c *Client) SDK() *msgraphsdk.GraphServiceClient { return c.sdk }

// Cloud returns the cloud the client talks to.
func (c *Client) Cloud() Cloud { return c.cloud }

// tokenProvider is kiota's AccessTokenProvider over a TokenSource: it hands
// a token only to the Graph host, and only over https.
type tokenProvider struct {
	hosts *authentication.AllowedHostsValidator
	src   TokenSource
}

// GetAuthorizationToken returns a token for u, or "" for a host that is not Graph's.
func (p *tokenProvider) GetAuthorizationToken(ctx context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !p.hosts.IsUrlHostValid(u) {
		return "", nil
	}
	if u.Scheme != "https" {
		return "", &Error{Kind: KindBadInput, Code: "insecure_url", Message: "refusing to send a token over " + u.Scheme,
			Remedy: "Use an https:// Graph URL."}
	}
	return p.src.AccessToken(ctx)
}

// GetAllowedHostsValidator returns the hosts tokens may be sent to: the Graph host.
func (p *tokenProvider) GetAllowedHostsValidator() *authentication.AllowedHostsValidator {
	return p.hosts
}

// middlewares returns msgraph-sdk-go's default middleware in a fixed order
// (kiota builds its list from a map, so the order is otherwise random) with
// the retry handler configured and Retry-After normalised below it. Request
// compression sits above retry so a retried body is the same gzip bytes.
func middlewares(maxRetries int) []khttp.Middleware {
	rank := func(m khttp.Middleware) int {
		switch m.(type) {
		case *msgraphcore.GraphTelemetryHandler:
			return 0
		case *khttp.UrlReplaceHandler:
			return 1
		case *khttp.UserAgentHandler:
			return 2
		case *khttp.ParametersNameDecodingHandler:
			return 3
		case *khttp.HeadersInspectionHandler:
			return 4
		case *khttp.RedirectHandler:
			return 5
		case *khttp.CompressionHandler:
			return 7
		case *khttp.RetryHandler:
			return 8
		}
		return 6
	}
	opts := msgraphsdk.GetDefaultClientOptions()
	var out []khttp.Middleware
	for _, m := range msgraphcore.GetDefaultMiddlewaresWithOptions(&opts) {
		if _, ok := m.(*khttp.RetryHandler); ok {
			m = khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
				MaxRetries:   maxRetries,
				DelaySeconds: 1,
				ShouldRetry:  func(time.Duration, int, *http.Request, *http.Response) bool { return true },
			})
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return append(out, retryAfterCeil{})
}

// retryAfterCeil rounds a fractional Retry-After up to whole seconds.
// Graph sends fractional values ("2.128"), and kiota's retry handler
// truncates them (time.Duration(2.128) * time.Second is 2s, and 0.5 becomes
// 0), so it would retry too early. It also buffers the small 429/503 body and
// closes the original, since the retry handler drops the response without
// closing it and the connection would otherwise leak.
type retryAfterCeil struct{}

// Intercept rounds Retry-After up on the responses the retry handler retries.
func (retryAfterCeil) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	if err != nil || resp == nil {
		return resp, err
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return resp, nil
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if f, perr := strconv.ParseFloat(ra, 64); perr == nil && f != math.Trunc(f) && f > 0 {
			resp.Header.Set("Retry-After", strconv.FormatFloat(math.Ceil(f), 'f', 0, 64))
		}
	}
	if resp.Body != nil {
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}
