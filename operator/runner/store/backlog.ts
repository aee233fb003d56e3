// How a delivery service keeps up, for its owner's status: how many records wait, since when records have waited with
// none delivered, and when a record last reached the destination. From these the operator tells a service that has
// stopped delivering (operator/reconcile/health.ts) from one that has a few refused records.
//
// A record waits when the runner will send or retry it by itself: pending (new, edited, or its runner's lease
// expired), in flight, or failed transiently. Refused records (permanent failures) wait for a person, not the runner.
//
// pendingSince is when the earliest record that began to wait after the last delivery began to wait: "nothing was
// delivered since then, while records waited". Records that were already waiting at the last delivery do not count
// (the service delivered after them, so it is not they that show it stopped), and a record that failed transiently
// once counts only when its retry failed too (an Automatic service retries only when new records arrive, so one
// failure on a quiet destination says nothing about the destination). A record began to wait when its current
// revision arrived in the hub (for inventory sent to a cart that registered later: when the cart registered); claims,
// releases and failures do not move that.
//
// oldestPending is when the oldest waiting record began to wait, every waiting record counted: how far behind the
// destination is, whether or not the service delivers meanwhile (pendingSince says whether it has stopped).
import type { DeliveryServiceName, DeliveryTarget } from '../records/outbound.ts';
import type { Pool } from './database.ts';
import { recordColumns } from './deliveries.ts';

export interface Backlog {
  /** Records waiting: pending, in flight, or failed transiently. */
  readonly pending: number;
  /** Since when records have waited with none delivered; undefined when nothing has waited since the last delivery. */
  readonly pendingSince?: Date;
  /** When the oldest waiting record began to wait; undefined when nothing waits. */
  readonly oldestPending?: Date;
  /** When a record last reached the destination; undefined when none ever did. */
  readonly lastDelivery?: Date;
}

/** Where the time of the last delivery comes from. */
export type LastDelivery =
  /** The store: the latest delivered_at of the destination's records. No index holds it: this reads them all. */
  | { readonly kind: 'read' }
  /** The caller knows it (a watcher that read it once and has followed its own passes since). */
  | { readonly kind: 'known'; readonly at: Date | undefined }
  /** Now: the caller's pass has just delivered. */
  | { readonly kind: 'now' };

/** When a waiting record began to wait: its current revision's arrival, or its cart's registration if later. */
const beganToWait: Record<DeliveryServiceName, { join: string; began: string }> = {
  orderDelivery: { join: '', began: 'r.updated_at' },
  shipmentUpload: { join: '', began: 'r.updated_at' },
  inventoryUpload: {
    join: 'LEFT JOIN carts c ON c.namespace = d.namespace AND c.cart = d.destination',
    began: 'greatest(r.updated_at, c.registered_at)',
  },
};

function lastDeliveryExpression(last: LastDelivery): { sql: string; parameters: (Date | null)[] } {
  switch (last.kind) {
    case 'read':
      return {
        sql: '(SELECT max(delivered_at) FROM deliveries WHERE service = $1 AND namespace = $2 AND destination = $3)',
        parameters: [],
      };
    case 'known':
      return { sql: '$4::timestamptz', parameters: [last.at ?? null] };
    case 'now':
      return { sql: 'now()', parameters: [] };
  }
}

export async function deliveryBacklog(pool: Pool, target: DeliveryTarget, last: LastDelivery): Promise<Backlog> {
  const { join, began } = beganToWait[target.service];
  const lastDelivery = lastDeliveryExpression(last);
  const { rows } = await pool.query<{
    pending: number;
    pending_since: Date | null;
    oldest_pending: Date | null;
    last_delivery: Date | null;
  }>(
    `WITH last AS (SELECT ${lastDelivery.sql} AS at),
     waiting AS (
       SELECT ${began} AS began, d.first_failed_at, d.attempts
       FROM deliveries d JOIN ${recordColumns[target.service].join} ON r.id = d.record_id ${join}
       WHERE d.service = $1 AND d.namespace = $2 AND d.destination = $3
         AND (d.state IN ('pending', 'in_flight') OR (d.state = 'failed' AND d.failure = 'transient'))
     )
     SELECT count(*)::int AS pending,
            min(began) FILTER (WHERE (first_failed_at IS NULL OR attempts >= 2)
                                 AND began > coalesce((SELECT at FROM last), '-infinity')) AS pending_since,
            min(began) AS oldest_pending,
            (SELECT at FROM last) AS last_delivery
     FROM waiting`,
    [target.service, target.namespace, target.destination, ...lastDelivery.parameters],
  );
  const row = rows[0]!;
  return {
    pending: row.pending,
    ...(row.pending_since && { pendingSince: row.pending_since }),
    ...(row.oldest_pending && { oldestPending: row.oldest_pending }),
    ...(row.last_delivery && { lastDelivery: row.last_delivery }),
  };
}

/**
 * A watcher's view of one destination: the last delivery is read from the store on the first pass only (it reads
 * every record of the destination), and then follows the passes: one that delivered moves it to now. Deliveries by
 * other runners meanwhile (a cleanup run, the other watcher during a rollout) are seen at the next start.
 */
export class BacklogTracker {
  readonly #pool: Pool;
  readonly #target: DeliveryTarget;
  /** Null until read. */
  #lastDelivery: Date | undefined | null = null;

  constructor(pool: Pool, target: DeliveryTarget) {
    this.#pool = pool;
    this.#target = target;
  }

  /** The backlog after a pass; `delivered` is how many records the pass delivered. */
  async afterPass(delivered: number): Promise<Backlog> {
    const last: LastDelivery =
      this.#lastDelivery === null
        ? { kind: 'read' }
        : delivered > 0
          ? { kind: 'now' }
          : { kind: 'known', at: this.#lastDelivery };
    const backlog = await deliveryBacklog(this.#pool, this.#target, last);
    this.#lastDelivery = backlog.lastDelivery;
    return backlog;
  }
}
