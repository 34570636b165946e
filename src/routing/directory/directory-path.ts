/** Where every lienthong hub serves its signed directory (RFC 8615 well-known URI). */
export const DIRECTORY_WELL_KNOWN_PATH = '/.well-known/lienthong/directory'
