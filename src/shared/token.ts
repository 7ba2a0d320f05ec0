// Shared: the relay logs a token's fingerprint; the CLI generates tokens and shows the same fingerprint.
// The bearer token clients send to the relay, and the short fingerprint that identifies it in
// `relay status` and deploy output without ever showing the token itself.
import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes as 64 hex characters: safe unquoted in a dotenv line and in an HTTP header. */
export function generateRelayToken(): string {
  return randomBytes(32).toString('hex');
}

/** `sha256:` plus the first 16 hex digits of the token's SHA-256: enough to tell tokens apart. */
export function tokenFingerprint(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 16)}`;
}

/** The same fingerprint from a full hex SHA-256 computed elsewhere (on the host, by sha256sum). */
export function fingerprintFromSha256(hex: string): string {
  return `sha256:${hex.trim().toLowerCase().slice(0, 16)}`;
}
