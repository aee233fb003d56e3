// Delivery state of each record per destination, and how runners take work from it. A claim moves a batch to
// in_flight under a lease with FOR UPDATE SKIP LOCKED, so concurrent runners never take the same record; a runner
// that dies leaves its lease to expire, and the records are claimable again (and resent with the same key).
import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { DeliveryServiceName, DeliveryTarget } from '../records/outbound.ts';
import { inTransaction, type Pool } from './database.ts';

export type { DeliveryServiceName, DeliveryTarget } from '../records/outbound.ts';

/** Which records a claim may take. `passId` names the current run or Automatic pass. */
export type Selection =
  /** New and edited records, and those whose runner's lease expired. */
  | { readonly kind: 'pending' }
  /** Transient failures from earlier passes whose Retry-After has passed. */
  | { readonly kind: 'retryable'; readonly passId: string }
  /** An interval run: both of the above. */
  | { readonly kind: 'pendingOrRetryable'; readonly passId: string }
  /** Cleanup: every failure from earlier passes, including those that needed a person. */
  | { readonly kind: 'anyFailed'; readonly passId: string };

const pendingClause = `(state = 'pending' OR (state = 'in_flight' AND lease_expires_at < now()))`;
// $7 is the current pass: what failed in it waits for the next one.
const retryableClause = `(state = 'failed' AND failure = 'transient' AND failed_in IS DISTINCT FROM $7
  AND (retry_not_before IS NULL OR retry_not_before <= now()))`;
const anyFailedClause = `(state = 'failed' AND failed_in IS DISTINCT FROM $7)`;

function eligibility(selection: Selection): { clause: string; passParameter: string[] } {
  switch (selection.kind) {
    case 'pending':
      return { clause: pendingClause, passParameter: [] };
    case 'retryable':
      return { clause: retryableClause, passParameter: [selection.passId] };
    case 'pendingOrRetryable':
      return { clause: `(${pendingClause} OR ${retryableClause})`, passParameter: [selection.passId] };
    case 'anyFailed':
      return { clause: anyFailedClause, passParameter: [selection.passId] };
  }
}

export interface Lease {
  /** Who holds it: one runner process. */
  readonly owner: string;
  readonly durationMs: number;
}

/** Each service joins its own record table; the claim itself is the same for all. */
export const recordColumns: Record<DeliveryServiceName, { join: string; columns: string }> = {
  orderDelivery: {
    join: 'orders r',
    columns: 'r.revision, r.cart, r.source_id, r.payload',
  },
  shipmentUpload: {
    join: 'shipments r',
    columns: 'r.revision, r.source_id, r.order_source_id, r.payload',
  },
  inventoryUpload: {
    join: 'inventory_levels r',
    // When the cart registered with its merchant: a level sent again after a move is a new write, not a repeat.
    columns: `r.revision, r.sku, r.on_hand, r.reserved, r.reported_at,
      (SELECT c.registered_at FROM carts c WHERE c.namespace = d.namespace AND c.cart = d.destination) AS registered_at`,
  },
};

export interface ClaimedOrder {
  record_id: string;
  revision: string;
  cart: string;
  source_id: string;
  payload: Record<string, unknown>;
}
export interface ClaimedShipment {
  record_id: string;
  revision: string;
  source_id: string;
  order_source_id: string;
  payload: Record<string, unknown>;
}
export interface ClaimedInventoryLevel {
  record_id: string;
  revision: string;
  sku: string;
  on_hand: string;
  reserved: string;
  reported_at: Date;
  registered_at: Date | null;
}
export interface ClaimedRows {
  orderDelivery: ClaimedOrder;
  shipmentUpload: ClaimedShipment;
  inventoryUpload: ClaimedInventoryLevel;
}

/**
 * Takes up to `limit` records and leases them. The record's current revision is read in the same statement: it is
 * what gets sent, and what settling compares against to notice an edit made while the record was in flight.
 */
export async function claimDeliveries<S extends DeliveryServiceName>(
  pool: Pool,
  target: DeliveryTarget & { service: S },
  selection: Selection,
  limit: number,
  lease: Lease,
): Promise<ClaimedRows[S][]> {
  const { clause, passParameter } = eligibility(selection);
  const record = recordColumns[target.service];
  const { rows } = await pool.query<ClaimedRows[S]>(
    `WITH picked AS (
       SELECT record_id FROM deliveries
       WHERE service = $1 AND namespace = $2 AND destination = $3 AND ${clause}
       ORDER BY updated_at, record_id
       LIMIT $4
       FOR UPDATE SKIP LOCKED
     )
     UPDATE deliveries d
     SET state = 'in_flight', lease_owner = $5, lease_expires_at = now() + make_interval(secs => $6::float8 / 1000),
         attempts = d.attempts + 1, updated_at = now()
     FROM picked, ${record.join}
     WHERE d.service = $1 AND d.namespace = $2 AND d.destination = $3 AND d.record_id = picked.record_id
       AND r.id = d.record_id
     RETURNING d.record_id, ${record.columns}`,
    [target.service, target.namespace, target.destination, limit, lease.owner, lease.durationMs, ...passParameter],
  );
  return rows;
}

export type Settlement = { readonly recordId: string; readonly revision: string } & (
  | { readonly outcome: 'delivered' }
  | {
      readonly outcome: 'failed';
      readonly failure: 'transient' | 'permanent';
      readonly reason: string;
      readonly retryAfterMs?: number;
    }
  /** Claimed but not sent (the destination asked to back off, or the lease ran short): back as it was. */
  | { readonly outcome: 'released' }
);

/** Stored reasons are bounded; status shows at most 256 characters of them. */
const maxStoredReason = 1000;

/**
 * Records the outcome of a batch. Only rows still leased to `leaseOwner` change: if the lease expired and another
 * runner took a record over, that runner settles it. A record edited while in flight goes back to pending.
 */
export async function settleDeliveries(
  pool: Pool,
  target: DeliveryTarget,
  leaseOwner: string,
  passId: string,
  settlements: readonly Settlement[],
): Promise<void> {
  const scope = [target.service, target.namespace, target.destination, leaseOwner];
  const leased = `d.service = $1 AND d.namespace = $2 AND d.destination = $3 AND d.lease_owner = $4
    AND d.state = 'in_flight' AND d.record_id = s.record_id`;
  const delivered = settlements.filter((settlement) => settlement.outcome === 'delivered');
  const failed = settlements.flatMap((settlement) => (settlement.outcome === 'failed' ? [settlement] : []));
  const released = settlements.filter((settlement) => settlement.outcome === 'released');

  if (delivered.length > 0) {
    const settleDelivered = (client: Pool | PoolClient) =>
      client.query<{ record_id: string; state: string }>(
        `UPDATE deliveries d
         SET state = CASE WHEN d.revision > s.revision THEN 'pending' ELSE 'delivered' END,
             delivered_revision = s.revision, delivered_at = now(), lease_owner = NULL, lease_expires_at = NULL,
             failure = NULL, failure_reason = NULL, first_failed_at = NULL, last_failed_at = NULL, failed_in = NULL,
             retry_not_before = NULL, updated_at = now()
         FROM jsonb_to_recordset($5::jsonb) AS s(record_id bigint, revision bigint)
         WHERE ${leased}
         RETURNING d.record_id, d.state`,
        [...scope, JSON.stringify(delivered.map((d) => ({ record_id: d.recordId, revision: d.revision })))],
      );
    if (target.service === 'orderDelivery') {
      await inTransaction(pool, async (client) => {
        const { rows } = await settleDelivered(client);
        await acknowledgeOrderUnits(
          client,
          rows.filter((row) => row.state === 'delivered').map((row) => row.record_id),
        );
      });
    } else {
      await settleDelivered(pool);
    }
  }
  if (failed.length > 0) {
    const rows = failed.map((f) => ({
      record_id: f.recordId,
      revision: f.revision,
      failure: f.failure,
      reason: f.reason.slice(0, maxStoredReason),
      retry_after_ms: f.retryAfterMs ?? null,
    }));
    await pool.query(
      `UPDATE deliveries d
       SET state = CASE WHEN d.revision > s.revision THEN 'pending' ELSE 'failed' END,
           failure = CASE WHEN d.revision > s.revision THEN NULL ELSE s.failure END,
           failure_reason = CASE WHEN d.revision > s.revision THEN NULL ELSE s.reason END,
           first_failed_at = CASE WHEN d.revision > s.revision THEN NULL ELSE coalesce(d.first_failed_at, now()) END,
           last_failed_at = CASE WHEN d.revision > s.revision THEN NULL ELSE now() END,
           failed_in = CASE WHEN d.revision > s.revision THEN NULL ELSE $6 END,
           retry_not_before = CASE WHEN d.revision > s.revision OR s.retry_after_ms IS NULL THEN NULL
                                   ELSE now() + make_interval(secs => s.retry_after_ms::float8 / 1000) END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
       FROM jsonb_to_recordset($5::jsonb)
         AS s(record_id bigint, revision bigint, failure text, reason text, retry_after_ms bigint)
       WHERE ${leased}`,
      [...scope, JSON.stringify(rows), passId],
    );
  }
  if (released.length > 0) {
    // updated_at stays: the records keep their place in the queue.
    await pool.query(
      `UPDATE deliveries d
       SET state = CASE WHEN d.failure IS NULL THEN 'pending' ELSE 'failed' END,
           attempts = greatest(d.attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL
       FROM jsonb_to_recordset($5::jsonb) AS s(record_id bigint)
       WHERE ${leased}`,
      [...scope, JSON.stringify(released.map((r) => ({ record_id: r.recordId })))],
    );
  }
}

/**
 * The warehouse acknowledged these orders' current revisions: it holds exactly their units now. Reservations do not
 * change until a count includes them (intake.ts), so no inventory level changes here. An acknowledged older revision
 * (the order was edited while in flight) is not recorded: its units were counted into held_min and held_max when the
 * edit replaced it, which is as much as the hub knows, and the bounds stay wide until the current revision is
 * acknowledged: never narrower than the truth, so no count releases units the warehouse may still hold.
 * Locks order units after the deliveries rows, as intake does.
 */
async function acknowledgeOrderUnits(client: PoolClient, orderIds: readonly string[]): Promise<void> {
  if (orderIds.length === 0) return;
  await client.query(
    `UPDATE order_units SET held_min = units, held_max = units
     WHERE order_id = ANY($1::bigint[]) AND (held_min <> units OR held_max <> units)`,
    [orderIds],
  );
}

/** The LISTEN channel of one destination's pending work; the same as the SQL function delivery_channel(). */
export function deliveryChannel(target: DeliveryTarget): string {
  const digest = createHash('sha256')
    .update(`${target.service}/${target.namespace}/${target.destination}`)
    .digest('hex');
  return `switchyard_${digest.slice(0, 32)}`;
}
