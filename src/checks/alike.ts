/**
 * Resources of a template that are alike but for the account they are made for: a family's unit repeated for each
 * pipeline account (`SourceRole<id>In<source>` and its managed policy, a thousand of each at 1,000 accounts), the same
 * JSON but for that member account's 12-digit id. A check of such a resource can be made once per class of alike
 * resources and its answer carried to the others, where the answer provably is the same: see `alikeResources` for
 * what makes two resources alike, and `AlikeResources` for what a check must be to use it.
 */
import type { CfnResource, CfnTemplate } from '../cfn/template';
import { logicalId as logicalIdOf } from '../cfn/resources';
import { replaceWhere, type Team, type Teams } from '../audit/teams';
import type { WrittenTemplate } from '../yaml';
import type { Resolver } from '../audit/resolve';
import { POLICY_PROPERTIES } from './documents';

/**
 * The sample account id service-authorization.ts writes for every account id of a value (and its ARN formats' samples
 * hold): a member whose id it is would be told from the others by it, so such a resource is never in a class.
 */
const SAMPLE_ACCOUNT = '123456789012';
/** Intrinsics whose answer is the same for every member when they name nothing by the member's id (`sameReferences`). */
const REFERENCES = new Set(['Ref', 'Fn::GetAtt', 'Fn::Sub', 'Fn::If', 'Condition']);

/**
 * A template's classes of alike resources. A check may take a member's answer from its class's first resource (in
 * template order) when what it reads of each is alike in the same way:
 * - it reads of a resource its type, Condition, metadata and policies (documents.ts `POLICY_PROPERTIES`), and through
 *   the template's resolver the values of its policies' expressions in the accounts the resource exists in; nothing
 *   else of the resource (not its names, its description, the roles a policy is attached to), not even its logical
 *   id but as the name its finding reads;
 * - it treats one 12-digit account id as any other: matched by pattern (`\d{12}`), compared with text of the same
 *   resource, or measured (every id has 12 digits, JSON escapes none), never compared with an account id or a
 *   constant from elsewhere, nor read digit by digit.
 * The members' policies then resolve alike in each account: they name the same parameters, conditions and
 * other resources (none by the member's id, `sameReferences`), and their texts differ only in the id.
 * Their names that grants.ts reads (`NAME_PROPERTIES`) are compared too, as texts only: their references are not
 * asked to be the same (a policy's `Roles` names its member's own role, by the id).
 */
export class AlikeResources {
  /** A class's member (not its first) → its class's first resource. */
  private readonly firstOf: ReadonlyMap<string, string>;
  /** The first resource of each class. */
  private readonly firsts: ReadonlySet<string>;
  /** The template's classes of resources alike up to their team (`TeamClasses`), kept apart from the classes by one id, which grants.ts reads. */
  private readonly teams: TeamClasses;

  constructor(firstOf: ReadonlyMap<string, string>, teams: TeamClasses = NO_TEAM_CLASSES) {
    this.firstOf = firstOf;
    this.firsts = new Set(firstOf.values());
    this.teams = teams;
  }

  /** How many resources take their class's answer (none when every resource stands alone). */
  get members(): number {
    return this.firstOf.size;
  }

  /** The first resource of a resource's class: itself when it is the first, or alone. */
  first(logicalId: string): string {
    return this.firstOf.get(logicalId) ?? logicalId;
  }

  /** How many resources take their answer from another team's, as `measuredAs` reads them (a separate count: `members` is grants.ts's). */
  get teamMembers(): number {
    return this.teams.firstOf.size;
  }

  /**
   * The resource whose policies' sizes a resource's are (iam-quotas.ts): its class's first (`first`), or where that is
   * a member of a class of resources alike up to their team, that class's first. Such a class's policies read nothing of
   * an account but its id, its partition and its Region (`TeamClasses`), and each tuple value has the first's length,
   * so the first's sizes, asked in a member's accounts, are the member's.
   */
  measuredAs(logicalId: string): string {
    const first = this.first(logicalId);
    return this.teams.firstOf.get(first) ?? first;
  }

  /**
   * For a check that finds problems resource by resource, in template order: `passed(id)` says that a resource need
   * not be checked, since it is a member of a class whose first resource was checked and found nothing;
   * `record(id, found)` records what the check found in a resource (call it for each of a resource's documents). A
   * class whose first resource has a finding is checked member by member, so that every finding reads as it would
   * alone, for its own resource, in the order it always had.
   */
  passes(neutralPasses?: NeutralProbe): { passed(logicalId: string): boolean; record(logicalId: string, found: boolean): void } {
    /** A class's first resource → whether it was found clean so far. */
    const clean = new Map<string, boolean>();
    /** A class of resources alike up to their team's first → whether its neutral resource passes the check (asked once). */
    const neutral = new Map<string, boolean>();
    const teams = this.teams;
    return {
      passed: (logicalId) => {
        const first = this.firstOf.get(logicalId) ?? logicalId;
        const teamFirst = teams.firstOf.get(first);
        if (teamFirst === undefined) return first !== logicalId && clean.get(first) === true;
        // Alike up to the team: only where the check says of the class's neutral resource what it said of its first.
        if (clean.get(teamFirst) !== true || !neutralPasses) return false;
        let passes = neutral.get(teamFirst);
        if (passes === undefined) neutral.set(teamFirst, (passes = neutralPasses(teamFirst, teams.neutral(teamFirst))));
        return passes;
      },
      record: (logicalId, found) => {
        if (this.firsts.has(logicalId) || teams.firsts.has(logicalId)) clean.set(logicalId, clean.get(logicalId) !== false && !found);
      },
    };
  }
}

/**
 * A check's answer for a class's neutral resource (`TeamClasses.neutral`), named as its first: whether it finds
 * nothing there. A check that passes no member of a class alike up to a team without it leaves it out of `passes`.
 */
export type NeutralProbe = (first: string, neutral: CfnResource) => boolean;

/**
 * A template's classes of resources alike up to their team (src/audit/teams.ts `findTeams`): a team's unit repeated for
 * each team (`T017Svc1PipelineRole`, `SourceRole<pipeline>In<source>`), the same text but for the team's tuple: its key
 * where teams.ts finds it as a word (`t017` in `big-t017-svc1`: after no letter or digit, before a hyphen), its key's
 * logical-id form where teams.ts finds it (`T017` in `RunsT017Svc1`: before no lowercase letter), and its account ids
 * (its source account's, then its pipeline accounts', each in its own place) where no digit is beside them. A class's
 * members have keys of the first's length (and logical-id forms likewise), and each member's text is the class's text
 * with its own tuple written in the placeholders' places (`teamMarked`): no text names another team
 * (`Teams.namedIn`, asked of each class's first; a member's text is its first's but for its tuple, and no team's key
 * or logical-id form overlaps another team's, `apartTeams`), none holds a value of its tuple but in those places (not
 * a key inside another word, not an id beside a digit), and no logical-id form stands beside a digit.
 *
 * What a check may read of a member to take its class's first's answer (beside what `AlikeResources` says of the id):
 * - the class's policies read nothing of an account but its id, its partition and its Region (`Ref` of those, a
 *   `Fn::Sub` text of only those, or an `Fn::ImportValue` of a fixed name whose value is one text in every account of
 *   the stage but for the account's id, `importsReadingOnlyTheId`), so that a member's values, resolved in its own
 *   accounts, are its class's with its tuple and its accounts' ids (`onlyAsText`);
 * - a tuple value stands only where a check reads text as text: in a statement's Sid, its resources, its principals
 *   but a service, its conditions' values, and the resource's names, Condition and recorded exceptions' statement and
 *   reason; never in an action, an effect, a Version, a service principal, a condition's operator or key, a type,
 *   nor any policy's object key (`onlyAsText`);
 * - a check compares such text with a constant (an ARN format, an AWS-owned bucket's ARN, `true`) only where it finds
 *   nothing in the class's neutral resource (`neutral`: each key character `NEUTRAL`, which no constant or pattern of
 *   a check holds and only `.` and `[^/]` match), which a check asks of each class before its members pass
 *   (`AlikeResources.passes`): what a pattern matches with the neutral key it matches with every key of that length
 *   (a key holds no `/`, `:`, `*`, `?`, brace or line break), and a finding that needs a key to match a constant, or
 *   not to, is found in the neutral resource or in none.
 * Classes are made of resources of a type that holds a policy (`POLICY_TYPES`) that stand alone in the classes by one
 * id, or are their firsts.
 */
class TeamClasses {
  /** The first resource of each class. */
  readonly firsts: ReadonlySet<string>;

  constructor(
    /** A class's member (not its first) → its class's first resource. */
    readonly firstOf: ReadonlyMap<string, string>,
    /** A class's first resource → the resource, with its team's tuple. */
    private readonly classes: ReadonlyMap<string, { resource: CfnResource; tuple: Tuple }>,
  ) {
    this.firsts = new Set(firstOf.values());
  }

  /**
   * The class of `first` as a resource whose key and logical-id form are each a run of `NEUTRAL` of their length, with
   * the first's account ids: the first resource, each of its texts marked as its class's text is (`teamMarked`, which
   * marks a text's values of the tuple where the class's text holds them: see `teamClasses`) and the marks written so.
   */
  neutral(first: string): CfnResource {
    let made = this.neutrals.get(first);
    if (!made) this.neutrals.set(first, (made = this.madeNeutral(first)));
    return made;
  }

  /** Each class's neutral resource, made once: the rules and the service authorization checks both ask it, and only read it. */
  private readonly neutrals = new Map<string, CfnResource>();

  private madeNeutral(first: string): CfnResource {
    const { resource, tuple } = this.classes.get(first)!;
    const neutralText = (text: string): string => {
      const marked = teamMarked(text, tuple) ?? text;
      if (marked === text) return text;
      let out = '';
      for (let i = 0; i < marked.length; i++) {
        const c = marked.charCodeAt(i);
        out += c === KEY_MARK ? NEUTRAL.repeat(tuple.key.length) : c === KEY_ID_MARK ? NEUTRAL.repeat(tuple.keyId.length) : c >= ACCOUNT_MARK && c < ACCOUNT_MARK + MAX_ACCOUNTS ? tuple.accounts[c - ACCOUNT_MARK] : marked[i];
      }
      return out;
    };
    const copy = (v: unknown): unknown => {
      if (typeof v === 'string') return neutralText(v);
      if (Array.isArray(v)) return v.map(copy);
      if (v === null || typeof v !== 'object') return v;
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [neutralText(k), copy(x)]));
    };
    return copy(resource) as CfnResource;
  }
}

const NO_TEAM_CLASSES = new TeamClasses(new Map(), new Map());

/** Whether the export of that name a template imports reads nothing of an account but its id (`importsReadingOnlyTheId`). */
export type ImportsById = (exportName: string) => boolean;

/**
 * For a stage's template: whether an `Fn::ImportValue` of a fixed export name has, in every target account of the
 * stage, one value but for that account's id (its JSON, the id written as a placeholder wherever it stands, the same
 * text in each): a member's import then resolves, in its own accounts, as its class's first's does in the first's but
 * for the account's id. Asked once per name.
 */
export function importsReadingOnlyTheId(resolver: Resolver, stageId: string, accounts: readonly string[]): ImportsById {
  const known = new Map<string, boolean>();
  return (exportName) => {
    let answer = known.get(exportName);
    if (answer === undefined) {
      const compiled = resolver.compile(stageId, { 'Fn::ImportValue': exportName });
      let text: string | undefined;
      answer = accounts.every((account) => {
        const shape = JSON.stringify(compiled.at(account)).split(account).join(PLACEHOLDER);
        text ??= shape;
        return shape === text;
      });
      known.set(exportName, answer);
    }
    return answer;
  };
}

/**
 * Where a class's text holds its team's key, its logical-id form, and the account ids (the source's, then each
 * pipeline account's): characters of Unicode's private use area; a resource whose text holds one is not compared.
 */
const KEY_MARK = 0xe000;
const KEY_ID_MARK = 0xe001;
const ACCOUNT_MARK = 0xe010;
/** A team holding more accounts than this is not compared. */
const MAX_ACCOUNTS = 0xe0;
const MARKS = /[\ue000-\ue0ff]/;
/** A key's characters in a class's neutral resource: a character of no constant, no ARN format and no pattern but `.` and `[^/]`. */
const NEUTRAL = '\ue000';
/** A key as teams.ts makes them (a start of account names, up to a hyphen): words of lowercase letters and digits, joined by hyphens. */
const TEAM_KEY = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** A team's tuple as its texts hold it: its key, the key's logical-id form, and its account ids, the source's first. */
interface Tuple {
  readonly team: Team;
  readonly key: string;
  readonly keyId: string;
  readonly accounts: readonly string[];
}

/**
 * A team's tuple; null for a team whose key is not of teams.ts's form or holds twelve digits in a row (a key then
 * might hold an id), whose ids are not twelve digits, or that has more accounts than there are marks.
 */
const tupleOf = madeOnceFor((team: Team): Tuple | null => {
  const accounts = [team.source.id, ...team.pipelineAccounts];
  const sound = TEAM_KEY.test(team.key) && !/[0-9]{12}/.test(team.key) && accounts.length <= MAX_ACCOUNTS && accounts.every((a) => /^[0-9]{12}$/.test(a));
  return sound ? { team, key: team.key, keyId: logicalIdOf(team.key), accounts } : null;
});

/** The teams by their keys' logical-id forms, with those forms' lengths (`teamOfName`). */
const byKeyId = madeOnceFor((teams: Teams) => {
  const teamOf = new Map(teams.list.map((t) => [logicalIdOf(t.key), t]));
  return { teamOf, lengths: [...new Set([...teamOf.keys()].map((k) => k.length))] };
});

/**
 * The team whose tuple a logical id is made with, to compare its resource by: the team of its first account id, or
 * else of the first key's logical-id form it holds from a capital letter on. Any team will do: a resource is compared
 * by that team's tuple, and is a member only where its text is its class's with that tuple (`TeamClassText.isWith`).
 */
function teamOfName(logicalId: string, teams: Teams): Team | undefined {
  const id = memberId(logicalId);
  if (id !== undefined) return teams.teamOf(id);
  const { teamOf, lengths } = byKeyId(teams);
  for (let at = 0; at < logicalId.length; at++) {
    const c = logicalId.charCodeAt(at);
    if (c < 65 || c > 90) continue;
    for (const n of lengths) {
      const team = teamOf.get(logicalId.slice(at, at + n));
      if (team) return team;
    }
  }
  return undefined;
}

/**
 * Resources alike up to their team: see `TeamClasses`. `textOf`: a resource's text, as alikeResources compares it;
 * `idFirstOf`: the classes by one id's members, which are let be (their firsts are compared).
 * Each text compared is the written text (or JSON without `\u` escapes, `alikeResources`), whose strings are its
 * resource's strings as they are or in JSON's escapes: a tuple value the text holds where it would be marked in the
 * string (`teamMarked`) is marked in the string too (the characters beside it are the string's, or its start or end,
 * or quotes; an escape's last character, a letter or quote, stands for a character that is no letter or digit: the
 * key is then not marked in the text and stays in it, and the resource stands alone), so that a member's strings are
 * its first's, each marked, with the member's tuple in the marks.
 */
function teamClasses(template: CfnTemplate, teams: Teams, textOf: (logicalId: string) => string | undefined, idFirstOf: ReadonlyMap<string, string>, importsById: ImportsById): TeamClasses {
  const resources = template.Resources;
  const apart = apartTeams(teams);
  // The lengths of a logical id and its text (a class's members' are its first's: each value of a tuple has its
  // first's length) → the classes of those resources, the last made last, and whether one has a member.
  const byLength = new Map<number, { classes: TeamClassText[]; joined: boolean }>();
  const firstOf = new Map<string, string>();
  const firsts = new Map<string, { resource: CfnResource; tuple: Tuple }>();
  for (const logicalId of Object.keys(resources)) {
    if (idFirstOf.has(logicalId)) continue;
    const resource = resources[logicalId];
    if (!POLICY_TYPES.has(resource.Type)) continue;
    const team = teamOfName(logicalId, teams);
    const tuple = team && apart.has(team) ? tupleOf(team) : null;
    if (!tuple) continue;
    const text = textOf(logicalId);
    if (text === undefined) continue;
    const lengths = logicalId.length * 2 ** 24 + text.length;
    const named = byLength.get(lengths) ?? byLength.set(lengths, { classes: [], joined: false }).get(lengths)!;
    // Resources of these lengths that differ in more than their tuple (each team's own) are let be, as alikeResources does.
    if (!named.joined && named.classes.length === CLASSES_TRIED) continue;
    const classes = named.classes;
    let joined = false;
    for (let k = classes.length - 1; k >= 0 && k >= classes.length - CLASSES_TRIED && !joined; k--) {
      if (!classes[k].isWith(text, tuple)) continue;
      if (classes[k].sound) firstOf.set(logicalId, classes[k].first);
      joined = true;
    }
    named.joined ||= joined;
    if (joined || MARKS.test(text)) continue;
    const marked = teamMarked(text, tuple);
    if (marked === undefined) continue;
    const made = TeamClassText.of(logicalId, marked, tuple);
    if (!made) continue;
    // Its first's text names no other team, and holds its tuple only where a check reads text as text: else its
    // members stand alone too.
    made.sound = teams.namedIn(text) === team && onlyAsText(resource, tuple, importsById);
    if (made.sound) firsts.set(logicalId, { resource, tuple });
    classes.push(made);
  }
  return firstOf.size === 0 ? NO_TEAM_CLASSES : new TeamClasses(firstOf, firsts);
}

/**
 * A class's text alike up to the team (`teamMarked` of its first's): the pieces between its marks, and each mark's
 * tuple value (a code: `KEY_MARK`, `KEY_ID_MARK`, `ACCOUNT_MARK` + the account's place).
 */
class TeamClassText {
  /** Whether a check may read the class's first as its members (set once made). */
  sound = false;

  /** How many times the class's text holds the key's mark, and the logical-id form's. */
  private readonly keys: number;
  private readonly keyIds: number;
  /** Every run of 12 digits in the pieces (within longer runs too): where a member's id would stand but in its marks. */
  private readonly digitRuns: ReadonlySet<string>;

  private constructor(
    readonly first: string,
    private readonly pieces: readonly string[],
    private readonly marks: readonly number[],
    private readonly keyLength: number,
    private readonly keyIdLength: number,
  ) {
    this.keys = marks.filter((m) => m === KEY_MARK).length;
    this.keyIds = marks.filter((m) => m === KEY_ID_MARK).length;
    const runs = new Set<string>();
    for (const piece of pieces) for (const [run] of piece.matchAll(/[0-9]{12,}/g)) for (let i = 0; i + 12 <= run.length; i++) runs.add(run.slice(i, i + 12));
    this.digitRuns = runs;
  }

  /**
   * The class of a first's marked text; undefined where two marks stand side by side (the characters beside each
   * mark are then the text's own, the same in every member's text: see `isWith`).
   */
  static of(first: string, marked: string, tuple: Tuple): TeamClassText | undefined {
    const pieces: string[] = [];
    const marks: number[] = [];
    let from = 0;
    for (let i = 0; i < marked.length; i++) {
      const c = marked.charCodeAt(i);
      if (c < KEY_MARK || c >= ACCOUNT_MARK + MAX_ACCOUNTS) continue;
      if (i === from && marks.length > 0) return undefined;
      pieces.push(marked.slice(from, i));
      marks.push(c);
      from = i + 1;
    }
    pieces.push(marked.slice(from));
    return new TeamClassText(first, pieces, marks, tuple.key.length, tuple.keyId.length);
  }

  /**
   * Whether `text` is the class's text with `team`'s tuple in the marks' places, and holds none of the tuple's values
   * anywhere else: it then marks (`teamMarked`) as the class's text does. Each mark's value stands where the first's
   * did, between the same characters (no two marks side by side), so that teams.ts finds it there as in the first, and
   * each value of the tuple stands in the text as often as the class's text has its mark, so nowhere else: a key or
   * logical-id form counted in the text; an id, which no mark's value holds (`tupleOf`) and no digit is beside (the
   * first's marks stand beside none), only where the pieces hold it.
   */
  isWith(text: string, tuple: Tuple): boolean {
    const { key, keyId, accounts } = tuple;
    if (key.length !== this.keyLength || keyId.length !== this.keyIdLength) return false;
    const valueOf = (mark: number) => (mark === KEY_MARK ? key : mark === KEY_ID_MARK ? keyId : accounts[mark - ACCOUNT_MARK]);
    let at = 0;
    for (let i = 0; i < this.pieces.length; i++) {
      if (i > 0) {
        const value = valueOf(this.marks[i - 1]);
        if (value === undefined || !holdsAt(text, value, at)) return false;
        at += value.length;
      }
      if (!holdsAt(text, this.pieces[i], at)) return false;
      at += this.pieces[i].length;
    }
    if (at !== text.length) return false;
    if (occurrences(text, key) !== this.keys || occurrences(text, keyId) !== this.keyIds) return false;
    for (let i = 0; i < accounts.length; i++) if (this.digitRuns.has(accounts[i])) return false;
    return true;
  }
}

/**
 * Whether `text` holds `part` at `at`: `startsWith` with a position, as a slice compared (V8 compares two texts' characters
 * as one block, where its `startsWith` steps through them one by one: 50 times slower on a resource's text).
 */
const holdsAt = (text: string, part: string, at: number): boolean => text.slice(at, at + part.length) === part;

/** The types of resource whose policies documents.ts `policyDocuments` reads (and IAM's quotas measure): the others are not compared by team. */
const POLICY_TYPES: ReadonlySet<string> = new Set(['AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::KMS::Key', 'AWS::S3::BucketPolicy', 'AWS::EC2::VPCEndpoint', 'AWS::SQS::QueuePolicy', 'AWS::Events::EventBusPolicy']);

/** How many times `word` stands in `text` (overlapping ones each counted). */
function occurrences(text: string, word: string): number {
  let n = 0;
  for (let at = text.indexOf(word); at >= 0; at = text.indexOf(word, at + 1)) n++;
  return n;
}

/**
 * The teams whose key and its logical-id form overlap no other team's (neither holds the other, and no end of one is
 * a start of the other): another team's key or logical-id form in a member's text then lies wholly outside the
 * member's marks, in the text its class's first has too, where teams.ts finds it as in the first (the characters
 * beside a mark are a hyphen or no letter or digit for a key, and a key, a logical-id form and an id start and end
 * with a letter or digit, a logical-id form with none lowercase).
 */
const apartTeams = madeOnceFor((teams: Teams): ReadonlySet<Team> => {
  /** A text → the team whose key or logical-id form holds it (in the role `kind`), or null where several do. */
  const index = new Map<string, Team | null>();
  const add = (kind: string, text: string, team: Team) => {
    const k = `${kind}${text}`;
    const found = index.get(k);
    index.set(k, found === undefined || found === team ? team : null);
  };
  const textsOf = (team: Team) => [...new Set([team.key, logicalIdOf(team.key)])];
  for (const team of teams.list) {
    for (const text of textsOf(team)) {
      add('=', text, team);
      for (let i = 0; i < text.length; i++) {
        for (let j = i + 1; j <= text.length; j++) add('in ', text.slice(i, j), team);
        if (i > 0) add('end ', text.slice(i), team);
        if (i > 0) add('start ', text.slice(0, i), team);
      }
    }
  }
  const other = (kind: string, text: string, team: Team) => {
    const found = index.get(`${kind}${text}`);
    return found !== undefined && found !== team;
  };
  return new Set(
    teams.list.filter((team) =>
      textsOf(team).every((text) => {
        if (other('in ', text, team)) return false;
        for (let i = 0; i < text.length; i++) {
          for (let j = i + 1; j <= text.length; j++) if (other('=', text.slice(i, j), team)) return false;
          // A proper end of this text that starts another's, or a proper start that ends another's.
          if (i > 0 && (other('start ', text.slice(i), team) || other('end ', text.slice(0, i), team))) return false;
        }
        return true;
      }),
    ),
  );
});

/** A function of an object, its answer kept for that object (the org's teams, asked by each template). */
function madeOnceFor<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>();
  return (key) => {
    let v = made.get(key);
    if (v === undefined) made.set(key, (v = make(key)));
    return v;
  };
}

const isAlphanumericCode = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isLowercaseCode = (c: number) => c >= 97 && c <= 122;
/** A digit, or an account id's mark (where the text holds twelve digits). */
const isDigitOrId = (c: number) => isDigit(c) || (c >= ACCOUNT_MARK && c < ACCOUNT_MARK + MAX_ACCOUNTS);

/**
 * `text` with its team's tuple written as marks: each account id of the team where no digit is beside it, then the
 * key where teams.ts finds it as a word (after no letter or digit, before a hyphen), then its logical-id form where
 * teams.ts finds it (before no lowercase letter). Undefined where the text holds a value of the tuple anywhere else,
 * or a logical-id form beside a digit or an id (where it would join a run of digits).
 */
function teamMarked(text: string, tuple: Tuple): string | undefined {
  const { key, keyId, accounts } = tuple;
  // Each pass finds every place its value stands and marks those it may: a place it leaves is a value of the tuple
  // elsewhere (a mark holds none, and no later pass makes one: a mark is no letter or digit).
  const left = { any: false };
  let marked = text;
  for (let i = 0; i < accounts.length; i++) marked = replaceWhere(marked, accounts[i], (at, end, s) => !(at > 0 && isDigit(s.charCodeAt(at - 1))) && !(end < s.length && isDigit(s.charCodeAt(end))), String.fromCharCode(ACCOUNT_MARK + i), left);
  marked = replaceWhere(marked, key, (at, end, s) => (at === 0 || !isAlphanumericCode(s.charCodeAt(at - 1))) && s.charCodeAt(end) === 45, String.fromCharCode(KEY_MARK), left);
  let besideDigit = false;
  marked = replaceWhere(
    marked,
    keyId,
    (at, end, s) => {
      if (end < s.length && isLowercaseCode(s.charCodeAt(end))) return false;
      besideDigit ||= (at > 0 && isDigitOrId(s.charCodeAt(at - 1))) || (end < s.length && isDigitOrId(s.charCodeAt(end)));
      return true;
    },
    String.fromCharCode(KEY_ID_MARK),
    left,
  );
  return besideDigit || left.any ? undefined : marked;
}

/** Whether `text` holds one of a tuple's values (an account id, the key, its logical-id form) anywhere. */
function holdsAValue(text: string, tuple: Tuple): boolean {
  if (text.includes(tuple.key) || text.includes(tuple.keyId)) return true;
  for (let i = 0; i < tuple.accounts.length; i++) if (text.includes(tuple.accounts[i])) return true;
  return false;
}

/** The pseudo parameters a team class's policies may read (resolve.ts: the account's id, the org's partition and Region). */
const TEAM_PSEUDO_PARAMETERS: ReadonlySet<string> = new Set(['AWS::AccountId', 'AWS::Partition', 'AWS::Region']);
/** Members whose text a check compares with its own constants, by name: no tuple value may stand in them. */
const READ_AS_NAMES: ReadonlySet<string> = new Set(['Action', 'NotAction', 'Effect', 'Version', 'Service', 'Type', 'rule']);
/** What of a resource's metadata a check reads as text: a recorded exception's statement (a Sid) and reason. */
const METADATA_TEXT: ReadonlySet<string> = new Set(['statement', 'reason']);

/**
 * Whether a class's first resource holds its tuple's values (`teamMarked`) only where a check reads text as text, and
 * its policies read nothing of an account but its id, partition and Region (see `TeamClasses`).
 */
function onlyAsText(resource: CfnResource, tuple: Tuple, importsById: ImportsById): boolean {
  // A text that holds no value of the tuple is as teamMarked leaves it (each of its passes finds nothing): most of a
  // resource's texts, told apart by a search for each value without the passes' closures.
  const holdsTuple = (text: string) => holdsAValue(text, tuple) && teamMarked(text, tuple) !== text;
  /** Whether a value holds tuple values only in texts under no name of READ_AS_NAMES (and, in metadata, of METADATA_TEXT), and a policy reads only those pseudo parameters. */
  const walk = (v: unknown, name: string, inMetadata: boolean, inPolicy: boolean): boolean => {
    if (typeof v === 'string') return !holdsTuple(v) || (!READ_AS_NAMES.has(name) && (!inMetadata || METADATA_TEXT.has(name)));
    if (Array.isArray(v)) return v.every((x) => walk(x, name, inMetadata, inPolicy));
    if (v === null || typeof v !== 'object') return typeof v !== 'number' || !holdsTuple(String(v));
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (inPolicy || inMetadata) {
      if (keys.some(holdsTuple)) return false;
      if (inPolicy && keys.some((k) => k === 'Ref' || k.startsWith('Fn::') || (k === 'Condition' && keys.length === 1))) {
        if (keys.length !== 1) return false;
        if (keys[0] === 'Ref') return typeof o.Ref === 'string' && TEAM_PSEUDO_PARAMETERS.has(o.Ref);
        const imported = o['Fn::ImportValue'];
        if (keys[0] === 'Fn::ImportValue') return typeof imported === 'string' && !holdsTuple(imported) && importsById(imported);
        const sub = o['Fn::Sub'];
        return keys[0] === 'Fn::Sub' && typeof sub === 'string' && [...sub.matchAll(/\$\{([^}]*)\}/g)].every(([, reference]) => TEAM_PSEUDO_PARAMETERS.has(reference));
      }
    }
    return keys.every((k) => walk(o[k], k, inMetadata, inPolicy));
  };
  const properties = (resource.Properties ?? {}) as Record<string, unknown>;
  return (
    !holdsTuple(resource.Type) &&
    walk(resource.Metadata, 'Metadata', true, false) &&
    // The resource's Condition, a name, says which accounts it exists in; its policies read the same there.
    Object.keys(properties).every((k) => walk(properties[k], k, false, POLICY_PROPERTIES.includes(k)))
  );
}

/** What a template without alike resources (or a check without classes) uses: every resource stands alone. */
export const NO_CLASSES = new AlikeResources(new Map());

/**
 * The template's classes: resources whose type, Condition, metadata, policies and names (what the checks read,
 * `readText`) are the same, as JSON, once the member's id is written as a placeholder; the member's id is the first 12-digit
 * number of the logical id (digits on neither side), replaced wherever the text holds it with no digit beside it. Two
 * resources of one class then have texts that are the class's text with the placeholder written as each one's id, and
 * neither id occurs anywhere else in them (JSON writes every digit as itself; a `\u` escape's digits may join the
 * digits after it into a 12-digit run that is no id of the value, `\u0010` before eight digits, so a resource whose
 * text holds one stands alone). A resource is in no class when its id is the sample id, or when its class's
 * first resource's policies name something by the id or use an intrinsic other than Ref, Fn::GetAtt, Fn::Sub (a
 * text), Fn::If and Condition (`sameReferences`).
 * Only resources whose logical ids are the same but for the id (one name shape, `withPlaceholder`; none holding the
 * placeholder character) are compared, each with the latest few classes made
 * of them, and none more once their first few are each a class of its own (a resource not compared, or compared
 * with the wrong class, stands alone, never in a wrong class).
 * `written`, the template's text as the compile writes it: each resource's text there is compared instead of its
 * JSON, without making one (`writtenTexts`). `teams`, the org's teams (teams.ts `findTeams`), where the caller has
 * them: the resources alike up to their team are found too (`TeamClasses`), for the checks only; `importsById`, which
 * exports the template imports read nothing of an account but its id (`importsReadingOnlyTheId`).
 */
export function alikeResources(template: CfnTemplate, written?: WrittenTemplate, teams?: Teams, importsById: ImportsById = () => false): AlikeResources {
  const resources = template.Resources;
  const textOf = writtenTexts(written) ?? ((logicalId: string): string | undefined => jsonTextWithoutEscapes(resources[logicalId]));
  // Logical id with its id replaced → the resources of that name shape, with their ids.
  const byName = new Map<string, Array<{ logicalId: string; id: string }>>();
  for (const logicalId of Object.keys(resources)) {
    const id = memberId(logicalId);
    // A logical id holding the placeholder character would not be its name shape with its id in the placeholder's places.
    if (id === undefined || id === SAMPLE_ACCOUNT || logicalId.includes(PLACEHOLDER)) continue;
    const shape = withPlaceholder(logicalId, id);
    const named = byName.get(shape);
    if (named) named.push({ logicalId, id });
    else byName.set(shape, [{ logicalId, id }]);
  }
  const firstOf = new Map<string, string>();
  for (const named of byName.values()) {
    if (named.length < 2) continue;
    // The classes of these resources, the last made last; `sound`, asked when a second resource joins: false when the
    // first names something by its id.
    const classes: Array<{ first: string; id: string; text: ClassText; sound?: boolean }> = [];
    let joined = false;
    for (const { logicalId, id } of named) {
      // Resources of one name shape that differ in more than their id (a team's, an environment's) are let be.
      if (!joined && classes.length === CLASSES_TRIED) break;
      const text = textOf(logicalId);
      if (text === undefined) continue;
      let c: (typeof classes)[number] | undefined;
      for (let k = classes.length - 1; k >= 0 && k >= classes.length - CLASSES_TRIED && !c; k--) if (classes[k].text.isWith(text, id)) c = classes[k];
      if (!c) classes.push({ first: logicalId, id, text: new ClassText(text, id) });
      else if ((c.sound ??= sameReferences(resources[c.first], c.id))) {
        firstOf.set(logicalId, c.first);
        joined = true;
      }
    }
  }
  const byTeam = teams ? teamClasses(template, teams, textOf, firstOf, importsById) : NO_TEAM_CLASSES;
  return firstOf.size === 0 && byTeam.firstOf.size === 0 ? NO_CLASSES : new AlikeResources(firstOf, byTeam);
}

/**
 * A class's text, made of its first resource's (`readText`): the pieces between the places that hold its id with no
 * digit on either side (where the class's placeholder stands).
 */
class ClassText {
  private readonly pieces: string[] = [];

  constructor(
    private readonly text: string,
    id: string,
  ) {
    let from = 0;
    for (const at of placesOf(text, id)) {
      this.pieces.push(text.slice(from, at));
      from = at + id.length;
    }
    this.pieces.push(text.slice(from));
  }

  /**
   * Whether `text` is the class's text with `id` (12 digits, as the first's) in the placeholder's places: the same
   * pieces, with `id` between them. The pieces do not hold `id` (its first's text does not), and the characters beside
   * those places are no digits (they were not beside the first's id), so `text` holds `id` with no digit beside it in
   * those places only: written with its id as the placeholder, it is the class's text.
   */
  isWith(text: string, id: string): boolean {
    if (text.length !== this.text.length || this.text.includes(id)) return false;
    let at = 0;
    for (let i = 0; i < this.pieces.length; i++) {
      if (i > 0) {
        if (!holdsAt(text, id, at)) return false;
        at += id.length;
      }
      if (!holdsAt(text, this.pieces[i], at)) return false;
      at += this.pieces[i].length;
    }
    return true;
  }
}

/**
 * How many of the latest classes of a name shape a resource is compared with (a family writes its units in turn), and
 * how many classes without a member the first resources of a name shape may make before the rest are let be.
 */
const CLASSES_TRIED = 4;

/** Whether a text holds an escape of the writer's that holds hex digits (yaml.ts `escaped`): `\u` and four, or `\U` and eight (two scans for a text, faster than a pattern's over a whole template). */
const holdsHexEscape = (text: string): boolean => text.includes('\\u') || text.includes('\\U');

/**
 * Each resource's text as the compile wrote it, a slice of the template's (no text is made), in place of `readText`,
 * where the template's text holds no `\u` or `\U` escape. It holds all that `readText` writes of the resource, and more: two
 * resources whose written texts are the same but for the member's id (standing where the first's did, no digit
 * beside it, and the second's id nowhere in the first's) have `readText`s the same in that way. The writer (yaml.ts)
 * writes each key and text as it is or in JSON's quotes and escapes, and a number as JSON does, and the characters
 * between values (quotes, `:`, spaces, line breaks, `-`) are no digits; without `\u` and `\U` escapes (a control or
 * non-ASCII character; `\U` and eight hex digits past U+FFFF), no escape holds a digit, in the written text or in
 * JSON. So every run of digits in the text is one in a value, the same run in its JSON, with the same characters or
 * none beside it: the two texts hold each id at the same places of the same values, and their values differ there
 * only. Undefined where the text holds such an escape (holdsHexEscape): the JSON is read then.
 */
function writtenTexts(written: WrittenTemplate | undefined): ((logicalId: string) => string) | undefined {
  if (!written || holdsHexEscape(written.text)) return undefined;
  return (logicalId) => {
    const [start, end] = written.resources.get(logicalId)!;
    return written.text.slice(start, end);
  };
}

/** `readText`, undefined where it holds a `\u` escape (whose digits may make a 12-digit run: see alikeResources). */
function jsonTextWithoutEscapes(resource: CfnResource): string | undefined {
  const text = readText(resource);
  return text.includes('\\u') ? undefined : text;
}

/**
 * The names grants.ts reads of a member whose statements it takes from its class's first and second (grants.ts
 * `rolesNamedAlike`): a role's name (in its ARN) and the roles a policy is attached to.
 */
const NAME_PROPERTIES: readonly string[] = ['RoleName', 'Roles'];

/**
 * What the checks read of a resource, as JSON: its type, Condition and metadata, the properties that hold its
 * policies, and its names grants.ts reads. An absent one is left out (JSON writes no undefined member), so it is told
 * from a null one.
 */
function readText(resource: CfnResource): string {
  const p = resource.Properties ?? {};
  const read: Record<string, unknown> = { Type: resource.Type, Condition: resource.Condition, Metadata: resource.Metadata };
  for (const name of POLICY_PROPERTIES) read[name] = p[name];
  for (const name of NAME_PROPERTIES) read[name] = p[name];
  return JSON.stringify(read);
}

/** A 12-digit number with no digit on either side. */
const ACCOUNT_ID = /(?<![0-9])[0-9]{12}(?![0-9])/;

/** The first 12-digit number of a logical id with no digit on either side, if any: a class member's id (grants.ts reads it too). */
export const memberId = (logicalId: string): string | undefined => ACCOUNT_ID.exec(logicalId)?.[0];

/** Where a logical id's member id stood, in the name shape resources are first sorted by. */
const PLACEHOLDER = '\u0000';

const isDigit = (c: number) => c >= 48 && c <= 57;

/** Where `text` holds `id` with no digit on either side, in order. */
function placesOf(text: string, id: string): number[] {
  const places: number[] = [];
  for (let at = text.indexOf(id); at >= 0; at = text.indexOf(id, at + 1)) {
    const end = at + id.length;
    if ((at > 0 && isDigit(text.charCodeAt(at - 1))) || (end < text.length && isDigit(text.charCodeAt(end)))) continue;
    places.push(at);
  }
  return places;
}

/** `text` with `id` written as the placeholder wherever it stands with no digit on either side. */
function withPlaceholder(text: string, id: string): string {
  let out = '';
  let from = 0;
  for (const at of placesOf(text, id)) {
    out += text.slice(from, at) + PLACEHOLDER;
    from = at + id.length;
  }
  return out + text.slice(from);
}

/**
 * Whether a resource's policies read the same of the rest of its template as another of its class's do: their
 * intrinsics are references only (Ref, Fn::GetAtt, a Fn::Sub text, Fn::If, Condition; nothing that compares, splits or
 * looks up a value, whose answer could depend on the id's digits), and no name they refer by (those, a Sub's `${…}`),
 * nor the resource's Condition (the accounts it exists in), holds the id. Its members' references are then the very
 * same names.
 */
function sameReferences(resource: CfnResource, id: string): boolean {
  if (resource.Condition !== undefined && !namesWithout(resource.Condition, id)) return false;
  const walk = (v: unknown): boolean => {
    if (Array.isArray(v)) return v.every(walk);
    if (v === null || typeof v !== 'object') return true;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    // The resolver reads an object holding Ref or an Fn:: key beside others as that intrinsic: only one alone is let be.
    const intrinsic = keys.some((k) => k === 'Ref' || k.startsWith('Fn::')) || (keys.length === 1 && keys[0] === 'Condition');
    if (intrinsic) {
      const [name] = keys;
      const value = o[name];
      if (keys.length > 1 || !REFERENCES.has(name)) return false;
      if (name === 'Ref' || name === 'Condition' || name === 'Fn::GetAtt') return namesWithout(value, id);
      // A reference is a part of the text: a text without the id holds none with it (most: no reference list made).
      if (name === 'Fn::Sub') return typeof value === 'string' && (!value.includes(id) || [...value.matchAll(/\$\{([^}]*)\}/g)].every(([, reference]) => !reference.includes(id)));
      // Fn::If [condition, then, else]: the condition by name, the branches as any value.
      return Array.isArray(value) && namesWithout(value[0], id) && value.slice(1).every(walk);
    }
    return keys.every((k) => walk(o[k]));
  };
  const properties = resource.Properties ?? {};
  return POLICY_PROPERTIES.every((p) => walk(properties[p]));
}

/** Whether a name, or each of a list of names, is a text without the id. */
const namesWithout = (names: unknown, id: string): boolean => (Array.isArray(names) ? names.every((n) => nameWithout(n, id)) : nameWithout(names, id));
const nameWithout = (name: unknown, id: string): boolean => typeof name === 'string' && !name.includes(id);
