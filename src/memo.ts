/** The list `map` holds for `key`, made (empty) on first use: to push to, without copying it for each item. */
export function listIn<K, T>(map: Map<K, T[]>, key: K): T[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

/**
 * `make` asked once per key, its answers kept in `made`: a Map for a run's
 * own keys, a WeakMap for parts of the compile a longer-lived function sees
 * (nothing is kept once they are gone).
 */
export function madeOnce<K, V>(make: (key: K) => V, made: { get(key: K): V | undefined; set(key: K, value: V): unknown } = new Map<K, V>()): (key: K) => V {
  return (key) => {
    let value = made.get(key);
    if (value === undefined) made.set(key, (value = make(key)));
    return value;
  };
}

/**
 * A store for madeOnce whose keys are texts of no one run (a module's cache of pure answers, kept for the life of the
 * process): forgotten whole once it holds `limit` entries, so that a process compiling many orgs does not keep every
 * org's texts. Forgetting changes no answer, only when it is made again.
 */
export function forgetfulStore<K, V>(limit: number): { get(key: K): V | undefined; set(key: K, value: V): unknown } {
  const made = new Map<K, V>();
  return {
    get: (key) => made.get(key),
    set: (key, value) => {
      if (made.size >= limit) made.clear();
      return made.set(key, value);
    },
  };
}
