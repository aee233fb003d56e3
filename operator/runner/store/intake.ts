// Records arriving in the hub from the pull services. Each page is taken in one transaction together with the
// source cursor, so a crash between pages neither loses nor doubles anything. New or changed records open a
// delivery to each destination; the deliveries table's trigger then wakes the Automatic watchers.
import type { PoolClient } from 'pg';
import { contentHash } from '../records/canonical-json.ts';
import type { Rejection, SourceInventoryLevel, SourceOrder, SourceShipment } from '../records/inbound.ts';
import { parseHubOrderId, unitsBySku } from '../records/inbound.ts';
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
      const { rows: changed } = await client.query<ChangedOrder>(
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
        const sentBefore = await revisionsSent(
          client,
          cart,
          changed.filter((row) => !row.inserted).map((row) => row.id),
        );
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
        const byId = new Map(orders.map((order) => [order.id, order]));
        await holdUnits(
          client,
          cart,
          changed.map((row) => ({ orderId: row.id, units: unitsBySku(byId.get(row.source_id)!) })),
          sentBefore,
        );
      }
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

interface ChangedOrder {
  id: string;
  revision: string;
  inserted: boolean;
  source_id: string;
}

/**
 * Of edited orders (by id), those whose revision before the edit may have reached the warehouse: its delivery was
 * claimed at least once (a released claim gives its attempt back). Read before the edit reopens the delivery, which
 * starts the count again, and locked, so that a claim cannot slip in between.
 */
async function revisionsSent(client: PoolClient, cart: CartScope, orderIds: readonly string[]): Promise<string[]> {
  if (orderIds.length === 0) return [];
  const { rows } = await client.query<{ record_id: string }>(
    `SELECT record_id FROM deliveries
     WHERE service = 'orderDelivery' AND namespace = $1 AND destination = $2 AND record_id = ANY($3::bigint[])
       AND attempts > 0
     ORDER BY record_id FOR UPDATE`,
    [cart.namespace, cart.merchant, orderIds],
  );
  return rows.map((row) => row.record_id);
}

/**
 * Writes to one merchant's inventory (order units and levels) go one at a time: a count and an order for its SKUs must
 * each see the other's units, also for a SKU that has no level yet (no row to lock). Lock order, here and when Order
 * Delivery settles: orders and deliveries, then this, then order units and levels.
 */
const lockInventory = /* sql */ `
  SELECT pg_advisory_xact_lock(hashtextextended('switchyard inventory ' || $1 || '/' || $2, 0))`;

/** What the open order units of a SKU (`sku`, an SQL expression) hold back from its last count ($1, $2: the merchant). */
function reservedOf(sku: string): string {
  return `(SELECT coalesce(sum(greatest(u.units, u.held_peak) - u.counted_units), 0) FROM order_units u
           WHERE u.namespace = $1 AND u.merchant = $2 AND u.sku = ${sku} AND NOT u.at_rest)`;
}

/**
 * Loaded, edited or cancelled orders hold their current units (see order_units in migrations.ts), and the other
 * carts of the merchant learn at once what is left of each SKU whose reservations changed (Automatic Inventory
 * Upload's "an order for the same items loads from another cart"); the cart the order came from counted it itself.
 */
async function holdUnits(
  client: PoolClient,
  cart: CartScope,
  orders: readonly { orderId: string; units: ReadonlyMap<string, number> }[],
  sentBefore: readonly string[],
): Promise<void> {
  await client.query(lockInventory, [cart.namespace, cart.merchant]);
  const orderIds = orders.map((order) => order.orderId);
  // The revision an edit replaces may be at the warehouse, and may stay there if the new one never reaches it.
  if (sentBefore.length > 0) {
    await client.query(
      `UPDATE order_units SET held_min = least(held_min, units), held_max = greatest(held_max, units),
                              held_peak = greatest(held_peak, units)
       WHERE order_id = ANY($1::bigint[])`,
      [sentBefore],
    );
  }
  const lines = orders.flatMap((order) =>
    [...order.units].map(([sku, units]) => ({ order_id: order.orderId, sku, units })),
  );
  // A SKU an edit dropped keeps its row, with no units, until a count shows what the warehouse did with them.
  const { rows: touched } = await client.query<{ sku: string }>(
    `WITH lines AS (
       SELECT * FROM jsonb_to_recordset($3::jsonb) AS l(order_id bigint, sku text, units bigint)
     ), dropped AS (
       UPDATE order_units u SET units = 0
       WHERE u.order_id = ANY($4::bigint[]) AND u.units <> 0
         AND NOT EXISTS (SELECT 1 FROM lines l WHERE l.order_id = u.order_id AND l.sku = u.sku)
     ), written AS (
       INSERT INTO order_units (order_id, sku, namespace, merchant, units)
       SELECT l.order_id, l.sku, $1, $2, l.units FROM lines l
       ON CONFLICT (order_id, sku) DO UPDATE SET units = excluded.units
       WHERE order_units.units <> excluded.units
       RETURNING sku
     )
     -- order_units as it was before this statement: the SKUs the orders held until now.
     SELECT sku FROM written UNION SELECT sku FROM order_units WHERE order_id = ANY($4::bigint[])`,
    [cart.namespace, cart.merchant, JSON.stringify(lines), orderIds],
  );
  const levelIds = await refreshReserved(
    client,
    cart,
    touched.map((row) => row.sku),
  );
  await fanOutInventory(client, cart, levelIds, [cart.cart]);
}

/** Sets the SKUs' levels' reservations from their order units; a level that changed is a new revision. */
async function refreshReserved(
  client: PoolClient,
  merchant: MerchantScope,
  skus: readonly string[],
): Promise<string[]> {
  if (skus.length === 0) return [];
  const { rows } = await client.query<{ id: string }>(
    `UPDATE inventory_levels l SET reserved = t.reserved, revision = l.revision + 1, updated_at = now()
     FROM (SELECT level.id, ${reservedOf('level.sku')} AS reserved FROM inventory_levels level
           WHERE level.namespace = $1 AND level.merchant = $2 AND level.sku = ANY($3::text[])) t
     WHERE l.id = t.id AND l.reserved <> t.reserved
     RETURNING l.id`,
    [merchant.namespace, merchant.merchant, skus],
  );
  return rows.map((row) => row.id);
}

/** What a page of shipments came to, beside the records it stored. */
export interface ShipmentsTaken {
  /** Rejected: for an order the hub does not know. */
  readonly unknownOrders: number;
  /** Stored, but sent nowhere: the order's cart is not (or no longer) registered with the merchant. */
  readonly forUnregisteredCarts: number;
}

/**
 * Shipments from the merchant's warehouse (shippingConfirmations), each mapped to the cart of the order it ships.
 * A shipment for an order the hub does not know is rejected. One for an order of a cart that is not registered with
 * the merchant (deleted, or moved to another Merchant) is kept, but opens no delivery: the warehouse could not fix it.
 * A shipment re-mapped to another order's cart by an edit no longer goes to its old cart, if it has not yet.
 */
export async function takeShipments(
  pool: Pool,
  merchant: MerchantScope,
  page: IntakePage<SourceShipment>,
): Promise<ShipmentsTaken> {
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

    let forUnregisteredCarts = 0;
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
      // The carts they went to until now, locked until the page is stored.
      const { rows: before } = await client.query<{ id: string; cart: string }>(
        `SELECT id, cart FROM shipments WHERE namespace = $1 AND merchant = $2 AND source_id = ANY($3::text[])
         ORDER BY id FOR UPDATE`,
        [merchant.namespace, merchant.merchant, rows.map((row) => row.source_id)],
      );
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
      const cartBefore = new Map(before.map((row) => [row.id, row.cart]));
      const moved = changed.flatMap((row) => {
        const old = cartBefore.get(row.id);
        return old !== undefined && old !== row.cart ? [{ cart: old, record_id: row.id }] : [];
      });
      if (moved.length > 0) {
        await client.query(
          `DELETE FROM deliveries d USING jsonb_to_recordset($2::jsonb) AS m(cart text, record_id bigint)
           WHERE d.service = 'shipmentUpload' AND d.namespace = $1 AND d.destination = m.cart
             AND d.record_id = m.record_id AND d.state <> 'delivered'`,
          [merchant.namespace, JSON.stringify(moved)],
        );
      }
      const { rows: registered } = await client.query<{ cart: string }>(
        'SELECT cart FROM carts WHERE namespace = $1 AND merchant = $2 AND cart = ANY($3::text[])',
        [merchant.namespace, merchant.merchant, [...new Set(changed.map((row) => row.cart))]],
      );
      const registeredCarts = new Set(registered.map((row) => row.cart));
      const deliverable = changed.filter((row) => registeredCarts.has(row.cart));
      forUnregisteredCarts = changed.length - deliverable.length;
      if (deliverable.length > 0) {
        await client.query(
          `INSERT INTO deliveries (service, namespace, destination, record_id, revision)
           SELECT 'shipmentUpload', $1, r.cart, r.record_id, r.revision
           FROM jsonb_to_recordset($2::jsonb) AS r(cart text, record_id bigint, revision bigint)
           ${reopenDelivery}`,
          [
            merchant.namespace,
            JSON.stringify(deliverable.map((row) => ({ cart: row.cart, record_id: row.id, revision: row.revision }))),
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
    return { unknownOrders: unknown.length, forUnregisteredCarts };
  });
}

/**
 * Inventory levels from the merchant's warehouse (inventory). A count includes what the warehouse held for each order
 * when it counted; the hub takes that to be at least held_min, and the current revision's units too once it was sent
 * (it may have landed), so a count never releases units it did not surely include. What the orders may still take
 * beyond that stays reserved. A count of a SKU with no level yet makes one.
 */
export async function takeInventoryLevels(
  pool: Pool,
  merchant: MerchantScope,
  page: IntakePage<SourceInventoryLevel>,
): Promise<void> {
  const source: PullSource = { service: 'inventory', namespace: merchant.namespace, owner: merchant.merchant };
  const levels = lastOfEach(page.accepted, (level) => level.sku);
  await inTransaction(pool, async (client) => {
    if (levels.length > 0) {
      const scope = [merchant.namespace, merchant.merchant];
      await client.query(lockInventory, scope);
      // What this count includes of each open order unit, and the most the warehouse may have held for it since.
      await client.query(
        `UPDATE order_units u SET (counted_units, held_peak) = (
           SELECT CASE WHEN sent THEN least(u.held_min, u.units) ELSE u.held_min END,
                  CASE WHEN sent THEN greatest(u.held_max, u.units) ELSE u.held_max END
           FROM (SELECT EXISTS (
                   SELECT 1 FROM deliveries d
                   WHERE d.service = 'orderDelivery' AND d.namespace = u.namespace AND d.destination = u.merchant
                     AND d.record_id = u.order_id AND d.attempts > 0) AS sent) current_revision)
         WHERE u.namespace = $1 AND u.merchant = $2 AND u.sku = ANY($3::text[]) AND NOT u.at_rest`,
        [...scope, levels.map((level) => level.sku)],
      );
      const { rows: changed } = await client.query<{ id: string }>(
        `INSERT INTO inventory_levels (namespace, merchant, sku, on_hand, reserved)
         SELECT $1, $2, r.sku, r.quantity, ${reservedOf('r.sku')}
         FROM jsonb_to_recordset($3::jsonb) AS r(sku text, quantity bigint)
         ON CONFLICT (namespace, merchant, sku) DO UPDATE
         SET on_hand = excluded.on_hand, reserved = excluded.reserved, revision = inventory_levels.revision + 1,
             reported_at = now(), updated_at = now()
         WHERE inventory_levels.on_hand <> excluded.on_hand OR inventory_levels.reserved <> excluded.reserved
         RETURNING id`,
        [...scope, JSON.stringify(levels.map(({ sku, quantity }) => ({ sku, quantity })))],
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
