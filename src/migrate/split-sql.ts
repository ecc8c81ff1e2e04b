/**
 * Splits a migration file into single statements the way the `mariadb` command-line client
 * does, so files can use `DELIMITER //` blocks for stored procedures.
 *
 * Honoured:
 * - `DELIMITER x` lines (case-insensitive, at the start of a statement), like the client;
 * - quoted text: '...', "..." (with backslash escapes and doubled quotes) and `...` (doubled
 *   backticks): a delimiter inside quotes does not end the statement;
 * - comments: `-- ` (dashes followed by whitespace or end of line, as in MariaDB), `#` and
 *   `/* ... *\/`. A delimiter inside a comment does not end the statement. Comments before a
 *   statement's first token are dropped; comments inside a statement are kept (the server
 *   ignores them, and a procedure keeps its comments in its stored body). Executable comments
 *   (`/*! ... *\/`, `/*M! ... *\/`) are statement text.
 *
 * Returns the non-empty statements, trimmed, without their trailing delimiter.
 */
export function splitSqlStatements(text: string): string[] {
  const statements: string[] = [];
  let delimiter = ';';
  let current = '';
  /** True once `current` holds something other than whitespace and comments. */
  let hasContent = false;
  let i = 0;
  const n = text.length;

  const flush = (): void => {
    const stmt = current.trim();
    if (hasContent && stmt.length > 0) statements.push(stmt);
    current = '';
    hasContent = false;
  };

  const atLineStart = (pos: number): boolean => {
    let j = pos - 1;
    while (j >= 0 && (text[j] === ' ' || text[j] === '\t')) j--;
    return j < 0 || text[j] === '\n' || text[j] === '\r';
  };

  while (i < n) {
    const ch = text[i]!;
    const next = i + 1 < n ? text[i + 1]! : '';

    // DELIMITER command: only where a new statement could start, at the start of a line.
    if (!hasContent && (ch === 'd' || ch === 'D') && atLineStart(i)) {
      const m = /^delimiter[ \t]+([^\r\n]*)/i.exec(text.slice(i, i + 10 + 256));
      if (m) {
        const arg = m[1]!.trim().split(/[ \t]/)[0] ?? '';
        if (arg.length === 0) throw new Error('DELIMITER without a delimiter');
        delimiter = arg;
        current = '';
        // Skip to the end of the line.
        let j = i;
        while (j < n && text[j] !== '\n') j++;
        i = j + 1;
        continue;
      }
    }

    // Line comments: "-- " (followed by whitespace/control char or EOF) and "#".
    if ((ch === '-' && next === '-' && (i + 2 >= n || /[\s\x00-\x1f]/.test(text[i + 2]!))) || ch === '#') {
      let j = i;
      while (j < n && text[j] !== '\n') j++;
      if (hasContent) current += text.slice(i, j);
      i = j; // the newline itself is handled as ordinary whitespace
      continue;
    }

    // Block comments; /*! and /*M! are executable comments, i.e. statement text.
    if (ch === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const j = end < 0 ? n : end + 2;
      const executable = text[i + 2] === '!' || (text[i + 2] === 'M' && text[i + 3] === '!');
      if (executable) hasContent = true;
      if (hasContent) current += text.slice(i, j);
      i = j;
      continue;
    }

    // Quoted strings and identifiers.
    if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      while (j < n) {
        const c = text[j]!;
        if (c === '\\' && ch !== '`') {
          j += 2;
          continue;
        }
        if (c === ch) {
          if (text[j + 1] === ch) {
            j += 2; // doubled quote
            continue;
          }
          j++;
          break;
        }
        j++;
      }
      current += text.slice(i, Math.min(j, n));
      hasContent = true;
      i = j;
      continue;
    }

    // The delimiter ends a statement.
    if (text.startsWith(delimiter, i)) {
      flush();
      i += delimiter.length;
      continue;
    }

    current += ch;
    if (!/\s/.test(ch)) hasContent = true;
    i++;
  }
  flush();
  return statements;
}
