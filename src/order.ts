/**
 * Text order by UTF-16 code units, the same on every machine. `localeCompare` follows the ICU locale of the
 * environment (LANG), so a sort made with it could differ between a developer's machine and CI; what xstack
 * writes or prints is sorted with this instead.
 */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
