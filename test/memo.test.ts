import { describe, expect, it } from 'vitest';
import { forgetfulStore, madeOnce } from '../src/memo';

describe('madeOnce with a forgetful store (module-wide caches of pure answers; review s45-diff D8)', () => {
  it('answers each key as made, asks again only after the store filled and forgot, and never holds more than its limit', () => {
    const asked: string[] = [];
    const length = madeOnce((text: string) => (asked.push(text), text.length), forgetfulStore<string, number>(2));
    expect([length('a'), length('bb'), length('a'), length('bb')]).toEqual([1, 2, 1, 2]);
    expect(asked).toEqual(['a', 'bb']);
    // A third key finds the store full: it forgets both, so 'a' is made again, then kept beside 'ccc'.
    expect([length('ccc'), length('a'), length('ccc')]).toEqual([3, 1, 3]);
    expect(asked).toEqual(['a', 'bb', 'ccc', 'a']);
  });
});
