// What the Shopify connector keeps in the hub store: the shared rate budget of each app and store (the arithmetic is in
// rate-budget.ts; this module only reads and writes it, row-locked, on the database's clock so that runners on
// different machines agree on elapsed time), and the inventory item of each SKU.
import type { PoolClient } from 'pg';
import { inTransaction, type Pool } from '../../store/database.ts';
import {
  reserve,
  settle,
  unknownStoreBucket,
  type BucketState,
  type Reservation,
  type ThrottleStatus,
} from './rate-budget.ts';

interface BudgetRow {
  maximum_available: number;
  restore_rate: number;
  available: number;
  at_ms: string;
  now_ms: string;
}

async function lockBudget(client: PoolClient, key: string): Promise<{ state: BucketState; nowMs: number }> {
  // A store no runner has called yet starts full, at the figures of the smallest plan.
  await client.query(
    `INSERT INTO shopify_rate_budgets (budget_key, maximum_available, restore_rate, available)
     VALUES ($1, $2, $3, $2) ON CONFLICT (budget_key) DO NOTHING`,
    [key, unknownStoreBucket.maximumAvailable, unknownStoreBucket.restoreRate],
  );
  const { rows } = await client.query<BudgetRow>(
    `SELECT maximum_available, restore_rate, available,
            (extract(epoch FROM updated_at) * 1000)::text AS at_ms,
            (extract(epoch FROM clock_timestamp()) * 1000)::text AS now_ms
     FROM shopify_rate_budgets WHERE budget_key = $1 FOR UPDATE`,
    [key],
  );
  const row = rows[0]!;
  return {
    state: {
      maximumAvailable: row.maximum_available,
      restoreRate: row.restore_rate,
      available: row.available,
      atMs: Number(row.at_ms),
    },
    nowMs: Number(row.now_ms),
  };
}

async function storeBudget(client: PoolClient, key: string, state: BucketState): Promise<void> {
  await client.query(
    `UPDATE shopify_rate_budgets
     SET maximum_available = $2, restore_rate = $3, available = $4, updated_at = to_timestamp($5 / 1000.0)
     WHERE budget_key = $1`,
    [key, state.maximumAvailable, state.restoreRate, state.available, state.atMs],
  );
}

/** Takes `cost` from the store's bucket if it holds that much now, else says how long to wait. */
export function reserveBudget(pool: Pool, key: string, cost: number): Promise<Reservation> {
  return inTransaction(pool, async (client) => {
    const { state, nowMs } = await lockBudget(client, key);
    const reservation = reserve(state, cost, nowMs);
    if (reservation.granted) await storeBudget(client, key, reservation.state);
    return reservation;
  });
}

/** Settles a reservation with what the store answered (see settle). */
export function settleBudget(
  pool: Pool,
  key: string,
  reserved: number,
  actualCost: number | undefined,
  status: ThrottleStatus | undefined,
): Promise<void> {
  return inTransaction(pool, async (client) => {
    const { state, nowMs } = await lockBudget(client, key);
    await storeBudget(client, key, settle(state, reserved, actualCost, status, nowMs));
  });
}

export async function cachedInventoryItem(pool: Pool, shop: string, sku: string): Promise<string | undefined> {
  const { rows } = await pool.query<{ inventory_item_id: string }>(
    'SELECT inventory_item_id FROM shopify_inventory_items WHERE shop = $1 AND sku = $2',
    [shop, sku],
  );
  return rows[0]?.inventory_item_id;
}

export async function cacheInventoryItem(
  pool: Pool,
  shop: string,
  sku: string,
  inventoryItemId: string,
): Promise<void> {
  await pool.query(
    `INSERT INTO shopify_inventory_items (shop, sku, inventory_item_id) VALUES ($1, $2, $3)
     ON CONFLICT (shop, sku) DO UPDATE SET inventory_item_id = excluded.inventory_item_id, cached_at = now()`,
    [shop, sku, inventoryItemId],
  );
}

/** Drops a SKU's cached item, when the shop no longer knows it (the variant was deleted or its SKU changed). */
export async function forgetInventoryItem(pool: Pool, shop: string, sku: string): Promise<void> {
  await pool.query('DELETE FROM shopify_inventory_items WHERE shop = $1 AND sku = $2', [shop, sku]);
}
