/** One problem in a file the user wrote, located as precisely as we can. */
export interface Problem {
  file: string;
  line?: number;
  column?: number;
  /** Dotted path of the field, e.g. `accounts.dev.id`. */
  field: string;
  message: string;
  /** What would have been accepted. */
  expected?: string;
}

export function formatProblem(p: Problem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;
  const expected = p.expected ? `; expected ${p.expected}` : '';
  return `${where}: ${p.field}: ${p.message}${expected}`;
}

/** Base class: every error xstack raises on purpose has a stable code. */
export class XstackError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The organization file is invalid; carries every problem found, not just the first. */
export class OrgFileError extends XstackError {
  constructor(readonly problems: readonly Problem[]) {
    super(
      'ORG_FILE_INVALID',
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the organization file:\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
  }
}

/** The org is valid but cannot be compiled into templates AWS would accept. */
export class CompileError extends XstackError {
  constructor(
    code: string,
    readonly details: readonly string[],
  ) {
    super(code, `${code}:\n${details.map((d) => `  ${d}`).join('\n')}`);
  }
}

/** A template module broke an IAM invariant at the call that built the statement. */
export class PolicyError extends XstackError {
  constructor(message: string) {
    super('POLICY_INVALID', message);
  }
}
