// What is failed now, per service: the count and the most recent few, for the owner's status.
import type { DeliveryServiceName, DeliveryTarget } from '../records/outbound.ts';
import type { Pool } from './database.ts';
import { recordColumns } from './deliveries.ts';
import type { PullSource } from './intake.ts';

export interface FailedRecord {
  /** The record's id in its source system (an order's is <cart>/<cart order id>). */
  readonly id: string;
  readonly reason: string;
  readonly time: Date;
}

export interface FailureSummary {
  readonly count: number;
  /** The most recent failures first. */
  readonly sample: readonly FailedRecord[];
}

const displayId: Record<DeliveryServiceName, string> = {
  orderDelivery: `r.cart || '/' || r.source_id`,
  shipmentUpload: 'r.source_id',
  inventoryUpload: 'r.sku',
};

export async function deliveryFailures(
  pool: Pool,
  target: DeliveryTarget,
  sampleSize: number,
): Promise<FailureSummary> {
  const scope = [target.service, target.namespace, target.destination];
  const [{ rows: counted }, { rows: sample }] = await Promise.all([
    pool.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM deliveries
       WHERE service = $1 AND namespace = $2 AND destination = $3 AND state = 'failed'`,
      scope,
    ),
    pool.query<FailedRecord>(
      `SELECT ${displayId[target.service]} AS id, d.failure_reason AS reason, d.last_failed_at AS time
       FROM deliveries d JOIN ${recordColumns[target.service].join} ON r.id = d.record_id
       WHERE d.service = $1 AND d.namespace = $2 AND d.destination = $3 AND d.state = 'failed'
       ORDER BY d.last_failed_at DESC, d.record_id LIMIT $4`,
      [...scope, sampleSize],
    ),
  ]);
  return { count: counted[0]?.count ?? 0, sample };
}

export async function intakeFailures(pool: Pool, source: PullSource, sampleSize: number): Promise<FailureSummary> {
  const scope = [source.service, source.namespace, source.owner];
  const [{ rows: counted }, { rows: sample }] = await Promise.all([
    pool.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM intake_failures WHERE service = $1 AND namespace = $2 AND owner = $3`,
      scope,
    ),
    pool.query<FailedRecord>(
      `SELECT record_key AS id, reason, last_failed_at AS time FROM intake_failures
       WHERE service = $1 AND namespace = $2 AND owner = $3
       ORDER BY last_failed_at DESC, record_key LIMIT $4`,
      [...scope, sampleSize],
    ),
  ]);
  return { count: counted[0]?.count ?? 0, sample };
}
