/**
 * A whole number with its thousands grouped by commas ("6,144"), as xstack's messages write it. Not
 * `Number.prototype.toLocaleString('en-US')`, which loads ICU's locale data, about 7 MB of the process's memory
 * (bench/RESULTS.md, fifty-eighth and sixtieth sessions), in a compile whose only message is a note.
 */
export function grouped(n: number): string {
  if (!Number.isSafeInteger(n)) return String(n);
  const digits = String(Math.abs(n)).replace(/\B(?=(\d{3})+$)/g, ',');
  return n < 0 ? `-${digits}` : digits;
}
