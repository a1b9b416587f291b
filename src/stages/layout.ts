/**
 * The layout: which part (StackSet) of each family holds each unit, kept
 * beside the org file (`<org>.layout.json`) and read by every later compile,
 * so that a unit stays in its part when units are added before it or grow
 * (family.ts). Without it parts would be packed afresh each time, and a moved
 * unit is a resource leaving one StackSet and entering another, which for a
 * retained repository StackSets cannot do at all (src/deploy/moves.ts).
 *
 * The file is the compiler's record, like the AWS CDK's cdk.context.json
 * ("commit this file to version control": https://docs.aws.amazon.com/cdk/v2/guide/context.html):
 * `compile` and `deploy` write it when it does not hold the compile (a unit
 * placed anew, moved or gone); a compile with the file it wrote gives the same
 * output again.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { CONFLICT_MARKERS, fileTargetProblem, linkTarget, OutputError, writeFileAtomic } from '../write';
import { basename, dirname, extname, isAbsolute, join, relative } from 'node:path';
import { OrgFileError, XstackError, type Problem } from '../errors';
import type { Org, StackSetSettings } from '../org/model';
import { FAMILY_STAGE_IDS } from './model';

export const LAYOUT_FORMAT = 'xstack-layout/1';

/** A family's parts: part number (1, 2, …; a part keeps its number) → the keys of the units it holds. */
export type FamilyLayout = ReadonlyMap<number, readonly string[]>;

/** Family id → its parts. */
export type Layout = ReadonlyMap<string, FamilyLayout>;

/**
 * What the layout file records of the org as compiled, besides its parts:
 * what a later compile must not change under a deployed org (its StackSets
 * are found by prefix; its IAM names are account-global and its repositories
 * regional, so a new partition or region collides or starts empty), and what
 * it says when it changes (the bucket generation; each repository's account).
 * A file written before xstack recorded them has none: the next compile adds them.
 */
export interface RecordedOrg {
  readonly partition: string;
  readonly region: string;
  readonly prefix: string;
  readonly bucketGeneration: number;
  /** Repository name → the id of the source account that holds it. */
  readonly repositories: ReadonlyMap<string, string>;
  /** Where the org's StackSets live, as deploy recorded it; compile does not know it, and keeps what the file says. */
  readonly stackSetsHome?: StackSetsHome;
}

/**
 * The administrator account (its id, from GetCallerIdentity) and the Region a deploy made the org's StackSets in:
 * StackSets are Regional resources of the account that creates them (CreateStackSet: "The name must be unique in the
 * Region where you create your stack set"; SERVICE_MANAGED ones "are created in the management account, including
 * StackSets that are created by delegated administrators", CallAs,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html), so a run with other
 * credentials or another `--region` finds none of them and would create every one again beside the running ones.
 * callAs is not recorded: that page ties it to the account signed in to (SELF in the management account,
 * DELEGATED_ADMIN in a delegated administrator). The permission model is: a run with the other one may not find the
 * org's StackSets ("If you set the CallAs parameter to SELF while signed in to your AWS account, ListStackSets returns
 * all self-managed StackSets in your AWS account"; DELEGATED_ADMIN, "all StackSets with service-managed permissions in
 * the management account", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListStackSets.html),
 * so from a delegated administrator it would create each again (review s42-day2 D1). Records from before it have none.
 */
export interface StackSetsHome {
  readonly account: string;
  readonly region: string;
  readonly permissionModel?: StackSetSettings['permissionModel'];
}

/** The layout file as read: the parts, and the org's record when the file has one. */
export interface LayoutFile {
  readonly families: Layout;
  readonly org?: RecordedOrg;
}

/** What an org file says that the layout file records, and the record as read (what deploy recorded, kept). */
export type RecordSource = Pick<Org, 'partition' | 'region' | 'prefix' | 'bucketGeneration' | 'repositories' | 'accounts' | 'layoutRecord'>;

/** The record of `org`; where its StackSets live is `home` (deploy's, which knows it) or else what the file recorded. */
export function recordOf(org: RecordSource, home?: StackSetsHome): RecordedOrg {
  const idOf = new Map(org.accounts.map((a) => [a.name, a.id]));
  const stackSetsHome = home ?? org.layoutRecord?.stackSetsHome;
  return {
    partition: org.partition,
    region: org.region,
    prefix: org.prefix,
    bucketGeneration: org.bucketGeneration,
    repositories: new Map(org.repositories.map((r) => [r.name, idOf.get(r.account) ?? r.account])),
    ...(stackSetsHome ? { stackSetsHome: { account: stackSetsHome.account, region: stackSetsHome.region, ...(stackSetsHome.permissionModel ? { permissionModel: stackSetsHome.permissionModel } : {}) } } : {}),
  };
}

/**
 * `parameters/example.yaml` → `parameters/example.layout.json`: beside the org file, not matched by the org files'
 * `*.yaml`; named, as the output folder is, by the org file's name without its extension, whatever it is (`org.json` →
 * `org.layout.json`, review s30-cli m11).
 */
export const layoutPath = (orgFile: string): string => {
  // An org file given through a symbolic link has its layout beside the file it links to, not beside the link: one
  // record of the org's placement however it is named (review s50-input m7).
  const file = linkedFile(orgFile);
  return join(dirname(file), `${basename(file, extname(file))}.layout.json`);
};

/** The file a symbolic link names, relative to the working folder as the link was; the path itself for any other. */
function linkedFile(path: string): string {
  try {
    if (!lstatSync(path).isSymbolicLink()) return path;
    const real = realpathSync(path);
    return isAbsolute(path) ? real : relative(process.cwd(), real);
  } catch {
    return path;
  }
}

/** The line (from 1) of `text` at `index`, and its column in characters (from 1). */
const lineAt = (text: string, index: number) => text.slice(0, index).split('\n').length;
const columnAt = (text: string, index: number) => [...text.slice(text.lastIndexOf('\n', index - 1) + 1, index)].length + 1;

/** YAML's two extensions, in any case: compile's default finds parameters/*.yaml and *.yml. */
const YAML_EXTENSIONS: readonly string[] = ['.yaml', '.yml'];
/**
 * The extensions an org file may have, in any case: YAML's two, and JSON's (JSON is YAML). A YAML org file is held
 * apart from another YAML file of its name, a JSON one from any of them (sameNameProblem): a JSON file beside a YAML
 * org file may be anything (a CloudFormation parameters file), so it refuses only its own compile (review s46-diff m1).
 */
export const ORG_FILE_EXTENSIONS: readonly string[] = [...YAML_EXTENSIONS, '.json'];

/**
 * The names in `orgFile`'s folder; in one that may be entered but not listed (mode 0711), the names the org file's
 * stem takes with the extensions as written (review s38-delta D6).
 */
function siblingNames(orgFile: string, stem: string): string[] {
  try {
    return readdirSync(dirname(orgFile));
  } catch {
    return [...YAML_EXTENSIONS, extname(orgFile)].map((e) => `${stem}${e}`).filter((name) => existsSync(join(dirname(orgFile), name)));
  }
}

/**
 * Another org file beside `orgFile` of its name with another extension (`example.yml` beside `example.yaml`): the
 * two would read and write one layout file and compile to one folder (review s38-cli M2), so either is refused while
 * the other is there, whether or not both are compiled. The same file under another name (a link, or a file system
 * that ignores case) is none.
 */
export function sameNameProblem(orgFile: string): XstackError | undefined {
  const extension = extname(orgFile);
  const stem = basename(orgFile, extension);
  const self = statSync(orgFile, { throwIfNoEntry: false });
  // Any case of the extensions (example.YAML beside example.yaml), the file's own too (review s38-helpers-diff H6).
  const named = (name: string) => basename(name, extname(name)) === stem && [...YAML_EXTENSIONS, extension.toLowerCase()].includes(extname(name).toLowerCase());
  const other = siblingNames(orgFile, stem)
    .filter((name) => name !== basename(orgFile) && named(name))
    .sort()
    .map((name) => join(dirname(orgFile), name))
    .find((f) => {
      const stat = statSync(f, { throwIfNoEntry: false });
      return stat !== undefined && stat.isFile() && !(self && stat.dev === self.dev && stat.ino === self.ino);
    });
  if (!other) return undefined;
  const layout = layoutPath(orgFile);
  return new XstackError(
    'ORG_FILE_NAME',
    `${orgFile} and ${other} have one name without their extension, so they would compile to one folder (<out>/${stem}/) and read and write one layout file, ${layout}: ` +
      `rename one of them (and if ${layout} holds that one's layout, rename it with it, to <new name>.layout.json)`,
  );
}

const ABOUT = 'Which part (StackSet) of each family holds each unit. Written by xstack compile and deploy; commit it with the org file: later compiles keep every unit in its part.';

/**
 * The file's text: deterministic (families, parts and each part's units in
 * order; units by key, so that reordering the org file changes nothing here),
 * one unit a line, so a diff shows each placement.
 */
export function layoutText(layout: Layout, org?: RecordedOrg): string {
  const families = [...layout.keys()].sort();
  const familyText = (id: string) => {
    const parts = [...layout.get(id)!].sort(([a], [b]) => a - b);
    const partText = ([n, units]: [number, readonly string[]]) => `      "${n}": [\n${[...units].sort().map((u) => `        ${JSON.stringify(u)}`).join(',\n')}\n      ]`;
    return `    ${JSON.stringify(id)}: {\n${parts.map(partText).join(',\n')}\n    }`;
  };
  return `{\n  "format": ${JSON.stringify(LAYOUT_FORMAT)},\n  "about": ${JSON.stringify(ABOUT)},\n${org ? recordText(org) : ''}  "families": {\n${families.map(familyText).join(',\n')}\n  }\n}\n`;
}

/** The org's record, one field a line and one repository a line (by name). */
function recordText(org: RecordedOrg): string {
  const repositories = [...org.repositories].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, account]) => `      ${JSON.stringify(name)}: ${JSON.stringify(account)}`);
  const fields = [
    `    "partition": ${JSON.stringify(org.partition)}`,
    `    "region": ${JSON.stringify(org.region)}`,
    `    "prefix": ${JSON.stringify(org.prefix)}`,
    `    "bucketGeneration": ${org.bucketGeneration}`,
    ...(org.stackSetsHome ? [`    "administratorAccount": ${JSON.stringify(org.stackSetsHome.account)}`, `    "stackSetsRegion": ${JSON.stringify(org.stackSetsHome.region)}`] : []),
    ...(org.stackSetsHome?.permissionModel ? [`    "stackSetsPermissionModel": ${JSON.stringify(org.stackSetsHome.permissionModel)}`] : []),
    repositories.length === 0 ? '    "repositories": {}' : `    "repositories": {\n${repositories.join(',\n')}\n    }`,
  ];
  return `  "org": {\n${fields.join(',\n')}\n  },\n`;
}

/** The layout beside an org file; none when there is no such file (a first compile: family.ts packs in file order). */
export function readLayout(orgFile: string): LayoutFile | undefined {
  const sameName = sameNameProblem(orgFile);
  if (sameName) throw sameName;
  const file = layoutPath(orgFile);
  if (!existsSync(file)) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new XstackError('LAYOUT_UNREADABLE', `cannot read the layout file ${file}: ${why}; it is the file xstack compile writes beside ${orgFile} (move it away, and the next compile packs every family afresh)`);
  }
  return parseLayoutFile(text, file);
}

/** The parts a layout file records (parseLayoutFile: and the org's record). */
export const parseLayout = (text: string, file: string): Layout => parseLayoutFile(text, file).families;

/** Every problem of a layout file at once, each naming the file, line and field. */
export function parseLayoutFile(text: string, file: string): LayoutFile {
  const fix = `the file as xstack compile writes it (or delete it: the next compile writes it afresh, and units of a family with several parts may then move)`;
  // A merge of two branches that each placed units: keep both sides' units, not a new file (which would re-pack the org).
  const conflict = CONFLICT_MARKERS.exec(text);
  if (conflict) {
    const line = lineAt(text, conflict.index);
    throw new OrgFileError(
      [{ file, line, field: '(file)', message: 'holds an unresolved merge conflict (git)', expected: "both sides' units kept: remove the conflict markers keeping every unit either side placed (a unit in two parts: the part of the branch deployed first), then compile" }],
      'the layout file',
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const at = /position (\d+)/.exec((error as Error).message);
    // Its line and column, from the parser's position (review s46-cli N2: the column was always 1).
    const place = at ? { line: lineAt(text, Number(at[1])), column: columnAt(text, Number(at[1])) } : {};
    throw new OrgFileError([{ file, ...place, field: '(file)', message: `not JSON: ${(error as Error).message}`, expected: fix }], 'the layout file');
  }
  const problems: Problem[] = [];
  // JSON.parse keeps the last of two equal keys: a family or part number written twice would lose units unseen.
  for (const d of duplicateKeys(text)) {
    problems.push({ file, line: d.line, field: [...d.path, d.key].join('.'), message: `appears twice in ${d.path.length > 0 ? d.path.join('.') : 'the file'} (first on line ${d.firstLine}), and JSON keeps only the last`, expected: 'each key once: merge the two into one' });
  }
  /** The line of the last of `needles`, each looked for after the one before (a family's key, then a part's, then a unit). */
  const lineOf = (needles: readonly string[]) => {
    let i = 0;
    for (const needle of needles) {
      i = text.indexOf(needle, i);
      if (i < 0) return {};
    }
    // The column too: the key's or the unit's, not the line's start (review s50-input N3).
    return { line: lineAt(text, i), column: columnAt(text, i) };
  };
  const problem = (field: string, message: string, expected: string, ...needles: string[]) => problems.push({ file, ...lineOf(needles), field, message, expected });
  const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObject(data)) throw new OrgFileError([{ file, line: 1, field: '(file)', message: 'not a JSON object', expected: fix }], 'the layout file');
  if (data.format !== LAYOUT_FORMAT) problem('format', data.format === undefined ? 'is missing' : `is ${JSON.stringify(data.format)}`, `"${LAYOUT_FORMAT}"`, '"format"');
  const layout = new Map<string, Map<number, string[]>>();
  if (!isObject(data.families)) problem('families', 'is missing or not an object', 'an object of family id → parts', '"families"');
  else {
    for (const [family, parts] of Object.entries(data.families)) {
      // A family xstack does not make (a typo, a hand edit) would be dropped whole and its units placed anew, in other
      // StackSets than the ones they are deployed in (review s50-input M3).
      if (!(FAMILY_STAGE_IDS as readonly string[]).includes(family)) {
        problem(`families.${family}`, 'is not a family xstack lays out', `one of ${FAMILY_STAGE_IDS.join(', ')}`, '"families"', JSON.stringify(family));
        continue;
      }
      if (!isObject(parts)) {
        problem(`families.${family}`, 'is not an object', 'an object of part number → unit keys', '"families"', JSON.stringify(family));
        continue;
      }
      const byNumber = new Map<number, string[]>();
      const partOf = new Map<string, string>();
      for (const [number, units] of Object.entries(parts)) {
        const field = `families.${family}.${number}`;
        const at = ['"families"', JSON.stringify(family), JSON.stringify(number)];
        if (!/^[1-9]\d{0,3}$/.test(number)) problem(field, 'is not a part number', 'a whole number from 1', ...at);
        else if (!Array.isArray(units) || units.length === 0 || !units.every((u) => typeof u === 'string' && u.length > 0)) problem(field, 'is not a list of unit keys', 'a non-empty list of strings such as "pipeline web-app"', ...at);
        else {
          for (const unit of units as string[]) {
            const other = partOf.get(unit);
            if (other !== undefined) problem(field, other === number ? `names unit ${JSON.stringify(unit)} twice` : `names unit ${JSON.stringify(unit)}, which part ${other} names too`, 'each unit in one part', ...at, JSON.stringify(unit));
            partOf.set(unit, number);
          }
          byNumber.set(Number(number), units as string[]);
        }
      }
      layout.set(family, byNumber);
    }
  }
  // The org's record: absent from a file an earlier xstack wrote (the next compile adds it).
  let org: RecordedOrg | undefined;
  if ('org' in data) {
    const o = data.org;
    if (!isObject(o)) problem('org', 'is not an object', 'an object of partition, region, prefix, bucketGeneration and repositories', '"org"');
    else {
      const text = (key: string) => {
        if (typeof o[key] === 'string' && (o[key] as string).length > 0) return o[key] as string;
        problem(`org.${key}`, `is ${JSON.stringify(o[key])}`, 'a non-empty string', '"org"', `"${key}"`);
        return undefined;
      };
      const [partition, region, prefix] = [text('partition'), text('region'), text('prefix')];
      const generation = o.bucketGeneration;
      if (!Number.isInteger(generation) || (generation as number) < 1) problem('org.bucketGeneration', `is ${JSON.stringify(generation)}`, 'a whole number from 1', '"org"', '"bucketGeneration"');
      const repositories = new Map<string, string>();
      if (!isObject(o.repositories)) problem('org.repositories', 'is missing or not an object', 'an object of repository name → source account id', '"org"', '"repositories"');
      else {
        for (const [name, account] of Object.entries(o.repositories)) {
          if (typeof account === 'string' && /^\d{12}$/.test(account)) repositories.set(name, account);
          else problem(`org.repositories.${name}`, `is ${JSON.stringify(account)}`, 'the 12-digit id of the source account that holds it', '"org"', '"repositories"', JSON.stringify(name));
        }
      }
      const stackSetsHome = homeOf(o, problem);
      if (partition && region && prefix && Number.isInteger(generation) && stackSetsHome !== null) {
        org = { partition, region, prefix, bucketGeneration: generation as number, repositories, ...(stackSetsHome ? { stackSetsHome } : {}) };
      }
    }
  }
  if (problems.length > 0) throw new OrgFileError(problems, 'the layout file');
  return org ? { families: layout, org } : { families: layout };
}

/**
 * `org.administratorAccount` and `org.stackSetsRegion`, both or neither (a file no deploy has recorded them in yet, or
 * one whose org was moved on purpose: README); null after a problem.
 */
function homeOf(o: Record<string, unknown>, problem: (field: string, message: string, expected: string, ...needles: string[]) => void): StackSetsHome | undefined | null {
  const { administratorAccount: account, stackSetsRegion: region } = o;
  if (account === undefined && region === undefined) return undefined;
  const both = 'both written by deploy: the 12-digit id of the administrator account and the Region the StackSets were created in (or neither: the next deploy records them)';
  let ok = true;
  if (typeof account !== 'string' || !/^\d{12}$/.test(account)) {
    problem('org.administratorAccount', `is ${JSON.stringify(account)}`, both, '"org"', account === undefined ? '"stackSetsRegion"' : '"administratorAccount"');
    ok = false;
  }
  if (typeof region !== 'string' || region.length === 0) {
    problem('org.stackSetsRegion', `is ${JSON.stringify(region)}`, both, '"org"', region === undefined ? '"administratorAccount"' : '"stackSetsRegion"');
    ok = false;
  }
  const model = o.stackSetsPermissionModel;
  if (model !== undefined && model !== 'SELF_MANAGED' && model !== 'SERVICE_MANAGED') {
    problem('org.stackSetsPermissionModel', `is ${JSON.stringify(model)}`, 'SELF_MANAGED or SERVICE_MANAGED, as deploy writes it (or none: the next deploy records it)', '"org"', '"stackSetsPermissionModel"');
    ok = false;
  }
  return ok ? { account: account as string, region: region as string, ...(model ? { permissionModel: model as StackSetsHome['permissionModel'] } : {}) } : null;
}

/** Equal records: what the file holds of the org is what this compile would write. */
const sameRecord = (a: RecordedOrg | undefined, b: RecordedOrg) => a !== undefined && recordText(a) === recordText(b);

/**
 * The line and column of the first match of each pattern, each looked for after the one before (e.g. `organization:`,
 * then `region:`): the column of the key, past the match's leading spaces (review s50-input N3).
 */
function placeIn(text: string, ...patterns: RegExp[]): { line: number; column: number } | undefined {
  let from = 0;
  let key = 0;
  for (const pattern of patterns) {
    const m = new RegExp(pattern.source, 'mg');
    m.lastIndex = from;
    const found = m.exec(text);
    if (!found) return undefined;
    from = found.index;
    key = from + (/^\s*/.exec(found[0])?.[0].length ?? 0);
  }
  // The key's own line: a pattern's leading \s may take in blank lines before it.
  return { line: lineAt(text, key), column: columnAt(text, key) };
}

/**
 * A deployed org cannot be renamed or moved: an org file whose prefix,
 * partition or region is not what the layout file beside it records (the
 * compile before, which deploy also wrote) is refused, each field named. The
 * StackSets are found by prefix, so a new prefix starts a second org beside the
 * running one; IAM names are account-global, so the same names in another
 * region collide; repositories are regional, so they would be created empty.
 */
export function movedOrgProblems(org: Pick<Org, 'file' | 'partition' | 'region' | 'prefix'>, recorded: RecordedOrg, text: string): Problem[] {
  const file = layoutPath(org.file);
  const wayOut = `'%s' as ${file} records; to change it, \`xstack destroy\` with the old org file first (the repositories stay in their accounts: see the README's "destroy, then deploy"), then delete ${file} and compile again; if this org was never deployed, delete ${file}`;
  const moved = "its IAM names are account-global, so the roles in the new place collide with the deployed ones, and repositories are regional, so they would be created empty there";
  const fields: Array<[string, string, string, string, RegExp[]]> = [
    ['prefix', org.prefix, recorded.prefix, "its StackSets are found by prefix, so the deployed ones would stay and keep running beside a second org", [/^prefix\s*:/]],
    ['organization.partition', org.partition, recorded.partition, moved, [/^organization\s*:/, /^\s+partition\s*:/]],
    ['organization.region', org.region, recorded.region, moved, [/^organization\s*:/, /^\s+region\s*:/]],
  ];
  return fields
    .filter(([, now, was]) => now !== was)
    .map(([field, now, was, why, patterns]) => {
      return {
        file: org.file,
        ...placeIn(text, ...patterns),
        field,
        message: `is '${now}', but the layout file ${file} records '${was}' from an earlier compile: xstack cannot rename or move a deployed org (${why})`,
        expected: wayOut.replace('%s', was),
      };
    });
}

/**
 * A run whose credentials or Region are not where the layout file records the org's StackSets, refused before any
 * read of them (deployer.ts startRun), as a moved org is (movedOrgProblems): from there none of them would be found,
 * so plan would list each as new and deploy create each again beside the running ones, their instances colliding on
 * every custom name. Undefined when the run is where the record says.
 */
export function stackSetsElsewhereError(org: Pick<Org, 'file' | 'stackSets'>, recorded: StackSetsHome, now: StackSetsHome): XstackError | undefined {
  const file = layoutPath(org.file);
  const differs = [
    recorded.account === now.account ? '' : `as account ${now.account} (its credentials: another --profile or role?)`,
    recorded.region === now.region ? '' : `in Region ${now.region} (--region, else the org file's organization.region)`,
  ].filter(Boolean);
  if (differs.length === 0) return otherPermissionModelError(org, recorded, file);
  return new XstackError(
    'STACKSETS_ELSEWHERE',
    `nothing was changed: the layout file ${file} records that the StackSets of ${org.file} ${whereFrom(org)} ${recorded.account}, Region ${recorded.region} ` +
      `(org.administratorAccount, org.stackSetsRegion, recorded by deploy), but this run is ${differs.join(' and ')}. ` +
      `StackSets belong to the account and Region that created them (CreateStackSet: "The name must be unique in the Region where you create your stack set", ${CREATE_STACK_SET}): ` +
      `from here none of the org's would be found, and deploy would create every one again beside the running ones. ` +
      `Run with credentials of account ${recorded.account} and --region ${recorded.region}. If the org has really moved: destroy it from there first, ` +
      `then delete "administratorAccount" and "stackSetsRegion" from ${file} and deploy (which records where it runs); if nothing of it was ever deployed there, just delete those two lines` +
      (org.stackSets.permissionModel === 'SERVICE_MANAGED' ? `. ${SERVICE_MANAGED_REACH}` : ''),
  );
}

const CREATE_STACK_SET = 'https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html';

/**
 * The org file's permission model is not the one the layout file records its StackSets were created with (StackSetsHome):
 * from a delegated administrator the run would not list them, and deploy would create each again beside them, its
 * instances colliding on every custom name (review s42-day2 D1). From the management account the stages would each be
 * refused as the deployer reads them (deployer.ts permissionModelText); refused here, before any read, either way.
 */
function otherPermissionModelError(org: Pick<Org, 'file' | 'stackSets'>, recorded: StackSetsHome, file: string): XstackError | undefined {
  const wanted = org.stackSets.permissionModel;
  if (recorded.permissionModel === undefined || recorded.permissionModel === wanted) return undefined;
  return new XstackError(
    'STACKSETS_ELSEWHERE',
    `nothing was changed: the layout file ${file} records that the StackSets of ${org.file} were created ${recorded.permissionModel} (org.stackSetsPermissionModel, recorded by deploy), and the org file says ${wanted}. ` +
      `AWS cannot change the permission model of a StackSet with instances, and a run with the other model may not even list them (ListStackSets: self-managed ones with CallAs SELF, service-managed ones with DELEGATED_ADMIN from a delegated administrator), so deploy would create every one again beside the running ones. ` +
      `To change it: run destroy with the org file as it was (stackSets.permissionModel: ${recorded.permissionModel}), then delete "stackSetsPermissionModel" from ${file} and deploy`,
  );
}

/**
 * What the recorded account is to the StackSets: SELF_MANAGED ones live in it; SERVICE_MANAGED ones live in the
 * management account whoever deploys them, so the record is the account they are deployed from (the management account
 * or a delegated administrator, CallAs in CREATE_STACK_SET; review s19 m6).
 */
const whereFrom = (org: Pick<Org, 'stackSets'>) => (org.stackSets.permissionModel === 'SERVICE_MANAGED' ? 'are deployed from account' : 'live in administrator account');

// CreateStackSet, CallAs: "StackSets with service-managed permissions are created in the management account, including
// StackSets that are created by delegated administrators" (CREATE_STACK_SET).
const SERVICE_MANAGED_REACH =
  'SERVICE_MANAGED StackSets are held by the management account and reached from it (callAs: SELF) or from a delegated administrator (DELEGATED_ADMIN): ' +
  'if this run should reach them as they are, set callAs, delete those two lines, then plan, which shows whether it finds them';

const DELETION_POLICY = 'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html';

/**
 * What this compile changes against the layout file's record that a deploy
 * would do quietly, said as notes (nothing refused): a repository gone from
 * the org file (kept in its account with its history, outside the stack), one
 * that looks renamed (a new one in the same account: created empty), one moved
 * to another account, and a new bucket generation on a live org.
 */
export function recordedChangeNotes(org: Org): string[] {
  if (!org.layout) return [];
  const recorded = org.layoutRecord;
  const nameOf = new Map(org.accounts.map((a) => [a.id, a.name]));
  const idOf = new Map(org.accounts.map((a) => [a.name, a.id]));
  const account = (id: string) => (nameOf.has(id) ? `account ${nameOf.get(id)} (${id})` : `account ${id}`);
  // From a file without the record: the repositories its parts place, their accounts unknown.
  const before: ReadonlyMap<string, string | undefined> =
    recorded?.repositories ??
    new Map(
      [...(org.layout.get('source-repositories') ?? new Map<number, readonly string[]>()).values()]
        .flat()
        .filter((u) => u.startsWith('repository '))
        .map((u) => [u.slice('repository '.length), undefined]),
    );
  const now = new Map(org.repositories.map((r) => [r.name, idOf.get(r.account) ?? r.account]));
  const notes: string[] = [];
  // Renamed in place (renamedFrom): each name the record has and the org file no longer does, paired with the renamed
  // repository of the same account that now has a new name: its first name, or the one such name left (a second rename).
  const renamedTo = new Map<string, Org['repositories'][number]>();
  // Renamed and moved at once: its first name is recorded in another account. The unit (and logical id) stays its
  // first name's, so this is a move: created empty where it goes, kept where it was (review s42-day2 D5).
  const movedFrom = (r: Org['repositories'][number]) => {
    const was = r.renamedFrom === undefined || before.has(r.name) ? undefined : before.get(r.renamedFrom);
    return was !== undefined && was !== now.get(r.name) ? was : undefined;
  };
  const renamedAway = new Map(org.repositories.filter((r) => movedFrom(r) !== undefined).map((r) => [r.renamedFrom!, r]));
  // A rename in place keeps its first name's unit (plan.ts keys it by deployedName): one the parts did not place was
  // never deployed under that name, and the repository is created new.
  const placed = new Set([...(org.layout.get('source-repositories') ?? new Map<number, readonly string[]>()).values()].flat());
  for (const r of org.repositories) {
    if (r.renamedFrom === undefined || before.has(r.name) || !placed.has(`repository ${r.renamedFrom}`)) continue;
    const id = now.get(r.name)!;
    if (movedFrom(r) !== undefined) continue;
    const gone = [...before].filter(([name, was]) => !now.has(name) && !renamedTo.has(name) && (was === undefined || was === id)).map(([name]) => name);
    const previous = gone.includes(r.renamedFrom) ? r.renamedFrom : gone.length === 1 ? gone[0] : undefined;
    if (previous === undefined) continue;
    renamedTo.set(previous, r);
    notes.push(
      `repository ${previous} is renamed ${r.name} in place: CloudFormation updates its RepositoryName (CodeCommit's UpdateRepositoryName), so its history, branches and settings stay; keep renamedFrom: ${r.renamedFrom} in the org file for as long as it exists (its logical id is that name's), and point clones at the new name (git remote set-url)`,
    );
  }
  const added = [...now].filter(([name]) => !before.has(name) && ![...renamedTo.values(), ...renamedAway.values()].some((r) => r.name === name));
  const kept = `CloudFormation takes it out of its stack but keeps it in its account, with its history (DeletionPolicy RetainExceptOnCreate: ${DELETION_POLICY})`;
  for (const [name, was] of [...before].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const is = now.get(name);
    if (renamedTo.has(name)) continue;
    const away = renamedAway.get(name);
    if (away !== undefined) {
      const to = account(now.get(away.name)!);
      notes.push(
        `repository ${name} is renamed ${away.name} and moves from ${account(was!)} to ${to}: renamedFrom renames in place within one account only, so xstack creates ${away.name} empty in ${to} (the history is not moved), and in ${account(was!)} ${kept}; ` +
          `keep renamedFrom: ${name} in the org file for as long as ${away.name} exists (its logical id is that name's), and push the history to the new one (git push --mirror) before retiring ${name}; until this is deployed, give it back its account to rename it in place`,
      );
      continue;
    }
    if (is === undefined) {
      const renamed = was === undefined ? [] : added.filter(([, id]) => id === was).map(([n]) => n);
      const rename =
        renamed.length === 0
          ? ''
          : `; with ${renamed.map((n) => `repository ${n}`).join(', ')} new in the same account this looks like a rename: xstack creates ${renamed.length === 1 ? 'it' : 'them'} empty (the history is not moved): to rename it in place instead, give ${renamed.length === 1 ? `repository ${renamed[0]}` : 'the new one'} renamedFrom: ${name}; else rename it back in the org file, or push the history to the new one (git push --mirror) before retiring ${name}`;
      notes.push(`repository ${name}${was ? ` in ${account(was)}` : ''} leaves the org file: ${kept}; adding it back later fails on "repository name already exists" until it is deleted or imported into the stack by hand${rename}`);
    } else if (was !== undefined && is !== was) {
      notes.push(
        `repository ${name} moves from ${account(was)} to ${account(is)}: xstack creates it empty in ${account(is)} (the history is not moved; a repository of that name ${account(is)} still holds, kept from an earlier move or removal, is named by plan and deploy, which refuse the update until it is deleted or imported into the stack), and in ${account(was)} ${kept}: until this is deployed, move it back in the org file; once deployed, moving it back meets the one kept in ${account(was)} the same way, so push the history to the new one (git push --mirror) before retiring the old`,
      );
    }
  }
  if (recorded && recorded.bucketGeneration !== org.bucketGeneration) {
    notes.push(
      `bucketGeneration changes from ${recorded.bucketGeneration} (as ${layoutPath(org.file)} records) to ${org.bucketGeneration}: on a live org this replaces every pipeline account's artifact and access-log buckets (new names), leaving the current ones with their data; it is meant for a deploy after a destroy (README "destroy, then deploy")`,
    );
  }
  return notes;
}

/** Keys an object of a JSON text holds twice, with both lines (the text is valid JSON: JSON.parse read it). */
export function duplicateKeys(text: string): Array<{ path: string[]; key: string; line: number; firstLine: number }> {
  const found: Array<{ path: string[]; key: string; line: number; firstLine: number }> = [];
  /** An object (its keys at their offsets, whether a key comes next) or an array (its next index). */
  const stack: Array<{ path: string[]; keys?: Map<string, number>; keyNext: boolean; last: string }> = [];
  // Strings whole, and the characters that open, close and separate: what JSON's structure is made of.
  const token = /"(?:[^"\\]|\\.)*"|[{}[\],]/g;
  for (let m = token.exec(text); m; m = token.exec(text)) {
    const t = m[0];
    const top = stack[stack.length - 1];
    if (t[0] === '"') {
      if (!top?.keys || !top.keyNext) continue;
      const key = t.includes('\\') ? (JSON.parse(t) as string) : t.slice(1, -1);
      const first = top.keys.get(key);
      if (first !== undefined) found.push({ path: top.path, key, line: lineAt(text, m.index), firstLine: lineAt(text, first) });
      else top.keys.set(key, m.index);
      top.last = key;
      top.keyNext = false;
    } else if (t === '{' || t === '[') {
      const path = top ? [...top.path, top.last] : [];
      stack.push(t === '{' ? { path, keys: new Map(), keyNext: true, last: '' } : { path, keyNext: false, last: '0' });
    } else if (t === '}' || t === ']') stack.pop();
    else if (top?.keys) top.keyNext = true;
    else if (top) top.last = String(Number(top.last) + 1);
  }
  return found;
}

/**
 * Records a compile's layout beside its org file when the file does not hold
 * it yet (atomically: a reader sees the old file or the new one). `frozen`
 * (compile and deploy --frozen-layout, for CI): a layout that would change is
 * an error instead, naming what the file does not record (and, for a deploy,
 * that nothing was changed in AWS; compile's own line says what it left of
 * its output folder). A file in a checkout xstack may not write (read-only)
 * is a warning, not a failed compile: the compile's output does not depend on
 * the write (a read-only checkout whose layout is current writes nothing); a
 * write that fails all the same (a full disk) throws, before anything else is
 * replaced.
 */
export function recordLayout(
  org: RecordSource & { readonly file: string; readonly layout?: Layout },
  compiled: Layout,
  options: { frozen?: boolean; home?: StackSetsHome; command?: 'compile' | 'deploy' } = {},
): { message?: string; warning?: string } {
  const file = layoutPath(org.file);
  // --frozen-layout writes nothing: where the StackSets live, not recorded yet, stays so (said), and is not a change refused.
  const record = recordOf(org, options.frozen ? undefined : options.home);
  const change = layoutChange(org.layout, compiled) ?? (sameRecord(org.layoutRecord, record) ? undefined : { count: recordChange(org.layoutRecord, record), named: '' });
  if (!change) {
    if (!options.frozen || !options.home) return {};
    if (!record.stackSetsHome) return { message: homeNotRecordedNote(file, options.home) };
    // A record written before the permission model was recorded gains it at a deploy that may write (review s43-mutations-5 F1).
    return record.stackSetsHome.permissionModel === undefined && options.home.permissionModel !== undefined ? { message: modelNotRecordedNote(file, options.home.permissionModel) } : {};
  }
  const what = change.count;
  if (options.frozen) {
    throw new XstackError(
      'LAYOUT_OUT_OF_DATE',
      `${org.layout ? `the layout file ${file} does not hold this compile` : `there is no layout file ${file}`}: ${what}${change.named}; ${options.command === 'deploy' ? 'nothing was changed in AWS: ' : ''}run xstack compile ${org.file} without --frozen-layout and commit ${file}${options.command === 'deploy' ? ', then deploy' : ''}`,
    );
  }
  // A checkout xstack may not write (a read-only file or folder: a compile in a read-only clone) is warned of, and the
  // command goes on (compile) or stops (deploy); a write that fails there all the same (a full disk, an I/O error)
  // throws, before any dist/ is swapped (review s46-cli m1: it was a warning, exit 0, and dist/'s manifest recorded a
  // layout the disk did not hold).
  // Checked where the write goes: a layout file that is a link, at the file it leads to (review s46-diff n7: a link
  // into a folder xstack may not write passed the check of its own folder, and the write failed the compile).
  const unwritable = fileTargetProblem(linkTarget(file) ?? file, 'the layout file');
  // "the org's units", not "them", which read wrong after "1 unit placed" (review s50-input N5).
  if (unwritable) return { warning: `warning: ${unwritable}; this compile has ${what}, and a later compile may place the org's units elsewhere: write the file from a writable checkout and commit it` };
  try {
    writeFileAtomic(file, layoutText(compiled, record), 'the layout file');
  } catch (error) {
    // An OutputError names the file and why ("could not write FILE (no space left on the device); it was left as it was").
    throw error instanceof OutputError ? new OutputError(`${error.message}: it would record this compile's ${what}`) : error;
  }
  return { message: `layout: wrote ${file} (${what}); commit it with ${org.file}: later compiles keep each unit in the part it records` };
}

/** What the file's record of the org lacks of this compile's, in words (its parts hold the compile). */
function recordChange(recorded: RecordedOrg | undefined, now: RecordedOrg): string {
  if (!recorded) return "the org's partition, region, prefix, bucketGeneration and repositories' accounts, which the file did not record yet";
  if (recorded.bucketGeneration !== now.bucketGeneration) return `bucketGeneration ${recorded.bucketGeneration} → ${now.bucketGeneration}`;
  if (!recorded.stackSetsHome && now.stackSetsHome) return `where the StackSets live, administrator account ${now.stackSetsHome.account} and Region ${now.stackSetsHome.region}, recorded`;
  if (!recorded.stackSetsHome?.permissionModel && now.stackSetsHome?.permissionModel) return `the permission model the StackSets were created with, ${now.stackSetsHome.permissionModel}, recorded`;
  return "the repositories' accounts recorded";
}

/**
 * plan's note when the layout file does not record what only deploy records (where the StackSets live, their
 * permission model): the next deploy writes the file even when nothing else changes (review s43-plan m4).
 */
export function unrecordedHomeNote(org: { readonly file: string; readonly layoutRecord?: RecordedOrg | null }): string | undefined {
  const home = org.layoutRecord?.stackSetsHome;
  if (home?.permissionModel !== undefined) return undefined;
  const what = home ? 'the permission model the StackSets were created with' : 'where the StackSets live (administrator account, Region, permission model)';
  return `note: ${layoutPath(org.file)} does not record ${what}: the next deploy writes it (without --frozen-layout), even with nothing else to change; commit it then`;
}

/** deploy --frozen-layout with a record of where the StackSets live but not of their permission model: not written, and said (review s43-mutations-5 F1). */
const modelNotRecordedNote = (file: string, model: NonNullable<StackSetsHome['permissionModel']>) =>
  `note: ${file} does not record the permission model the StackSets were created with (${model}), and --frozen-layout writes nothing: ` +
  `deploy once without --frozen-layout and commit the file, so that a later run with the other permission model is refused before it creates the org's StackSets again`;

/** deploy --frozen-layout with a layout file that does not say where the StackSets live: not written, and said. */
const homeNotRecordedNote = (file: string, home: StackSetsHome) =>
  `note: ${file} does not record where the StackSets live (administrator account ${home.account}, Region ${home.region}), and --frozen-layout writes nothing: ` +
  `deploy once without --frozen-layout and commit the file, so that a later run with other credentials or another --region is refused before it creates the org's StackSets again`;

/**
 * What a layout as read (none: no file) lacks of a compile's, in words: how
 * many units it does not place where the compile does, and the first three
 * named; none when it holds the compile. Read by what it says, not its bytes:
 * a file only reformatted (CRLF line ends from a checkout) holds it.
 */
export function layoutChange(recorded: Layout | undefined, compiled: Layout): { count: string; named: string } | undefined {
  if (recorded !== undefined && layoutText(recorded) === layoutText(compiled)) return undefined;
  const placed = unrecordedPlacements(recorded, compiled);
  // Each recorded key no unit of the org has, named: a unit gone from the org file, or a key edited by hand whose unit is
  // then placed anew (review s50-input M3).
  const dropped = droppedUnits(recorded, compiled);
  const droppedText = dropped.length === 0 ? '' : `${dropped.length} recorded unit${dropped.length === 1 ? '' : 's'} no unit of the org file has, dropped (${dropped.slice(0, 3).join('; ')}${dropped.length > 3 ? '; …' : ''})`;
  if (placed.length === 0) return { count: dropped.length > 0 ? droppedText : 'units gone from the org file', named: '' };
  return { count: `${placed.length} unit${placed.length === 1 ? '' : 's'} placed`, named: ` (${placed.slice(0, 3).join('; ')}${placed.length > 3 ? '; …' : ''})${droppedText ? `; ${droppedText}` : ''}` };
}

/** The recorded units the compiled layout holds in no part of their family: `<family> part <n>: <key>`. */
function droppedUnits(recorded: Layout | undefined, compiled: Layout): string[] {
  const out: string[] = [];
  for (const [family, parts] of recorded ?? []) {
    const kept = new Set([...(compiled.get(family)?.values() ?? [])].flat());
    for (const [n, units] of parts) for (const u of units) if (!kept.has(u)) out.push(`${family} part ${n}: ${u}`);
  }
  return out;
}

/** Units the compiled layout places where `recorded` (the file as read) does not: placed anew, or moved. */
export function unrecordedPlacements(recorded: Layout | undefined, compiled: Layout): string[] {
  const partIn = (layout: Layout | undefined, family: string) => {
    const parts = new Map<string, number>();
    for (const [n, units] of layout?.get(family) ?? []) for (const u of units) parts.set(u, n);
    return parts;
  };
  const changes: string[] = [];
  for (const [family, parts] of compiled) {
    const before = partIn(recorded, family);
    for (const [n, units] of parts) {
      for (const u of units) {
        const was = before.get(u);
        if (was !== n) changes.push(`${family}: ${u} ${was === undefined ? 'placed in' : `moved from part ${was} to`} part ${n}`);
      }
    }
  }
  return changes;
}
