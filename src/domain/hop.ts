/** One hub a forwarded document went through (issue 13; the hop list is src/routing/hops.ts). */
export interface Hop {
  /** A hub id (LIENTHONG_HUB_ID of that hub). */
  hub: string
  /** When that hub accepted the document (ISO 8601, UTC). */
  at: string
}
