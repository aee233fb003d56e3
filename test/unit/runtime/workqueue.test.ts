import { describe, expect, it, vi } from 'vitest';
import { WorkQueue, backoffDelay } from '../../../operator/runtime/workqueue.ts';

function deferred() {
  return Promise.withResolvers<void>();
}

const noError = () => {
  throw new Error('unexpected');
};

describe('WorkQueue', () => {
  it('queues a key once however often it is added', async () => {
    const queue = new WorkQueue({ concurrency: 1, onUnexpectedError: noError });
    const seen: string[] = [];
    queue.add('a');
    queue.add('a');
    queue.add('b');
    queue.add('a');
    const done = deferred();
    queue.start((key) => {
      seen.push(key);
      if (seen.length === 2) done.resolve();
      return Promise.resolve();
    });
    await done.promise;
    await queue.shutdown();
    expect(seen).toEqual(['a', 'b']);
  });

  it('never runs one key twice at once, and runs it again if it changed meanwhile', async () => {
    const queue = new WorkQueue({ concurrency: 4, onUnexpectedError: noError });
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const first = deferred();
    const second = deferred();
    queue.start(async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      runs += 1;
      if (runs === 1) {
        queue.add('k');
        queue.add('k');
        await new Promise((resolve) => setTimeout(resolve, 20));
        first.resolve();
      } else second.resolve();
      running -= 1;
    });
    queue.add('k');
    await first.promise;
    await second.promise;
    await queue.shutdown();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('bounds concurrency across keys', async () => {
    const queue = new WorkQueue({ concurrency: 2, onUnexpectedError: noError });
    let running = 0;
    let maxRunning = 0;
    const all = deferred();
    let finished = 0;
    queue.start(async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      if (++finished === 6) all.resolve();
    });
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) queue.add(key);
    await all.promise;
    expect(maxRunning).toBe(2);
  });

  it('requeues after a delay, keeping the earlier of two delays', () => {
    vi.useFakeTimers();
    try {
      const queue = new WorkQueue({ concurrency: 1, onUnexpectedError: noError });
      const seen: string[] = [];
      queue.start((key) => {
        seen.push(key);
        return Promise.resolve();
      });
      queue.addAfter('k', 5_000);
      queue.addAfter('k', 1_000);
      vi.advanceTimersByTime(999);
      expect(seen).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(seen).toEqual(['k']);
      vi.advanceTimersByTime(10_000);
      expect(seen).toEqual(['k']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('backs off exponentially per key with jitter, capped, and forgets after success', () => {
    const backoff = { baseMs: 100, maxMs: 1_000 };
    expect(backoffDelay(1, backoff, () => 0)).toBe(50);
    expect(backoffDelay(1, backoff, () => 1)).toBe(100);
    expect(backoffDelay(3, backoff, () => 1)).toBe(400);
    expect(backoffDelay(10, backoff, () => 1)).toBe(1_000);
    const queue = new WorkQueue({ concurrency: 1, backoff, random: () => 1, onUnexpectedError: noError });
    expect(queue.addRateLimited('k')).toBe(100);
    expect(queue.addRateLimited('k')).toBe(200);
    queue.forget('k');
    expect(queue.addRateLimited('k')).toBe(100);
    void queue.shutdown();
  });
});
