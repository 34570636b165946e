import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/**
 * Passwords are hashed with scrypt (memory-hard, built into Node: no native dependency to
 * build or audit). The parameters travel inside the stored hash, so raising the default later
 * leaves existing hashes verifiable.
 */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  logN: number
  r: number
  p: number
}

/**
 * N = 2^17, r = 8, p = 1: 128 MiB and a few hundred milliseconds per hash (OWASP's scrypt
 * recommendation). Tests create users with cheaper parameters; production never passes any.
 */
export const DEFAULT_SCRYPT: ScryptParams = { logN: 17, r: 8, p: 1 }

const KEY_BYTES = 32
const SALT_BYTES = 16
const FORMAT = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/

/** At most this many hashes at once: each holds 128 MiB, and a login flood must not exhaust memory. */
const MAX_CONCURRENT = 2
/** Logins waiting for a hashing slot; past this the caller is told to retry (503 BUSY). */
const MAX_WAITING = 64

export class PasswordHashingBusy extends Error {
  constructor () {
    super('too many password checks in progress')
    this.name = 'PasswordHashingBusy'
  }
}

let running = 0
const waiting: Array<() => void> = []

async function withSlot<T> (fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) {
    if (waiting.length >= MAX_WAITING) throw new PasswordHashingBusy()
    await new Promise<void>((resolve) => waiting.push(resolve))
  } else {
    running++
  }
  try {
    return await fn()
  } finally {
    // The slot passes straight to the next waiter (running stays the same), or is freed.
    const next = waiting.shift()
    if (next != null) next()
    else running--
  }
}

async function derive (password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: 2 ** params.logN, r: params.r, p: params.p, maxmem: 256 * 2 ** params.logN * params.r + 1024 * 1024 }
  return await withSlot(async () => await new Promise<Buffer>((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, KEY_BYTES, options, (err, key) => { if (err != null) reject(err); else resolve(key) })
  }))
}

export async function hashPassword (password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(password, salt, params)
  return `scrypt$${params.logN}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

/** The parameters a stored hash was made with (undefined: not a hash of ours). */
export function hashParams (stored: string): ScryptParams | undefined {
  const m = FORMAT.exec(stored)
  if (m == null) return undefined
  return { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) }
}

/**
 * Whether `password` matches `stored`, compared in constant time. With no stored hash (unknown
 * user, no password set) the same work is done against a random key, so the answer takes as
 * long as for a real user and says nothing about which usernames exist.
 */
export async function verifyPassword (password: string, stored: string | null | undefined): Promise<boolean> {
  const m = stored == null ? null : FORMAT.exec(stored)
  if (m == null) {
    await derive(password, randomBytes(SALT_BYTES), DEFAULT_SCRYPT)
    return false
  }
  const params = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) }
  if (params.logN < 10 || params.logN > 22 || params.r < 1 || params.r > 32 || params.p < 1 || params.p > 16) return false
  const expected = Buffer.from(m[5] as string, 'base64')
  const actual = await derive(password, Buffer.from(m[4] as string, 'base64'), params)
  return expected.length === actual.length && timingSafeEqual(expected, actual)
}
