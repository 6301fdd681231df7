/**
 * When a token is replaced. The PoC's rule: after about a third of its
 * remaining lifetime, jittered to 75–125 % of that so ServiceAccounts created
 * together don't all rotate together. A 1 h token is replaced after 15–25 min,
 * leaving at least 35 min for pods that pull with the old Secret.
 */
export function rotationTime(issuedAtMs: number, expiresAtMs: number, random: () => number = Math.random): number {
  const remaining = Math.max(0, expiresAtMs - issuedAtMs);
  return issuedAtMs + Math.floor((remaining / 3) * (0.75 + 0.5 * random()));
}
