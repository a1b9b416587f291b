/**
 * Least-privilege rules, run over every statement of every policy the
 * compiler emits; a finding fails the compile. One rule, one id; an exception
 * is allowed only where the rule says so, recorded in the resource's metadata
 * with its reason.
 */
import type { CfnTemplate } from '../cfn/template';
import { AWS_OWNED_BUCKETS, SERVICES_WITHOUT_SOURCE_CONTEXT } from '../iam/grants';
import { conditionOnStar, takesAllResources } from './iam-data';
import { asList, awsPrincipals, policyDocuments, type FoundDocument, type PlainStatement } from './documents';
import { NO_CLASSES, type AlikeResources } from './alike';
import { boundedWildcard, holdsWildcard, recordUse, type BoundedWildcard, type WildcardContext, type WildcardElement, type WildcardUse } from '../iam/wildcards';

export interface Finding {
  rule: string;
  resource: string;
  statement?: string;
  /** The exact offending item, e.g. `Action::s3:*`. */
  item: string;
  message: string;
}

export interface Rule {
  id: string;
  description: string;
  /** `ctx`: what the org gives the rules that read its names (XS017), where the caller has the org. */
  check(doc: FoundDocument, s: PlainStatement, ctx?: WildcardContext): ReadonlyArray<Omit<Finding, 'rule' | 'resource' | 'statement'>>;
}

/** What a rule finds in most statements: one list for all of them, not one made for each. */
const NONE: readonly never[] = Object.freeze([]);

interface RecordedException {
  rule: string;
  statement: string;
  reason: string;
}

const exceptionsOf = (doc: FoundDocument): RecordedException[] =>
  ((doc.metadata?.xstack as { exceptions?: RecordedException[] } | undefined)?.exceptions ?? []).filter((e) => e.reason.trim().length > 0);

const isAllow = (s: PlainStatement) => s.Effect === 'Allow';
const hasCondition = (s: PlainStatement) => s.Condition !== undefined && Object.keys(s.Condition).length > 0;
const strings = (v: unknown) => asList(v).filter((x): x is string => typeof x === 'string');
const textOf = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'object' && v && 'Fn::Sub' in v ? String((v as Record<string, unknown>)['Fn::Sub']) : '');
const CONFUSED_DEPUTY_KEYS = ['aws:SourceAccount', 'aws:SourceArn'];
/** The AWS-owned buckets' object ARNs, as the templates write them (src/iam/grants.ts). */
const AWS_OWNED_OBJECTS: ReadonlySet<string> = new Set(Object.values(AWS_OWNED_BUCKETS).map((b) => b.objects));
/** An S3 bucket name is global, not the account's: a statement naming one by ARN may reach another account's bucket of that name. */
const pinsBucketOwner = (s: PlainStatement) =>
  Object.entries(s.Condition ?? {}).some(([operator, keys]) => operator === 'StringEquals' && Object.keys(keys).some((k) => k.toLowerCase() === 'aws:resourceaccount'));

export const RULES: readonly Rule[] = [
  {
    id: 'XS001',
    description: 'Allow statements list their actions: no wildcard, no NotAction',
    check: (_doc, s) => {
      const wildcards = isAllow(s) ? strings(s.Action).filter((a) => a.includes('*')) : NONE;
      if (wildcards.length === 0 && s.NotAction === undefined) return NONE;
      return [
        ...wildcards.map((a) => ({ item: `Action::${a}`, message: 'wildcard action in an Allow' })),
        ...(s.NotAction !== undefined ? [{ item: 'NotAction', message: 'NotAction grants everything not listed' }] : []),
      ];
    },
  },
  {
    id: 'XS002',
    description: 'identity policies name their resources; "*" only for actions AWS offers no narrower resource for, with a recorded reason',
    check: (doc, s) => {
      if (doc.kind !== 'identity' || !isAllow(s) || !asList(s.Resource).includes('*')) return NONE;
      const actions = strings(s.Action);
      // IAM's data says which actions take no resource, and one action's page that its requests name none (checks/iam-data.ts).
      const narrower = actions.filter((a) => !takesAllResources(a));
      const recorded = exceptionsOf(doc).some((e) => e.rule === 'XS002' && e.statement === s.Sid);
      // An action admitted by its page, only in its page's form: held by the condition the page gives it.
      const keys = Object.values((s.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap((o) => Object.keys(o).map((k) => k.toLowerCase()));
      const unheld = actions.filter((a) => conditionOnStar(a) !== undefined && !keys.includes(conditionOnStar(a)!.toLowerCase()));
      if (unheld.length > 0) return [{ item: 'Resource::*', message: `resource "*" for ${unheld.map((a) => `${a} without the condition ${conditionOnStar(a)}`).join(', ')}, which its page holds it to` }];
      if (narrower.length === 0 && recorded) return NONE;
      return [{ item: 'Resource::*', message: narrower.length === 0 ? 'resource "*" without a recorded reason in the resource metadata' : `resource "*" for ${narrower.join(', ')}, which IAM's data gives a resource type (or does not define): name the resources` }];
    },
  },
  {
    id: 'XS003',
    description: 'a "*" principal in an Allow carries conditions',
    check: (_doc, s) =>
      isAllow(s) && awsPrincipals(s.Principal).includes('*') && !hasCondition(s) ? [{ item: 'Principal::*', message: 'unconditioned "*" principal' }] : NONE,
  },
  {
    id: 'XS004',
    description: 'an account-root principal in an Allow carries conditions',
    check: (_doc, s) =>
      isAllow(s) && !hasCondition(s) && s.Principal !== undefined
        ? awsPrincipals(s.Principal)
            .map(textOf)
            .filter((t) => t.endsWith(':root'))
            .map((t) => ({ item: `Principal::${t}`, message: 'unconditioned account-root principal' }))
        : NONE,
  },
  {
    id: 'XS005',
    description:
      'a service principal in a trust or resource policy is narrowed against the confused deputy (aws:SourceAccount / aws:SourceArn); services that send neither (EC2) only with a recorded reason',
    check: (doc, s) => {
      // Every policy that names principals: a role's trust, and a key, bucket, bus or queue policy (a service sending
      // to a dead-letter queue is the same deputy: https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html).
      if (doc.kind === 'identity' || !isAllow(s)) return NONE;
      const service = (s.Principal as { Service?: unknown } | undefined)?.Service;
      if (service === undefined) return NONE;
      const keys = Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c));
      if (keys.some((k) => CONFUSED_DEPUTY_KEYS.includes(k))) return NONE;
      const services = strings(service);
      const exempt = services.every((x) => SERVICES_WITHOUT_SOURCE_CONTEXT.has(x)) && exceptionsOf(doc).some((e) => e.rule === 'XS005' && e.statement === s.Sid);
      return exempt ? NONE : [{ item: `Principal::${services.join(',')}`, message: 'service trust without aws:SourceAccount or aws:SourceArn' }];
    },
  },
  {
    id: 'XS006',
    description: "every statement has a Sid, so that findings and audits can name it (an event bus policy's is its StatementId, which EventBridge keeps as the statement's Sid)",
    check: (_doc, s) => (!s.Sid ? [{ item: 'Sid', message: 'statement without Sid' }] : NONE),
  },
  {
    id: 'XS007',
    description: 'Allow statements in resource policies name a principal (no NotPrincipal)',
    check: (doc, s) =>
      doc.kind !== 'identity' && isAllow(s) && (s.Principal === undefined || s.NotPrincipal !== undefined)
        ? [{ item: 'Principal', message: 'resource policy Allow without an explicit Principal' }]
        : NONE,
  },
  {
    id: 'XS014',
    description:
      'identity-policy Allows of S3 actions pin the bucket owner (StringEquals aws:ResourceAccount); only a bucket of AWS\'s own (src/iam/grants.ts AWS_OWNED_BUCKETS), with a recorded reason, goes without',
    check: (doc, s) => {
      if (doc.kind !== 'identity' || !isAllow(s) || !strings(s.Action).some((a) => a.toLowerCase().startsWith('s3:')) || pinsBucketOwner(s)) return NONE;
      // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount
      const awsOwned = asList(s.Resource).every((r) => AWS_OWNED_OBJECTS.has(textOf(r)));
      const recorded = exceptionsOf(doc).some((e) => e.rule === 'XS014' && e.statement === s.Sid);
      if (awsOwned && recorded) return NONE;
      return [{ item: 'Condition::aws:ResourceAccount', message: awsOwned ? "an AWS-owned bucket without a recorded reason in the resource metadata" : 'S3 access without aws:ResourceAccount: a bucket name may be another account\'s' }];
    },
  },
  {
    id: 'XS015',
    description:
      "a Resource wildcard means the same under either reading of IAM's segment rule: no `?`, and no `*` but at a segment's end, in a colon segment a later one follows",
    check: (_doc, s) => {
      // "You can use wildcard characters (* and ?) within the individual segments of an ARN (the parts separated by
      // colons) … If the * wildcard is the last character of a resource ARN segment, it can expand to match beyond the
      // colon boundaries" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
      // The proof reads it segment by segment (audit/symbolic.ts); read as one text, such a wildcard would reach
      // across colons, allowing what the proof calls refused. Refused, so that the proof never rests on the reading
      // (review s38-lead-diff m7); no template writes one.
      const found: Array<Omit<Finding, 'rule' | 'resource' | 'statement'>> = [];
      for (const element of ['Resource', 'NotResource'] as const) {
        for (const value of asList(s[element])) {
          const text = textOf(value);
          if (segmentDependent(text)) found.push({ item: `${element}::${text}`, message: "a `?`, or a `*` inside a segment, in an ARN segment another colon follows: whether it matches across that colon depends on how IAM's segment rule is read; end the segment with the `*`, or name the resource" });
        }
      }
      return found.length === 0 ? NONE : found;
    },
  },
  {
    id: 'XS017',
    description:
      'a wildcard inside a name in an Allow (an ARN of its Resource other than "*", or a value of ArnLike, ArnEquals or StringLike) is one src/iam/wildcards.ts lists for that statement, with what bounds it; no NotResource in an Allow',
    check: (_doc, s, ctx) => {
      if (!isAllow(s)) return NONE;
      let found: Array<Omit<Finding, 'rule' | 'resource' | 'statement'>> | undefined;
      // An Allow's NotResource is every resource but those: the widest wildcard of all (no template writes one).
      if (s.NotResource !== undefined) (found ??= []).push({ item: 'NotResource', message: 'NotResource in an Allow grants every resource not listed; name the resources' });
      for (const w of wildcardsOf(s, ctx)) {
        if (w.bounded) continue;
        (found ??= []).push({ item: w.item, message: 'a wildcard src/iam/wildcards.ts does not list for this statement: it reaches whatever else it matches, which the access proof does not see; name the resources or principals, or list its shape there with what bounds it' });
      }
      return found ?? NONE;
    },
  },
];

/**
 * Each wildcard inside a name an Allow statement writes (rule XS017): in its Resource (other than "*"), and in the
 * values of its pattern conditions; with the entry of src/iam/wildcards.ts that lists it, if one does.
 */
export function wildcardsOf(s: PlainStatement, ctx?: WildcardContext): Array<{ item: string; text: string; bounded: BoundedWildcard | undefined }> {
  const out: Array<{ item: string; text: string; bounded: BoundedWildcard | undefined }> = [];
  const add = (element: string, item: string, text: string) =>
    out.push({ item, text, bounded: WILDCARD_ELEMENTS.has(element) ? boundedWildcard(element as WildcardElement, s.Sid, text, s.Condition, ctx) : undefined });
  const texts: string[] = [];
  textsIn(s.Resource, texts);
  for (const text of texts) if (text !== '*' && holdsWildcard(text)) add('Resource', `Resource::${text}`, text);
  for (const operator in s.Condition ?? {}) {
    if (!PATTERN_OPERATORS.has(operator.replace(/^For(AnyValue|AllValues):/, '').replace(/IfExists$/, ''))) continue;
    const byKey = s.Condition![operator];
    for (const key in byKey) {
      const element = [...WILDCARD_ELEMENTS].find((e) => e.toLowerCase() === key.toLowerCase()) ?? key;
      texts.length = 0;
      textsIn(byKey[key], texts);
      for (const text of texts) if (holdsWildcard(text)) add(element, `Condition::${operator}:${key}::${text}`, text);
    }
  }
  return out;
}

const WILDCARD_ELEMENTS: ReadonlySet<string> = new Set<WildcardElement>(['Resource', 'aws:PrincipalArn', 'aws:SourceArn', 'iam:PolicyARN']);

/** The condition operators whose values admit by pattern (rule XS017); their negations narrow, and are not asked. */
const PATTERN_OPERATORS: ReadonlySet<string> = new Set(['ArnLike', 'ArnEquals', 'StringLike']);

/**
 * Each text a value writes, added to `texts`: a string; a Sub's text, its variables written in where the map gives
 * them as text; an Fn::Join's pieces joined, a piece that is not text written `${…}`; and those inside other functions
 * and lists (a condition's Fn::If). A `*` a Join or a Sub's map puts in a name is read as part of it, not as the
 * `*` of "every resource" (review s60-xs017 m2); a Join's piece another function makes (Fn::Select, Fn::If) is read
 * as `*` where any text in it holds a wildcard (s60-second-read m2).
 */
function textsIn(value: unknown, texts: string[]): void {
  if (typeof value === 'string') texts.push(value);
  else if (Array.isArray(value)) for (const v of value) textsIn(v, texts);
  else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const sub = o['Fn::Sub'];
    const join = o['Fn::Join'];
    if (typeof sub === 'string') texts.push(sub);
    else if (Array.isArray(sub) && typeof sub[0] === 'string') {
      const vars = (sub[1] ?? {}) as Record<string, unknown>;
      texts.push(sub[0].replace(/\$\{([^}!]*)\}/g, (m, name: string) => (typeof vars[name] === 'string' ? (vars[name] as string) : m)));
    } else if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      texts.push((join[1] as unknown[]).map((piece) => (typeof piece === 'string' ? piece : wildcardIn(piece) ? '*' : '${…}')).join(join[0]));
    } else for (const k in o) textsIn(o[k], texts);
  }
}

/** Whether any text inside a value holds a wildcard. */
function wildcardIn(value: unknown): boolean {
  const texts: string[] = [];
  textsIn(value, texts);
  return texts.some((t) => t === '*' || holdsWildcard(t));
}

/** Whether a Resource ARN's wildcard reads differently segment by segment and as one text (rule XS015). */
export function segmentDependent(arn: string): boolean {
  if (!arn.includes('*') && !arn.includes('?')) return false;
  // A Sub's `${AWS::Partition}` holds colons of its own, not the ARN's.
  const segments = arn.replace(/\$\{[^}]*\}/g, 'x').split(':');
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i];
    if (segment.includes('?') || segment.replace(/\*+$/, '').includes('*')) return true;
  }
  return false;
}

/** An AWS managed policy's ARN (`arn:<partition>:iam::aws:policy/…`, as text or in a Sub). */
const AWS_MANAGED_POLICY = /:iam::aws:policy\//;
const LITERAL_PARTITION = /arn:aws(-[a-z-]+)?:/;

/** Rules that look at the template as a whole rather than one statement: their findings added to `findings`. */
function templateFindings(template: CfnTemplate, findings: Finding[], text: string | undefined): void {
  const resources = template.Resources;
  for (const id of Object.keys(resources)) {
    const properties = resources[id].Properties as Record<string, unknown> | undefined;
    // A role's ARN holds its path ("role/${RoleNameWithPath}", the Service Authorization Reference's IAM resource types),
    // and the proof, the report and the ARNs the templates write name every role without one (audit/resolve.ts writes
    // `role/<name>` for its Fn::GetAtt Arn): a role given another path would be read as a role it is not (review
    // s57-evaluator m5).
    if (resources[id].Type === 'AWS::IAM::Role' && properties?.Path !== undefined && properties.Path !== '/') {
      findings.push({ rule: 'XS016', resource: id, item: `Path::${textOf(properties.Path)}`, message: "a role path: the ARNs xstack writes, the access proof and the audit report name each role without one, and would read this role as another; leave Path out" });
    }
    const arns = properties?.ManagedPolicyArns;
    if (arns === undefined) continue;
    for (const arn of strings(arns).concat(asList(arns).map(textOf))) {
      if (AWS_MANAGED_POLICY.test(arn)) {
        findings.push({ rule: 'XS008', resource: id, item: `ManagedPolicyArns::${arn}`, message: "an AWS managed policy: its statements are not in the template, so the access proof, these rules and the audit report cannot read them (and AWS may widen it); write the statements the role needs as a policy of the template" });
      }
    }
  }
  // The keys and indexes down to the value walked; written out as a path (`Resources.Role.Properties[0]`) only for a finding.
  const path: Array<string | number> = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      // Every match holds "arn:aws": most strings are told apart by that alone, without the pattern.
      if (v.includes('arn:aws') && LITERAL_PARTITION.test(v)) findings.push({ rule: 'XS009', resource: pathText(path), item: v, message: 'literal partition in an ARN; use ${AWS::Partition}' });
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        walk(v[i]);
        path.pop();
      }
    } else if (v && typeof v === 'object') {
      // Own keys in Object.keys's order without making its list for every object walked (for-in walks them first).
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        path.push(k);
        walk((v as Record<string, unknown>)[k]);
        path.pop();
      }
    }
  };
  // Every XS009 finding is a string holding "arn:aws", which the template's text then holds too: the writer (yaml.ts)
  // folds no line and escapes none of those characters. No stage's text does, so its strings are not walked. Asked
  // as "rn:aws", which every such text holds: V8 searches a text of a few MB for it about three times faster than
  // for the seven characters (Boyer-Moore-Horspool on a last letter that is everywhere; 7.2 -> 2.6 ms at 250 teams).
  if (text === undefined || text.includes('rn:aws')) walk(template);
}

const pathText = (path: ReadonlyArray<string | number>) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

export const TEMPLATE_RULES = [
  { id: 'XS008', description: 'no AWS managed policy attached (its statements are outside the templates, unread by the proof and the report; *FullAccess, PowerUser and AdministratorAccess among them)' },
  { id: 'XS009', description: 'no literal partition in ARNs (GovCloud and China must work)' },
  { id: 'XS016', description: "no role path (every role's ARN is written, proved and reported without one)" },
] as const;

/** What a template's checks are given beside it, each where the caller has it. */
export interface TemplateCheckInput {
  /** The template as the compile writes it (yaml.ts `toYaml`): read only to pass over what it shows cannot be found. */
  text?: string;
  /**
   * The template's classes of alike resources (alike.ts): a statement's rules read only its document (its kind,
   * metadata and statements, never resolved) and treat an account id as any other text, so a class's members pass
   * where its first resource does; a member of a class alike up to its team, where its first and the class's neutral
   * resource do (the rules compare a resource's ARN with an AWS-owned bucket's: alike.ts `TeamClasses`).
   */
  alike?: AlikeResources;
  /** Gets the listed wildcards the template's statements hold (rule XS017), for the audit report. */
  wildcards?: WildcardUse;
  /** The org's names the wildcards are read by (wildcards.ts wildcardContext). */
  ctx?: WildcardContext;
}

/** Every statement rule and template rule on `template`. */
export function checkTemplate(template: CfnTemplate, { text, alike = NO_CLASSES, wildcards, ctx }: TemplateCheckInput = {}): Finding[] {
  const findings: Finding[] = [];
  // A class alike up to its team passes where its neutral resource does too (alike.ts TeamClasses).
  const passes = alike.passes((first, neutral) => statementFindings(policyDocuments({ Resources: { [first]: neutral } } as unknown as CfnTemplate), [], ctx).length === 0);
  // By index: every rule runs on every statement, mostly before V8 has optimised this loop, when each for-of step is an object made.
  for (const doc of policyDocuments(template)) {
    // Every resource's, a class's members' too: the table then rests on no argument about classes (review
    // s60-second-read m5; reading them costs nothing measurable at 1,000 accounts).
    if (wildcards) recordWildcards(doc, wildcards, ctx);
    if (passes.passed(doc.resource)) continue;
    const before = findings.length;
    statementFindings([doc], findings, ctx);
    passes.record(doc.resource, findings.length > before);
  }
  templateFindings(template, findings, text);
  return findings;
}

/** The listed wildcards each Allow of `doc` holds, recorded in `use` (rule XS017's list, for the audit report). */
export function recordWildcards(doc: FoundDocument, use: WildcardUse, ctx?: WildcardContext): void {
  for (const s of doc.statements) {
    if (!isAllow(s)) continue;
    for (const w of wildcardsOf(s, ctx)) if (w.bounded) recordUse(use, w.bounded, s.Sid ?? '', w.text);
  }
}

/** Every rule's findings in each statement of `docs`, in order, added to `findings`. */
function statementFindings(docs: readonly FoundDocument[], findings: Finding[] = [], ctx?: WildcardContext): Finding[] {
  for (const doc of docs) {
    for (const s of doc.statements) {
      for (let r = 0; r < RULES.length; r++) {
        const found = RULES[r].check(doc, s, ctx);
        for (let i = 0; i < found.length; i++) findings.push({ rule: RULES[r].id, resource: doc.resource, statement: s.Sid, ...found[i] });
      }
    }
  }
  return findings;
}

export const formatFinding = (f: Finding) => `${f.rule} ${f.resource}${f.statement ? ` ${f.statement}` : ''}: ${f.item}: ${f.message}`;
