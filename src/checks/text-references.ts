/**
 * The org file's free text that the templates hold as text (a repository's description, a pipeline's branches) must
 * not read as a reference to one of their parameters or resources: CloudFormation keeps `${RepositoryApp}` as it is
 * outside Fn::Sub, and cfn-lint, the templates' validator, refuses a reference it knows written there (E1029,
 * rules/functions/SubNeeded.py: a pseudo parameter, which the org file's reader refuses at its line
 * (org/load.ts cfnReferenceProblem), or a parameter, a resource or a resource's attribute of the template; review
 * s39-fuzz 3 and s39-delta m1). Text such as `${JAVA_HOME}` is text to both, and passes.
 */
import type { CfnTemplate } from '../cfn/template';
import type { Org } from '../org/model';
import { locatedField } from '../org/locate';

/** cfn-lint's own pattern for a `${…}` in a string (SubNeeded.py subParameterRegex). */
const REFERENCE = /\$\{[A-Za-z0-9_:.]+\}/g;

export function textReferenceProblems(org: Org, templates: Iterable<CfnTemplate>): string[] {
  const texts: Array<[field: string, text: string]> = [
    ...org.repositories.flatMap((r): Array<[string, string]> => (r.description ? [[`repositories.${r.name}.description`, r.description]] : [])),
    ...org.pipelines.flatMap((p) => p.branches.map(([environment, branch]): [string, string] => [`pipelines.${p.name}.branches.${environment}`, branch])),
  ].filter(([, text]) => text.includes('${'));
  if (texts.length === 0) return [];
  const names = new Set<string>();
  for (const template of templates) for (const name of [...Object.keys(template.Parameters ?? {}), ...Object.keys(template.Resources)]) names.add(name);
  return texts.flatMap(([field, text]) =>
    [...text.matchAll(REFERENCE)]
      .map((m) => m[0])
      .filter((reference) => names.has(reference.slice(2, -1).trim().split('.')[0]!))
      .map(
        (reference) =>
          `${locatedField(org.file, field)}: holds '${reference}', which names a parameter or resource of the templates: xstack writes the text as it is (never substituted), and cfn-lint refuses it outside Fn::Sub (E1029); leave '\${' out of it`,
      ),
  );
}
