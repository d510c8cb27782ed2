/**
 * Nomad's ACL state — policies and tokens — in one object for the whole deployment (Nomad's ACLs
 * are global too). Secrets are stored only as SHA-256 hashes and looked up by hash, so no secret
 * is ever compared or kept in clear; a SecretID is returned once, when its token is created.
 * The Worker caches resolved tokens for a few seconds (src/pipeline/caller.ts), so this object is
 * not on every request's path.
 */
import { DurableObject } from "cloudflare:workers";
import { type Acl, compileAcl, EMPTY_ACL, type PolicyRules, parsePolicyRules } from "../acl/policy.ts";
import { CodedError, ErrorText, RefusalText } from "../errors.ts";
import { sha256Hex } from "../http/digest.ts";
import { encodeJson, JsonNumber, type JsonObject, type JsonValue } from "../json/codec.ts";
import type { AclOutcome, TokenRequest } from "./contract.ts";
import { type IdempotencyKey, IdempotencyLog } from "./idempotency.ts";
import { IndexClock } from "./index-clock.ts";
import { ACL_MIGRATIONS, migrate } from "./migrations.ts";

type TokenRow = {
  accessor_id: string;
  name: string;
  type: string;
  policies: string;
  create_time: string;
  create_index: number;
  modify_index: number;
};

type PolicyRow = {
  name: string;
  description: string;
  rules: string;
  create_index: number;
  modify_index: number;
};

const ANONYMOUS_POLICY = "anonymous";

function tokenJson(row: TokenRow, secret: string | undefined, stub: boolean): JsonObject {
  const token: JsonObject = {
    AccessorID: row.accessor_id,
    Name: row.name,
    Type: row.type,
    Policies: JSON.parse(row.policies) as JsonValue,
    Global: true,
    CreateTime: row.create_time,
    CreateIndex: JsonNumber.of(row.create_index),
    ModifyIndex: JsonNumber.of(row.modify_index),
  };
  // The secret is shown once, at creation; every later read gets it blanked.
  if (!stub) token.SecretID = secret ?? "";
  return token;
}

function policyJson(row: PolicyRow, stub: boolean): JsonObject {
  const policy: JsonObject = {
    Name: row.name,
    Description: row.description,
    CreateIndex: JsonNumber.of(row.create_index),
    ModifyIndex: JsonNumber.of(row.modify_index),
  };
  if (!stub) policy.Rules = row.rules;
  return policy;
}

export class AclStore extends DurableObject<Env> {
  readonly #clock: IndexClock;
  readonly #idempotency: IdempotencyLog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#clock = new IndexClock(ctx.storage.sql);
    this.#idempotency = new IdempotencyLog(ctx.storage.sql);
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage.sql, ACL_MIGRATIONS);
      this.#clock.load();
    });
  }

  #sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  /**
   * Runs a write with its index and idempotency record in one transaction. The kept answer never
   * holds a secret: a replayed token creation answers the token with its SecretID blanked.
   */
  #write(idem: IdempotencyKey | undefined, apply: (index: number) => AclOutcome): AclOutcome {
    const seen = this.#idempotency.replay<AclOutcome>(idem);
    if (seen) return seen;
    const index = this.#clock.next();
    return this.ctx.storage.transactionSync(() => {
      const outcome = apply(index);
      if (!outcome.ok) return outcome;
      this.#idempotency.remember(idem, JSON.stringify({ ...outcome, body: outcome.body.replace(/"SecretID":"[^"]*"/, '"SecretID":""') }));
      this.#clock.store(index);
      return outcome;
    });
  }

  upsertPolicy(name: string, description: string, rules: string, idem?: IdempotencyKey): AclOutcome {
    parsePolicyRules(rules); // the Worker validated already; a stored policy must always compile
    return this.#write(idem, (index) => {
      this.#sql().exec(
        `INSERT INTO acl_policy (name, description, rules, create_index, modify_index) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET description = excluded.description, rules = excluded.rules, modify_index = excluded.modify_index`,
        name,
        description,
        rules,
        index,
        index,
      );
      return { ok: true, index, body: "" };
    });
  }

  deletePolicy(name: string, idem?: IdempotencyKey): AclOutcome {
    return this.#write(idem, (index) => {
      const deleted = this.#sql().exec("DELETE FROM acl_policy WHERE name = ?", name).rowsWritten;
      return deleted ? { ok: true, index, body: "" } : { ok: false, status: 404, message: ErrorText.aclPolicyNotFound };
    });
  }

  /** One policy (null when unknown) and the store's index, from one RPC. */
  getPolicy(name: string): { index: number; body: string | null } {
    const row = this.#sql().exec<PolicyRow>("SELECT * FROM acl_policy WHERE name = ?", name).toArray()[0];
    return { index: this.#clock.last, body: row ? encodeJson(policyJson(row, false)) : null };
  }

  listPolicies(): { index: number; body: string } {
    const rows = this.#sql().exec<PolicyRow>("SELECT * FROM acl_policy ORDER BY name").toArray();
    return { index: this.#clock.last, body: encodeJson(rows.map((row) => policyJson(row, true))) };
  }

  #missingPolicies(policies: string[]): string | undefined {
    return policies.find((name) => this.#sql().exec("SELECT 1 FROM acl_policy WHERE name = ?", name).toArray().length === 0);
  }

  async createToken(request: TokenRequest, idem?: IdempotencyKey): Promise<AclOutcome> {
    const secret = crypto.randomUUID();
    const secretHash = await sha256Hex(secret);
    const accessor = crypto.randomUUID();
    return this.#write(idem, (index) => {
      const missing = this.#missingPolicies(request.Policies);
      if (missing) return { ok: false, status: 400, message: RefusalText.unknownPolicy(missing) };
      const row: TokenRow = {
        accessor_id: accessor,
        name: request.Name,
        type: request.Type,
        policies: JSON.stringify(request.Policies),
        create_time: new Date().toISOString(),
        create_index: index,
        modify_index: index,
      };
      this.#sql().exec(
        "INSERT INTO acl_token (accessor_id, secret_hash, name, type, policies, create_time, create_index, modify_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        row.accessor_id,
        secretHash,
        row.name,
        row.type,
        row.policies,
        row.create_time,
        index,
        index,
      );
      return { ok: true, index, body: encodeJson(tokenJson(row, secret, false)) };
    });
  }

  updateToken(accessor: string, request: TokenRequest, idem?: IdempotencyKey): AclOutcome {
    return this.#write(idem, (index) => {
      const missing = this.#missingPolicies(request.Policies);
      if (missing) return { ok: false, status: 400, message: RefusalText.unknownPolicy(missing) };
      const updated = this.#sql().exec(
        "UPDATE acl_token SET name = ?, type = ?, policies = ?, modify_index = ? WHERE accessor_id = ?",
        request.Name,
        request.Type,
        JSON.stringify(request.Policies),
        index,
        accessor,
      ).rowsWritten;
      if (!updated) return { ok: false, status: 404, message: ErrorText.aclTokenNotFound };
      const row = this.#sql().exec<TokenRow>("SELECT * FROM acl_token WHERE accessor_id = ?", accessor).one();
      return { ok: true, index, body: encodeJson(tokenJson(row, undefined, false)) };
    });
  }

  deleteToken(accessor: string, idem?: IdempotencyKey): AclOutcome {
    return this.#write(idem, (index) => {
      const deleted = this.#sql().exec("DELETE FROM acl_token WHERE accessor_id = ?", accessor).rowsWritten;
      return deleted ? { ok: true, index, body: "" } : { ok: false, status: 404, message: ErrorText.aclTokenNotFound };
    });
  }

  /** One token (SecretID blanked; null when unknown) and the store's index, from one RPC. */
  getToken(accessor: string): { index: number; body: string | null } {
    const row = this.#sql().exec<TokenRow>("SELECT * FROM acl_token WHERE accessor_id = ?", accessor).toArray()[0];
    return { index: this.#clock.last, body: row ? encodeJson(tokenJson(row, undefined, false)) : null };
  }

  listTokens(): { index: number; body: string } {
    const rows = this.#sql().exec<TokenRow>("SELECT * FROM acl_token ORDER BY create_index, accessor_id").toArray();
    return { index: this.#clock.last, body: encodeJson(rows.map((row) => tokenJson(row, undefined, true))) };
  }

  /**
   * The merged rights of `policyNames`. A stored policy the parser now refuses (stored by an older,
   * more lenient version) makes the whole set grant nothing: dropping only that policy could drop a
   * `deny` and grant more than its author meant.
   */
  #compile(policyNames: string[]): Acl {
    const rules: PolicyRules[] = [];
    for (const name of policyNames) {
      const row = this.#sql().exec<{ rules: string }>("SELECT rules FROM acl_policy WHERE name = ?", name).toArray()[0];
      if (!row) continue;
      try {
        rules.push(parsePolicyRules(row.rules));
      } catch (error) {
        if (error instanceof CodedError) return EMPTY_ACL;
        throw error;
      }
    }
    return compileAcl(rules);
  }

  /** The token whose secret hashes to `secretHash` and what it may do, or null when unknown. */
  resolve(secretHash: string): { token: string; acl: Acl } | null {
    const row = this.#sql().exec<TokenRow>("SELECT * FROM acl_token WHERE secret_hash = ?", secretHash).toArray()[0];
    if (!row) return null;
    const acl = row.type === "management" ? { ...EMPTY_ACL, management: true } : this.#compile(JSON.parse(row.policies) as string[]);
    return { token: encodeJson(tokenJson(row, undefined, false)), acl };
  }

  /** What a request without a token may do: the `anonymous` policy, if an operator created one. */
  anonymous(): Acl {
    return this.#compile([ANONYMOUS_POLICY]);
  }
}
