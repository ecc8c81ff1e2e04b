/**
 * The one field-rules module (src/systems/shared/fields.ts): a utf8mb4 VARCHAR(n) holds n
 * characters (code points, as MariaDB counts them), not n UTF-16 units; TEXT holds 65,535 bytes;
 * both spellings of the rules agree.
 */
import { describe, expect, it } from 'vitest';
import { text, textColumn, varchar, varcharColumn } from '../src/systems/shared/fields.js';

describe('field rules', () => {
  it('counts VARCHAR length in code points, one rule for every call', () => {
    const emoji = '\u{1F600}'.repeat(3); // 3 characters, 6 UTF-16 units, 12 bytes
    for (const rule of [varchar(3), varcharColumn(3)]) {
      expect(rule.safeParse(emoji).success).toBe(true);
      expect(rule.safeParse('abcd').success).toBe(false);
      expect(rule.safeParse('\u{1F600}'.repeat(4)).success).toBe(false);
    }
  });

  it('counts TEXT in UTF-8 bytes', () => {
    const fourByte = '\u{1F600}'.repeat(16_384); // 65,536 bytes
    for (const rule of [text, textColumn()]) {
      expect(rule.safeParse('\u{1F600}'.repeat(16_383)).success).toBe(true);
      expect(rule.safeParse(fourByte).success).toBe(false);
    }
  });
});
