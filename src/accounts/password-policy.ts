/** Shortest password accepted (NIST SP 800-63B asks for at least 8; people's accounts here open evidence). */
export const MIN_PASSWORD_LENGTH = 12
/** Longest: the hash costs the same for any length, but a megabyte "password" is no password. */
export const MAX_PASSWORD_LENGTH = 256

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem (password: string, username: string): string | undefined {
  const length = [...password].length
  if (length < MIN_PASSWORD_LENGTH) return `the password must have at least ${MIN_PASSWORD_LENGTH} characters`
  if (length > MAX_PASSWORD_LENGTH) return `the password may have at most ${MAX_PASSWORD_LENGTH} characters`
  if (password.toLowerCase().includes(username.toLowerCase())) return 'the password must not contain the username'
  return undefined
}
