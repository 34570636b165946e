// README.md written next to the example PKI.
import { DEMO_AGENCIES, HUB_CODE } from './agencies.js'
import { CA_KEY_BITS, EXPIRED_VALIDITY, ISSUING_CRL_URL, LEAF_KEY_BITS, WEAK_KEY_BITS, type ExamplePki } from './build.js'
import { CA_KEYS_DIR, HUB_FILES, ISSUING_CA_KEY_PATH, ROOT_CA_KEY_PATH } from './layout.js'
import { HUBS_DIR } from './hubs.js'
import type { Issued } from './issue.js'
import { fingerprint } from './keys.js'

const day = (d: Date): string => d.toISOString().slice(0, 10)
const time = (d: Date): string => d.toISOString().replace('.000Z', 'Z')

export function examplePkiReadme (pki: ExamplePki): string {
  const { dates, special } = pki
  const certRow = (path: string, issued: Issued): string =>
    `| \`${path}\` | ${day(issued.cert.notBefore.value)} .. ${day(issued.cert.notAfter.value)} | \`${fingerprint(issued.der)}\` |`
  const hubRows = pki.hubs.map(({ hub }) => `| \`${hub.id}\` | \`${hub.dir}/\` | ${hub.uid} | ${hub.name} |`)
  const otherHubs = pki.hubs.slice(1).map(({ hub }) => `\`${hub.dir}/\``).join(', ')
  const agencyLines = DEMO_AGENCIES.map((a) => {
    const delivery = a.delivery.mode === 'push' ? `push to ${a.delivery.url}, server certificate pinned to \`hub/tls-cert.pem\` (hub 1's TLS certificate, which every demo recipient serves)` : 'pull'
    const notes = [delivery]
    if (a.allowWeakAlgorithms) notes.push('`allowWeakAlgorithms: true` (real traffic from this province is still RSA-SHA1)')
    if (a.bindBySubjectRule) notes.push(`no registered fingerprint: bound by \`subjectRule\` UID=${a.code}`)
    return `- \`${a.code}\` ${a.name} (${a.province}): ${notes.join('; ')}`
  })
  const certRows = [
    certRow('trust/root-ca.pem', pki.root),
    certRow('trust/issuing-ca.pem', pki.issuing),
    ...[...pki.agencies].map(([code, issued]) => certRow(`agencies/${code}/cert.pem`, issued)),
    ...pki.hubs.flatMap(({ hub, signing, tls }) => [
      certRow(`${hub.dir}/${HUB_FILES.signingCert}`, signing),
      certRow(`${hub.dir}/${HUB_FILES.tlsCert}`, tls)
    ]),
    certRow('special/revoked/cert.pem', special.revoked),
    certRow('special/expired/cert.pem', special.expired),
    certRow('special/untrusted/root-ca.pem', special.untrustedRoot),
    certRow('special/untrusted/cert.pem', special.untrusted),
    certRow('special/ca-leaf/cert.pem', special.caLeaf),
    certRow('special/no-signing-usage/cert.pem', special.noSigningUsage),
    certRow('special/weak-key/cert.pem', special.weakKey)
  ]

  return `# Example PKI — NOT FOR PRODUCTION

**Every private key in this directory is public** (it is committed to a public repository). Nothing
here may ever be trusted by a production hub: use it only for tests, demos and local development.
The names imitate the Vietnamese government PKI but none of these CAs exist.

Generated ${time(dates.now)} by \`npx lienthong pki init DIR\` (\`npm run pki:example\` regenerates
\`certs-example/\`; add \`--force\` to overwrite a non-empty directory). All keys are RSA, all
signatures sha256WithRSAEncryption; certificates and CRLs are PEM, private keys unencrypted PKCS#8 PEM.
Re-running the command makes new keys, so every fingerprint and \`registry.json\` change.

## Layout

| path | what it is |
|---|---|
| \`trust/root-ca.pem\` | "Vietnam Example National Root CA", self-signed trust anchor (RSA ${CA_KEY_BITS}) |
| \`trust/issuing-ca.pem\` | "Example Government Issuing CA", issued by the root, CA with pathLen 0 (RSA ${CA_KEY_BITS}) |
| \`trust/root-ca.crl.pem\` | CRL of the root, no entries, CRL number 1 |
| \`trust/issuing-ca.crl.pem\` | CRL of the issuing CA, CRL number 1, revokes \`special/revoked\` (keyCompromise) |
| \`agencies/<CODE>/key.pem, cert.pem\` | document-signing key and certificate of each demo agency |
| \`agencies/<CODE>/chain.pem\` | the issuing CA certificate (the chain to send with a signature) |
| \`hub/signing-key.pem, signing-cert.pem\` | hub 1's (id \`hub\`) own document/receipt signing certificate, UID=${HUB_CODE} (not in the registry) |
| \`hub/tls-key.pem, tls-cert.pem\` | hub 1's TLS certificate: serverAuth+clientAuth, SAN localhost, 127.0.0.1, ::1 (also the one the demo recipients serve) |
| ${otherHubs} | the same four files for the other example hubs (see [Hubs](#hubs)), for tests that run a backbone of several hubs |
| \`${ROOT_CA_KEY_PATH}\`, \`${ISSUING_CA_KEY_PATH}\` | the private keys of the two CAs, kept so that \`npx lienthong pki issue-hub DIR --id ID\` can issue another hub under \`${HUBS_DIR}/ID/\` without regenerating. Outside \`trust/\`: a hub's trust directory holds certificates and CRLs only |
| \`special/revoked/\` | signing certificate of 000.00.00.H41, listed in \`trust/issuing-ca.crl.pem\` |
| \`special/expired/\` | signing certificate of 000.00.00.G12, valid ${day(EXPIRED_VALIDITY.notBefore)} .. ${day(EXPIRED_VALIDITY.notAfter)} only |
| \`special/untrusted/\` | \`root-ca.pem\` "Untrusted Example Root" (not in \`trust/\`) and a leaf under it with the very subject of G22's real certificate |
| \`special/ca-leaf/\` | issued to G22 by the issuing CA, but basicConstraints cA=true (keyUsage digitalSignature+keyCertSign) |
| \`special/no-signing-usage/\` | issued to G22, keyUsage keyEncipherment only |
| \`special/weak-key/\` | issued to G22, RSA ${WEAK_KEY_BITS} bits |
| \`special/stale-trust/\` | the trust directory again, but its \`issuing-ca.crl.pem\` is an older CRL (CRL number 0, no entries) with thisUpdate ${time(dates.staleCrl.thisUpdate)} and nextUpdate ${time(dates.staleCrl.nextUpdate)}: stale from the start |
| \`registry.json\` | the demo agency registry |

Agency signing certificates (RSA ${LEAF_KEY_BITS}): subject \`C=VN, ST=<province>, O=<agency name>,
CN=<agency name>, UID=<agency code>\` (UID is 0.9.2342.19200300.100.1.1, text attributes are
UTF8String), basicConstraints cA=false (critical), keyUsage digitalSignature+nonRepudiation
(critical), subject and authority key identifiers, CRL distribution point ${ISSUING_CRL_URL}
(the URL does not resolve: load the CRLs from \`trust/\`).

## Hubs

| id (\`LIENTHONG_HUB_ID\`) | directory | signing certificate UID | O and CN |
|---|---|---|---|
${hubRows.join('\n')}

Each directory holds \`${HUB_FILES.signingKey}\`, \`${HUB_FILES.signingCert}\` (keyUsage digitalSignature+nonRepudiation,
subject \`C=VN, O=<name>, CN=<name>, UID=<uid>\`) and \`${HUB_FILES.tlsKey}\`, \`${HUB_FILES.tlsCert}\` (CN=localhost,
serverAuth+clientAuth, SAN localhost, 127.0.0.1, ::1: every example hub runs on this machine, told apart
by port). All are issued by the issuing CA, like the agencies. No hub is in \`registry.json\`.
\`npx lienthong pki issue-hub DIR --id hub-4\` adds \`${HUBS_DIR}/hub-4/\` (UID 000.00.00.HUB4) with the keys in
\`${CA_KEYS_DIR}/\`, valid 5 years but never past the issuing CA; it does not change this README.

## Registry (\`registry.json\`)

${agencyLines.join('\n')}

Besides its own certificate, G22 also registers \`special/ca-leaf\`, \`special/no-signing-usage\` and
\`special/weak-key\`, G12 registers \`special/expired\` and H41 registers \`special/revoked\`, so that a
document signed with those fails on the certificate checks, not on sender binding. The untrusted leaf
is not registered: it copies G22's subject, and must fail because it does not chain to \`trust/\`. No
hub is in the registry.

## Validity, and when to regenerate

- Root CA: ${time(dates.root.notBefore)} .. ${time(dates.root.notAfter)} (20 years).
- Issuing CA: ${time(dates.issuing.notBefore)} .. ${time(dates.issuing.notAfter)} (15 years).
- Agency, hub (all ${pki.hubs.length}) and special certificates: ${time(dates.leaf.notBefore)} .. ${time(dates.leaf.notAfter)} (5 years),
  except \`special/expired\`.
- CRLs in \`trust/\`: thisUpdate ${time(dates.crl.thisUpdate)}, nextUpdate ${time(dates.crl.nextUpdate)}.
  After that date they are stale and a verifier that fails closed rejects everything.

**Regenerate before ${day(dates.leaf.notAfter)}**, when the agency certificates expire (the CRLs go
stale later, on ${day(dates.crl.nextUpdate)}).

## Certificates and SHA-256 fingerprints (of the DER)

| certificate | valid | sha256 |
|---|---|---|
${certRows.join('\n')}
`
}
