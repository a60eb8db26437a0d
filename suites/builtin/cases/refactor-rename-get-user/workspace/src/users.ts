export interface User {
  id: number;
  name: string;
}

const USERS: readonly User[] = [{ id: 1, name: "Ada" }, { id: 2, name: "Linus" }];

/** The user with this id, if any. */
export function getUsr(id: number): User | undefined {
  return USERS.find((user) => user.id === id);
}
