/** Paths pino blanks out in every log line: credentials never reach the logs. */
export const logRedaction = ['req.headers.authorization', 'req.headers.cookie', '*.key', '*.secret', '*.password']
