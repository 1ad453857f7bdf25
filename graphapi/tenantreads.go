package graphapi

import (
	"context"
	"net/http"
	"time"

	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// TenantReads is what a setup's preflight reads of the tenant before it
// plans: the organization, the admin's directory roles and the default app
// management policy. Each has its own error: a role or policy the admin's
// token may not read is a warning, not a failure.
type TenantReads struct {
	Org       *Organization
	OrgErr    error
	Roles     []DirectoryRole
	RolesErr  error
	Policy    *CredentialPolicy
	PolicyErr error
}

// ReadTenant reads the organization, the signed-in admin's directory roles
// and the tenant's app management policy (as it applies to an app created
// at created) in one JSON batch, so that a setup's preflight costs one
// request for the three. An item Graph throttles or fails on the server
// side is read again on its own, through the client's retry handler; a
// second page of roles is read as MyDirectoryRoles reads it.
func (c *Client) ReadTenant(ctx context.Context, created time.Time) TenantReads {
	reads := []Read{
		{Path: "/organization"},
		{Path: "/me/transitiveMemberOf?$top=999"},
		{Path: "/policies/defaultAppManagementPolicy"},
	}
	batch := msgraphcore.NewBatchRequest(c.adapter)
	ids := make([]string, len(reads))
	for i, rd := range reads {
		item, err := batch.AddBatchRequestStep(*c.readInfo(rd))
		if err != nil {
			return c.readTenantOneByOne(ctx, created)
		}
		ids[i] = *item.GetId()
	}
	resp, err := batch.Send(ctx, c.adapter)
	if err != nil {
		err = wrap("read the tenant", err)
		return TenantReads{OrgErr: err, RolesErr: err, PolicyErr: err}
	}
	// answer is the item's typed body, or why it has none; retry says it
	// is worth asking again on its own.
	answer := func(i int, ctor absser.ParsableFactory) (v absser.Parsable, retry bool, err error) {
		item := resp.GetResponseById(ids[i])
		if item == nil || item.GetStatus() == nil {
			return nil, true, nil
		}
		switch st := int(*item.GetStatus()); {
		case st == http.StatusTooManyRequests || st >= 500:
			return nil, true, nil
		case st >= 300:
			return nil, false, batchItemError(reads[i].Path, st, item.GetBody())
		}
		v, err = msgraphcore.GetBatchResponseById[absser.Parsable](resp, ids[i], ctor)
		if err != nil {
			return nil, true, nil
		}
		return v, false, nil
	}
	var out TenantReads
	if v, retry, err := answer(0, models.CreateOrganizationCollectionResponseFromDiscriminatorValue); retry {
		out.Org, out.OrgErr = c.Organization(ctx)
	} else if err != nil {
		out.OrgErr = err
	} else {
		out.Org, out.OrgErr = organizationFrom(v.(models.OrganizationCollectionResponseable))
	}
	if v, retry, err := answer(1, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue); retry {
		out.Roles, out.RolesErr = c.MyDirectoryRoles(ctx)
	} else if err != nil {
		out.RolesErr = err
	} else {
		out.Roles, out.RolesErr = c.rolesFrom(ctx, v.(models.DirectoryObjectCollectionResponseable))
	}
	if v, retry, err := answer(2, models.CreateTenantAppManagementPolicyFromDiscriminatorValue); retry {
		out.Policy, out.PolicyErr = c.CredentialPolicy(ctx, created)
	} else if err != nil {
		out.PolicyErr = err
	} else {
		out.Policy = credentialPolicyFrom(v.(models.TenantAppManagementPolicyable), created)
	}
	return out
}

// readTenantOneByOne is ReadTenant without a batch.
func (c *Client) readTenantOneByOne(ctx context.Context, created time.Time) TenantReads {
	var out TenantReads
	out.Org, out.OrgErr = c.Organization(ctx)
	out.Roles, out.RolesErr = c.MyDirectoryRoles(ctx)
	out.Policy, out.PolicyErr = c.CredentialPolicy(ctx, created)
	return out
}
