// SQL comments that `tally compile --out` (and anything else writing SQL files) puts above a
// query. A comment carries text from the project (file names, names, descriptions); a line break
// in it would end the comment and turn the rest of the text into SQL that `psql -f` runs.

/**
 * Characters that end, hide or reorder a line: Unicode controls (C0, DEL, C1: `\n`, `\r`, NUL,
 * escape), the line and paragraph separators, and the bidirectional overrides and isolates
 * (which make a reviewer read a line differently from how PostgreSQL reads it).
 */
const UNSAFE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/** Whether text holds a character that sqlComment would escape (control characters and the like). */
export function hasControlCharacters(text: string): boolean {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text);
}

/** Text with every unsafe character written as a visible `\uXXXX` escape: one line, nothing hidden. */
export function escapeControlCharacters(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * One `-- ` comment line holding `text`, whatever it contains. Whitespace runs other than the
 * escaped characters are kept as they are; a description's line breaks become escapes (`\u000a`).
 *
 *   sqlComment('x\nDROP TABLE customers; --') === '-- x\\u000aDROP TABLE customers; --'
 */
export function sqlComment(text: string): string {
  return `-- ${escapeControlCharacters(text)}`;
}
