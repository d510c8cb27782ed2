# nomad-alloc-edge sync as a Nomad job: one bridge per Nomad region, mirroring every namespace the
# job's Workload Identity can read into the edge. Run with:
#
#   nomad var put nomad/jobs/nomad-alloc-edge-sync edge_token=<edge token with node:write + read-job>
#   nomad acl policy apply -namespace default -job nomad-alloc-edge-sync \
#     nomad-alloc-edge-sync deploy/sync-nomad-policy.hcl
#   nomad job run deploy/sync.nomad.hcl
#
# The bundle (npm run build:sync -> dist/sync/nomad-alloc-edge.mjs) is fetched as an artifact;
# pin its URL and checksum to the release you deploy.

job "nomad-alloc-edge-sync" {
  type = "service"

  group "sync" {
    count = 1 # one writer per Nomad region; a second one is harmless (writes are conditional) but wasteful

    # The state directory (cursor, mirrored indexes, log positions) survives restarts and moves with
    # the allocation when it is rescheduled. Losing it costs re-sending, never correctness.
    ephemeral_disk {
      size    = 300
      sticky  = true
      migrate = true
    }

    restart {
      attempts = 10
      interval = "30m"
      delay    = "15s"
      mode     = "delay"
    }

    network {
      port "metrics" {}
    }

    service {
      name     = "nomad-alloc-edge-sync"
      port     = "metrics"
      provider = "nomad"
      check {
        type     = "http"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "sync" {
      driver = "docker"

      config {
        image   = "node:22-slim"
        command = "node"
        args = [
          "${NOMAD_TASK_DIR}/nomad-alloc-edge.mjs", "sync",
          "--edge-region", "global",
          "--state-dir", "${NOMAD_ALLOC_DIR}/data/sync",
          "--namespace", "*",
          "--logs", "running",
          "--gc-retain", "24h",
          "--metrics-addr", "0.0.0.0:${NOMAD_PORT_metrics}",
        ]
        ports = ["metrics"]
      }

      artifact {
        source      = "https://example.com/releases/nomad-alloc-edge/0.1.0/nomad-alloc-edge.mjs"
        destination = "local/"
        mode        = "file"
      }

      # Workload Identity (Nomad 1.10+ for the event stream): NOMAD_TOKEN in the environment,
      # the Task API socket as NOMAD_ADDR. Its policy is deploy/sync-nomad-policy.hcl.
      identity {
        env = true
      }

      env {
        NOMAD_ADDR = "unix://${NOMAD_SECRETS_DIR}/api.sock"
        EDGE_ADDR  = "https://edge.example.com"
      }

      # The edge token from a Nomad Variable (only this job can read nomad/jobs/<job>).
      template {
        destination = "${NOMAD_SECRETS_DIR}/edge.env"
        env         = true
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/nomad-alloc-edge-sync" }}EDGE_TOKEN={{ .edge_token }}{{ end }}
        EOT
      }

      # SIGTERM: the bridge finishes the writes in flight and saves its cursor.
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      resources {
        cpu    = 200
        memory = 256
      }
    }
  }
}
