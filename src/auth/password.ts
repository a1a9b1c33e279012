import bcrypt from "bcryptjs";

/** bcrypt with cost 10: the format htpasswd -B and Distribution use. */
export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, 10);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}
