import { createHash } from 'node:crypto';

/** Hex SHA-256 of a file's text: what the manifest records and `verify` compares. */
export const sha256 = (text: string | Uint8Array): string => createHash('sha256').update(text).digest('hex');
