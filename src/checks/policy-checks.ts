/**
 * Every rule the compile runs over the compiled policies, in one list: the
 * compile runs exactly these checks (`checkPolicies`), and the audit report
 * lists exactly their rules (`CHECKED_RULES`), so the two cannot part. A
 * check that reports a rule it does not declare here is an internal error,
 * not a finding the report would leave out.
 */
import type { CfnTemplate } from '../cfn/template';
import { checkTemplate, RULES, TEMPLATE_RULES, type Finding, type TemplateCheckInput } from './rules';
import { checkServiceAuthorization, literalValues, SERVICE_AUTHORIZATION_RULES, type ValuesOf } from './service-authorization';
import { NO_CLASSES } from './alike';

export interface CheckedRule {
  id: string;
  description: string;
  /** The page the rule follows, where it has one. */
  source?: string;
}

interface PolicyCheck {
  /** What the report calls this family of rules. */
  family: string;
  rules: readonly CheckedRule[];
  run(template: CfnTemplate, input: PolicyCheckInput): Finding[];
}

/** What the checks are given beside a template (rules.ts TemplateCheckInput), and how its expressions resolve. */
export interface PolicyCheckInput extends TemplateCheckInput {
  /** Resolves the template's expressions; literal values when left out. */
  valuesOf?: ValuesOf;
}

const POLICY_CHECKS: readonly PolicyCheck[] = [
  { family: 'least privilege', rules: [...RULES, ...TEMPLATE_RULES], run: checkTemplate },
  { family: "IAM's Service Authorization Reference", rules: SERVICE_AUTHORIZATION_RULES, run: (template, { valuesOf = literalValues, alike = NO_CLASSES }) => checkServiceAuthorization(template, valuesOf, alike) },
];

/** Every rule the compile checks, in id order, with the family it belongs to. */
export const CHECKED_RULES: ReadonlyArray<CheckedRule & { family: string }> = POLICY_CHECKS.flatMap((c) => c.rules.map((r) => ({ id: r.id, description: r.description, ...('source' in r && typeof r.source === 'string' ? { source: r.source } : {}), family: c.family })));

/** The families in the order they run, each with its rules' ids. */
export const CHECK_FAMILIES: ReadonlyArray<{ family: string; ids: readonly string[] }> = POLICY_CHECKS.map((c) => ({ family: c.family, ids: c.rules.map((r) => r.id) }));

/** Runs every policy check on a template, each with what `input` gives (PolicyCheckInput). */
export function checkPolicies(template: CfnTemplate, input: PolicyCheckInput = {}): Finding[] {
  const findings: Finding[] = [];
  for (const check of POLICY_CHECKS) {
    const declared = new Set(check.rules.map((r) => r.id));
    for (const f of check.run(template, input)) {
      if (!declared.has(f.rule)) throw new Error(`policy check (${check.family}) reported rule ${f.rule}, which it does not declare: add it to its rules (src/checks/policy-checks.ts) so the report lists it`);
      findings.push(f);
    }
  }
  return findings;
}
