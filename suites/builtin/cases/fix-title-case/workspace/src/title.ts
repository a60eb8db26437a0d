/** Each word with a capital first letter and the rest in lower case. */
export function titleCase(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1).toLowerCase();
}
