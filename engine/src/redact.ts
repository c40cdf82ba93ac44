// Credentials never reach an output. One function masks them in any text that may hold a database
// URL or a driver's error: the CLI's messages, diagnostics in every format, the language server's
// log and offline reasons. It does not need to recognise the scheme (`mysql://u:pw@h`,
// `postgress://…` and a scheme-less `u:pw@host` are masked alike) and it masks password-like
// query-string and keyword parameters (`?password=…`, libpq's `password=…`). No imports: the
// extension's bundles may use it too.

const SECRET_KEYS = 'password|passwd|pwd|pass|sslpassword|sslkey|secret|token|api[_-]?key|access[_-]?key|access[_-]?token|auth[_-]?token|client[_-]?secret';

/** `scheme://user:password@` whatever the scheme; the password may hold `@` (the last one before the host ends it). */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/'"`]*):([^\s/'"`]*)@/gi;
/** `user:password@host` without a scheme, at the start of a word. */
const BARE_USERINFO = /(^|[\s'"`(<[=,;])([^\s:@/'"`()<>[\]=,;]+):([^\s/'"`]+)@(?=[^\s@/]+)/g;
/** `password=…` in a query string or a keyword/value connection string, quoted or not. */
const KEYWORD = new RegExp(`(^|[?&;\\s'"\`(,])(${SECRET_KEYS})(\\s*=\\s*)('[^']*'|"[^"]*"|[^&\\s'"\`;,)]*)`, 'gi');

export function redactSecrets(text: string): string {
  if (!text) return text;
  return text
    .replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:***@`)
    .replace(BARE_USERINFO, (_m, pre: string, user: string) => `${pre}${user}:***@`)
    .replace(KEYWORD, (_m, pre: string, key: string, eq: string) => `${pre}${key}${eq}***`);
}
