import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout stays free for CLI output). Authorization
 * headers and passwords are redacted wherever they appear in a logged object.
 */
export function createLogger(level: string = "info"): Logger {
  return pino(
    {
      level,
      base: { service: "drydock" },
      redact: {
        paths: [
          "req.headers.authorization",
          "headers.authorization",
          "*.password",
          "password",
          "*.passwordHash",
          "tokenSecret",
          "*.tokenSecret",
        ],
        censor: "[redacted]",
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
