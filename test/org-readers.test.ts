// The org file has two readers (src/org/source.ts): js-yaml without positions,
// used first, and the `yaml` library with positions, used for every file with
// a problem. The validator is a function of the node tree alone (positions
// only go into messages), so wherever the quick reader gives a tree at all it
// must be the positioned reader's tree, offsets aside.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseOrg } from '../src/org/load';
import { readBlockYaml } from '../src/org/block-yaml';
import { ALIAS_MESSAGE, readJsYaml, readPositioned, readQuick, type SourceNode } from '../src/org/source';
import { generateOrgYaml } from '../bench/generate-org.mjs';
import { ORG_FILES } from './helpers';

/** The tree without what only the positioned reader knows. */
function shape(node: SourceNode | undefined): unknown {
  if (node === undefined) return undefined;
  switch (node.kind) {
    case 'scalar':
      return { scalar: node.value };
    case 'map':
      return { map: node.entries.map((e) => [e.key, shape(e.value)]) };
    case 'seq':
      return { seq: node.items.map(shape) };
    default:
      return { other: true };
  }
}

/** Plain scalars whose type differs between YAML 1.1, 1.2 and js-yaml's own core schema, and forms around them. */
const SCALARS = [
  'yes', 'no', 'on', 'off', 'y', 'n', 'true', 'True', 'TRUE', 'tRUE', 'false', 'null', 'Null', 'NULL', 'nULL', '~', '',
  '0123', '0o17', '0o19', '0x1F', '0x1g', '-0x1F', '0b101', '1_000', '+1', '-0', '12', '123456789012', '1e3', '1E-3', '.5', '1.', '-.5e+2', '+.e3',
  '.inf', '-.INF', '+.Inf', '.NaN', '.nan', '.NAN', 'nan', '2001-12-14', '12:30:00', '1:20', '<<', '=', 'main', 'feature/x', '"quoted 12"', "'0123'",
];

const DOCUMENTS: Record<string, string> = {
  'block scalars': 'a: |\n  line one\n  line two\nb: >-\n  folded\n  text\nc: |+\n  kept\n\n',
  'flow collections': 'a: {b: 1, c: [x, "y", 2]}\nd: [ {e: f}, [] ]\n',
  'explicit tags': 'a: !!str 12\nb: !!int "12"\nc: !!float 1\nd: !!null ""\ne: !!bool "true"\n',
  'unknown tag': 'a: !foo x\n',
  'binary tag': 'a: !!binary aGVsbG8=\n',
  anchors: 'base: &d {type: codedeploy, ec2TagKey: Env}\none: *d\ntwo: *d\nname: &n web\nagain: *n\n',
  'recursive alias': 'a: &x\n  b: *x\n',
  'merge key': 'base: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n',
  'duplicate key': 'a: 1\na: 2\n',
  'two documents': 'a: 1\n---\nb: 2\n',
  'numeric keys': '10: a\n2: b\nname: c\n',
  'proto key': '__proto__: {a: 1}\n',
  'complex key': '? [a, b]\n: c\n',
  'flow key in a block mapping': '[a]: c\n',
  'flow key in a flow mapping': 'a: {[b]:c}\n',
  comments: '# head\na: 1 # trailing\n# between\nb: "#not"\n',
  'quoted escapes': 'a: "tab\\tnew\\nline \\u00e9 \\x41"\nb: \'it\'\'s\'\n',
  'empty values': 'a:\nb: ~\nc: []\nd: {}\n',
  'syntax error': 'a: [1, 2\nb: c\n',
  'bad indentation': 'a:\n  b: 1\n c: 2\n',
  'tab indentation': 'a:\n\tb: 1\n',
  'byte order mark': '\ufeffa: 1\n',
  // js-yaml reads a key '\u00a0 b' of the top level; the positioned reader says where the no-break space is.
  'a no-break space in the indentation': 'a:\n  b: 1\n\u00a0 c: 2\n',
  'a no-break space in a comment and in a value': 'a: b\u00a0c # d\u00a0e\n',
  'empty file': '',
  'only a comment': '# nothing\n',
  'a list at the top': '- a\n- b\n',
  'a scalar at the top': 'just text\n',
  // A `!` inside a word or sentence is no tag: the quick reader answers (review s18-diff m3).
  'exclamation marks': 'a: "hello!"\nb: Don\'t!\n# Careful!\nc: x!y\n',
  'a control character in a comment': 'a: 1 # \u0001\n',
  // What the block reader declines, or reads as js-yaml does, where a reader that took any white space as YAML's
  // (String's trim, /\s/) or looked no further than an item would read it otherwise.
  'a tab before a comment, and ending a value': 'a: b\t# c\nd: e\t\n',
  'carriage returns': 'a: b\r\nc: d\r\n',
  'a no-break space and a line separator ending a value': 'a: b\u00a0\nc: d\u2028\n',
  'a line separator in the indentation': 'a:\n  b: 1\n\u2028 c: 2\n',
  'text after a flow list': 'a: [b] c\n',
  'a bracket inside a flow list item': 'a: [b[c]\n',
  'a key starting with @': '@a: 1\n',
  'a quoted key of ten digits': 'b: 1\n"4294967294": 2\n',
  // YAML wants white space before a comment, and an implicit key of at most 1,024 characters to its colon: js-yaml
  // takes both, the positioned reader refuses them (review s49-diff M1).
  'a comment right after a quoted value': 'a: "b"#c\n',
  'a comment right after a single-quoted value': "a: 'b'#c\n",
  'a comment right after a flow list': 'a: [b]#c\n',
  'a comment right after a flow mapping': 'a: {b: c}#d\n',
  'a comment right after a flow list item': '- [b]#c\n',
  'an implicit key over 1,024 characters': `${'k'.repeat(1025)}: v\n`,
  'a quoted key of 1,023 characters': `"${'k'.repeat(1023)}": v\n`,
  'a nested single-quoted key of 1,023 characters': `a:\n  '${'k'.repeat(1023)}': v\n`,
  'a key of 1,020 characters and spaces before its colon': `${'k'.repeat(1020)}      : v\n`,
  // Valid YAML (an explicit key has no such limit), declined only because the quick reader cannot tell it from an implicit one.
  'an explicit key over 1,024 characters': `? ${'k'.repeat(1025)}\n: v\n`,
  'a comment right after an empty quoted value': 'a: ""#c\n',
  "a comment right after an empty single-quoted value": "a: ''#c\n",
  'an implicit key over 1,024 characters, its value below it': `${'k'.repeat(1025)}:\n  v\n`,
  'an implicit key over 1,024 characters across a line separator (no line break in YAML 1.2)': `${'k'.repeat(600)}\u2028${'k'.repeat(600)}: v\n`,
  // A line the block reader leaves to js-yaml (a flow mapping): 1,024 characters are read, one more is declined.
  'a flow mapping on a line of 1,024 characters': `a: {b: ${'v'.repeat(1016)}}\n`,
  'a flow mapping on a line of 1,025 characters': `a: {b: ${'v'.repeat(1017)}}\n`,
  // A flow list or a quoted value going on at its key's indentation: js-yaml takes them, YAML 1.2 and the positioned
  // reader refuse them (yaml-test-suite 9C9N, QB6E; review s50-input M4). Indented past the key, valid, and declined all
  // the same: the quick reader reads no value past its line.
  "a flow list going on at its key's indentation": 'flow: [a,\nb]\n',
  "a quoted value going on at its key's indentation": 'quoted: "a\nb"\n',
  "a single-quoted list item going on at its dash's indentation": "k:\n- 'a\n  b'\nl: 1\n",
  'a flow list going on past its key': 'flow: [a,\n  b]\n',
  'deeper than the readers read': Array.from({ length: 33 }, (_, i) => `${' '.repeat(i)}k${i}:${i === 32 ? ' v' : ''}\n`).join(''),
};

const cases: Array<[string, string]> = [
  ...ORG_FILES.map((f): [string, string] => [f, readFileSync(f, 'utf8')]),
  ['generated, 30 accounts', generateOrgYaml(30)],
  ...SCALARS.flatMap((s): Array<[string, string]> => [
    [`value ${JSON.stringify(s)}`, `key: ${s}\n`],
    [`key ${JSON.stringify(s)}`, `${s || '""'}: value\n`],
    [`in a list ${JSON.stringify(s)}`, `- ${s}\n`],
  ]),
  ...Object.entries(DOCUMENTS),
];

/**
 * What the quick reader leaves to the positioned one: keys that read as numbers (an object loses their order), tags,
 * anchors and merges, duplicates, several documents, `__proto__`, and what is not YAML it can read.
 */
const DECLINED = new Set([
  ...['0123', '0o17', '0x1F', '+1', '-0', '12', '1e3', '1.'].map((k) => `key ${JSON.stringify(k)}`),
  // A merge key: some readers merge, others read a key '<<'; the positioned reader refuses it.
  'key "<<"',
  // An explicit key: js-yaml reads `? [a, b]` as the text 'a,b'; the positioned reader refuses a key that is no name.
  'complex key',
  'flow key in a block mapping',
  'flow key in a flow mapping',
  'explicit tags',
  'unknown tag',
  'binary tag',
  'anchors',
  'recursive alias',
  'merge key',
  'duplicate key',
  'two documents',
  'numeric keys',
  'proto key',
  'syntax error',
  'bad indentation',
  'tab indentation',
  // js-yaml reads comments without looking at their characters; the positioned reader refuses it.
  'a control character in a comment',
  'a no-break space in the indentation',
  'text after a flow list',
  'a bracket inside a flow list item',
  'a key starting with @',
  'a quoted key of ten digits',
  'a comment right after a quoted value',
  'a comment right after a single-quoted value',
  'a comment right after a flow list',
  'a comment right after a flow mapping',
  'a comment right after a flow list item',
  'an implicit key over 1,024 characters',
  'a quoted key of 1,023 characters',
  'a nested single-quoted key of 1,023 characters',
  'a key of 1,020 characters and spaces before its colon',
  'an explicit key over 1,024 characters',
  'a comment right after an empty quoted value',
  'a comment right after an empty single-quoted value',
  'an implicit key over 1,024 characters, its value below it',
  'an implicit key over 1,024 characters across a line separator (no line break in YAML 1.2)',
  'a flow mapping on a line of 1,025 characters',
  "a flow list going on at its key's indentation",
  "a quoted value going on at its key's indentation",
  "a single-quoted list item going on at its dash's indentation",
  'a flow list going on past its key',
]);

describe('the quick and the positioned org-file readers', () => {
  it.each(cases)('agree wherever the quick reader answers: %s', (name, text) => {
    const quick = readQuick(text);
    // A case the quick reader declines must be one it is meant to leave to the positioned reader, which then answers.
    expect(quick === undefined, `quick reader ${quick ? 'answers' : 'declines'} ${name}`).toBe(DECLINED.has(name));
    if (!quick) {
      const positioned = readPositioned(text);
      expect(positioned.root !== undefined || positioned.errors.length > 0).toBe(true);
      return;
    }
    const positioned = readPositioned(text);
    expect(positioned.errors).toEqual([]);
    expect(shape(quick.root)).toEqual(shape(positioned.root));
  });

  it('answer for the files users write, so the quick reader is the one that runs', () => {
    for (const [name, text] of cases.slice(0, ORG_FILES.length + 1)) expect(readQuick(text), name).toBeDefined();
    const answered = cases.filter(([, text]) => readQuick(text)).length;
    // Every edge case is read by both but those written to go to the positioned reader (duplicates, unknown tags, numeric
    // keys, syntax errors, what js-yaml takes and YAML refuses), which are under a quarter of the table.
    expect(answered).toBe(cases.length - DECLINED.size);
    expect(DECLINED.size).toBeLessThan(cases.length * 0.25);
  });

  it('type plain scalars by YAML 1.2 core, not by js-yaml\'s wider forms', () => {
    const value = (s: string) => {
      const root = readQuick(`k: ${s}\n`)?.root;
      return root?.kind === 'map' && root.entries[0].value?.kind === 'scalar' ? root.entries[0].value.value : 'unread';
    };
    expect([value('1_000'), value('0b101'), value('0o17'), value('0x1F'), value('yes'), value('~'), value('1e3')]).toEqual(['1_000', '0b101', 15, 31, 'yes', null, 1000]);
  });

  it('leave numeric and __proto__ keys, whose order an object loses, to the positioned reader', () => {
    expect(readQuick(DOCUMENTS['numeric keys'])).toBeUndefined();
    expect(readQuick(DOCUMENTS['proto key'])).toBeUndefined();
    const root = readPositioned(DOCUMENTS['numeric keys']).root;
    expect(root?.kind === 'map' && root.entries.map((e) => e.key)).toEqual(['10', '2', 'name']);
  });

  it('refuse anchors and aliases: the quick reader hands them over, the positioned one names each without resolving it', () => {
    for (const name of ['anchors', 'recursive alias', 'merge key']) {
      expect(readQuick(DOCUMENTS[name]), name).toBeUndefined();
      const read = readPositioned(DOCUMENTS[name]);
      expect(read.root, name).toBeUndefined();
      expect(read.errors.length, name).toBeGreaterThan(0);
      expect(read.errors.every((e) => e.message.endsWith(ALIAS_MESSAGE) || e.message.startsWith('<<: merge keys are not accepted')), name).toBe(true);
    }
    // The merge key's line names the merge, the first problem of its line.
    expect(readPositioned(DOCUMENTS['merge key']).errors.map((e) => e.message.split(':')[0])).toEqual(['&b', '<<']);
    expect(readPositioned(DOCUMENTS.anchors).errors.map((e) => e.message.split(':')[0])).toEqual(['&d', '*d', '*d', '&n', '*n']);
    expect(readPositioned(DOCUMENTS['recursive alias']).errors.map((e) => e.message.split(':')[0])).toEqual(['&x', '*x']);
  });

  it('stay bounded on an alias bomb: reported once a line, nothing expanded', () => {
    // Nine levels of ten aliases each: 10^9 strings if expanded (the "billion laughs").
    const levels = ['a: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i <= 9; i++) levels.push(`${'b'.repeat(i)}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]`);
    const bomb = `${levels.join('\n')}\n`;
    expect(readQuick(bomb)).toBeUndefined();
    const read = readPositioned(bomb);
    expect(read.errors.map((e) => read.lines.linePos(e.offset).line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(() => parseOrg(bomb, 'bomb.yaml')).toThrow(/^10 problems in the organization file:\n {2}bomb\.yaml:1:\d+: \(yaml\): &a0: anchors and aliases/);
  });
});

/** A small, seeded generator of the documents a block reader meets: nested mappings and lists, their keys and scalars in tricky forms, a line sometimes spoilt. */
function blockDocuments(count: number): string[] {
  // mulberry32: the same documents on every run.
  let seed = 12;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const KEYS = ['a', 'key', 'a:b', 'x.y', 'tag/k', 'e@f', 'name-1', 'A_b', '$x', 'http://x', '-a', '1', '10', 'true', 'null', '~', '1e3', '0x1F', '__proto__', 'a b', '"q"', "'q'", 'a#b', '(p)', 'a ', ''];
  const VALUES = [
    ...['', 'x', 'x y', '1', '-1', '+1', '0123', '0o17', '0x1F', '1e3', '.5', '1.', '.inf', '-.INF', '.nan', 'true', 'False', 'null', '~', 'yes', '2001-12-14', '12:30', '1_000', '0b1'],
    // Spaces YAML does not take as spaces: the value's own (String's trim would drop them).
    ...['\u00a0x', 'x\u00a0', '\u2003', 'x\u00a0#c', '"\u00a0"', '[\u00a0a]', '\u00a0'],
    ...['"q"', "'q'", "'it''s'", '"a: b"', '"a #b"', '"unterminated', 'a: b', 'a:b', 'a #c', 'a#c', 'x:', 'b"c', "Don't!", 'é', 'a  ', '#c', 'a, b', '<<', '- x', '-x', '? x', ':x'],
    ...['[a, b]', '[]', '[ ]', '["x", 2]', '[a,]', '[a, [b]]', '[a #b]', '[a, "b #c"]', '[a] x', '[a] #c', '{}', '{a: 1}', '|', '>', '&x', '*x', '%x', '@x', '`x'],
  ];
  // Mostly names and values an org file holds, so that most documents are read; the rest to be declined or refused.
  const ORG_LIKE = ['x', 'x y', '1', '-1', '"q"', "'q'", '"a: b"', '[a, b]', '[]', 'a #c', 'true', '~', '1.5', 'arn:aws:iam::1:role/x', 'x, y', '"a #b"', '0123', '.5', '-x', '=x', '(p)', 'x"y', "Don't!", ''];
  const key = () => (random() < 0.85 ? pick(KEYS.slice(0, 9)) : pick(KEYS));
  const value = () => (random() < 0.85 ? pick(ORG_LIKE) : pick(VALUES));
  type Tree = { scalar: string } | { map: Array<[string, Tree]> } | { list: Tree[] };
  const tree = (depth: number): Tree => {
    if (depth > 3 || random() < 0.3) return { scalar: value() };
    const size = 1 + Math.floor(random() * 3);
    return random() < 0.6 ? { map: Array.from({ length: size }, () => [key(), tree(depth + 1)] as [string, Tree]) } : { list: Array.from({ length: size }, () => tree(depth + 1)) };
  };
  const write = (t: Tree, indent: number, step: number, out: string[]): void => {
    const pad = ' '.repeat(indent);
    if ('map' in t) {
      for (const [key, value] of t.map) {
        if ('scalar' in value) out.push(`${pad}${key}: ${value.scalar}`);
        else {
          out.push(`${pad}${key}:${random() < 0.1 ? ' # c' : ''}`);
          // A list may start at its key's indentation.
          write(value, 'list' in value && random() < 0.4 ? indent : indent + step, step, out);
        }
      }
    } else if ('list' in t) {
      for (const item of t.list) {
        if ('scalar' in item) out.push(`${pad}- ${item.scalar}`);
        else if ('map' in item) {
          const lines: string[] = [];
          write(item, indent + 2, step, lines);
          if (lines.length > 0) lines[0] = `${pad}- ${lines[0].slice(indent + 2)}`;
          out.push(...lines);
        } else {
          out.push(`${pad}-`);
          write(item, indent + step, step, out);
        }
      }
    }
  };
  return Array.from({ length: count }, () => {
    const lines: string[] = [];
    write({ map: [[key(), tree(0)], [key(), tree(0)]] }, 0, pick([2, 2, 4, 1, 3]), lines);
    if (random() < 0.3) {
      const i = Math.floor(random() * lines.length);
      const r = random();
      lines[i] = r < 0.3 ? ` ${lines[i]}` : r < 0.5 ? lines[i].replace(/^ /, '') : r < 0.7 ? lines[i] + pick([' #x', ' x', '"', ':', '  ', ' [a]']) : r < 0.85 ? lines[i].replace(': ', ':') : `  ${pick(['# c', 'x', '- y'])}`;
    }
    return `${lines.join('\n')}\n`;
  });
}

describe('the block reader', () => {
  const generated = blockDocuments(4000);

  it.each(cases)('reads as js-yaml and the positioned reader do wherever it answers: %s', (name, text) => {
    const block = readQuick(text) && readBlockYaml(text);
    if (!block) return;
    expect(shape(block.root), name).toEqual(shape(readJsYaml(text)?.root));
    expect(shape(block.root), name).toEqual(shape(readPositioned(text).root));
  });

  it('reads the files users write, so that js-yaml is not needed', () => {
    for (const [name, text] of cases.slice(0, ORG_FILES.length + 1)) expect(readBlockYaml(text), name).toBeDefined();
    expect(readBlockYaml(generateOrgYaml(1000))).toBeDefined();
  });

  it('reads generated documents as js-yaml does wherever it answers, and answers none js-yaml refuses', () => {
    let answered = 0;
    for (const text of generated) {
      const block = readQuick(text) && readBlockYaml(text);
      if (!block) continue;
      answered++;
      const quick = readJsYaml(text);
      expect(quick, text).toBeDefined();
      expect(shape(block.root), text).toEqual(shape(quick?.root));
    }
    // The generator spoils many documents on purpose (about one in nine is read): a reader that declined all would pass the rest.
    expect(answered).toBeGreaterThan(generated.length / 10);
  });

  it('declines what it does not read itself: block scalars, flow mappings, escapes, tabs, a document marker', () => {
    for (const text of ['a: |\n  x\n', 'a: {b: 1}\n', 'a: "\\t"\n', 'a:\n\tb: 1\n', '---\na: 1\n', 'a: b\n  c\n', 'a:\n  b: 1\n c: 2\n']) expect(readBlockYaml(text), text).toBeUndefined();
    // What js-yaml refuses, outside YAML's printable characters: the noncharacters U+FFFE, U+FFFF and a lone surrogate
    // (review s47-diff n1: read, where js-yaml refuses the file).
    for (const text of ['a: b\ufffe\n', 'a: b\uffff\n', 'a: b\ud800\n', 'a: \udc00b\n']) {
      expect(readBlockYaml(text), JSON.stringify(text)).toBeUndefined();
      expect(readJsYaml(text), JSON.stringify(text)).toBeUndefined();
    }
    // A character outside the BMP (a surrogate pair) is read, as js-yaml reads it.
    expect(readBlockYaml('a: b\u{1F600}\n')?.root).toEqual({ kind: 'map', entries: [{ key: 'a', value: { kind: 'scalar', value: 'b\u{1F600}' } }] });
  });
});

describe('an org file', () => {
  const example = readFileSync('parameters/example.yaml', 'utf8');

  it('may not share settings through anchors and aliases (the format needs none; they are refused, with their lines)', () => {
    const shared = example.replace(/\n    deploy:\n      type: codedeploy\n      deploymentConfig/, '\n    deploy: &deploy\n      type: codedeploy\n      deploymentConfig').replace(/(\n  payments-api:\n    repository:[\s\S]*?\n    deploy:)\n      type: codedeploy\n/, '$1 *deploy\n');
    expect(shared).toContain('*deploy');
    const line = (text: string) => shared.split('\n').findIndex((l) => l.includes(text)) + 1;
    expect(() => parseOrg(shared, 'example.yaml')).toThrow(
      new RegExp(`example\\.yaml:${line('&deploy')}:\\d+: \\(yaml\\): &deploy: anchors and aliases[\\s\\S]*example\\.yaml:${line('*deploy')}:\\d+: \\(yaml\\): \\*deploy: anchors and aliases`),
    );
  });

  it('with a problem is reported with lines, from the positioned reading', () => {
    const broken = example.replace(/role: source/, 'role: sauce');
    const line = broken.split('\n').findIndex((l) => l.includes('role: sauce')) + 1;
    expect(() => parseOrg(broken, 'example.yaml')).toThrow(new RegExp(`example\\.yaml:${line}:\\d+: accounts\\.[\\w-]+\\.role: 'sauce' is not accepted \\(did you mean 'source'\\?\\)`));
  });
});
