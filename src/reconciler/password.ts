/**
 * Passwords for the server administrator and for app roles, from node:crypto, meeting Azure Database for
 * PostgreSQL's complexity rules: 8-128 characters, characters from at least three of the four classes (upper case,
 * lower case, digits, non-alphanumeric), and not containing the login name or any part of it of three or more
 * consecutive characters.
 *
 * The generated passwords use all four classes. The non-alphanumeric set avoids characters that commonly break
 * consumers that do not escape (quotes, backslash, `$`, `%`, `&`, `/`, `:`, `@`, space); the Secret contract still
 * encodes every character correctly, so a password set by hand may contain anything.
 */
import { randomInt } from 'node:crypto';

export const PASSWORD_LENGTH = 32;
const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
const SPECIAL = '!#*+-.=?^_~';
const ALL = UPPER + LOWER + DIGITS + SPECIAL;

function pick(alphabet: string): string {
  return alphabet[randomInt(alphabet.length)];
}

/** A random password (default 32 characters) that meets Azure's rules for `login`. */
export function generatePassword(login = '', length = PASSWORD_LENGTH): string {
  if (length < 8 || length > 128) throw new RangeError('password length must be 8-128');
  for (;;) {
    const chars = [pick(UPPER), pick(LOWER), pick(DIGITS), pick(SPECIAL)];
    while (chars.length < length) chars.push(pick(ALL));
    // Fisher-Yates so the guaranteed classes are not always first.
    for (let i = chars.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    const password = chars.join('');
    if (passwordProblems(password, login).length === 0) return password;
  }
}

/** Why Azure would refuse `password` for `login` (empty when it meets the rules). Never includes the password. */
export function passwordProblems(password: string, login = ''): string[] {
  const problems: string[] = [];
  if (password.length < 8 || password.length > 128) problems.push('must be 8-128 characters long');
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (classes < 3) problems.push('must contain characters from three of: upper case, lower case, digits, non-alphanumeric');
  if (login && containsLoginPart(password, login)) problems.push('must not contain the login name or 3+ consecutive characters of it');
  return problems;
}

function containsLoginPart(password: string, login: string): boolean {
  const pw = password.toLowerCase();
  const name = login.toLowerCase();
  for (let i = 0; i + 3 <= name.length; i++) {
    if (pw.includes(name.slice(i, i + 3))) return true;
  }
  return false;
}
