// Records arriving in the hub from the pull services. Each page is taken in one transaction together with the
// source cursor, so a crash between pages neither loses nor doubles anything. New or changed records open a
// delivery to each destination; the deliveries table's trigger then wakes the Automatic watchers.
import type { PoolClient } from 'pg';
import { contentHash } from '../records/canonical-json.ts';
import type { Rejection, SourceInventoryLevel, SourceOrder, SourceShipment } from '../records/inbound.ts';
import { parseHubOrderId } from '../records/inbound.ts';
import { inTransaction, type Pool } from './database.ts';

export type PullServiceName = 'orderDownload' | 'shippingConfirmations' | 'inventory';

/** The source a pull service reads: a cart (orderDownload) or a merchant's warehouse. */
export interface PullSource {
  readonly service: PullServiceName;
  readonly namespace: string;
  /** The Cart's or Merchant's name. */
  readonly owner: string;
}

export interface CartScope {
  readonly namespace: string;
  readonly cart: string;
  readonly merchant: string;
}

export interface MerchantScope {
  readonly namespace: string;
  readonly merchant: string;
}

/** One screened page of a source. */
export interface IntakePage<T> {
  readonly accepted: readonly T[];
  readonly rejected: readonly Rejection[];
  /** The cursor the page was read from (undefined: the beginning). */
  readonly readFrom: string | undefined;
  /** The cursor to keep for the next run; undefined leaves the stored one as it is (cleanup re-reads). */
  readonly advanceTo: string | undefined;
  /** The run or cleanup that read it: a failure seen again is marked with it. */
  readonly passId: string;
}

// An edit reopens a delivery; a lease that is still running keeps it in flight, and the runner that holds it finds
// the newer revision when it settles and puts the record back to pending, so two revisions never travel at once.
export const reopenDelivery = /* sql */ `
  ON CONFLICT (service, namespace, destination, record_id) DO UPDATE SET
    revision = excluded.revision,
    state = CASE WHEN deliveries.state = 'in_flight' AND deliveries.lease_expires_at > now()
                 THEN 'in_flight' ELSE 'pending' END,
    lease_owner = CASE WHEN deliveries.state = 'in_flight' AND deliveries.lease_expires_at > now()
                       THEN deliveries.lease_owner END,
    lease_expires_at = CASE WHEN deliveries.state = 'in_flight' AND deliveries.lease_expires_at > now()
                            THEN deliveries.lease_expires_at END,
    attempts = 0, failure = NULL, failure_reason = NULL, first_failed_at = NULL, last_failed_at = NULL,
    failed_in = NULL, retry_not_before = NULL, updated_at = now()
  WHERE deliveries.revision < excluded.revision`;

/** Later duplicates win: a source may list one record twice in a page, and one statement cannot upsert it twice. */
function lastOfEach<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [keyOf(item), item])).values()];
}

export async function readCursor(pool: Pool, source: PullSource): Promise<string | undefined> {
  const { rows } = await pool.query<{ cursor: string }>(
    'SELECT cursor FROM source_cursors WHERE service = $1 AND namespace = $2 AND owner = $3',
    [source.service, source.namespace, source.owner],
  );
  return rows[0]?.cursor;
}

/** Where cleanup starts re-reading: before the oldest open failure. Undefined when nothing is failed. */
export async function oldestFailureCursor(
  pool: Pool,
  source: PullSource,
): Promise<{ readFrom: string | undefined } | undefined> {
  const { rows } = await pool.query<{ cursor_before: string | null }>(
    `SELECT cursor_before FROM intake_failures WHERE service = $1 AND namespace = $2 AND owner = $3
     ORDER BY first_failed_at, record_key LIMIT 1`,
    [source.service, source.namespace, source.owner],
  );
  const oldest = rows[0];
  return oldest ? { readFrom: oldest.cursor_before ?? undefined } : undefined;
}

/** After cleanup re-read the source: failures it did not see again are gone from the source. */
export async function clearFailuresNotSeenIn(pool: Pool, source: PullSource, passId: string): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM intake_failures WHERE service = $1 AND namespace = $2 AND owner = $3 AND last_seen_in <> $4`,
    [source.service, source.namespace, source.owner, passId],
  );
  return rowCount ?? 0;
}

async function recordPageOutcome(
  client: PoolClient,
  source: PullSource,
  page: IntakePage<unknown>,
  acceptedKeys: readonly string[],
  rejected: readonly Rejection[],
): Promise<void> {
  const scope = [source.service, source.namespace, source.owner];
  if (acceptedKeys.length > 0) {
    await client.query(
      `DELETE FROM intake_failures WHERE service = $1 AND namespace = $2 AND owner = $3 AND record_key = ANY($4)`,
      [...scope, acceptedKeys],
    );
  }
  // A record listed twice in one page, once valid, counts as taken.
  const taken = new Set(acceptedKeys);
  const failures = lastOfEach(
    rejected.filter((rejection) => !taken.has(rejection.key)),
    (rejection) => rejection.key,
  );
  if (failures.length > 0) {
    await client.query(
      `INSERT INTO intake_failures (service, namespace, owner, record_key, reason, cursor_before, last_seen_in)
       SELECT $1, $2, $3, f.key, f.reason, $5, $6 FROM jsonb_to_recordset($4::jsonb) AS f(key text, reason text)
       ON CONFLICT (service, namespace, owner, record_key) DO UPDATE
       SET reason = excluded.reason, last_failed_at = now(), last_seen_in = excluded.last_seen_in`,
      [...scope, JSON.stringify(failures), page.readFrom ?? null, page.passId],
    );
  }
  if (page.advanceTo !== undefined) {
    await client.query(
      `INSERT INTO source_cursors (service, namespace, owner, cursor) VALUES ($1, $2, $3, $4)
       ON CONFLICT (service, namespace, owner) DO UPDATE SET cursor = excluded.cursor, updated_at = now()`,
      [...scope, page.advanceTo],
    );
  }
}

/** Sends inventory levels (by id) to the merchant's carts, except those named (the cart an order came from). */
async function fanOutInventory(
  client: PoolClient,
  merchant: MerchantScope,
  levelIds: readonly string[],
  exceptCarts: readonly string[],
): Promise<void> {
  if (levelIds.length === 0) return;
  await client.query(
    `INSERT INTO deliveries (service, namespace, destination, record_id, revision)
     SELECT 'inventoryUpload', c.namespace, c.cart, l.id, l.revision
     FROM carts c JOIN inventory_levels l ON l.namespace = c.namespace AND l.merchant = c.merchant
     WHERE c.namespace = $1 AND c.merchant = $2 AND l.id = ANY($3::bigint[]) AND c.cart <> ALL($4::text[])
     ORDER BY c.cart, l.id
     ${reopenDelivery}`,
    [merchant.namespace, merchant.merchant, levelIds, exceptCarts],
  );
}

/** Orders from a cart (orderDownload). An order whose content changed is a new revision, pending for the warehouse. */
export async function takeOrders(pool: Pool, cart: CartScope, page: IntakePage<SourceOrder>): Promise<void> {
  const source: PullSource = { service: 'orderDownload', namespace: cart.namespace, owner: cart.cart };
  const orders = lastOfEach(page.accepted, (order) => order.id);
  await inTransaction(pool, async (client) => {
    if (orders.length > 0) {
      const rows = orders.map((order) => ({ source_id: order.id, payload: order, payload_hash: contentHash(order) }));
      const { rows: changed } = await client.query<{
        id: string;
        revision: string;
        inserted: boolean;
        source_id: string;
      }>(
        `INSERT INTO orders (namespace, merchant, cart, source_id, payload, payload_hash)
         SELECT $1, $2, $3, r.source_id, r.payload, r.payload_hash
         FROM jsonb_to_recordset($4::jsonb) AS r(source_id text, payload jsonb, payload_hash text)
         ON CONFLICT (namespace, merchant, cart, source_id) DO UPDATE
         SET payload = excluded.payload, payload_hash = excluded.payload_hash,
             revision = orders.revision + 1, updated_at = now()
         WHERE orders.payload_hash <> excluded.payload_hash
         RETURNING id, revision, (xmax = 0) AS inserted, source_id`,
        [cart.namespace, cart.merchant, cart.cart, JSON.stringify(rows)],
      );
      if (changed.length > 0) {
        await client.query(
          `INSERT INTO deliveries (service, namespace, destination, record_id, revision)
           SELECT 'orderDelivery', $1, $2, r.record_id, r.revision
           FROM jsonb_to_recordset($3::jsonb) AS r(record_id bigint, revision bigint)
           ${reopenDelivery}`,
          [
            cart.namespace,
            cart.merchant,
            JSON.stringify(changed.map((row) => ({ record_id: row.id, revision: row.revision }))),
          ],
        );
      }
      const loaded = new Set(changed.filter((row) => row.inserted).map((row) => row.source_id));
      await reserveInventory(
        client,
        cart,
        orders.filter((order) => loaded.has(order.id)),
      );
    }
    await recordPageOutcome(
      client,
      source,
      page,
      orders.map((order) => order.id),
      page.rejected,
    );
  });
}

/**
 * A newly loaded order holds its units until the warehouse reports again, and the other carts of the merchant
 * learn what is left at once (Automatic Inventory Upload's "an order for the same items loads from another cart").
 */
async function reserveInventory(client: PoolClient, cart: CartScope, loaded: readonly SourceOrder[]): Promise<void> {
  if (loaded.length === 0) return;
  const units = new Map<string, number>();
  for (const order of loaded) {
    for (const line of order.lines) units.set(line.sku, (units.get(line.sku) ?? 0) + line.quantity);
  }
  const skus = [...units.keys()];
  // Lock in one order (by SKU) so that two carts' orders for the same items queue instead of deadlocking.
  await client.query(
    `SELECT 1 FROM inventory_levels WHERE namespace = $1 AND merchant = $2 AND sku = ANY($3) ORDER BY sku FOR UPDATE`,
    [cart.namespace, cart.merchant, skus],
  );
  const { rows: levels } = await client.query<{ id: string }>(
    `UPDATE inventory_levels l SET reserved = l.reserved + r.units, revision = l.revision + 1, updated_at = now()
     FROM jsonb_to_recordset($3::jsonb) AS r(sku text, units bigint)
     WHERE l.namespace = $1 AND l.merchant = $2 AND l.sku = r.sku
     RETURNING l.id`,
    [cart.namespace, cart.merchant, JSON.stringify([...units].map(([sku, count]) => ({ sku, units: count })))],
  );
  await fanOutInventory(
    client,
    cart,
    levels.map((level) => level.id),
    [cart.cart],
  );
}

/**
 * Shipments from the merchant's warehouse (shippingConfirmations), each mapped to the cart of the order it ships.
 * A shipment for an order the hub does not know is rejected.
 */
export async function takeShipments(
  pool: Pool,
  merchant: MerchantScope,
  page: IntakePage<SourceShipment>,
): Promise<{ unknownOrders: number }> {
  const source: PullSource = {
    service: 'shippingConfirmations',
    namespace: merchant.namespace,
    owner: merchant.merchant,
  };
  const shipments = lastOfEach(page.accepted, (shipment) => shipment.id);
  return inTransaction(pool, async (client) => {
    const wanted = shipments.map((shipment) => {
      const order = parseHubOrderId(shipment.orderId);
      return { source_id: shipment.id, cart: order.cart, order_source_id: order.sourceId };
    });
    const { rows: known } = await client.query<{ source_id: string }>(
      `SELECT r.source_id FROM jsonb_to_recordset($3::jsonb) AS r(source_id text, cart text, order_source_id text)
       JOIN orders o ON o.namespace = $1 AND o.merchant = $2 AND o.cart = r.cart AND o.source_id = r.order_source_id`,
      [merchant.namespace, merchant.merchant, JSON.stringify(wanted)],
    );
    const knownIds = new Set(known.map((row) => row.source_id));
    const mapped = shipments.filter((shipment) => knownIds.has(shipment.id));
    const unknown: Rejection[] = shipments
      .filter((shipment) => !knownIds.has(shipment.id))
      .map((shipment) => ({ key: shipment.id, reason: 'orderId: the hub never sent this order to the warehouse' }));

    if (mapped.length > 0) {
      const rows = mapped.map((shipment) => {
        const order = parseHubOrderId(shipment.orderId);
        return {
          source_id: shipment.id,
          cart: order.cart,
          order_source_id: order.sourceId,
          payload: shipment,
          payload_hash: contentHash(shipment),
        };
      });
      const { rows: changed } = await client.query<{ id: string; revision: string; cart: string }>(
        `INSERT INTO shipments (namespace, merchant, source_id, cart, order_source_id, payload, payload_hash)
         SELECT $1, $2, r.source_id, r.cart, r.order_source_id, r.payload, r.payload_hash
         FROM jsonb_to_recordset($3::jsonb)
           AS r(source_id text, cart text, order_source_id text, payload jsonb, payload_hash text)
         ON CONFLICT (namespace, merchant, source_id) DO UPDATE
         SET cart = excluded.cart, order_source_id = excluded.order_source_id, payload = excluded.payload,
             payload_hash = excluded.payload_hash, revision = shipments.revision + 1, updated_at = now()
         WHERE shipments.payload_hash <> excluded.payload_hash
         RETURNING id, revision, cart`,
        [merchant.namespace, merchant.merchant, JSON.stringify(rows)],
      );
      if (changed.length > 0) {
        await client.query(
          `INSERT INTO deliveries (service, namespace, destination, record_id, revision)
           SELECT 'shipmentUpload', $1, r.cart, r.record_id, r.revision
           FROM jsonb_to_recordset($2::jsonb) AS r(cart text, record_id bigint, revision bigint)
           ${reopenDelivery}`,
          [
            merchant.namespace,
            JSON.stringify(changed.map((row) => ({ cart: row.cart, record_id: row.id, revision: row.revision }))),
          ],
        );
      }
    }
    await recordPageOutcome(
      client,
      source,
      page,
      mapped.map((shipment) => shipment.id),
      [...page.rejected, ...unknown],
    );
    return { unknownOrders: unknown.length };
  });
}

/** Inventory levels from the merchant's warehouse (inventory): a new count replaces the reservations since. */
export async function takeInventoryLevels(
  pool: Pool,
  merchant: MerchantScope,
  page: IntakePage<SourceInventoryLevel>,
): Promise<void> {
  const source: PullSource = { service: 'inventory', namespace: merchant.namespace, owner: merchant.merchant };
  const levels = lastOfEach(page.accepted, (level) => level.sku);
  await inTransaction(pool, async (client) => {
    if (levels.length > 0) {
      const { rows: changed } = await client.query<{ id: string }>(
        `INSERT INTO inventory_levels (namespace, merchant, sku, on_hand)
         SELECT $1, $2, r.sku, r.quantity FROM jsonb_to_recordset($3::jsonb) AS r(sku text, quantity bigint)
         ON CONFLICT (namespace, merchant, sku) DO UPDATE
         SET on_hand = excluded.on_hand, reserved = 0, revision = inventory_levels.revision + 1,
             reported_at = now(), updated_at = now()
         WHERE inventory_levels.on_hand <> excluded.on_hand OR inventory_levels.reserved <> 0
         RETURNING id`,
        [merchant.namespace, merchant.merchant, JSON.stringify(levels.map(({ sku, quantity }) => ({ sku, quantity })))],
      );
      await fanOutInventory(
        client,
        merchant,
        changed.map((row) => row.id),
        [],
      );
    }
    await recordPageOutcome(
      client,
      source,
      page,
      levels.map((level) => level.sku),
      page.rejected,
    );
  });
}
