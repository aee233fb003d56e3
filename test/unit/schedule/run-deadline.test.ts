import { describe, expect, it } from 'vitest';
import { runDeadline, runDeadlineSeconds, staggeredCron } from '../../../operator/schedule/index.ts';

describe('runDeadlineSeconds', () => {
  it('gives a run until a minute before the next is due', () => {
    expect(runDeadlineSeconds(staggeredCron(15, 'uid/orderDownload'))).toBe(14 * 60);
    expect(runDeadlineSeconds(staggeredCron(60, 'uid/inventory'))).toBe(59 * 60);
    expect(runDeadlineSeconds('0 */2 * * *')).toBe(119 * 60);
  });

  it('counts from the closest two runs of an irregular schedule', () => {
    // 09:00 and 10:00, then 23 hours until the next 09:00.
    expect(runDeadlineSeconds('0 9,10 * * *')).toBe(59 * 60);
    expect(runDeadlineSeconds('0,20 * * * *')).toBe(19 * 60);
  });

  it('is at least the floor and at most the ceiling', () => {
    expect(runDeadlineSeconds(staggeredCron(5, 'uid/orderDownload'))).toBe(runDeadline.floorSeconds);
    expect(runDeadlineSeconds('*/2 * * * *')).toBe(runDeadline.floorSeconds);
    expect(runDeadlineSeconds('@daily')).toBe(runDeadline.ceilingSeconds);
    expect(runDeadlineSeconds(staggeredCron(24 * 60, 'uid/inventory'))).toBe(6 * 3600);
  });

  it('is the same for every slot of an interval, wherever the stagger puts it', () => {
    const slots = ['a', 'b', 'c', 'd'].map((seed) => runDeadlineSeconds(staggeredCron(4 * 60, `${seed}/inventory`)));
    expect(slots).toEqual([4, 4, 4, 4].map((hours) => hours * 3600 - runDeadline.marginSeconds));
  });
});
