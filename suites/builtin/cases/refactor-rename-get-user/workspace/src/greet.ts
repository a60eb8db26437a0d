import { getUsr } from "./users.js";

/** A greeting for the user with this id. */
export function greet(id: number): string {
  const user = getUsr(id);
  return user ? `Hello, ${user.name}!` : "Hello, stranger!";
}
