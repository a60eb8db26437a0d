import type { Pool } from "pg";
import type { Logger } from "../logger.js";

export interface Contact {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  companyId: string | null;
  createdAt: Date;
}

export async function getContact(pool: Pool, id: string, logger: Logger): Promise<Contact | null> {
  const result = await pool.query("SELECT * FROM contacts WHERE id = $1", [id]);
  logger.debug({ id, found: result.rowCount }, "getContact");
  return result.rows[0] ?? null;
}
