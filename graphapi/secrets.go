package graphapi

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// PasswordCredential describes a client secret without its value, which
// Graph returns only once, when the secret is created.
type PasswordCredential struct {
	KeyID       string
	DisplayName string
	Hint        string // the first characters of the value
	Start       time.Time
	End         time.Time
}

// NewSecret is a client secret just created. Value is the only copy of the
// secret: store it and drop it; String and GoString never print it.
type NewSecret struct {
	PasswordCredential
	Value string
}

// String describes the secret without its value.
func (s NewSecret) String() string {
	return fmt.Sprintf("client secret %s (hint %s, expires %s)", s.KeyID, s.Hint, s.End.Format(time.DateOnly))
}

// GoString keeps %#v from printing the value.
func (s NewSecret) GoString() string { return s.String() }

// AddPassword creates a client secret on the application with objectID
// (POST /applications/{id}/addPassword), valid until end (zero: Graph's
// default of two years).
func (c *Client) AddPassword(ctx context.Context, objectID, displayName string, end time.Time) (*NewSecret, error) {
	pc := models.NewPasswordCredential()
	if displayName != "" {
		pc.SetDisplayName(&displayName)
	}
	if !end.IsZero() {
		e := end.UTC()
		pc.SetEndDateTime(&e)
	}
	body := applications.NewItemAddPasswordPostRequestBody()
	body.SetPasswordCredential(pc)
	res, err := c.sdk.Applications().ByApplicationId(objectID).AddPassword().Post(ctx, body, nil)
	if err != nil {
		return nil, wrap("create client secret", err)
	}
	value := deref(res.GetSecretText())
	if value == "" {
		return nil, &Error{Kind: KindUnknown, Op: "create client secret", Code: "NoSecretText",
			Message: "Graph returned no secret text", Remedy: "Remove the new secret in the portal and try again."}
	}
	return &NewSecret{PasswordCredential: toPasswordCredential(res), Value: value}, nil
}

// RemovePassword deletes the client secret keyID from the application
// (POST /applications/{id}/removePassword).
func (c *Client) RemovePassword(ctx context.Context, objectID, keyID string) error {
	id, err := uuid.Parse(keyID)
	if err != nil {
		return badInput("remove client secret", "secret ID "+keyID+" is not a GUID", "Give the secret's ID (keyId) as shown by `entrawiz status`.")
	}
	body := applications.NewItemRemovePasswordPostRequestBody()
	body.SetKeyId(&id)
	return wrap("remove client secret", c.sdk.Applications().ByApplicationId(objectID).RemovePassword().Post(ctx, body, nil))
}

// ListPasswords returns the application's client secrets (never their values).
func (c *Client) ListPasswords(ctx context.Context, objectID string) ([]PasswordCredential, error) {
	app, err := c.sdk.Applications().ByApplicationId(objectID).Get(ctx, &applications.ApplicationItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &applications.ApplicationItemRequestBuilderGetQueryParameters{Select: []string{"id", "passwordCredentials"}},
	})
	if err != nil {
		return nil, wrap("list client secrets", err)
	}
	var out []PasswordCredential
	for _, p := range app.GetPasswordCredentials() {
		out = append(out, toPasswordCredential(p))
	}
	return out, nil
}

func toPasswordCredential(p models.PasswordCredentialable) PasswordCredential {
	pc := PasswordCredential{DisplayName: deref(p.GetDisplayName()), Hint: deref(p.GetHint())}
	if id := p.GetKeyId(); id != nil {
		pc.KeyID = id.String()
	}
	if t := p.GetStartDateTime(); t != nil {
		pc.Start = *t
	}
	if t := p.GetEndDateTime(); t != nil {
		pc.End = *t
	}
	return pc
}
