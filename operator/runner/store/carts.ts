// The hub's registry of carts: which Merchant each Cart sells for, as the Kubernetes objects say. Runners keep it in
// step: a Cart's runners register their Cart, and a Merchant's runners, told its Carts by the operator, retire those
// that were deleted or moved away. Inventory and tracking reach only the carts registered with their merchant.
import { inTransaction, type Pool } from './database.ts';
import { reopenDelivery, type CartScope } from './intake.ts';

/** A Cart the hub has not seen (or saw under another Merchant) gets every inventory level of its merchant. */
export async function registerCart(pool: Pool, cart: CartScope): Promise<void> {
  await inTransaction(pool, async (client) => {
    const { rows } = await client.query(
      `INSERT INTO carts (namespace, cart, merchant) VALUES ($1, $2, $3)
       ON CONFLICT (namespace, cart) DO UPDATE SET merchant = excluded.merchant, registered_at = now()
       WHERE carts.merchant <> excluded.merchant
       RETURNING cart`,
      [cart.namespace, cart.cart, cart.merchant],
    );
    if (rows.length === 0) return;
    // A cart new to this merchant gets every inventory level the hub knows.
    await client.query(
      `INSERT INTO deliveries (service, namespace, destination, record_id, revision)
       SELECT 'inventoryUpload', l.namespace, $2, l.id, l.revision
       FROM inventory_levels l WHERE l.namespace = $1 AND l.merchant = $3
       ${reopenDelivery}`,
      [cart.namespace, cart.cart, cart.merchant],
    );
  });
}
