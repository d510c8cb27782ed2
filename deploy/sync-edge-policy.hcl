# Edge ACL policy for the sync bridge's token (least privilege):
# - node write: PUT/DELETE /v1/allocation/<id>, POST /v1/allocations/batch, POST /v1/client/fs/logs/<id>;
# - read-job in every namespace: GET /v1/allocations?namespace=* (to find what Nomad no longer has).
#
#   curl -H "X-Nomad-Token: $MANAGEMENT" $EDGE/v1/acl/policy/sync \
#     -d "$(jq -Rs '{Description:"sync bridge",Rules:.}' deploy/sync-edge-policy.hcl)"
#   curl -H "X-Nomad-Token: $MANAGEMENT" $EDGE/v1/acl/token -d '{"Name":"sync","Type":"client","Policies":["sync"]}'
node {
  policy = "write"
}

namespace "*" {
  capabilities = ["read-job"]
}
