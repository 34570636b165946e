// Hub-signed receipts (architecture.md, Evidence): small XML documents in urn:lienthong:receipt:1,
// signed by the hub with an enveloped XML-DSig that xmlsec1 and `lienthong receipt verify` check
// offline. The format is in receipts/format.ts; docs/receipts.md describes it for agencies.
export { buildReceipt } from './receipts/build.js'
export {
  RECEIPT_KINDS, RECEIPT_NS, RECEIPT_VERSION, ReceiptFormatError,
  type AcceptanceFields, type DeliveryFields, type FailureFields, type Receipt, type ReceiptFields, type ReceiptKind,
  type RejectionFields, type Timestamp
} from './receipts/format.js'
export { hubPinOf, normalizeFingerprint, type HubPin } from './receipts/hub-pin.js'
export { readReceipt } from './receipts/read.js'
export { issueReceipt, signReceipt } from './receipts/sign.js'
export {
  DEFAULT_RECEIPT_MAX_BYTES, RECEIPT_FAILURE_SENTENCES, verifyReceipt,
  type ReceiptFailureCode, type ReceiptVerification, type VerifyReceiptOptions
} from './receipts/verify.js'
