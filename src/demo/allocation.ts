/**
 * The demo allocation: the example of Nomad 0.5.6's `/v1/allocation` API page, as valid JSON
 * with Nomad's real number formats, and the task events that bring its `redis` task to running.
 * Loaded by `npm start` through the write API (local development only); also a test fixture.
 */
export const DEMO_ALLOC_ID = "203266e5-e0d6-9486-5e05-397ed2b184af";

const redisNetworks = [
  { Device: "lo", CIDR: "", IP: "127.0.0.1", MBits: 0, ReservedPorts: null, DynamicPorts: [{ Label: "db", Value: 20802 }] },
];

export const DEMO_ALLOCATION_JSON = JSON.stringify({
  ID: DEMO_ALLOC_ID,
  EvalID: "e68125ed-3fba-fb46-46cc-291addbc4455",
  Name: "example.cache[0]",
  NodeID: "e02b6169-83bd-9df6-69bd-832765f333eb",
  JobID: "example",
  Job: {
    Region: "global",
    ID: "example",
    Name: "example",
    Type: "service",
    Priority: 50,
    AllAtOnce: false,
    Datacenters: ["dc1"],
    Constraints: [{ LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "=" }],
    TaskGroups: [
      {
        Name: "cache",
        Count: 1,
        Constraints: null,
        RestartPolicy: { Attempts: 10, Interval: 300000000000, Delay: 25000000000, Mode: "delay" },
        Tasks: [
          {
            Name: "redis",
            Driver: "docker",
            Config: { image: "redis:latest", port_map: [{ db: 6379 }] },
            Env: null,
            Services: [
              {
                Name: "example-cache-redis",
                PortLabel: "db",
                Tags: ["global", "cache"],
                Checks: [{ Name: "alive", Type: "tcp", Protocol: "", Interval: 10000000000, Timeout: 2000000000 }],
              },
            ],
            Constraints: null,
            Resources: { CPU: 500, MemoryMB: 256, DiskMB: 0, IOPS: 0, Networks: redisNetworks },
            Meta: null,
          },
        ],
        Meta: null,
      },
    ],
    Update: { Stagger: 10000000000, MaxParallel: 1 },
    Meta: null,
    Status: "",
    StatusDescription: "",
    CreateIndex: 5,
    ModifyIndex: 5,
  },
  TaskGroup: "cache",
  Resources: {
    CPU: 500,
    MemoryMB: 256,
    DiskMB: 0,
    IOPS: 0,
    Networks: [{ Device: "", CIDR: "", IP: "", MBits: 10, ReservedPorts: null, DynamicPorts: [{ Label: "db", Value: 20802 }] }],
  },
  TaskResources: { redis: { CPU: 500, MemoryMB: 256, DiskMB: 0, IOPS: 0, Networks: redisNetworks } },
  Metrics: {
    NodesEvaluated: 1,
    NodesFiltered: 0,
    ClassFiltered: null,
    ConstraintFiltered: null,
    NodesExhausted: 0,
    ClassExhausted: null,
    DimensionExhausted: null,
    Scores: { "e02b6169-83bd-9df6-69bd-832765f333eb.binpack": 6.133651487695705 },
    AllocationTime: 1590406,
    CoalescedFailures: 0,
  },
  DesiredStatus: "run",
  DesiredDescription: "",
  ClientStatus: "pending",
  ClientDescription: "",
  CreateTime: "__CREATE_TIME__",
}).replace('"__CREATE_TIME__"', "1490999490011295016");

/** Received, set up, started: StartedAt becomes 2017-03-31T22:51:40.248633594Z as on that page. */
export const DEMO_TASK_EVENTS_JSON = `{"Events":[
{"Task":"redis","Event":{"Type":"Received","Time":1490999500248633594}},
{"Task":"redis","Event":{"Type":"Task Setup","Time":1491000689118913447,"Message":"Building Task Directory"}},
{"Task":"redis","Event":{"Type":"Started","Time":1491000700248633594}}]}`;

/** The demo's `anonymous` policy: anyone may read allocations and their logs in the default namespace. */
export const ANONYMOUS_READ_RULES = JSON.stringify({
  namespace: { default: { policy: "read", capabilities: ["read-logs"] } },
});
