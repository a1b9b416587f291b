/** The proof's results grouped by access path, for the report's access matrix and the audit model alike. */
import type { AccessPath, AccessResult } from './paths';

const grouped = new WeakMap<readonly AccessResult[], ReadonlyMap<AccessPath, readonly AccessResult[]>>();

/**
 * Each path's results in their order, the paths in the order of their first result; made once for a proof's results
 * (the report and the model both ask, ~25,000 paths at 250 teams). The proof writes a path's results together, one per
 * action, so a path's list is cut from the results at its length: a list pushed to from empty holds room for 17 (V8),
 * ~150 bytes a path where two results need 32. A path met again later has its results added to its list, as pushing
 * each result would have.
 */
export function resultsByPath(results: readonly AccessResult[]): ReadonlyMap<AccessPath, readonly AccessResult[]> {
  const known = grouped.get(results);
  if (known) return known;
  const byPath = new Map<AccessPath, AccessResult[]>();
  for (let start = 0; start < results.length; ) {
    const path = results[start].path;
    let end = start + 1;
    while (end < results.length && results[end].path === path) end++;
    const list = byPath.get(path);
    if (list) for (let i = start; i < end; i++) list.push(results[i]);
    else byPath.set(path, results.slice(start, end));
    start = end;
  }
  grouped.set(results, byPath);
  return byPath;
}
