// The hub's registry of carts: which Merchant each Cart sells for, as the Kubernetes objects say. Runners keep it in
// step: a Cart's runners register their Cart, and a Merchant's runners, told its Carts by the operator, retire those
// that were deleted or moved away. Inventory and tracking reach only the carts registered with their merchant.
import type { PoolClient } from 'pg';
import { inTransaction, type Pool } from './database.ts';
import { reopenDelivery, type CartScope, type MerchantScope } from './intake.ts';

/**
 * A Cart the hub has not seen, or saw under another Merchant, starts clean and gets every inventory level of its
 * merchant. Its orderDownload cursor stays: reading the cart from the beginning would load the orders it took for the
 * old merchant into the new one (and send them to the new merchant's warehouse).
 */
export async function registerCart(pool: Pool, cart: CartScope): Promise<void> {
  await inTransaction(pool, async (client) => {
    const { rows: before } = await client.query<{ merchant: string }>(
      'SELECT merchant FROM carts WHERE namespace = $1 AND cart = $2 FOR UPDATE',
      [cart.namespace, cart.cart],
    );
    const previous = before[0]?.merchant;
    if (previous === cart.merchant) return;
    // A runner of the same cart that registered it meanwhile (no row to lock before) wins; this one has nothing to do.
    const { rowCount } = await client.query(
      `INSERT INTO carts (namespace, cart, merchant) VALUES ($1, $2, $3)
       ON CONFLICT (namespace, cart) DO UPDATE SET merchant = excluded.merchant, registered_at = now()
       WHERE carts.merchant <> excluded.merchant`,
      [cart.namespace, cart.cart, cart.merchant],
    );
    if (rowCount === 0) return;
    if (previous !== undefined)
      await closeOpenShipments(client, { namespace: cart.namespace, merchant: previous }, cart);
    // Every inventory delivery of the cart goes, delivered ones too: what the cart shows now is another merchant's
    // count (or, for a Cart deleted and made again, unknown), so a level of this merchant that an earlier stint
    // delivered must be sent again, and the old merchant's levels must not be.
    await client.query(
      `DELETE FROM deliveries WHERE service = 'inventoryUpload' AND namespace = $1 AND destination = $2`,
      [cart.namespace, cart.cart],
    );
    await client.query(
      `INSERT INTO deliveries (service, namespace, destination, record_id, revision)
       SELECT 'inventoryUpload', l.namespace, $2, l.id, l.revision
       FROM inventory_levels l WHERE l.namespace = $1 AND l.merchant = $3
       ${reopenDelivery}`,
      [cart.namespace, cart.cart, cart.merchant],
    );
  });
}

/** Tracking of the old merchant's shipments that has not reached the cart yet no longer will. */
async function closeOpenShipments(client: PoolClient, oldMerchant: MerchantScope, cart: CartScope): Promise<void> {
  await client.query(
    `DELETE FROM deliveries d USING shipments s
     WHERE d.service = 'shipmentUpload' AND d.namespace = $1 AND d.destination = $2 AND d.state <> 'delivered'
       AND s.id = d.record_id AND s.merchant = $3`,
    [cart.namespace, cart.cart, oldMerchant.merchant],
  );
}

/** A cart a Merchant's runner retired, and how many of its open deliveries were closed. */
export interface RetiredCart {
  readonly cart: string;
  readonly closedDeliveries: number;
}

/**
 * Brings the registry in step with a Merchant's Carts (`cartNames`, from the operator): a cart registered with the
 * merchant but not among them was deleted or moved to another Merchant. It is retired, and its open deliveries
 * (tracking and inventory not yet at the cart) are closed: nobody will send them, and no new ones open for it. A
 * moved cart registers again under its new Merchant (registerCart), in either order. One statement, so one
 * transaction; a concurrent registerCart of a moved cart is either seen (the row is no longer this merchant's) or
 * waits for it.
 */
export async function syncMerchantCarts(
  pool: Pool,
  merchant: MerchantScope,
  cartNames: readonly string[],
): Promise<RetiredCart[]> {
  const { rows } = await pool.query<{ cart: string; closed: number }>(
    `WITH retired AS (
       DELETE FROM carts WHERE namespace = $1 AND merchant = $2 AND cart <> ALL($3::text[]) RETURNING cart
     ), closed AS (
       DELETE FROM deliveries d USING retired r
       WHERE d.service IN ('shipmentUpload', 'inventoryUpload') AND d.namespace = $1 AND d.destination = r.cart
         AND d.state <> 'delivered'
       RETURNING d.destination
     )
     SELECT r.cart, (SELECT count(*) FROM closed c WHERE c.destination = r.cart)::int AS closed
     FROM retired r ORDER BY r.cart`,
    [merchant.namespace, merchant.merchant, cartNames],
  );
  return rows.map((row) => ({ cart: row.cart, closedDeliveries: row.closed }));
}
