# Nomad ACL policy for the sync bridge (least privilege):
# - read-job: GET /v1/allocations, GET /v1/allocation/<id>, and the Allocation topic of
#   /v1/event/stream (nomad/stream/event_broker.go aclAllowsSubscription: read-job in the namespace);
# - read-fs: /v1/client/fs/ls and /v1/client/fs/readat, only when shipping logs (--logs running|all).
namespace "*" {
  capabilities = ["read-job", "read-fs"]
}
