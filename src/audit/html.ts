/** Escapes text for HTML and SVG, in content and in attribute values; most texts (ARNs, names) have nothing to escape. */
export const escapeHtml = (s: string): string => (/[&<>"]/.test(s) ? s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;') : s);
