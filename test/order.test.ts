import { describe, expect, it } from 'vitest';
import { compareText } from '../src/order';

describe('compareText', () => {
  it('orders by code units, not by the locale: capitals before lower case, hyphens before letters', () => {
    // localeCompare would give bucket, RoleA, roleb (case folded at the first level) under most locales.
    expect(['roleb', 'bucket', 'RoleA', 'code-x', 'codex'].sort(compareText)).toEqual(['RoleA', 'bucket', 'code-x', 'codex', 'roleb']);
    expect(compareText('a', 'a')).toBe(0);
  });
});
