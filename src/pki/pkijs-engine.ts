import { webcrypto } from 'node:crypto'
import * as pkijs from 'pkijs'

// pkijs needs a WebCrypto engine; Node's own implementation does the RSA work natively.
pkijs.setEngine('node-webcrypto', new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as unknown as Crypto }))
