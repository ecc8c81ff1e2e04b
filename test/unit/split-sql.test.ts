/** Splitting migration files into statements as the mariadb client does, without a database. */
import { describe, expect, it } from 'vitest';
import { splitSqlStatements } from '../../src/migrate/split-sql.js';

describe('splitSqlStatements', () => {
  it('splits on ; and drops empty statements and trailing delimiters', () => {
    expect(splitSqlStatements('SELECT 1;\n\n  SELECT 2 ;;\nSELECT 3')).toEqual(['SELECT 1', 'SELECT 2', 'SELECT 3']);
    expect(splitSqlStatements('  \n ; ; ')).toEqual([]);
  });

  it('does not split inside quotes, with escapes and doubled quotes', () => {
    expect(splitSqlStatements(`INSERT INTO t VALUES ('a;b', "c;d", 'it''s;', 'x\\';y');SELECT \`we;ird\`;`)).toEqual([
      `INSERT INTO t VALUES ('a;b', "c;d", 'it''s;', 'x\\';y')`,
      'SELECT `we;ird`',
    ]);
    expect(splitSqlStatements('SELECT `a``;b`; SELECT 2')).toEqual(['SELECT `a``;b`', 'SELECT 2']);
  });

  it('ignores delimiters in comments; drops leading comments, keeps inner ones', () => {
    expect(splitSqlStatements('-- a; comment\n# another; one\n/* block; */ SELECT 1 /* in; side */ ; SELECT 2 -- tail;\n;')).toEqual([
      'SELECT 1 /* in; side */',
      'SELECT 2 -- tail;',
    ]);
    // "--" without whitespace after it is not a comment (it is minus minus).
    expect(splitSqlStatements('SELECT 1--1;SELECT 2')).toEqual(['SELECT 1--1', 'SELECT 2']);
    // A file of comments only has no statement.
    expect(splitSqlStatements('-- nothing here;\n/* nor; here */')).toEqual([]);
  });

  it('keeps executable comments as statement text', () => {
    expect(splitSqlStatements('/*!40101 SET NAMES utf8mb4 */;/*M!100100 SELECT 1 */;')).toEqual([
      '/*!40101 SET NAMES utf8mb4 */',
      '/*M!100100 SELECT 1 */',
    ]);
  });

  it('honours DELIMITER for procedure bodies, then switches back', () => {
    const text = ['DELIMITER //', 'CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END//', 'delimiter ;', 'CALL p();'].join('\n');
    expect(splitSqlStatements(text)).toEqual(['CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END', 'CALL p()']);
    expect(() => splitSqlStatements('DELIMITER \nSELECT 1')).toThrow(/DELIMITER/);
  });

  it('treats DELIMITER only at the start of a statement on its own line', () => {
    expect(splitSqlStatements("SELECT 'delimiter //'; SELECT 2")).toEqual(["SELECT 'delimiter //'", 'SELECT 2']);
  });
});
