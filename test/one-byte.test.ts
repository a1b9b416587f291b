/**
 * The audit model's texts copied one-byte (src/audit/one-byte.ts): a copy must read exactly as what it copies, Latin-1
 * or not, and plain data keep its keys in their order, or the model's JSON would change.
 */
import { describe, expect, it } from 'vitest';
import { latin1, latin1Copy } from '../src/audit/one-byte';

describe('latin1', () => {
  // A text made from a class's token (past Latin-1) with the token replaced, as since.ts folds one.
  const fromToken = '\ue000\ue1b5arn:aws:iam::\ue000\ue1b5:role/x'.replaceAll('\ue000\ue1b5', '{account}');
  const texts = ['', 'plain', fromToken, 'café ÿ \u0000 \u00ff', '— an em dash', 'emoji 😀', '\ue000\ue1b5 a token left'];
  for (const text of texts) it(`reads as it did: ${JSON.stringify(text)}`, () => expect(latin1(text)).toBe(text));
});

describe('latin1Copy', () => {
  it('copies texts in lists and records, keys in their order, other values as they are', () => {
    const value = { z: 'arn:\u00e9', a: ['x', { k: 'y—', n: 1, b: true, nil: null }], names: { RoleName: 'big-{account}', BucketName: 'b' } };
    const copy = latin1Copy(value);
    expect(copy).toEqual(value);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
    expect(Object.keys(copy)).toEqual(['z', 'a', 'names']);
    expect(copy).not.toBe(value);
  });
});
