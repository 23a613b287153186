/**
 * The password policy: at least 8 characters, with lower-case and upper-case letters and a
 * digit or symbol (NIST SP 800-63B sets the length floor; the mix is this product's rule).
 * @returns a message a person can act on, or undefined when the password is acceptable
 */
export function passwordProblem(password: string): string | undefined {
  if (password.length < 8) return 'The password needs at least 8 characters';
  if (password.length > 128) return 'The password may have at most 128 characters';
  if (!/\p{Ll}/u.test(password) || !/\p{Lu}/u.test(password) || !/[\p{N}\p{P}\p{S}]/u.test(password)) {
    return 'The password needs lower-case and upper-case letters and a digit or symbol';
  }
  return undefined;
}
