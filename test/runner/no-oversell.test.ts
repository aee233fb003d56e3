// No oversell across two carts of one merchant, whatever Order Delivery does. Shoppers buy on either cart only while
// the cart's stock allows; a cart sets its stock to what Inventory Upload sent it last and takes its own sales off
// it, as carts do. The real runner moves everything: Order Download, Inventory (the warehouse's count), Inventory
// Upload, and Order Delivery on an interval, failing, or Disabled. The warehouse stand-in's count goes down only
// when it acknowledges an order (POST /orders), and it counts again now and then.
//
// Each sale is downloaded, and the other cart told, before the next shopper comes: the test weighs the hub's
// arithmetic, not how fast carts hear of each other (two carts selling the last unit in the same instant oversell
// with any hub). Counts and deliveries fall at random (seeded) between sales.
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startFakeCart, startFakeWarehouse, type FakeCart } from '../support/contract-servers.ts';
import { useTestDatabase } from './support/database.ts';
import { runOnce, type RunnerSetup } from './support/runners.ts';

const db = useTestDatabase();
const sku = 'LAMP';
const stock = 10;
const ticks = 40;

/** A small seeded generator (mulberry32), so that every run interleaves the same way. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A cart's shelf: the stock it shows shoppers. */
class Shelf {
  readonly name: 'shop-a' | 'shop-b';
  readonly cart: FakeCart;
  #seenUploads = 0;
  #stock = 0;
  sold = 0;

  constructor(name: 'shop-a' | 'shop-b', cart: FakeCart) {
    this.name = name;
    this.cart = cart;
  }

  /** A new upload replaces the cart's stock; its own sales since come off it. */
  #sync(): void {
    const uploads = this.cart.inventory.appliedFor(sku);
    if (uploads.length === this.#seenUploads) return;
    this.#seenUploads = uploads.length;
    this.#stock = Number(uploads.at(-1)!.available);
  }

  /** What the cart shows now. */
  shown(): number {
    this.#sync();
    return this.#stock;
  }

  buy(units: number): boolean {
    if (this.shown() < units) return false;
    this.#stock -= units;
    this.sold += units;
    return true;
  }
}

type OrderDelivery = 'on an interval' | 'failing' | 'Disabled';

async function sellOut(orderDelivery: OrderDelivery, seed: number) {
  const [shopA, shopB, warehouse] = await Promise.all([startFakeCart(), startFakeCart(), startFakeWarehouse()]);
  onTestFinished(() => Promise.all([shopA.close(), shopB.close(), warehouse.close()]).then(() => undefined));
  const base = { namespace: `ns-${randomBytes(3).toString('hex')}`, merchant: 'acme', databaseUrl: db.url };
  const merchant = (service: RunnerSetup['service']): RunnerSetup => ({
    ...base,
    service,
    owner: 'acme',
    endpointUrl: warehouse.url,
  });
  const cart = (shelf: Shelf, service: RunnerSetup['service']): RunnerSetup => ({
    ...base,
    service,
    owner: shelf.name,
    endpointUrl: shelf.cart.url,
  });
  const run = async (setup: RunnerSetup) => (await runOnce('run', setup)).exitCode;

  // The warehouse: its count goes down by what it acknowledges.
  let onHand = stock;
  warehouse.orders.onApplied((write) => {
    const lines = write.body.lines as { sku: string; quantity: number }[];
    onHand -= lines.filter((line) => line.sku === sku).reduce((sum, line) => sum + line.quantity, 0);
    warehouse.inventory.put({ sku, quantity: onHand });
  });
  if (orderDelivery === 'failing') warehouse.orders.respondWith(() => ({ status: 500, reason: 'down' }));
  // The warehouse counts again (a cycle count: the same number, reported anew), and Inventory reads it.
  const countAndRead = async () => {
    warehouse.inventory.put({ sku, quantity: onHand });
    expect(await run(merchant('inventory'))).toBe(0);
  };

  const shelves = [new Shelf('shop-a', shopA), new Shelf('shop-b', shopB)] as const;
  let maxShown = 0;
  let mostSellable = 0;
  const uploadToBoth = async () => {
    for (const shelf of shelves) expect(await run(cart(shelf, 'inventoryUpload'))).toBe(0);
    const sold = shelves[0].sold + shelves[1].sold;
    for (const shelf of shelves) {
      maxShown = Math.max(maxShown, shelf.shown());
      mostSellable = Math.max(mostSellable, sold + shelf.shown());
    }
  };

  // Each cart's first run registers it with the hub; then the warehouse's first count reaches both.
  await uploadToBoth();
  await countAndRead();
  await uploadToBoth();

  const random = seeded(seed);
  let orderNumber = 0;
  for (let tick = 0; tick < ticks; tick++) {
    const shelf = shelves[Math.floor(random() * 2)]!;
    for (let shopper = 0; shopper < 1 + Math.floor(random() * 2); shopper++) {
      const units = 1 + Math.floor(random() * 3);
      if (shelf.buy(units))
        shelf.cart.orders.put({ id: `${shelf.name}-${++orderNumber}`, lines: [{ sku, quantity: units }] });
    }
    expect(await run(cart(shelf, 'orderDownload'))).toBe(0);
    const steps = [
      ...(random() < 0.4 ? [() => countAndRead()] : []),
      // A failing delivery run reports its failures in its exit code; what counts here is what reaches the carts.
      ...(orderDelivery !== 'Disabled' && random() < 0.5 ? [() => run(merchant('orderDelivery'))] : []),
    ];
    if (random() < 0.5) steps.reverse();
    for (const step of steps) await step();
    await uploadToBoth();
  }

  const sold = shelves[0].sold + shelves[1].sold;
  const acknowledged = warehouse.orders.applied.length;
  const figures = { sold, stock, maxShown, mostSellable, oversold: Math.max(sold - stock, 0), acknowledged };
  console.log(
    `[no-oversell] Order Delivery ${orderDelivery}: ${figures.sold} units sold of ${stock} in stock, ` +
      `most available shown to a cart ${maxShown}, most sellable at once (sold + shown) ${mostSellable}, ` +
      `oversold ${figures.oversold}; orders acknowledged by the warehouse ${acknowledged} of ${orderNumber}`,
  );
  return figures;
}

describe('two carts of one merchant never sell more than the warehouse has', () => {
  it.each<[OrderDelivery, number]>([
    ['on an interval', 11],
    ['failing', 12],
    ['Disabled', 13],
  ])('while Order Delivery is %s', async (orderDelivery, seed) => {
    const { sold, mostSellable, acknowledged } = await sellOut(orderDelivery, seed);
    // On an interval, counts fall before and after the warehouse acknowledged orders; otherwise it never does.
    if (orderDelivery === 'on an interval') expect(acknowledged).toBeGreaterThan(0);
    else expect(acknowledged).toBe(0);
    expect(sold).toBeLessThanOrEqual(stock);
    expect(mostSellable).toBeLessThanOrEqual(stock);
    // Not by selling nothing: shoppers came far more often than there were units.
    expect(sold).toBeGreaterThan(stock / 2);
  });
});
