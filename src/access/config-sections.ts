/**
 * How the AWS CLI reads a shared config or credentials file's section headers, for the profiles xstack writes
 * (profiles.ts) and for the hint a missing profile gets (errors.ts). No imports: errors.ts loads it.
 */

/**
 * The profile a config file's line defines, read as the AWS CLI reads it (botocore's configloader over Python's
 * configparser): the section's name is everything between the line's first `[` and its last `]`, whatever follows it (a
 * `# comment`, a `; comment`) ignored; a name starting `profile` is split into words as a shell splits them, quotes
 * removed, and is the profile of its second word when it has two (`[profile "p"]` is `p`); `[default]` is `default`. A
 * name that splits otherwise (an open quote) is no profile. One difference, on purpose: the first word must be
 * `profile` itself, as the JS SDK xstack's calls go through reads it (@smithy's parseIni), where botocore also takes
 * `[profilex y]` as profile `y` (review s42-mutations-4 CS1). In the config file "the word profile" prefixes every
 * profile's name but the default's (https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html).
 */
export function sectionProfile(line: string): string | undefined {
  const header = /^\s*\[(.+)\]/.exec(line)?.[1];
  if (header === 'default') return 'default';
  if (!header?.startsWith('profile')) return undefined;
  const words = shellWords(header);
  return words?.length === 2 && words[0] === 'profile' ? words[1] : undefined;
}

/** Words as a POSIX shell (Python's shlex.split) splits them: quotes removed, a backslash escaping the next character; undefined for an open quote. */
function shellWords(text: string): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (quote === '"' && c === '\\' && (text[i + 1] === '"' || text[i + 1] === '\\')) word += text[++i];
      else word += c;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\') {
      if (i + 1 === text.length) return undefined; // shlex: "No escaped character"
      word = (word ?? '') + text[++i];
    } else word = (word ?? '') + c;
  }
  if (quote) return undefined;
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * The profile a shared credentials file's line defines: there a section's whole name is the profile's, with no
 * `profile` prefix ("Do not use the word profile when creating an entry in the credentials file",
 * https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-files.html); what follows its last `]` is ignored.
 */
export const credentialsSection = (line: string): string | undefined => /^\s*\[(.+)\]/.exec(line)?.[1];

